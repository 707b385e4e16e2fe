"""The base of every config section (unknown keys and inf/nan are errors), and how a model holds sections that
register elsewhere: the run config's strategy settings (`harness.registry.settings`) and a strategy result's cost
sections (`harness.registry.costs`) are each validated under their name, as if they were fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import InitErrorDetails

if TYPE_CHECKING:
    from harness.registry import Registry


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # inf/nan are typos, and invalid JSON in run.json

    # A strategy's own section registers under `name` (its key in the run YAML, `harness.registry.settings`);
    # an `optional` one is absent (None) unless given, as `search:` is.
    name: ClassVar[str] = ""
    optional: ClassVar[bool] = False


DEVICE_PATTERN = r"auto|cpu|cuda|cuda:\d+|mps"
ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


def with_sections(cls: type[BaseModel], data: Any, handler, registry: Registry, fill: bool) -> Any:
    """`cls` validated (by pydantic's `handler`) from `data`'s own fields, with each registered section under its
    name kept as an extra, every problem reported at once, each at its place; a key that is neither is unknown.
    `fill`: every registered section is there (its defaults where not given; None for an optional one), as in
    the run config; else only those given, as in a cost."""
    if not isinstance(data, dict):
        return handler(data)
    names = registry.names()
    if clash := set(names) & set(cls.model_fields):
        raise TypeError(f"{registry.kind} {sorted(clash)} named as a field of {cls.__name__}")
    problems = [InitErrorDetails(type="extra_forbidden", loc=(k,), input=v)
                for k, v in data.items() if k not in cls.model_fields and k not in names]
    sections: dict[str, Any] = {}
    for name, section in registry.items().items():
        given = data.get(name)
        if given is None and not fill:
            continue
        try:
            optional = getattr(section, "optional", False)
            sections[name] = None if given is None and optional else section.model_validate(given or {})
        except ValidationError as exc:
            problems += [at((name,), e) for e in exc.errors()]
    try:
        made = handler({k: v for k, v in data.items() if k in cls.model_fields})
    except ValidationError as exc:
        problems = [at((), e) for e in exc.errors()] + problems
    if problems:
        raise ValidationError.from_exception_data(cls.__name__, problems)
    made.__pydantic_extra__.update(sections)
    return made


def at(prefix: tuple, error: dict[str, Any]) -> InitErrorDetails:
    """A validation error moved under `prefix`, as pydantic would report it for a nested field."""
    return InitErrorDetails(type=error["type"], loc=(*prefix, *error["loc"]), input=error["input"],
                            ctx=error.get("ctx", {}))


def inline_schema(cls: type[BaseModel]) -> dict[str, Any]:
    """`cls`'s JSON schema with its nested models written in place (for a schema that is itself nested)."""
    found = cls.model_json_schema()
    defs = found.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items()}
        return [resolve(v) for v in node] if isinstance(node, list) else node

    return resolve(found)


def list_sections(schema: dict[str, Any], registry: Registry) -> None:
    """The registered sections in a model's JSON schema, each as a property (by name: the order modules were
    imported in may vary), and no other key."""
    for name, cls in sorted(registry.items().items()):
        section = inline_schema(cls)
        schema["properties"][name] = {"anyOf": [section, {"type": "null"}]} if getattr(cls, "optional", False) else section
    schema["additionalProperties"] = False
