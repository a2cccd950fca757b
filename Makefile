# The commands the README promises. `make` sets everything up and runs the main job;
# `make test` runs the whole test suite (what CI runs, through .ci/run).

VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
SAMPLE_OUT := _build/sample-grades

.PHONY: all main install book grade-sample test lint release sample-class clean

all: main

main: book grade-sample  ## build the book, grade the sample class, print the gradebook

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

book: install  ## the strict build: any warning fails it
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

grade-sample: install
	$(PY) -m autograder grade sample_class --out $(SAMPLE_OUT)
	@echo
	@column -s, -t < $(SAMPLE_OUT)/grades.csv | cut -c1-100

lint: install
	$(VENV)/bin/ruff check autograder tests solutions/*/mistakes.py
	$(VENV)/bin/ruff format --check autograder tests

test: install lint  ## everything CI checks
	$(PY) -m pytest

release: install  ## regenerate chapters/ from solutions/, then the sample class
	$(PY) -m autograder release
	$(PY) -m autograder sample-class

clean:
	rm -rf _build
