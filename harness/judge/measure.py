"""The judged measurements of every strategy (judge-reference, judge-pairwise, faithfulness) and, once all have
run, the judge's calibration: agreement with a labelled set and with exact answers, position flips, length bias,
and whether it is trusted.

Per test example the verdicts go to judged/<strategy>.jsonl batch by batch, so a killed judge pass resumes with
what is missing; the per-example scores become metrics of the test split, with the same CIs and paired tests as
every other metric."""

from __future__ import annotations

from pathlib import Path

from harness.console import console, escape
from harness.judge import calibration as cal
from harness.judge.asking import Asked, Judge, add_cost
from harness.judge.items import read_labelled, reference_chat
from harness.judge.rubrics import EXPECTED, read_grade, rubrics
from harness.measure.measurement import Measurement
from harness.measure.stats import summarize
from harness.record.judged import Judged, JudgeCost, JudgedCounts, JudgeRecord, Pairwise
from harness.registry import measurements


def calibration_path(config, task) -> Path | None:
    """judge.calibration, else the task's own labelled set (`extra: {judge_calibration: FILE}` in task.yaml, next
    to it)."""
    if config.calibration:
        return config.calibration
    own = task.extra.get("judge_calibration")
    return Path(task.source).parent / own if own and task.source else None


@measurements.add
class Judging(Measurement):
    name = "judge"

    def __init__(self, ctx, pool=None):
        super().__init__(ctx, pool)
        self.config = ctx.config.judge
        self.info: JudgeRecord | None = None
        self._judge: Judge | None = None

    @property
    def judge(self) -> Judge:
        if self._judge is None:
            backend = self.pool.get(self.config.model) if self.pool else self.ctx.model
            self._judge = Judge(backend, self.config, cache=self.ctx.cache, batch_size=self.ctx.config.batch_size,
                                prices=self.ctx.config.model_spec(self.config.model).prices,
                                machine=self.ctx.config.decision.prices)
        return self._judge

    def before(self, record) -> None:
        if not self.config:
            return
        c, backend = self.config, self.judge.backend
        self.info = JudgeRecord(model=c.model, backend=backend.backend, fingerprint=backend.fingerprint, scale=c.scale,
                                baseline=c.baseline, min_agreement=c.min_agreement,
                                rubrics={k: v for k, v in rubrics(c.scale).items() if k in c.measures})
        if path := calibration_path(c, self.ctx.task):
            self.info.labelled = self._labelled(path)
        record.judge = self.info
        a = self.info.labelled
        said = (f"{a.statistic} {a.value:.2f} against {a.against}" if a and a.value is not None else
                f"its {a.statistic} against {a.against} {cal.why_undefined(a)}" if a else "no labelled set")
        console.print(f"Judge: model '{escape(c.model)}' ({backend.backend}) · {escape(said)}")

    def _labelled(self, path: Path):
        """The judge grades a calibration file's items; its agreement with the people who labelled them."""
        c = self.config
        items = read_labelled(path, c.scale)
        asked = self.judge.ask([reference_chat(c.scale, i.request, i.references, i.output) for i in items],
                               lambda reply: read_grade(reply, c.scale), EXPECTED[f"judge-reference {c.scale}"])
        self._add(self.info.cost, asked)
        scored = [(a.value, i.score if c.scale == "pass-fail" else (i.score - 1) / 4) for a, i in zip(asked, items)
                  if a.value is not None]
        return cal.agreement([j for j, _ in scored], [t for _, t in scored],
                             statistic="kappa" if c.scale == "pass-fail" else "tau",
                             against=f"the labelled set {path.name}", unscored=len(items) - len(scored),
                             seed=self.ctx.seed)

    def _add(self, cost: JudgeCost, asked: list[Asked]) -> None:
        for a in asked:
            add_cost(cost, a.cost)
        self.judge.price(cost)

    def applies(self, prepared) -> bool:
        return self.config is not None and self.ctx.store is not None

    def measure(self, prepared, splits):
        from harness.judge.judging import judge_rows

        store, name = self.ctx.store, prepared.name
        rows = {r["example_id"]: r for r in store.read_predictions(name, "test")}
        done = {r["example_id"]: r for r in store.read_judged(name)}
        baseline = self.config.baseline
        against = ({r["example_id"]: r for r in store.read_predictions(baseline, "test")}
                   if "judge-pairwise" in self.config.measures and name != baseline else None)
        todo = [ex for ex in self.ctx.task.split("test") if ex.id in rows and ex.id not in done]
        step = self.ctx.config.batch_size  # test examples judged between two saves
        for start in range(0, len(todo), step):
            with console.status(f"{name}: judging {start + 1}-{min(start + step, len(todo))} of {len(todo)}..."):
                fresh = judge_rows(self, todo[start:start + step], rows, against)
            store.append_judged(name, fresh)
            done.update((r["example_id"], r) for r in fresh)
        judged = [done[ex.id] for ex in self.ctx.task.split("test") if ex.id in done]
        return {"metrics": {"test": self._scores(judged)}, "judged": self._counts(judged, against is not None)}

    def _scores(self, judged: list[dict]) -> dict:
        names = [m for m in ("judge-reference", "judge-pairwise", "faithfulness") if m in self.config.measures]
        out = {}
        for m in names:
            values = [r["scores"][m] for r in judged if m in r["scores"]]
            if values:
                out[m] = summarize(m, values, seed=self.ctx.seed)
        return out

    def _counts(self, judged: list[dict], pairwise: bool) -> Judged:
        def counts(measure: str, cls=JudgedCounts, **extra):
            asked = [r for r in judged if measure in r["asked"]]
            return cls(asked=len(asked), scored=sum(measure in r["scores"] for r in asked),
                       unscored=sum(measure in r["unscored"] for r in asked),
                       retried=sum(measure in r["retried"] for r in asked), **extra)

        out = Judged(claims=sum(r.get("claims", 0) for r in judged))
        if "judge-reference" in self.config.measures:
            out.reference = counts("judge-reference")
        if pairwise:
            pairs = [r["pair"] for r in judged if r.get("pair")]
            out.pairwise = counts("judge-pairwise", Pairwise, baseline=self.config.baseline,
                                  **{k: sum(p[k] for p in pairs) for k in ("wins", "ties", "losses", "flips",
                                                                            "identical", "first_position_wins",
                                                                            "decisive")})
            out.pairwise.flip_rate = cal.flip_rate([float(p["flips"]) for p in pairs if p["both_orders"]],
                                                   seed=self.ctx.seed)
        if any("faithfulness" in r["asked"] for r in judged):
            out.faithfulness = counts("faithfulness")
        for r in judged:
            add_cost(out.cost, JudgeCost.model_validate(r["cost"]))
        self.judge.price(out.cost)
        return out

    def after(self, record) -> None:
        if not self.config or self.info is None:
            return
        from harness.judge.judging import across

        across(self, record)
        record.judge = self.info
        state = "trusted" if self.info.trusted else "unvalidated"
        console.print(f"Judge {state}: {escape(self.info.reason)}")


def check_plan(config, task, plan: dict) -> dict:
    """Before any model work: the labelled set reads (a bad line is named now, not after the models load), and
    judge-pairwise's baseline is in the run and runs first (every other strategy's outputs are compared with its
    saved ones)."""
    from harness.errors import HarnessError

    c = config.judge
    if path := calibration_path(c, task):
        read_labelled(path, c.scale)
    if "judge-pairwise" not in c.measures:
        return plan
    if c.baseline not in plan:
        raise HarnessError(f"judge-pairwise compares every strategy with judge.baseline '{c.baseline}', which is not "
                           f"among this run's strategies ({', '.join(plan)}).",
                           hint=f"Add {c.baseline} to --strategies, set judge.baseline to one of them, or leave "
                                "judge-pairwise out of judge.measures.")
    return {c.baseline: plan[c.baseline], **{k: v for k, v in plan.items() if k != c.baseline}}
