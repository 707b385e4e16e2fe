"""Fine-tuning: `lora`, `full`, `freeze` (top N blocks) and `continued-pretraining`, all through ONE training loop.

Reads top to bottom: `prepare` (pick the data, make a trainable copy: strategies/finetune/trainable.py) -> `fit` (the loop of
strategies/finetune/trainer.py: AdamW, warmup and linear decay, gradient accumulation and clipping, validation loss and task
metric, early stopping, best checkpoint kept) -> `finish` (save the adapter / checkpoint, fingerprint the weights,
hand back a PromptedModel).

The base model in ctx.model is never touched: training works on a deep copy. Supervised examples are the exact
prompt the model sees at inference (ctx.model.render(task.messages(example))) followed by the reference and the end
of turn token; the loss covers the answer tokens only (strategies/finetune/training_data.py). Training goes through
accelerate, so `accelerate launch -m harness run ...` spreads it over several processes (gradients averaged) with no
code change.
"""

from __future__ import annotations

import math
import time
from itertools import islice
from typing import Any

from harness import interrupt
from harness.strategy.prompted import PromptedModel
from strategies.finetune.hpsearch import SearchConfig
from strategies.finetune.settings import FinetuneConfig
from harness.strategy.context import RunContext
from harness.measure.metrics import get as get_metric
from harness.measure.metrics import score, validation_metric
from harness.backends.hf import ModelHandle, wrap
from harness.measure.overfitting import seeded_order
from harness.record.training import Details, Training
from harness.registry import strategies
from harness.strategy.base import SetupEstimate, Strategy
from harness.types import Cost, Example
from strategies.finetune import hpsearch
from strategies.finetune.cost import TrainingCost
from strategies.finetune.peft_methods import deployable, deployment_form, inference_view, init_virtual_tokens, is_prompt_learning
from strategies.finetune.trainable import DEFAULT_LR, is_peft, peak_memory, state_fingerprint, trainable_copy
from strategies.finetune.trainer import Trainer, make_accelerator, planned_steps, train
from strategies.finetune.training_data import Item, corpus_items, pad_id, supervised_items, training_stream

CALIBRATION_STEPS = 3  # timed training steps behind the dry run's estimate (2 varied by +-25% here)


