"""Running: the run loop, suites, the dry run and the checks before any model work. This floor ties the core to the
concrete strategies (`strategies/`) and the renderers (`reports/`); tests/test_architecture.py holds the floors.
"""

from harness.registry import strategies

strategies.discover("strategies")  # the concrete strategies register themselves when their modules are imported
