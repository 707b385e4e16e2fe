"""One generic registry: strategies, their settings sections and metrics register themselves by name with a
decorator; a registry that `discover`s imports its package's modules on first use, so they can register."""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Callable, Generic, TypeVar

from harness.errors import unknown_name

if TYPE_CHECKING:
    from harness.measure.measurement import Measurement
    from harness.model_spec import ModelSpec
    from harness.record.results import CostSection
    from harness.section import Section
    from harness.strategy.base import Strategy

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, order: Callable[[T], float] | None = None, discover: tuple[str, ...] = ()):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._order = order  # the listing order of items(); None: as registered
        self._discover = discover  # modules or packages whose modules register items when imported

    def register(self, name: str) -> Callable[[T], T]:
        def add(item: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} '{name}' registered twice")
            self._items[name] = item
            return item

        return add

    def add(self, item: T) -> T:
        """Register an item under its own `name` attribute (a strategy's or metric's name is written once, on it)."""
        return self.register(item.name)(item)

    def _load(self) -> None:
        """Import the packages and every module under them on first use: the modules register their items."""
        discover, self._discover = self._discover, ()  # a module that asks while it is imported finds it started
        try:
            for name in discover:
                package = importlib.import_module(name)
                for module in pkgutil.walk_packages(getattr(package, "__path__", []), prefix=f"{name}."):
                    importlib.import_module(module.name)
        except BaseException:
            self._discover = discover  # the next use tries again (and says what failed)
            raise

    def get(self, name: str) -> T:
        self._load()
        if name not in self._items:
            raise unknown_name(self.kind, name, list(self._items))
        return self._items[name]

    def names(self) -> list[str]:
        self._load()
        return list(self._items)

    def items(self) -> dict[str, T]:
        """Registered items, in the registry's order where it has one (strategies: cheapest first)."""
        self._load()
        if self._order is None:
            return dict(self._items)
        return dict(sorted(self._items.items(), key=lambda kv: self._order(kv[1])))


# The concrete strategies (strategies/) register themselves and the settings sections they own when imported.
strategies: Registry[type[Strategy]] = Registry("strategy", order=lambda strategy: strategy.order,
                                               discover=("strategies",))
settings: Registry[type[Section]] = Registry("settings section", discover=("strategies",))
# what a strategy adds to its cost in run.json (`cost.rag`), each owned by its strategy
costs: Registry[type[CostSection]] = Registry("cost section", discover=("strategies",))
metrics: Registry = Registry("metric", discover=("harness.measure",))
backends: Registry[type[ModelSpec]] = Registry("backend", discover=("harness.backends",))  # each backend's spec
# what is measured of each strategy once it is evaluated (harness.measure.measurement)
measurements: Registry[type[Measurement]] = Registry("measurement", discover=("harness.measure", "harness.probes",
                                                                             "harness.judge"))
