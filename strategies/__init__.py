"""Adaptation strategies. Each module registers its strategies with `@strategies.add` (under the class's `name`)."""
