# Two commands on a fresh Debian 12 machine:
#   make run    install everything, then serve the bundled example flows on 127.0.0.1:4573
#   make test   install everything, then run the whole default test suite
# (run as root, or as a user with sudo for the apt-get step)

VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := python3-venv python3-pip sox libsox-fmt-all espeak-ng ffmpeg graphviz chromium

.PHONY: run test test-slow deps venv lint bench docs dist clean

run: venv
	$(VENV)/bin/agi-callbot --config examples/callbot.yaml serve

test: venv
	$(PY) -m pytest -q

test-slow: venv
	$(PY) -m pytest -q -m slow

lint: venv
	$(VENV)/bin/ruff check agi_callbot tests benchmarks

# refresh the generated tables of docs/settings.md (tests/docs checks they are current)
docs: venv
	$(PY) -m agi_callbot.reference docs/settings.md

bench: venv
	$(PY) benchmarks/fastagi_load.py --seconds 2
	$(PY) benchmarks/prompts.py
	$(PY) benchmarks/outbox.py
	$(PY) benchmarks/flow_calls.py --seconds 2 --profile
	$(PY) benchmarks/console.py
	$(PY) benchmarks/queue_events.py

# sdist + wheel in dist/ (the wheel carries asterisk-conf/, sounds/ and examples/)
dist: venv
	$(PY) -m build --outdir dist .

# apt's and dpkg's hundreds of lines go to a log; only its tail is shown if it fails
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing with apt-get:$$missing (log: /tmp/agi-callbot-apt.log)"; \
		$(SUDO) true; \
		{ $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; } \
			>/tmp/agi-callbot-apt.log 2>&1 || { tail -n 20 /tmp/agi-callbot-apt.log; exit 1; }; \
	fi

venv: deps $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) build dist *.egg-info var examples/var
