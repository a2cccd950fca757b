# The commands the README promises. `make` sets everything up and runs the main job;
# `make test` runs the whole test suite (what CI runs, through .ci/run). Only `make test` and
# `make bench-cluster` add Dask (requirements-cluster.txt, the optional cluster extra) to the venv.

VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
SAMPLE_OUT := _build/sample-grades
LMS_OUT    := _build/lms-grades

.PHONY: all main install install-cluster book grade-sample grade-lms test lint release sample-class clean bench-build bench-book shots figure-views audit bench-grade bench-cluster

all: main

main: book grade-sample  ## build the book, grade the sample class, print the gradebook

# $(call logged,LOG,COMMAND): run COMMAND with its output in LOG, for steps whose output only
# matters when they fail (pip's, and whatever the machine's pip configuration adds to it). On a
# terminal one line, redrawn in place, shows the seconds so far and the step pip is at. If COMMAND
# fails, the end of LOG is printed and make stops.
define logged
	( $(2) ) >$(1) 2>&1 & pid=$$!; start=$$(date +%s); \
	if [ -t 1 ]; then \
		while kill -0 $$pid 2>/dev/null; do \
			step=$$(grep -E '^(Collecting|Processing|Building|Installing|Successfully)' $(1) | tail -n 1); \
			printf '\r\033[K  %4ss  %.70s' $$(( $$(date +%s) - start )) "$$step"; sleep 1; \
		done; printf '\r\033[K'; \
	fi; \
	wait $$pid || { tail -n 30 $(1); echo "error: that failed; the whole log is $(1)"; exit 1; }; \
	echo "  done in $$(( $$(date +%s) - start ))s"
endef

# The project itself is installed too, editable (`-e .`): `python -m autograder` then runs from
# any folder, and edits to autograder/ are live.
$(VENV)/.installed: requirements.txt pyproject.toml
	@echo "installing Python packages into $(VENV) (the first time takes a few minutes)"
	@$(PYTHON) -m venv $(VENV)
	@$(call logged,$(VENV)/install.log,$(PY) -m pip install --upgrade pip && $(PY) -m pip install -r requirements.txt -e .)
	@touch $@

# The JavaScript a built page loads from CDNs (MathJax, require.js, the widget manager, Font
# Awesome), pinned in package.json: the browser tests serve it offline (tests/browser/cdn.py).
# Without npm this is skipped with a note, and the browser tests skip too (they fail in CI).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		echo "installing JavaScript packages into node_modules (npm ci)"; \
		npm ci --ignore-scripts --no-audit --no-fund --no-update-notifier --loglevel=error && touch $@; \
	else echo "npm not found: node_modules/ not installed, the browser tests will skip"; fi

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.cluster-installed: $(VENV)/.installed requirements-cluster.txt
	@echo "installing the cluster extra (Dask) into $(VENV)"
	@$(call logged,$(VENV)/install-cluster.log,$(PY) -m pip install -r requirements-cluster.txt)
	@touch $@

install-cluster: $(VENV)/.cluster-installed  ## add Dask, for `grade --scheduler` and tests/test_cluster.py

# `python -m book.build` is the jupyter-book command, minus seconds of imports it never uses (book/build.py).
book: install  ## the strict build: any warning fails it
	$(PY) -m book.build build . -W -n --keep-going

# Sandboxed where the machine can isolate student code (root, or user namespaces); elsewhere the
# bundled sample class, the course's own trusted data, is graded with --no-sandbox, and it says so.
grade-sample: install
	@if why=$$($(PY) -m autograder.isolation --check); then flag=; else \
		echo "sandbox off: $$why"; \
		echo "grading the bundled sample class (the course's own trusted notebooks) with --no-sandbox"; \
		flag=--no-sandbox; fi; \
	$(PY) -m autograder grade sample_class --out $(SAMPLE_OUT) $$flag
	@echo
	@cat $(SAMPLE_OUT)/grades.csv

# The bundled Canvas and Moodle downloads of the sample class (sample_lms/), graded with their
# gradebook exports: what `grade` writes back to each LMS (README, "Grading with Canvas or Moodle").
grade-lms: install  ## grade the sample class as Canvas and Moodle hand it over; print the imports
	@if why=$$($(PY) -m autograder.isolation --check); then flag=; else \
		echo "sandbox off: $$why"; flag=--no-sandbox; fi; \
	$(PY) -m autograder grade sample_lms/canvas-submissions.zip --roster sample_lms/canvas-gradebook.csv \
		--out $(LMS_OUT)/canvas $$flag && \
	$(PY) -m autograder grade sample_lms/moodle-submissions.zip --roster sample_lms/moodle-grading-worksheet.csv \
		--out $(LMS_OUT)/moodle $$flag
	@echo; cat $(LMS_OUT)/canvas/lms/grades-import.csv; echo; cat $(LMS_OUT)/moodle/lms/grades-import.csv

lint: install
	$(VENV)/bin/ruff check autograder book tests benchmarks solutions/*/mistakes.py
	$(VENV)/bin/ruff format --check autograder book tests benchmarks

test: install install-cluster lint  ## everything CI checks
	$(PY) -m pytest

# BASELINE=REV (for example HEAD~1) also builds git revision REV, each build in turn with the
# current tree's, and prints the ratios.
bench-build: install  ## time a clean build and cached rebuilds (README, "Build speed")
	$(PY) benchmarks/build_speed.py --touched-runs 5 $(if $(BASELINE),--baseline $(BASELINE))

# BASELINE=REV also builds git revision REV and measures it in the same run (before/after);
# BOOK_HTML=DIR reuses an existing build of the current tree, as the browser tests do.
bench-book: install  ## each page's weight and its load time on a throttled phone (README, "Page weight")
	$(PY) benchmarks/book_weight.py $(if $(BOOK_HTML),--html $(BOOK_HTML)) $(if $(BASELINE),--baseline $(BASELINE))

bench-grade: install  ## grade a generated class with plain nbgrader and with this grader (README, "Grading at scale")
	$(PY) benchmarks/grading_speed.py

bench-cluster: install install-cluster  ## grade one class locally and on a local Dask cluster of 2 workers (README, "Grading at scale")
	$(PY) benchmarks/cluster_speed.py

shots: install  ## screenshots of each chapter's key figures at desktop and phone widths, and every figure with deuteranopia and in greyscale, in /tmp/shots
	$(PY) tests/browser/shots.py --out /tmp/shots

figure-views: install  ## every static figure as built, with deuteranopia and in greyscale, beside its alt text, in /tmp/shots/figures (no browser)
	$(PY) tests/browser/figure_views.py --out /tmp/shots/figures $(if $(BOOK_HTML),--book $(BOOK_HTML))

audit: install  ## axe-core on every page of the book, light and dark: counts per page and every failing node
	$(PY) tests/browser/axe.py --verbose $(if $(BOOK_HTML),--book $(BOOK_HTML))

release: install  ## regenerate chapters/ from solutions/, then the sample class
	$(PY) -m autograder release
	$(PY) -m autograder sample-class

clean:
	rm -rf _build
