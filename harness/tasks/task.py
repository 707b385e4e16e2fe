"""A task: named splits of examples, the metrics that score them, and what a prompt for one looks like."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError
from harness.types import Document, Example

PAIR_FIELDS = ("chosen", "rejected")  # a preference pair (the dpo strategy); kept in Example.meta
DEFAULT_METRICS = {"generation": ["rougeL", "rouge1", "rouge2"], "qa": ["exact_match", "token_f1"],
                   "classification": ["accuracy", "macro_f1"]}


@dataclass
class Task:
    name: str
    kind: str
    instruction: str
    splits: dict[str, list[Example]]
    metrics: list[str]
    max_new_tokens: int = 64
    input_template: str = "{input}"
    description: str = ""
    corpus: list[Document] | None = None
    corpus_holds_answers: bool = False  # the corpus is meant to contain the answers (knowledge QA)
    labels: dict[str, str] | None = None  # label -> verbalizer, for classification
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> list[Example]:
        if name not in self.splits:
            raise HarnessError(
                f"Task '{self.name}' has no '{name}' split (it has: {', '.join(self.splits) or 'none'}).",
                hint=f"Add a '{name}' file to the task, or pass --data {name}=FILE.",
            )
        return self.splits[name]

    def answer_text(self, example: Example) -> str:
        """What the model should say for an example: its label's verbalizer, or its first reference."""
        ref = example.references[0]
        return self.labels.get(ref, ref) if self.labels else ref

    def render_input(self, text: str) -> str:
        return self.input_template.replace("{input}", text)

    def messages(
        self, example: Example, demos: list[Example] = (), passages: list[Document] = ()
    ) -> list[dict[str, str]]:
        """The one prompt template: every strategy builds chat messages here and only adds demos or passages. A
        multi-turn example's earlier turns (meta "turns", a demo's too) come as real messages before its last one."""
        msgs = [{"role": "system", "content": self.instruction}]
        for demo in demos:
            msgs += prior_turns(demo)
            msgs.append({"role": "user", "content": self.render_input(demo.input)})
            msgs.append({"role": "assistant", "content": self.answer_text(demo)})
        msgs += prior_turns(example)
        user = self.render_input(example.input)
        if passages:
            context = "\n".join(f"[{i}] {format_passage(p)}" for i, p in enumerate(passages, 1))
            user = f"Context:\n{context}\n\n{user}"
        msgs.append({"role": "user", "content": user})
        return msgs

    def conversation_text(self, example: Example) -> str:
        """The dialogue as plain text, one turn per line, ending with the last customer message (what a judge reads);
        a single-turn example is its rendered input."""
        last = self.render_input(example.input)
        turns = prior_turns(example)
        if not turns:
            return last
        speaker = {"user": "Customer", "assistant": "Assistant"}
        return "\n".join([*(f"{speaker[t['role']]}: {t['content']}" for t in turns), f"Customer: {last}"])

    def fingerprint(self) -> str:
        h = hashlib.sha256(json.dumps([self.name, self.instruction, self.input_template]).encode())
        for name in sorted(self.splits):
            for ex in self.splits[name]:
                row = [name, ex.id, ex.input, ex.reference]
                if ex.meta.get("turns"):  # only then: single-turn tasks keep their fingerprints
                    row.append(ex.meta["turns"])
                h.update(json.dumps(row, sort_keys=True).encode())
        for doc in self.corpus or []:
            h.update(json.dumps([doc.id, doc.text]).encode())
        return h.hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "metrics": self.metrics,
            "sizes": {k: len(v) for k, v in self.splits.items()},
            "corpus_documents": len(self.corpus) if self.corpus is not None else None,
            "fingerprint": self.fingerprint(),
        }


def prior_turns(example: Example) -> list[dict[str, str]]:
    """A multi-turn example's turns before its last message (meta "turns": role user or assistant, and content)."""
    return [{"role": t["role"], "content": t["content"]} for t in example.meta.get("turns") or []]


def format_passage(doc: Document) -> str:
    return f"{doc.title}: {doc.text}" if doc.title else doc.text


# ---------------------------------------------------------------------------------------------------- reading files
