# Portalis — two commands set up everything: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
PORT ?= 5000
DEMO_DB ?= sqlite:///$(CURDIR)/instance/demo.sqlite
APT_PACKAGES := chromium slapd ldap-utils xmlsec1 graphviz libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fonts-liberation2 poppler-utils
PYTEST_ARGS ?=

.PHONY: run test venv vendor system-deps lint typecheck importlint docs clean

$(STAMP): setup.cfg setup.py pyproject.toml $(wildcard plugins/*/pyproject.toml)
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip "setuptools>=68" wheel
	$(PIP) install -q -e '.[dev]'
	@# every first-party plugin, with what its own tests need (its `test` extra)
	@for p in plugins/*/; do if [ -f "$$p/pyproject.toml" ]; then $(PIP) install -q -e "$${p%/}[test]" || exit 1; fi; done
	@touch $(STAMP)

venv: $(STAMP) vendor

# Browser libraries the builder serves from its own static files (no CDN), fetched from npm
# once; the files are committed, so this only runs when one is missing or its version moves.
SORTABLE_VERSION := 1.15.7
VENDOR_DIR := platform/builder/static/builder/vendor
SORTABLE_FILES := $(VENDOR_DIR)/Sortable.min.js $(VENDOR_DIR)/Sortable.LICENSE
# CodeMirror 6 is many npm packages: `npm ci` of the pinned lock file in a scratch copy of
# vendor/codemirror, then esbuild bundles them into one ES module (with every package's licence).
CODEMIRROR_SRC := vendor/codemirror
CODEMIRROR_FILES := $(VENDOR_DIR)/codemirror.js $(VENDOR_DIR)/codemirror.LICENSE
VENDORED := $(SORTABLE_FILES) $(CODEMIRROR_FILES)

vendor: $(VENDORED)

$(CODEMIRROR_FILES) &:
	@mkdir -p $(VENDOR_DIR)
	@tmp=$$(mktemp -d) && cp $(CODEMIRROR_SRC)/package.json $(CODEMIRROR_SRC)/package-lock.json \
	  $(CODEMIRROR_SRC)/codemirror.entry.mjs $(CODEMIRROR_SRC)/bundle.mjs $$tmp/ \
	  && (cd $$tmp && npm ci --silent --no-audit --no-fund >/dev/null && node bundle.mjs out.js out.LICENSE) \
	  && cp $$tmp/out.js $(VENDOR_DIR)/codemirror.js && cp $$tmp/out.LICENSE $(VENDOR_DIR)/codemirror.LICENSE; \
	  status=$$?; rm -rf $$tmp; exit $$status

$(SORTABLE_FILES):
	@mkdir -p $(VENDOR_DIR)
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent sortablejs@$(SORTABLE_VERSION) >/dev/null && tar xzf sortablejs-$(SORTABLE_VERSION).tgz) \
	  && cp $$tmp/package/Sortable.min.js $(VENDOR_DIR)/Sortable.min.js && cp $$tmp/package/LICENSE $(VENDOR_DIR)/Sortable.LICENSE; \
	  status=$$?; rm -rf $$tmp; exit $$status

# Debian packages the browser and directory tests need; installed only when missing.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

LINT_PATHS := platform tests bench $(wildcard plugins)

lint: venv
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)

PLUGIN_PACKAGES := $(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/src/portalis_*/__init__.py))))
EMPTY :=
PLUGIN_SRC := $(subst $(EMPTY) $(EMPTY),:,$(wildcard plugins/*/src) tests/plugins/sample_plugin/src)

typecheck: venv
	@# one strict run (one start, one analysis of the shared imports): Portalis' packages,
	@# found through _typecheck/, and the first-party plugins (each its own distribution under
	@# plugins/, found through MYPYPATH) and the sample plugin the tests load
	@# (tests/plugins/sample_plugin); untyped libraries are listed in pyproject.toml
	MYPYPATH=$(PLUGIN_SRC) $(VENV)/bin/mypy --strict \
	  -p portalis.engine -p portalis.runtime -p portalis.builder -p portalis.testing -p portalis.api -p portalis.web \
	  $(addprefix -p ,$(PLUGIN_PACKAGES)) -p portalis_sample

importlint: venv
	$(VENV)/bin/lint-imports

docs: venv
	$(PY) -m portalis.runtime.docgen docs

test: venv system-deps lint typecheck importlint
	$(VENV)/bin/pytest -n 2 $(PYTEST_ARGS)

run: venv
	@mkdir -p instance
	PORTALIS_DATABASE_URL=$(DEMO_DB) $(VENV)/bin/portalis deploy blueprints/b2c --seed
	PORTALIS_DATABASE_URL=$(DEMO_DB) $(VENV)/bin/portalis run --host 127.0.0.1 --port $(PORT) --demo-logins

# Translation catalogs of the UI (babel.cfg): extract the strings into messages.pot, merge them into
# the en/de/fr/es catalogs (new locales are initialised), compile the .mo files (package data).
# New msgids arrive untranslated — translate them in each messages.po and run the target again.
I18N_DIR := platform/runtime/translations
I18N_LOCALES := en de fr es
I18N_KEYWORDS := -k _ -k gettext -k ngettext:1,2 -k pgettext:1c,2 -k N_ -k FieldValueError:2 -k FieldMessage:2 -k _err:4 -k add_error:4 -k UploadRejected:2

.PHONY: i18n
i18n: venv
	$(VENV)/bin/pybabel extract -F babel.cfg --no-default-keywords $(I18N_KEYWORDS) \
	  --add-comments=Translators: --add-location=file --sort-by-file --project=Portalis \
	  --copyright-holder="Portalis contributors" -o $(I18N_DIR)/messages.pot platform plugins
	@for l in $(I18N_LOCALES); do \
	  if [ -f $(I18N_DIR)/$$l/LC_MESSAGES/messages.po ]; then \
	    $(VENV)/bin/pybabel update -i $(I18N_DIR)/messages.pot -d $(I18N_DIR) -D messages -l $$l \
	      --no-fuzzy-matching --ignore-obsolete || exit 1; \
	  else \
	    $(VENV)/bin/pybabel init -i $(I18N_DIR)/messages.pot -d $(I18N_DIR) -D messages -l $$l \
	      || exit 1; \
	  fi; \
	done
	$(VENV)/bin/pybabel compile -d $(I18N_DIR) -D messages --statistics

clean:
	rm -rf $(VENV) build dist *.egg-info instance
