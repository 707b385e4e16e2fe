"""Adaptation strategies. Each module registers its strategies with `@strategies.register(name)`."""