class FineTune(Strategy):
    """prepare() = pick data -> trainable copy -> train -> save and fingerprint -> PromptedModel."""

    trains = True
    needs_weights = True  # trains the in-process (hf) model's weights
    composes = "weights"  # rag+lora: trained on the prompts a prompting strategy builds (strategies/composed.py)
    # Set by a composed strategy: the prompting side's adapted model, whose prompts it trains and validates on, and
    # the name it runs under (`rag+lora`: its artifacts folder, its search, its progress).
    prompts: PromptedModel | None = None
    label: str | None = None

    @property
    def run_label(self) -> str:
        return self.label or self.name

    def messages(self, ctx: RunContext, examples: list[Example], training: bool = False) -> list[list[dict[str, str]]]:
        """The chat prompts it trains on (`training`) or validates on: the task's own, or those of the prompting
        side it is composed with (with its training additions: RAG's distractors)."""
        if self.prompts is None:
            return [ctx.task.messages(ex) for ex in examples]
        return self.prompts.messages_for(examples, training=training)

    def serves_weights(self, config) -> bool:
        return config.section(FinetuneConfig).merge  # unmerged adapters are served in-process, through the PeftModel

    def applies_to(self, task) -> bool:
        return "train" in task.splits

    def check_config(self, config, task) -> None:
        # a misspelt monitor_metric fails here, before any work
        validation_metric(task.metrics, config.section(FinetuneConfig).monitor_metric)

    def training_items(self, ctx: RunContext, cfg: FinetuneConfig, examples: list[Example]) -> list[Item]:
        return supervised_items(ctx.model, ctx.task, examples, cfg.max_seq_len, self.messages(ctx, examples, True))

    def validation_items(self, ctx: RunContext, cfg: FinetuneConfig, examples: list[Example]) -> list[Item]:
        return supervised_items(ctx.model, ctx.task, examples, cfg.max_seq_len, self.messages(ctx, examples))

    def prepare(self, ctx: RunContext) -> PromptedModel:
        import torch

        cfg = ctx.config.section(FinetuneConfig)
        start = time.perf_counter()
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        train_examples, val_examples = self.data(ctx, cfg)
        accelerator = make_accelerator(cfg, ctx.model.device)
        search, wanted = None, ctx.config.section(SearchConfig)  # another strategy's search is none of this one's
        if wanted and wanted.strategy == self.run_label:  # validation split only; best trial kept
            search, cfg, (model, notes, result) = hpsearch.run_search(self, ctx, train_examples, val_examples, accelerator)
        else:
            model, notes, result = self.fit(ctx, cfg, train_examples, val_examples, accelerator)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        training = Training(
            method=self.name, train_examples=len(train_examples), val_examples=len(val_examples),
            lr=cfg.lr or DEFAULT_LR[self.name], steps=result.steps, stopped_early=result.stopped_early,
            best=result.best, monitor=cfg.monitor, monitor_metric=monitored_metric(ctx, cfg),
            metric_flat=result.metric_flat, tokens=result.tokens, target_tokens=result.target_tokens,
            train_seconds=result.seconds, eval_seconds=result.eval_seconds, tokens_per_second=result.tokens_per_second,
            processes=accelerator.num_processes, mixed_precision=accelerator.mixed_precision, **notes)
        details = Details(training=training, learning_curve=result.curve, search=search)
        if cfg.learning_curve and self.name != "continued-pretraining":
            details.data_size_curve = self.data_size_curve(ctx, cfg, train_examples, model, accelerator)
        if is_peft(model):
            training.deployment = deployment_form(model, cfg.merge)
        self.keep(ctx, model, training, time.perf_counter() - start, searched=search is not None)
        handle, adapter_fp, artifact_bytes, training.artifact = self.finish(ctx, model, cfg, accelerator)
        peak, peak_kind = peak_memory()
        cost = Cost(setup_seconds=time.perf_counter() - start, trainable_params=trainable,
                    artifact_bytes=artifact_bytes, peak_memory_mb=peak, peak_memory_kind=peak_kind,
                    device=str(accelerator.device))
        cost.add(TrainingCost(train_seconds=result.seconds, tokens_trained=result.tokens,
                              train_tokens_per_second=result.tokens_per_second,
                              search_seconds=details.search.seconds if details.search else None))
        return PromptedModel(self.name, ctx, fingerprint=adapter_fp, cost=cost, model=handle, adapter=adapter_fp,
                             details=details)

    def keep(self, ctx: RunContext, model, training: Training, seconds: float, searched: bool) -> None:
        """A hook before the trained model is merged for serving (lora keeps its adapter for dpo to start from)."""

    def data(self, ctx: RunContext, cfg: FinetuneConfig) -> tuple[list[Example], list[Example]]:
        """The (train, validation) examples: seeded samples; without a validation split, the train order's tail is
        held out and never trained on."""
        order = seeded_order(ctx.task.splits.get("train", []), ctx.seed)
        if "validation" in ctx.task.splits:
            return order[: cfg.max_train_examples], seeded_order(ctx.task.split("validation"), ctx.seed)[: cfg.val_examples]
        held = min(cfg.val_examples, len(order) // 5)
        return order[: len(order) - held][: cfg.max_train_examples], order[len(order) - held :]

    def estimate_setup(self, ctx: RunContext, generation_seconds: float) -> SetupEstimate:
        """For the dry run: what prepare() will take, without training. The planned training's exact token count
        at the tokens/s of the Trainer's first steps (`calibrate`), plus its validations (the loss as timed on one
        batch; generation at `generation_seconds` per example, as timed on the base model). Saving the adapter and
        merging are not counted; --learning-curve trains 1.75x as much."""
        cfg = ctx.config.section(FinetuneConfig)
        train_examples, val_examples = self.data(ctx, cfg)
        items = self.training_items(ctx, cfg, train_examples)
        val_items = self.validation_items(ctx, cfg, val_examples)
        micro_batches = math.ceil(len(items) * cfg.epochs / cfg.batch_size)  # the epochs run as one stream
        steps = planned_steps(micro_batches, cfg)
        share = min(1.0, steps * cfg.grad_accum / max(micro_batches, 1))  # max_steps may end the run early
        tokens = round(sum(len(it.input_ids) for it in items) * cfg.epochs * share)
        validations = math.ceil(steps / cfg.eval_every)  # every eval_every steps, and after the last
        tokens_per_second, val_loss_seconds = self.calibrate(ctx, cfg, items, val_items)
        train_seconds = tokens / tokens_per_second
        val_seconds = validations * (val_loss_seconds + len(val_examples) * generation_seconds)
        seconds = train_seconds + val_seconds
        if cfg.learning_curve and self.name != "continued-pretraining":
            seconds = 1.75 * seconds + 3 * cfg.learning_curve_eval_examples * generation_seconds
        search = ctx.config.section(SearchConfig)
        if search and search.strategy == self.run_label:  # an upper bound: no trial pruned; the best one's model is kept
            seconds *= search.trials * (sum(search.epochs) / len(search.epochs) / cfg.epochs if "epochs" in search.params else 1)
        return SetupEstimate(seconds=seconds, tokens=tokens, tokens_per_second=tokens_per_second, steps=steps,
                             validations=validations, train_seconds=train_seconds, validation_seconds=val_seconds)

    def calibrate(self, ctx: RunContext, cfg: FinetuneConfig, items: list[Item], val_items: list[Item],
                  ) -> tuple[float, float]:
        """(training tokens/s, seconds of one validation loss pass), timed on a trainable copy: CALIBRATION_STEPS
        Trainer steps on the first batches the training reads (after one untimed step), and one validation batch
        scaled up to the validation sample."""
        import torch

        acc = make_accelerator(cfg, ctx.model.device)
        model, _ = trainable_copy(ctx.model.model, self.name, cfg)
        trainer = Trainer(model, training_stream(items, cfg.epochs, ctx.seed), cfg, lr=cfg.lr or DEFAULT_LR[self.name],
                          pad=pad_id(ctx.model.tokenizer), accelerator=acc)
        sync = torch.cuda.synchronize if acc.device.type == "cuda" else (lambda: None)
        n = min(len(trainer.loader), 1 + CALIBRATION_STEPS)
        timed_tokens, timed = 0, 0.0
        trainer.model.train()
        for i, batch in enumerate(islice(trainer.loader, n)):
            interrupt.check()
            sync()
            t0 = time.perf_counter()
            trainer.step(batch)
            sync()
            if i or n == 1:  # the first step warms up (allocations, kernels) unless it is the only one
                timed += time.perf_counter() - t0
                timed_tokens += int(batch["attention_mask"].sum())
        sync()
        t0 = time.perf_counter()
        trainer.validate(val_items[: cfg.batch_size] or items[: cfg.batch_size])
        sync()
        val_loss_seconds = (time.perf_counter() - t0) * math.ceil(len(val_items) / cfg.batch_size)
        return timed_tokens / max(timed, 1e-9), val_loss_seconds

    def fit(self, ctx: RunContext, cfg: FinetuneConfig, train_examples, val_examples, accelerator, on_validation=None):
        """Train a trainable copy of the base on `train_examples`; returns (the model, its notes, the TrainResult)."""
        from accelerate.utils import set_seed

        set_seed(ctx.seed)  # LoRA's initialisation is random too
        model, notes = trainable_copy(ctx.model.model, self.name, cfg)
        if is_prompt_learning(model):
            init_virtual_tokens(model, ctx.model.tokenizer, ctx.task.instruction)
        primary = monitored_metric(ctx, cfg)
        result = train(
            model, ctx.model.tokenizer, self.training_items(ctx, cfg, train_examples),
            self.validation_items(ctx, cfg, val_examples), cfg,
            lr=cfg.lr or DEFAULT_LR[self.name], seed=ctx.seed, accelerator=accelerator,
            val_metric=lambda m: metric_scores(ctx, m, _shard(val_examples, accelerator), primary, accelerator,
                                               self.messages),
            higher_is_better=get_metric(primary).higher_is_better, label=self.run_label, on_validation=on_validation,
        )
        return accelerator.unwrap_model(model), notes, result

    def finish(self, ctx: RunContext, model, cfg: FinetuneConfig, accelerator):
        """Save what was trained and hand back (handle, fingerprint, artifact bytes, artifact description)."""
        base = ctx.model
        device = str(accelerator.device)
        if is_peft(model):
            from peft import get_peft_model_state_dict

            fp = state_fingerprint(get_peft_model_state_dict(model), base.fingerprint, self.name)
            folder = ctx.artifacts(self.run_label)
            nbytes, artifact = 0, None
            if folder is not None and accelerator.is_main_process:
                model.save_pretrained(folder, safe_serialization=True)
                nbytes = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
                artifact = {"path": str(folder), "files": sorted(p.name for p in folder.iterdir()), "bytes": nbytes}
            return deployable(model, base, self.name, merge=cfg.merge), fp, nbytes, artifact
        model.eval()
        handle = wrap(model, base.tokenizer, name=f"{base.name}+{self.name}", source="trained", device=device)
        nbytes, artifact = 0, None
        folder = ctx.artifacts(self.run_label) if cfg.keep_checkpoints else None
        if folder is not None and accelerator.is_main_process:
            model.save_pretrained(folder, safe_serialization=True)
            base.tokenizer.save_pretrained(folder)
            nbytes = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
            artifact = {"path": str(folder), "files": sorted(p.name for p in folder.iterdir()), "bytes": nbytes}
        return handle, handle.fingerprint, nbytes, artifact

    def data_size_curve(self, ctx, cfg, train_examples, full_model, accelerator) -> dict[str, Any]:
        """Train again on 25% and 50% of the data; score all three on a validation sample; fit and project."""
        from strategies.finetune.learning_curve import fit_and_project

        pool = ctx.task.split("validation") if "validation" in ctx.task.splits else ctx.task.split("test")
        held = seeded_order(pool, ctx.seed + 1)[: cfg.learning_curve_eval_examples]
        primary = ctx.task.metrics[0]
        points = []
        for frac in (0.25, 0.5, 1.0):
            n = max(1, round(frac * len(train_examples)))
            if frac < 1.0:
                model, _, _ = self.fit(ctx, cfg, train_examples[:n], seeded_order(pool, ctx.seed)[: cfg.val_examples],
                                       accelerator)
            else:
                model = full_model
            scores = gather_scores(ctx, model, held, primary, accelerator, self.messages)
            points.append({"fraction": frac, "train_examples": n, "scores": scores})
            if model is not full_model:
                del model
        return fit_and_project(points, primary, higher_is_better=get_metric(primary).higher_is_better, seed=ctx.seed)


def monitored_metric(ctx: RunContext, cfg: FinetuneConfig) -> str:
    """The metric the validations during training score (finetune.monitor_metric, or the task's default)."""
    return validation_metric(ctx.task.metrics, cfg.monitor_metric)


def _shard(examples: list[Example], accelerator) -> list[Example]:
    return examples[accelerator.process_index :: accelerator.num_processes]


def metric_scores(ctx: RunContext, model, examples: list[Example], metric: str, accelerator=None,
                  messages=None) -> list[float]:
    """Generate with the model being trained (no cache: its weights keep changing) and score one metric;
    `messages(ctx, examples)` builds the prompts (default: the task's)."""
    from harness.backends.hf_generate import generate

    if not examples:
        return []
    handle = ModelHandle(ctx.model.name, "training", "", inference_view(model), ctx.model.tokenizer,
                         str(accelerator.device) if accelerator else ctx.model.device, "training")
    built = messages(ctx, examples) if messages else [ctx.task.messages(ex) for ex in examples]
    prompts = [handle.render(m) for m in built]
    gens = generate(handle, prompts, max_new_tokens=ctx.max_new_tokens,
                    batch_size=ctx.config.batch_size, cache=None)
    return [score([metric], g.text, ex.references, ex)[metric] for g, ex in zip(gens, examples)]


def gather_scores(ctx, model, examples, metric, accelerator, messages=None) -> list[float]:
    from accelerate.utils import gather_object

    return list(gather_object(metric_scores(ctx, model, _shard(examples, accelerator), metric, accelerator, messages)))


@strategies.add
class LoRA(FineTune):
    name = "lora"
    order = 4
    description = "LoRA adapters (peft) on attention and MLP projections; the adapter is saved as safetensors"
    default = False  # ~10 min on a 2-core CPU: opt in with --strategies (benchmarks/README.md)

    def run_name(self, config) -> str:
        """`finetune.method` picks the PEFT method `lora` trains, and the run records it under that method's name."""
        return config.section(FinetuneConfig).method

    def keep(self, ctx: RunContext, model, training: Training, seconds: float, searched: bool) -> None:
        """The plain supervised LoRA adapter (not searched, not composed) is saved where `dpo.start_from: sft` finds
        it (strategies/finetune/sft_adapter.py), so a run of lora and dpo trains it once."""
        from strategies.finetune.sft_adapter import save_sft, sft_config

        if ctx.config.section(FinetuneConfig).method == "lora" and self.prompts is None and not searched and is_peft(model):
            save_sft(ctx, model, sft_config(ctx), seconds, training, by="lora")


@strategies.add
class Full(FineTune):
    name = "full"
    order = 5
    description = "full fine-tuning: every weight trained (checkpoint saved with --keep-checkpoints)"


@strategies.add
class Freeze(FineTune):
    name = "freeze"
    order = 6
    description = "transfer learning: only the top N transformer blocks and the final norm (and an untied head) train"


@strategies.add
class ContinuedPretraining(FineTune):
    name = "continued-pretraining"
    order = 7
    description = "causal-LM training on the task's corpus, then closed-book answers (knowledge injection)"
    composes = None  # it trains on the corpus, not on prompts: nothing of a prompting strategy's would reach it

    def applies_to(self, task) -> bool:
        return bool(task.corpus)

    def training_items(self, ctx: RunContext, cfg: FinetuneConfig, examples: list[Example]) -> list[Item]:
        return corpus_items(ctx.model, ctx.task.corpus, cfg.max_seq_len)
