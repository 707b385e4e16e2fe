"""The run's models by name (`models:` in the run YAML, `base` by default), loaded when a strategy first needs one
and closed when the run ends; and weights trained in the run, saved so another backend can serve them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.config import RunConfig
from harness.console import console


class ModelPool:
    """The run's models, loaded when a strategy first needs one and closed when the run ends."""

    def __init__(self, config: RunConfig):
        self.config = config
        self._loaded: dict[str, Any] = {}

    def get(self, name: str):
        if name not in self._loaded:
            from harness.backends import load_backend

            spec = self.config.model_spec(name)
            with console.status(f"Loading model '{name}' ({spec.backend}: {spec.id or 'the offline default'})..."):
                self._loaded[name] = load_backend(spec, self.config, label=name)
        return self._loaded[name]

    def serve(self, name: str, folder: Path, strategy: str):
        """Weights trained in this run (a merged copy saved in `folder`), served by the backend of model `name`."""
        from harness.backends import load_backend

        spec = self.config.model_spec(name).model_copy(update={"id": str(folder)})
        with console.status(f"Serving {folder.name} with model '{name}' ({spec.backend})..."):
            backend = load_backend(spec, self.config, label=name)
        self._loaded[f"{name}:{strategy}"] = backend
        return backend

    def describe(self) -> dict[str, Any]:
        return {name: backend.describe() for name, backend in self._loaded.items()}

    def __enter__(self) -> "ModelPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for backend in self._loaded.values():
            backend.close()
        self._loaded.clear()


def save_merged(ctx, name: str, handle) -> Path:
    """A trained model's (merged) weights and tokenizer as a folder another backend can load."""
    import tempfile

    root = ctx.artifacts(name) or Path(tempfile.mkdtemp(prefix="harness-merged-"))
    folder = root / "merged"
    handle.model.save_pretrained(folder, safe_serialization=True)
    handle.tokenizer.save_pretrained(folder)
    return folder
