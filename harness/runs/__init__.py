"""Running: the run loop, suites, the dry run and the checks before any model work. This floor ties the core to the
concrete strategies (`strategies/`) and the renderers (`reports/`); tests/test_architecture.py holds the floors.
"""
