"""One generic registry: strategies and metrics register themselves by name with a decorator."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, Generic, TypeVar

from harness.errors import unknown_name

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, discover: str | None = None):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._discover = discover  # a package whose modules register items when imported

    def register(self, name: str) -> Callable[[T], T]:
        def add(item: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} '{name}' registered twice")
            self._items[name] = item
            return item

        return add

    def discover(self, package: str) -> None:
        """Import every module of `package` on first use: the modules register their items when imported."""
        self._discover = package

    def _load(self) -> None:
        if self._discover:
            package = importlib.import_module(self._discover)
            for module in pkgutil.iter_modules(package.__path__):
                importlib.import_module(f"{self._discover}.{module.name}")
            self._discover = None

    def get(self, name: str) -> T:
        self._load()
        if name not in self._items:
            raise unknown_name(self.kind, name, list(self._items))
        return self._items[name]

    def names(self) -> list[str]:
        self._load()
        return list(self._items)

    def items(self) -> dict[str, T]:
        """Registered items, ordered by their `order` attribute where they have one (cheapest strategy first)."""
        self._load()
        return dict(sorted(self._items.items(), key=lambda kv: getattr(kv[1], "order", 100)))


strategies: Registry = Registry("strategy")  # filled by the app layer (harness/app), which knows the strategies
metrics: Registry = Registry("metric")
