"""Composed strategies, `A+B`: a prompting strategy (few-shot, rag) and a fine-tuning strategy (lora, full, ...)
deployed together: the fine-tuned model, prompted the way the prompting strategy prompts.

`rag+lora` prepares `rag` (its index), then trains `lora` on the prompts `rag` builds for the training examples:
the passages retrieved for each plus `rag.train_distractors` seeded passages of other documents and, for a seeded
`rag.train_gold_dropped` share of the examples that name their gold documents (`meta.doc_ids`), without the gold
passages, a distractor in each one's place (RAFT: the model learns to answer from the passage that holds the answer
and to pass over those that do not). `few-shot+lora` trains on prompts with the demonstrations (an example is never
its own). The validations during training score the prompts as at inference. The result predicts through the
prompting side's own `build` on the trained weights, so its predictions, retrieval metrics and probes (each item
scored after the passages retrieved for it) are those of the pair as deployed. Its setup is both: the index (or
demonstrations) and the training, each kept in `cost.composed.setup_parts`, beside each side's own cost sections
(`cost.rag`, `cost.training`).

One generic class, `Composed(prompting, weights)`, made by `compose` for the spec that
`harness.runs.strategy_steps.make_strategy` parses; its name is the spec (`rag+lora`), which the record, the
predictions file and the reports use.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import replace

from typing import ClassVar

from harness.errors import HarnessError
from harness.record.results import CostSection
from harness.registry import costs, strategies
from harness.strategy.base import SetupEstimate, Strategy
from harness.strategy.context import RunContext
from harness.strategy.prompted import PromptedModel


@costs.add
class ComposedCost(CostSection):
    """`cost.composed` in run.json: the two sides, their own fingerprints, and each side's setup seconds."""

    name: ClassVar[str] = "composed"

    prompting: str
    weights: str
    prompting_fingerprint: str
    weights_fingerprint: str
    setup_parts: dict[str, float]  # by side's name: the index (or demonstrations), then the training


def sides() -> str:
    """The composable strategies of each side, for a hint."""
    by_side = {side: [n for n, cls in strategies.items().items() if cls.composes == side] for side in ("prompt", "weights")}
    return (f"Compose PROMPT+WEIGHTS, e.g. rag+lora: the prompt side is one of {', '.join(by_side['prompt'])}; "
            f"the weights side one of {', '.join(by_side['weights'])}.")


def compose(spec: str, parts: list[Strategy]) -> "Composed":
    """The composed strategy `spec` of its parts (each made from its name), or a HarnessError naming the part or pair
    that cannot compose, and why."""
    if len(parts) != 2:
        raise HarnessError(f"Strategy '{spec}' has {len(parts)} parts; a composed strategy has two, PROMPT+WEIGHTS.",
                           hint=sides())
    first, second = parts
    for part in parts:
        if part.composes is None:
            why = ("it does not fine-tune on the task's prompts" if part.trains else
                   "it adds nothing to the prompt for a fine-tuning to train on")
            raise HarnessError(f"Strategy '{spec}': '{part.name}' does not compose: {why}.", hint=sides())
    if (first.composes, second.composes) == ("weights", "prompt"):
        raise HarnessError(f"Strategy '{spec}': the order is the prompt side first, then the weights: "
                           f"'{second.name}+{first.name}'.",
                           hint="The fine-tuning side trains on the prompts the prompting side builds. " + sides())
    if first.composes == second.composes == "weights":
        raise HarnessError(f"Strategy '{spec}' makes two weight changes ('{first.name}' and '{second.name}'); a composed "
                           "strategy fine-tunes once, on a prompting strategy's prompts.",
                           hint=f"Compare them side by side: --strategies {first.name},{second.name}. " + sides())
    if first.composes == second.composes == "prompt":
        raise HarnessError(f"Strategy '{spec}' puts two prompting strategies together ('{first.name}' and "
                           f"'{second.name}'); a composed strategy is one prompting strategy and one fine-tuning strategy.",
                           hint=sides())
    return Composed(first, second)


