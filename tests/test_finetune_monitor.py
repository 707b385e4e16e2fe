"""Issue #28: fine-tuning kept its first checkpoint whenever the task metric was flat. A tie on the monitored metric
goes to the lower validation loss (then the later step), early stopping waits while the loss still falls, the record
and the report say when the metric carried no signal, and qa tasks monitor token F1 by default."""

from __future__ import annotations

import pytest

from harness.config import RunConfig
from strategies.finetune.settings import FinetuneConfig
from harness.errors import HarnessError
from harness.tasks.load import load_task


def _cfg(**over):
    base = dict(epochs=12, batch_size=4, eval_every=2, warmup_ratio=0.0, patience=2, monitor="metric")
    return FinetuneConfig(**(base | over))


def test_a_flat_metric_with_a_falling_loss_keeps_the_last_checkpoint_and_does_not_stop_early(tiny_handle):
    """Exact match stays at 0 at every validation (as a small model's does for a while) while the validation loss
    falls: the lowest-loss (last) checkpoint is kept, and patience 2 does not end the training."""
    import torch

    from strategies.finetune.trainable import trainable_copy
    from strategies.finetune.trainer import train
    from strategies.finetune.training_data import collate, supervised_items

    task = load_task("summarization", limit=4)
    items = supervised_items(tiny_handle, task, task.split("train"), 512)
    cfg = _cfg()
    model, _ = trainable_copy(tiny_handle.model, "full", cfg)
    result = train(model, tiny_handle.tokenizer, items, items, cfg, lr=3e-3, show_progress=False,
                   val_metric=lambda m: [0.0] * len(items))
    losses = [p["val_loss"] for p in result.curve]
    assert all(p["val_metric"] == 0.0 for p in result.curve) and len(losses) == 6
    assert all(b < a - cfg.loss_tolerance for a, b in zip(losses, losses[1:])), losses  # the loss kept falling
    assert not result.stopped_early and result.steps == 12
    assert result.best["step"] == 12 and result.best["val_loss"] == min(losses)
    assert result.metric_flat is True
    with torch.no_grad():  # the model holds the kept (last) checkpoint
        assert float(model(**collate(items, 3)).loss) == pytest.approx(losses[-1], rel=1e-4)


def _validation(**over):
    from strategies.finetune.trainer import TrainResult, Validation

    return Validation([], _cfg(**over), metric=None, higher_is_better=True, label="t", on_validation=None,
                      result=TrainResult())


@pytest.mark.parametrize("point, keep, improved", [
    ({"step": 16, "val_metric": 0.5, "val_loss": 3.0}, True, True),  # the metric rose: kept, whatever the loss
    ({"step": 16, "val_metric": 0.2, "val_loss": 4.0}, True, True),  # the metric rose though the loss did too
    ({"step": 16, "val_metric": 0.0, "val_loss": 1.0}, False, False),  # the metric fell: not kept
    ({"step": 16, "val_metric": 0.1, "val_loss": 3.5}, True, True),  # a tie; loss down by 0.5 > tolerance
    ({"step": 16, "val_metric": 0.1, "val_loss": 3.995}, True, False),  # a tie; loss down by less: kept, not counted
    ({"step": 16, "val_metric": 0.1, "val_loss": 4.0}, True, False),  # a tie on both: the later step
    ({"step": 16, "val_metric": 0.1, "val_loss": 4.2}, False, False),  # a tie, loss up: not kept
])
def test_a_tie_on_the_metric_goes_to_the_lower_loss_then_the_later_step(point, keep, improved):
    best = {"step": 8, "val_metric": 0.1, "val_loss": 4.0}
    assert _validation().compare(point, best) == (keep, improved)


def test_loss_tolerance_and_min_delta_set_what_counts_as_a_tie_and_an_improvement():
    best = {"step": 8, "val_metric": 0.10, "val_loss": 4.0}
    within = {"step": 16, "val_metric": 0.12, "val_loss": 3.9}
    assert _validation(min_delta=0.05).compare(within, best) == (True, True)  # metric within min_delta: a tie
    assert _validation(min_delta=0.05, loss_tolerance=0.2).compare(within, best) == (True, False)
    assert _validation(min_delta=0.0).compare(within, best) == (True, True)  # a real rise
    assert _validation(monitor="loss").compare({"step": 16, "val_metric": 0.0, "val_loss": 3.9}, best) == (True, True)


