"""Asking the judge: chat messages in, readings out, through the judge model's backend (any: hf, vllm, openai),
so its calls share the run's cache, retries and token accounting. Greedy decoding (temperature 0; served
backends also get the run's seed). A reply that cannot be read is asked once more, quoting the problem; if that
fails too it stays unscored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from harness.backends.base import Backend, Generation
from harness.config import JudgeConfig, PricesConfig
from harness.judge.rubrics import Reading, retry_note
from harness.model_spec import ModelPrices
from harness.record.judged import JudgeCost


@dataclass
class Asked:
    value: float | str | None  # None: unscored
    reply: str
    retried: bool = False
    problem: str = ""
    cost: JudgeCost = field(default_factory=JudgeCost)  # its call(s): the first and, if made, the retry


class Judge:
    def __init__(self, backend: Backend, config: JudgeConfig, *, cache, batch_size: int, prices: ModelPrices,
                 machine: PricesConfig):
        self.backend, self.config, self.cache, self.batch_size = backend, config, cache, batch_size
        self.prices, self.machine = prices, machine

    def ask(self, conversations: list[list[dict[str, str]]], read: Callable[[str], Reading],
            expected: str) -> list[Asked]:
        """One verdict per conversation (system rubric + user item), each reply read by `read`."""
        out = []
        for reply in self._generate(conversations):
            reading = read(reply.text)
            out.append(Asked(reading.value, reply.text, problem=reading.problem, cost=_spent(reply)))
        again = [i for i, a in enumerate(out) if a.value is None]
        retries = [conversations[i] + [{"role": "assistant", "content": out[i].reply},
                                       {"role": "user", "content": retry_note(out[i].problem, expected)}]
                   for i in again]
        for i, reply in zip(again, self._generate(retries)):
            reading = read(reply.text)
            cost = out[i].cost
            add_cost(cost, _spent(reply))
            out[i] = Asked(reading.value, reply.text, retried=True, problem=reading.problem, cost=cost)
        return out

    def _generate(self, conversations: list[list[dict[str, str]]]) -> list[Generation]:
        if not conversations:
            return []
        prompts = [self.backend.render(messages) for messages in conversations]
        return self.backend.generate(prompts, max_new_tokens=self.config.max_new_tokens, batch_size=self.batch_size,
                                     cache=self.cache)

    def price(self, cost: JudgeCost) -> None:
        """Dollars of the calls so far: per token where the judge model has token prices, else machine time."""
        p = self.prices
        if p.input_per_mtok is not None or p.output_per_mtok is not None:
            cost.priced_by = "tokens"
            cost.dollars = (cost.tokens_in * (p.input_per_mtok or 0) + cost.tokens_out * (p.output_per_mtok or 0)) / 1e6
        else:
            rate = p.per_hour if p.per_hour is not None else self.machine.per_hour(self.backend.device)
            cost.priced_by, cost.dollars = "machine time", cost.seconds * rate / 3600


def _spent(g: Generation) -> JudgeCost:
    return JudgeCost(calls=1, cached=int(g.cached), tokens_in=g.tokens_in, tokens_out=g.tokens_out, seconds=g.seconds)


def add_cost(total: JudgeCost, part: JudgeCost) -> None:
    """`part`'s calls added to `total` (the run's evaluation cost)."""
    for name in ("calls", "cached", "tokens_in", "tokens_out", "seconds"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