class Composed(Strategy):
    """A prompting strategy's prompts on the weights a fine-tuning strategy trains on those prompts."""

    trains = True  # the dry run estimates its training (and times its prompts on the base: `stand_in`)
    needs_weights = True
    composes = None  # A+B+C: one prompt side, one weight change

    def __init__(self, prompting: Strategy, weights: Strategy):
        self.prompting, self.weights = prompting, weights
        self.name = f"{prompting.name}+{weights.name}"
        self.order = weights.order + 0.5
        self.win_rate = weights.win_rate
        self.description = f"{weights.name} fine-tuned on {prompting.name}'s prompts, then prompted the same way"
        weights.label = self.name  # its artifacts folder, search and progress carry the composed name
        self._prompt_side: tuple[RunContext, PromptedModel] | None = None  # the dry run's, prepared once

    def applies_to(self, task) -> bool:
        return self.prompting.applies_to(task) and self.weights.applies_to(task)

    def check_config(self, config, task) -> None:
        self.prompting.check_config(config, task)
        self.weights.check_config(config, task)

    def serves_weights(self, config) -> bool:
        return self.weights.serves_weights(config)

    def run_name(self, config) -> str:
        """`rag+lora` with `finetune.method: ia3` runs as `rag+ia3`."""
        return f"{self.prompting.run_name(config)}+{self.weights.run_name(config)}"

    def in_suite(self, config, tasks: list[str]):
        return self.weights.in_suite(self.prompting.in_suite(config, tasks), tasks)

    def prepare(self, ctx: RunContext) -> PromptedModel:
        """The prompting side (its index or demonstrations), then the training on its prompts; the prompting
        side's model, now on the trained weights, is what predicts."""
        prompter = self.prompting.prepare(ctx)
        return self.deployed(prompter, self._train(ctx, prompter, self.weights.prepare))

    def _train(self, ctx: RunContext, prompter: PromptedModel, step):
        self.weights.prompts = prompter
        try:
            return step(ctx)
        finally:
            self.weights.prompts = None

    def deployed(self, prompter: PromptedModel, trained: PromptedModel) -> PromptedModel:
        """`prompter` moved onto `trained`'s weights, named and fingerprinted as the pair, costing both setups."""
        parts = {self.prompting.name: prompter.cost.setup_seconds, self.weights.name: trained.cost.setup_seconds}
        cost = copy.copy(trained.cost)
        cost.setup_seconds = sum(parts.values())
        cost.artifact_bytes = prompter.cost.artifact_bytes + trained.cost.artifact_bytes
        cost.sections = prompter.cost.sections | trained.cost.sections  # rag's and the training's, side by side
        cost.add(ComposedCost(prompting=self.prompting.name, weights=self.weights.name,
                              prompting_fingerprint=prompter.fingerprint, weights_fingerprint=trained.fingerprint,
                              setup_parts=parts))
        if prompter.cost.setup_source == "reused":  # the index came from an earlier run; the training is this run's
            cost.setup_source = "reused"
            cost.setup_note = (f"{prompter.cost.setup_note}; {self.weights.name} trained here in "
                               f"{trained.cost.setup_seconds:.1f} s")
        prompter.cost, prompter.details = cost, trained.details
        prompter.model, prompter.adapter = trained.model, trained.adapter
        prompter.fingerprint = hashlib.sha256(f"{prompter.fingerprint}|{trained.fingerprint}".encode()).hexdigest()[:16]
        prompter.name = self.name
        return prompter

    # --- the dry run: the prompting side is prepared for real (its index built, its prompts timed on the base
    # model); the training is estimated on the prompts it would train on

    def stand_in(self, ctx: RunContext) -> PromptedModel:
        if self._prompt_side is None or self._prompt_side[0] is not ctx:
            self._prompt_side = (ctx, self.prompting.prepare(ctx))
        return self._prompt_side[1]

    def estimate_setup(self, ctx: RunContext, generation_seconds: float) -> SetupEstimate | None:
        prompter = self.stand_in(ctx)
        estimate = self._train(ctx, prompter, lambda c: self.weights.estimate_setup(c, generation_seconds))
        if estimate is None:
            return None
        other = prompter.cost.setup_seconds
        return replace(estimate, seconds=estimate.seconds + other, other_setup_seconds=other)
