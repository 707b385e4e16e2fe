"""The app layer: the CLI and the orchestration (run loop, suites, dry run, regression check) on top of the core.

The core (`harness.*` outside this package) knows nothing of the CLI, the reports or the concrete strategies; the
strategies (`strategies/`) and the renderers (`reports/`) build on the core; only this layer ties them together.
tests/test_architecture.py enforces that.
"""

from harness.registry import strategies

strategies.discover("strategies")  # the concrete strategies register themselves when their modules are imported
