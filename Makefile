# Two commands do everything on a fresh clone:
#   make demo   create .venv (Python 3.11), install, run the main job on the embedded default
#   make test   same set-up, then pytest (tests + tutorials)
# Re-running when nothing changed does not reinstall (the stamp file below).

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.lava-llm-installed
PIP    := $(BIN)/python -m pip

.PHONY: demo test install bench clean-venv

install: $(STAMP)

$(STAMP): setup.cfg requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	$(PIP) install -q --no-deps --ignore-requires-python lava-nc==0.10.0 lava-dl==0.6.0
	$(PIP) install -q torch==2.14.1 torchvision==0.29.1
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q --no-deps -e .
	$(BIN)/python -c "import lava_llm.lava_compat as c; print('wrote', c.write_pth())"
	$(BIN)/python -c "from lava.proc.lif.process import LIF; import lava.lib.dl.slayer"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m lava_llm.demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Every benchmark in its default (quick) mode, then the README tables. Slow: tens of minutes.
bench: $(STAMP)
	for b in benchmarks/[a-z]*.py; do $(BIN)/python -m benchmarks.$$(basename $$b .py) || exit 1; done
	$(BIN)/python scripts/update_readme.py

clean-venv:
	rm -rf $(VENV)
