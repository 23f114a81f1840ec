# Two entry points that work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip >/dev/null
	# torch is pinned to the local CPU build (see pyproject's `train` extra); never an unpinned torch.
	# ocr: the ddddocr teacher (start solver for an unknown school); tensorflow: the second training backend.
	$(BIN)/pip install -e '.[dev,train,postgres,ocr,tensorflow]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/gradewatch demo

# One worker per core (pytest-xdist); worksteal evens out the long browser and training tests.
test: $(STAMP)
	OMP_WAIT_POLICY=PASSIVE $(BIN)/pytest -q -n auto --dist worksteal

# mypy covers the core: the parts every check runs through.
CORE := src/gradewatch/watch src/gradewatch/store src/gradewatch/notify src/gradewatch/schools src/gradewatch/gpa \
        src/gradewatch/config.py src/gradewatch/secrets.py src/gradewatch/diff.py src/gradewatch/grades.py src/gradewatch/app.py \
        src/gradewatch/frontdoor src/gradewatch/web src/gradewatch/directory src/gradewatch/doctor.py \
        src/gradewatch/runner.py src/gradewatch/setup_wizard.py src/gradewatch/logs.py src/gradewatch/exit_codes.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy --ignore-missing-imports $(CORE)

bench: $(STAMP)
	$(BIN)/python bench/captcha.py

clean:
	rm -rf $(VENV) .pytest_cache build dist
