"""What a task.yaml may say, validated by pydantic like a run YAML, and the checks every task's labels and template
get: errors name TASK.yaml and the field, and come when the task loads, before any model does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.config import check_labels
from harness.errors import HarnessError, field_problems

PLACEHOLDER = "{input}"


class GenerationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_new_tokens: int = Field(64, ge=1, strict=True, description="tokens each answer may take")


class TaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["generation", "qa", "classification"] = "generation"
    description: str = ""
    instruction: str
    input_template: str = PLACEHOLDER
    splits: dict[str, str] = Field(min_length=1)
    metrics: list[str] | None = None
    generation: GenerationSpec = Field(default_factory=GenerationSpec)
    corpus: str | None = None
    corpus_holds_answers: bool = False
    labels: dict[str, str] | None = None
    input_field: str = "input"
    reference_field: str | list[str] = "reference"
    id_field: str = "id"
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_mapping(cls, v: Any) -> Any:
        """A list of labels (each its own verbalizer) or a mapping label -> verbalizer; YAML numbers are text."""
        if isinstance(v, list) and all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in v):
            return {str(x): str(x) for x in v}
        if isinstance(v, dict) and all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in (*v, *v.values())):
            return {str(k): str(x) for k, x in v.items()}
        if v is None:
            return v
        raise ValueError("must be a list of labels, or a mapping label: verbalizer (e.g. {0: negative, 1: positive})")

    @field_validator("labels")
    @classmethod
    def _labels_distinct(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        return None if v is None else check_labels(v)

    @field_validator("input_template")
    @classmethod
    def _template(cls, v: str) -> str:
        return check_template(v)


def read_task_spec(path: Path) -> TaskSpec:
    from harness.yamlfile import read_yaml

    spec = read_yaml(path)
    try:
        return TaskSpec.model_validate(spec)
    except ValidationError as exc:
        raise HarnessError(
            f"{path}: {field_problems(exc)}.",
            hint=f"Allowed keys: {', '.join(TaskSpec.model_fields)}. See benchmarks/summarization/task.yaml for a "
            "complete example.",
        ) from exc


def check_template(template: str) -> str:
    """`{input}` must appear, and no other `{name}`: an unknown placeholder would reach the model as it is."""
    unknown = sorted({m for m in re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", template)} - {"input"})
    if unknown:
        raise ValueError(f"unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; the only placeholder "
                         "is {input} (the example's input field; map another field with input_field)")
    if PLACEHOLDER not in template:
        raise ValueError("has no {input}, so the example's input would never reach the model")
    return template


def parse_labels(text: str) -> dict[str, str]:
    """`--labels 0=negative,1=positive` (label=verbalizer) or `--labels ham,spam` (each label its own verbalizer).
    Mixing the forms is an error: in '0=bad, awful,1=good' the 'awful' would become a label of its own."""
    items = [item.strip() for item in text.split(",")]
    if not any(items):
        raise HarnessError("--labels is empty.", hint="Give the labels, e.g. --labels 0=negative,1=positive.")
    with_eq = [item for item in items if "=" in item]
    if with_eq and len(with_eq) != len(items):
        stray = next(item for item in items if "=" not in item)
        raise HarnessError(
            f"--labels '{text}': '{stray}' has no '=' while other labels do.",
            hint="Write every label as LABEL=VERBALIZER, separated by commas; a verbalizer cannot hold a comma.")
    labels: dict[str, str] = {}
    for item in items:
        label, _, verbalizer = item.partition("=")
        label, verbalizer = label.strip(), (verbalizer if with_eq else label).strip()
        if not label or not verbalizer:
            raise HarnessError(f"--labels '{text}': '{item}' has an empty label or verbalizer.",
                               hint="Write LABEL=VERBALIZER, e.g. --labels 0=negative,1=positive.")
        if label in labels:
            raise HarnessError(f"--labels '{text}': label '{label}' is given twice.", hint="Give each label once.")
        labels[label] = verbalizer
    try:
        return check_labels(labels)
    except ValueError as exc:
        raise HarnessError(f"--labels '{text}': {exc}.", hint="Give each label its own verbalizer.") from exc