def test_early_stopping_still_fires_when_the_metric_is_flat_and_the_loss_rises(tiny_handle):
    from strategies.finetune.trainable import trainable_copy
    from strategies.finetune.trainer import train
    from strategies.finetune.training_data import supervised_items

    task = load_task("summarization", limit=4)
    items = supervised_items(tiny_handle, task, task.split("train"), 512)
    cfg = _cfg(epochs=40, batch_size=4, eval_every=2, patience=2, loss_tolerance=100.0)  # no fall is enough
    model, _ = trainable_copy(tiny_handle.model, "full", cfg)
    result = train(model, tiny_handle.tokenizer, items, items, cfg, lr=3e-3, show_progress=False,
                   val_metric=lambda m: [0.0] * len(items))
    assert result.stopped_early and result.steps == 6 and len(result.curve) == 3
    assert result.best["step"] == 6  # still the lowest loss among the tied checkpoints
    assert result.metric_flat is True


def test_qa_tasks_monitor_token_f1_by_default_and_monitor_metric_names_another():
    from harness.measure.metrics import validation_metric

    assert validation_metric(["exact_match", "token_f1"], None) == "token_f1"
    assert validation_metric(["exact_match"], None) == "token_f1"
    assert validation_metric(["rougeL", "rouge1"], None) == "rougeL"
    assert validation_metric(["exact_match", "token_f1"], "exact_match") == "exact_match"
    with pytest.raises(HarnessError, match=r"finetune.monitor_metric: Unknown metric 'tokn_f1'") as err:
        validation_metric(["exact_match"], "tokn_f1")
    assert "token_f1" in err.value.hint
    with pytest.raises(HarnessError, match=r"finetune.monitor_metric: 'macro_f1' is a corpus-level metric"):
        validation_metric(["accuracy"], "macro_f1")


def test_a_misspelt_monitor_metric_stops_the_run_before_any_training():
    from strategies.finetune.strategy import LoRA

    qa = load_task("qa", limit=4)
    with pytest.raises(HarnessError, match="finetune.monitor_metric"):
        LoRA().check_config(RunConfig(finetune={"monitor_metric": "f1"}), qa)
    LoRA().check_config(RunConfig(finetune={"monitor_metric": "token_f1"}), qa)  # a known one passes


def test_a_qa_training_records_its_monitored_metric_and_whether_it_moved(tiny_handle, tmp_path):
    from harness.backends.cache import NoCache
    from harness.strategy.context import RunContext
    from harness.registry import strategies
    from harness.record.store import RunStore

    qa = load_task("qa", limit=4)
    for chosen, expected in ((None, "token_f1"), ("exact_match", "exact_match")):
        cfg = RunConfig(max_new_tokens=4, overfit_sample=0, finetune=dict(
            max_train_examples=4, val_examples=2, eval_every=1, epochs=2, monitor_metric=chosen))
        ctx = RunContext(cfg, qa, tiny_handle, NoCache(), RunStore.create(tmp_path, f"t-{expected}"))
        details = strategies.get("lora")().prepare(ctx).details
        training = details.training
        values = [p.val_metric for p in details.learning_curve]
        assert training.monitor_metric == expected and len(values) == 2
        assert training.metric_flat is (values[0] == values[1])


def test_old_records_load_and_the_report_says_the_checkpoint_was_chosen_by_loss(tmp_path):
    from harness.record.training import Training
    from reports.html import render as render_html
    from reports.markdown import render as render_md
    from tests.runfixtures import make_run

    old = Training.model_validate({"method": "lora", "monitor": "metric", "steps": 15})  # a run.json from before
    assert old.metric_flat is None and old.monitor_metric is None
    curve = [{"step": 8, "val_loss": 3.817, "val_metric": 0.0}, {"step": 15, "val_loss": 3.691, "val_metric": 0.0}]
    store = make_run(tmp_path, {"prompt": {"scores": [0.0, 1.0]}, "lora": {"scores": [1.0, 0.0],
                                                                          "learning_curve": curve}})
    rec = store.read()
    rec.strategies["lora"].training = Training(method="lora", monitor="metric", monitor_metric="token_f1",
                                               metric_flat=True, steps=15, best=curve[1])
    store.write(rec)
    assert store.read().strategies["lora"].training.metric_flat is True
    sentence = ("lora: no signal in the validation metric (token_f1 stayed at 0.000 over 2 validations): the "
                "checkpoint was chosen by loss (step 15, validation loss 3.691).")
    assert sentence in render_md(store)
    assert sentence in render_html(store)
    rec.strategies["lora"].training.metric_flat = False
    store.write(rec)
    assert "no signal in the validation metric" not in render_md(store) + render_html(store)
