"""What an OpenAI-compatible server promises in a reply, as pydantic models: a reply is parsed from its raw bytes
(UTF-8, JSON) and validated before anything reads it. A reply that breaks a promise (no choices, `text: null`,
`usage` missing, negative or given as strings, chat `content: null`, `max_model_len: "lots"` or -5) is
`Malformed`, naming the field and the value; the backend retries it, then stops with an error naming the endpoint."""

from __future__ import annotations

import json
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, ValidationError


class Malformed(Exception):
    """A reply that is not what the protocol promises: which field, and what it held."""

    def __init__(self, field: str, value: str):
        super().__init__(f"malformed reply: {field}: {value}")
        self.field, self.value = field, value


class Reply(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)  # strict: "12" is not a token count


class Usage(Reply):
    prompt_tokens: StrictInt = Field(ge=0)
    completion_tokens: StrictInt = Field(ge=0)


class Logprobs(Reply):
    token_logprobs: Optional[list[Optional[StrictFloat | StrictInt]]] = None


class CompletionChoice(Reply):
    index: StrictInt = Field(0, ge=0)
    text: StrictStr
    logprobs: Optional[Logprobs] = None


class Message(Reply):
    content: StrictStr


class ChatChoice(Reply):
    index: StrictInt = Field(0, ge=0)
    message: Message


class Served(Reply):
    """What every generation reply carries: the model that answered (and, where the server says, a fingerprint of
    its configuration)."""

    model: StrictStr = Field(min_length=1)
    system_fingerprint: Optional[StrictStr] = None
    usage: Usage


class Completion(Served):
    choices: list[CompletionChoice] = Field(min_length=1)


class ChatCompletion(Served):
    choices: list[ChatChoice] = Field(min_length=1)


class Echoed(Reply):
    """A reply to a log-probability request (`echo`): only its choices are read."""

    choices: list[CompletionChoice] = Field(min_length=1)


IDENTITY = {"id", "root", "parent", "owned_by", "created", "max_model_len"}  # the /v1/models card fields kept


class ModelCard(Reply):
    id: StrictStr
    max_model_len: Optional[StrictInt] = Field(None, ge=1)  # vLLM says; most others do not

    def identity(self) -> dict[str, Any]:
        """What the card says about the weights served. vLLM's `created` (and its `permission` entries) are made
        afresh for every request: left out."""
        card = self.model_dump(mode="json")
        keep = IDENTITY - ({"created"} if card.get("owned_by") == "vllm" else set())
        return {k: card[k] for k in sorted(keep) if card.get(k) is not None}


class ModelList(Reply):
    data: list[ModelCard]


def parse(raw: bytes, kind: type[Reply]) -> Any:
    """The reply `raw` as `kind`, or Malformed naming the first broken field and its value."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Malformed("body", f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise Malformed("body", f"not JSON: {_short(text)}") from None
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        value = "missing" if err["type"] == "missing" else _short(json.dumps(err.get("input"), default=str))
        raise Malformed(where, f"{value} ({err['msg']})") from None


def _short(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[:n] + "..."
