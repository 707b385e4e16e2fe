import pytest

from harness.config import build_config
from harness.errors import HarnessError


def test_cli_over_yaml_over_defaults(tmp_path):
    cfg_file = tmp_path / "run.yaml"
    cfg_file.write_text("task: qa\nlimit: 7\nseed: 5\nfew_shot:\n  k: 4\n")
    cfg = build_config({"limit": 3, "seed": None}, cfg_file)
    assert (cfg.task, cfg.limit, cfg.seed, cfg.few_shot.k, cfg.batch_size) == ("qa", 3, 5, 4, 32)


def test_strategies_accept_a_comma_list():
    assert build_config({"strategies": "prompt, few-shot"}).strategies == ["prompt", "few-shot"]


def test_unknown_key_is_an_error(tmp_path):
    cfg_file = tmp_path / "run.yaml"
    cfg_file.write_text("task: qa\nfew_shot:\n  kk: 2\n")
    with pytest.raises(HarnessError, match=r"field 'few_shot\.kk' is unknown"):
        build_config({}, cfg_file)


def test_invalid_yaml_names_the_line(tmp_path):
    cfg_file = tmp_path / "run.yaml"
    cfg_file.write_text("task: qa\nlimit: [1,\n")
    with pytest.raises(HarnessError, match=r"run\.yaml:\d+"):
        build_config({}, cfg_file)


def test_bad_value_is_explained():
    with pytest.raises(HarnessError, match="limit"):
        build_config({"limit": 0})
