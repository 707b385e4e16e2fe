"""RAG: retrieve from the task's corpus and put the passages in the prompt.

With a corpus (`Task.corpus`), the top-k documents (best chunk of each) go into the prompt as numbered passages.
Without one, the corpus is the training split: the k training examples whose inputs are most similar to the
question are given as demonstrations (retrieval-augmented few-shot), the most similar nearest the question.

Either way the prompt must fit the model: passages (or demonstrations) are dropped lowest-ranked first until
instruction, context, question and the answer's tokens fit; the question itself is never cut.
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from harness.strategy.prompted import PromptedModel
from harness.strategy.context import RunContext
from harness.registry import settings, strategies
from harness.section import Section
from strategies.rag.cost import BUDGET_DROPS, RagCost, TrainPrompts
from strategies.rag.retrieval import Hit, IndexSpec, Retriever, build_or_load
from harness.strategy.base import Strategy
from harness.tasks.task import format_passage
from harness.types import Cost, Document, Example, Prediction, RetrievalDepth


@settings.add
class RagConfig(Section):
    """Retrieval settings (issue: RAG strategy)."""

    name: ClassVar[str] = "rag"

    chunk_tokens: int = Field(200, ge=8, description="chunk length in embedder tokens")
    overlap: int = Field(32, ge=0, description="tokens shared by consecutive chunks of a document")
    top_k: int = Field(1, ge=1, le=64, description="passages (distinct documents, best chunk each) per prompt")
    index: Literal["flat", "hnsw", "ivf"] = Field("flat", description="flat: exact inner product; hnsw or ivf: "
                                                  "approximate, for corpora beyond ~50k chunks")
    hnsw_m: int = Field(32, ge=4, description="HNSW graph degree")
    hnsw_ef_search: int = Field(64, ge=1, description="HNSW search breadth")
    ivf_nlist: int = Field(1024, ge=1, description="IVF cells (capped at chunks/39)")
    ivf_nprobe: int = Field(16, ge=1, description="IVF cells searched per query")
    max_context_tokens: int | None = Field(None, ge=1, description="cap on the prompt (default: the model's "
                                           "context length minus the answer's tokens)")
    recall_ks: list[int] = Field(default_factory=lambda: [1, 3, 5, 10], description="k for recall@k")
    format_demos: int = Field(1, ge=0, le=8, description="with a corpus: seeded training examples shown first, each "
                              "with its own retrieved passages and its answer, so the model sees the answer format")
    train_distractors: int = Field(1, ge=0, le=16, description="rag+ fine-tuning (rag+lora, rag+full): seeded "
                                   "passages of other documents added to each training prompt, at seeded places "
                                   "among the retrieved ones, as RAFT does (demonstration mode: other training examples)")
    train_gold_dropped: float = Field(0.2, ge=0, le=1, description="rag+ fine-tuning: the seeded share of training "
                                      "examples naming their gold documents (meta.doc_ids) whose gold passages are left "
                                      "out of the prompt (a distractor takes each one's place), as RAFT does")

    @model_validator(mode="after")
    def _overlap_below_chunk(self) -> "RagConfig":
        if self.overlap >= self.chunk_tokens:
            raise ValueError(f"overlap ({self.overlap}) must be smaller than chunk_tokens ({self.chunk_tokens})")
        return self


@strategies.add
class Rag(Strategy):
    name = "rag"
    order = 2
    composes = "prompt"  # rag+lora: fine-tuned on prompts with retrieved passages and distractors (RAFT)
    description = "retrieve top-k passages from the task's corpus (or top-k demonstrations from train) into the prompt"

    @staticmethod
    def default(task) -> bool:
        """In default runs where the task has a corpus. Without one, rag is few-shot with retrieved demonstrations
        (few_shot.selection: similar does the same): opt in with --strategies, it costs a second few-shot pass."""
        return task.corpus is not None

    def applies_to(self, task) -> bool:
        return task.corpus is not None or "train" in task.splits

    def prepare(self, ctx: RunContext) -> "RagModel":
        cfg, task = ctx.config.section(RagConfig), ctx.task
        start = time.perf_counter()
        embedder, embedder_fp = ctx.embedder()
        if task.corpus is not None:
            mode, docs, pool = "passages", task.corpus, {}
        else:
            train = task.split("train")
            mode, docs, pool = "demos", [Document(ex.id, ex.input) for ex in train], {ex.id: ex for ex in train}
        # A chunk longer than the embedder's window would be embedded only in part.
        window = int(getattr(embedder, "max_seq_length", 0) or cfg.chunk_tokens + 2) - 2
        chunk_tokens = max(8, min(cfg.chunk_tokens, window))
        overlap = min(cfg.overlap, chunk_tokens // 2)
        spec = IndexSpec(cfg.index, cfg.hnsw_m, cfg.hnsw_ef_search, cfg.ivf_nlist, cfg.ivf_nprobe)
        retriever = build_or_load(docs, embed=ctx.embed, tokenizer=getattr(embedder, "tokenizer", None),
                                  embedder_fp=embedder_fp, chunk_tokens=chunk_tokens, overlap=overlap, spec=spec,
                                  built_by=ctx.store.path.name if ctx.store else None)
        info = retriever.info
        prepare_seconds = time.perf_counter() - start
        # The one-time cost is building the index; a reused index still reports the build it saved.
        setup = info["build_seconds"] if info["reused"] else prepare_seconds
        cost = Cost(setup_seconds=setup, artifact_bytes=info.get("bytes") or 0, device=ctx.model.device)
        spent = cost.add(RagCost(
            mode=mode, index_type=cfg.index, index_seconds=info["build_seconds"], index_bytes=info.get("bytes"),
            index_reused=info["reused"], index_key=info["key"], documents=info["documents"], chunks=info["chunks"],
            chunk_tokens=chunk_tokens, overlap=overlap, prepare_seconds=prepare_seconds))
        if info["reused"]:
            cost.setup_source = "reused"
            cost.setup_note = (f"reused: index built in run {info.get('built_by') or '(an earlier run)'}, "
                               f"{info['build_seconds']:.1f} s (loaded here in {prepare_seconds:.1f} s)")
        # Format demonstrations (corpus mode): the same few training questions for every example, each shown with
        # the passages retrieved for it and its answer: a small model copies the short-answer format.
        shots: list[tuple[Example, list[Document]]] = []
        if mode == "passages" and cfg.format_demos and "train" in task.splits:
            picked = random.Random(ctx.seed).sample(task.split("train"), min(cfg.format_demos, len(task.split("train"))))
            for ex, hits in zip(picked, retriever.search([ex.input for ex in picked], cfg.top_k)):
                shots.append((ex, [Document(h.chunk.doc_id, h.chunk.text, h.chunk.title) for h in hits]))
        spent.format_demos = [ex.id for ex, _ in shots]
        fp = hashlib.sha256(f"{mode}|{info['key']}|{cfg.top_k}|{cfg.max_context_tokens}|"
                            f"{[ex.id for ex, _ in shots]}".encode()).hexdigest()[:16]
        return RagModel(self.name, ctx, fingerprint=fp, cost=cost, retriever=retriever, mode=mode, pool=pool,
                        shots=shots)



class RagModel(PromptedModel):
    def __init__(self, *args, retriever: Retriever, mode: str, pool: dict[str, Example],
                 shots: list[tuple[Example, list[Document]]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.shots = list(shots)
        self.retriever = retriever
        self.mode = mode
        self.pool = pool
        cfg = self.ctx.config.section(RagConfig)
        self.top_k = cfg.top_k
        self.retrieval = RetrievalDepth(sorted(set(cfg.recall_ks)), context_k=cfg.top_k)
        self.depth = max([cfg.top_k, *cfg.recall_ks])  # ranked far enough for recall@k
        max_new = self.ctx.max_new_tokens
        window = self.model.context_length
        self.budget = min(cfg.max_context_tokens or window, window) - max_new
        self._hits: dict[str, list[Hit]] = {}
        self._chunks_by_doc: dict[str, list] | None = None  # for training prompts' distractors

    def _retrieve(self, examples: list[Example]) -> None:
        """Retrieve for the whole batch at once (one embedding call, one index search)."""
        found = self.retriever.search([ex.input for ex in examples], self.depth + 1)
        for ex, hits in zip(examples, found):
            self._hits[ex.id] = [h for h in hits if h.chunk.doc_id != ex.id][: self.depth]  # never itself as a demo

    def predict(self, examples: list[Example]) -> list[Prediction]:
        self._retrieve(examples)
        predictions = super().predict(examples)
        for p in predictions:
            p.retrieved = [h.chunk.doc_id for h in self._hits.pop(p.example_id)]  # the ranking, best first
        return predictions

    def messages_for(self, examples: list[Example], training: bool = False) -> list[list[dict[str, str]]]:
        """The prompts `predict` builds; `training`: RAFT's, with `rag.train_distractors` seeded distractors and, for
        a `rag.train_gold_dropped` share of examples, the gold passages replaced by distractors. What the last
        training set built holds is `cost.rag.train_prompts` (its budget drops kept apart from the predictions')."""
        self._retrieve(examples)
        spent = self.cost.section(RagCost)
        counted = {key: getattr(spent, key) for key in BUDGET_DROPS}
        built = {"examples": len(examples), "distractors": 0, "gold_dropped": 0}
        try:
            if not training:
                return [self.build(ex)[0] for ex in examples]
            return [self._fit(ex, self._raft_items(ex, random.Random(f"{self.ctx.seed}-raft-{ex.id}"), built))[0]
                    for ex in examples]
        finally:
            for ex in examples:
                self._hits.pop(ex.id, None)
            if training:
                spent.train_prompts = TrainPrompts(**built, **{key: getattr(spent, key) - before
                                                               for key, before in counted.items()})
                for key, before in counted.items():
                    setattr(spent, key, before)

    def _raft_items(self, example: Example, rng: random.Random, built: dict[str, int]) -> list:
        """A training prompt's passages (demonstrations): the retrieved ones, less the gold ones for a seeded share
        of examples, with distractors (never a gold or retrieved document) at seeded places among them: as many as
        `rag.train_distractors`, plus one in the place of each gold passage left out."""
        cfg = self.ctx.config.section(RagConfig)
        items = [self._item(h.chunk) for h in self._hits[example.id][: self.top_k]]
        retrieved = len(items)
        gold = set(example.meta.get("doc_ids") or []) if self.mode == "passages" else set()
        if gold and rng.random() < cfg.train_gold_dropped:
            items = [it for it in items if it.id not in gold]
            built["gold_dropped"] += 1
        distractors = self._distractors(rng, {it.id for it in items} | gold | {example.id},
                                        cfg.train_distractors + retrieved - len(items))
        for distractor in distractors:
            items.insert(rng.randrange(len(items) + 1), distractor)
        built["distractors"] += len(distractors)
        return items

    def _distractors(self, rng: random.Random, taken: set[str], n: int) -> list:
        """`n` seeded passages (a random chunk each) of distinct documents not in `taken`, or other training
        examples in demonstration mode; fewer where there are not that many."""
        if self.mode == "passages":
            if self._chunks_by_doc is None:
                self._chunks_by_doc = {}
                for chunk in self.retriever.chunks:
                    self._chunks_by_doc.setdefault(chunk.doc_id, []).append(chunk)
            candidates = [d for d in self._chunks_by_doc if d not in taken]
            return [self._item(rng.choice(self._chunks_by_doc[d])) for d in rng.sample(candidates, min(n, len(candidates)))]
        candidates = [d for d in self.pool if d not in taken]
        return [self.pool[d] for d in rng.sample(candidates, min(n, len(candidates)))]

    def _item(self, chunk):
        """What a retrieved chunk puts in the prompt: its passage, or (demonstration mode) its training example."""
        return Document(chunk.doc_id, chunk.text, chunk.title) if self.mode == "passages" else self.pool[chunk.doc_id]

    # --- probes as deployed: each probe item is scored after what RAG retrieves for it

    def score_choices(self, items):
        found = self.retriever.search([context for context, _ in items], self.top_k)  # one search for them all
        self._probe_hits = {context: hits for (context, _), hits in zip(items, found)}
        try:
            return super().score_choices(items)
        finally:
            self._probe_hits = {}

    def probe_context(self, text: str) -> str:
        """The passages retrieved for `text` (numbered, as in the prompt), or the retrieved training examples with
        their answers (demonstration mode), before the probe item's own context."""
        hits = getattr(self, "_probe_hits", {}).get(text)
        if hits is None:
            hits = self.retriever.search([text], self.top_k)[0]
        task = self.ctx.task
        if self.mode == "passages":
            passages = [Document(h.chunk.doc_id, h.chunk.text, h.chunk.title) for h in hits[: self.top_k]]
            return "Context:\n" + "\n".join(f"[{i}] {format_passage(p)}" for i, p in enumerate(passages, 1)) + "\n\n"
        demos = [self.pool[h.chunk.doc_id] for h in hits[: self.top_k] if h.chunk.doc_id in self.pool][::-1]
        return "".join(f"{task.render_input(d.input)}\n{task.answer_text(d)}\n\n" for d in demos)

    def build(self, example: Example) -> tuple[list[dict[str, str]], list[Document]]:
        return self._fit(example, [self._item(h.chunk) for h in self._hits[example.id][: self.top_k]])

    def _fit(self, example: Example, items: list) -> tuple[list[dict[str, str]], list[Document]]:
        """The prompt with `items` (passages, best first; or demonstrations, most similar first), the lowest-ranked
        dropped until it fits the budget, and the passages it kept."""
        task = self.ctx.task
        if self.mode == "passages":
            shots = [s for s in self.shots if s[0].id != example.id]
            while shots and self.prompt_tokens(self._with_shots(task.messages(example, passages=items), shots)) > self.budget:
                shots.pop()  # format demonstrations go before any passage of the question itself
                self.cost.section(RagCost).format_demos_dropped_for_budget += 1
            make = lambda n: self._with_shots(task.messages(example, passages=items[:n]), shots)  # noqa: E731
        else:
            demos = items
            items = [Document(d.id, d.input) for d in demos]
            make = lambda n: task.messages(example, demos=demos[:n][::-1])  # noqa: E731 - most similar last
        n = len(items)
        while n > 0 and self.prompt_tokens(make(n)) > self.budget:
            n -= 1  # the lowest-ranked passage goes first; the question always stays
        self.cost.section(RagCost).passages_dropped_for_budget += len(items) - n
        return make(n), items[:n]

    def _with_shots(self, messages: list[dict[str, str]], shots) -> list[dict[str, str]]:
        """Insert each demonstration (its earlier turns, if any, its question with its passages, then its answer)
        after the instruction."""
        turns = []
        for ex, passages in shots:
            turns += [*self.ctx.task.messages(ex, passages=passages)[1:],
                      {"role": "assistant", "content": ex.references[0]}]
        return messages[:1] + turns + messages[1:]

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        return self.model.count_tokens(self.model.render(messages))
