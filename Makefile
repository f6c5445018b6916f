# Crewcall developer commands. Everything runs from the project's own virtualenv.

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests and tools get a data folder of their own, never the user's (~/.local/share/crewcall).
TEST_ENV := CREWCALL_DATA_DIR=$(CURDIR)/.data/test

# The browser tests drive Debian's Chromium (Playwright cannot download a browser here).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# The German catalogue: the .po is committed, the compiled .mo is not (.gitignore); Babel
# (in the virtualenv) rebuilds it from the .po when that changed, before anything that
# shows pages. Collecting strings needs Debian's gettext (xgettext): `make messages` and
# the catalogue test (so `make test`) install it; `make run` does not need it.
MSGFMT := /usr/bin/msgfmt
PO := src/crewcall/locale/de/LC_MESSAGES/django.po
MO := $(PO:.po=.mo)
# What makemessages does not read: the virtualenv, data, builds, tests and benchmarks
# (web/tests/test_i18n.py reads the same list from here).
MESSAGES_IGNORE := .venv .data build dist tests bench tools docs node_modules

.PHONY: run test lint check-migrations install lock screenshots messages

run: $(STAMP) $(MO)
	$(BIN)/crewcall serve $(if $(DEMO),--demo) $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

# One parallel run; each pytest-xdist worker has a test database of its own, and the change
# feed's horizon counts only transactions of its own database, so the change-feed tests run
# alongside the rest. Exit code 5 is "no test selected" (PYTEST_ARGS selected none).
test: $(STAMP) $(CHROMIUM) $(MSGFMT) $(MO)
	$(TEST_ENV) $(BIN)/pytest -n 2 $(PYTEST_ARGS) || [ $$? -eq 5 ]

# Pictures of the main pages with the demo agency, from a scratch database, and of each
# step of the dispatcher's day in German (the full-flow browser test): docs/screenshots/.
screenshots: $(STAMP) $(CHROMIUM) $(MO)
	$(BIN)/python tools/screenshots.py
	CREWCALL_SCREENSHOTS=$(CURDIR)/docs/screenshots $(TEST_ENV) $(BIN)/pytest -q -p no:randomly \
		src/crewcall/staffing/tests/test_full_flow_browser.py

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

$(MSGFMT):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq gettext

$(MO): $(PO) $(STAMP)
	$(BIN)/pybabel compile --statistics -i $(PO) -o $@

# After marking new strings: update the .po from the code, then translate every new or
# changed entry (no empty msgstr, no "fuzzy" left: web/tests/test_i18n.py checks).
messages: $(STAMP) | $(MSGFMT)
	$(TEST_ENV) $(BIN)/crewcall makemessages -l de --no-obsolete --add-location file \
		$(addprefix -i ,$(MESSAGES_IGNORE))

# The import contracts (pyproject.toml) and the module graph's cycles: docs/architecture.md.
lint: $(STAMP)
	$(BIN)/ruff check src
	$(BIN)/ruff format --check src
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python tools/import_cycles.py
	$(TEST_ENV) $(BIN)/mypy

check-migrations: $(STAMP)
	$(TEST_ENV) $(BIN)/crewcall makemigrations --check --dry-run

install: $(STAMP)

$(BIN)/python:
	python3 -m venv $(VENV)

# Reinstall only when the dependencies changed since the last install. constraints.txt
# pins every package, transitive ones included (regenerate it with `make lock`).
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^crewcall' > constraints.txt
