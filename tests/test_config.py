import pytest

from typing import ClassVar

from pydantic import Field

from harness.config import RunConfig, build_config, validate
from harness.errors import HarnessError
from harness.registry import settings
from harness.section import Section
from strategies.prompt import FewShotConfig


def test_cli_over_yaml_over_defaults(tmp_path):
    cfg_file = tmp_path / "run.yaml"
    cfg_file.write_text("task: qa\nlimit: 7\nseed: 5\nfew_shot:\n  k: 4\n")
    cfg = build_config({"limit": 3, "seed": None}, cfg_file)
    assert (cfg.task, cfg.limit, cfg.seed, cfg.section(FewShotConfig).k, cfg.batch_size) == ("qa", 3, 5, 4, 32)


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


def test_a_strategy_section_registered_anywhere_is_validated_and_recorded(monkeypatch):
    """A strategy with its own settings is one file: its section registers, and the run config validates it under
    its name, defaults it, rejects its unknown keys and records it (run.json's config, the schema)."""

    class ToyConfig(Section):
        name: ClassVar[str] = "toy"
        depth: int = Field(2, ge=1)

    monkeypatch.setitem(settings._items, "toy", ToyConfig)
    assert RunConfig().section(ToyConfig).depth == 2
    config = validate({"toy": {"depth": 5}})
    assert config.section(ToyConfig) == ToyConfig(depth=5)
    assert RunConfig.model_validate(config.model_dump(mode="json")).section(ToyConfig).depth == 5
    assert "toy" in RunConfig.model_json_schema()["properties"]
    with pytest.raises(HarnessError) as err:
        validate({"toy": {"depth": 0, "width": 1}, "limit": "many"})
    message = str(err.value)  # every problem at once, each where it is
    assert "'toy.depth'" in message and "'toy.width' is unknown" in message and "'limit'" in message


def test_every_strategy_section_lives_with_its_strategy():
    sections = settings.items()
    assert {"few_shot", "rag", "finetune", "dpo", "multitask", "search", "head"} <= set(sections)
    assert all(cls.__module__.startswith("strategies.") for cls in sections.values())
    assert not set(sections) & set(RunConfig.model_fields)  # named once: the core has no field of that name
    assert RunConfig().section(sections["search"]) is None  # optional: absent unless given


def test_every_run_flag_has_a_place_in_the_config():
    """Each `harness run` flag is a config key under its own name, is mapped to one (FLAG_KEYS), or is read apart;
    and every mapped key exists."""
    import inspect
    import typing

    from harness.cli.main import FLAG_KEYS, READ_APART, _config_from_flags, run

    def exists(key: str) -> bool:
        model = RunConfig
        for part in key.split("."):
            fields = model.model_fields
            if part in fields:
                model = fields[part].annotation
                model = next((t for t in typing.get_args(model) if isinstance(t, type)), model)  # X | None: X
            elif part in settings.names():
                model = settings.get(part)
            else:
                return False
        return True

    flags = inspect.signature(run).parameters
    for flag in flags:
        assert flag in READ_APART or exists(FLAG_KEYS.get(flag, flag)), f"--{flag} sets no config key"
    given = {f: p.default.default for f, p in flags.items()} | {
        "limit": 3, "priority": "cost", "no_probes": True, "learning_curve": True, "adaptive": False, "no_cache": True}
    assert _config_from_flags(given) == {"limit": 3, "decision": {"priority": "cost"}, "probes": {"enabled": False},
                                         "finetune": {"learning_curve": True}, "adaptive": {"enabled": False},
                                         "use_cache": False}
