"""`ia3` and `prompt-tuning`: the other PEFT methods of the `lora` family (strategies/finetune/peft_methods.py), trained by
the one loop of strategies/finetune/trainer.py. `--strategies lora` with `finetune.method: ia3` runs `ia3`; naming them
here lets one run compare the methods side by side."""

from __future__ import annotations

from harness.registry import strategies
from strategies.finetune.strategy import FineTune


@strategies.add
class IA3(FineTune):
    name = "ia3"
    order = 4.1
    description = "IA3 (peft): learned scaling of keys, values and the MLP's down projection; merged for serving"


@strategies.add
class PromptTuning(FineTune):
    name = "prompt-tuning"
    order = 4.2
    description = "prompt tuning (peft): trained virtual tokens before every prompt, the model's weights untouched"

    def serves_weights(self, config) -> bool:
        return False  # virtual tokens, not weights: served in-process only
