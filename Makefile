# Two entry points for a fresh machine (see README): `make run` and `make test`.
.PHONY: run test setup setup-dev lint

run: setup
	.venv/bin/assistant serve

test: setup-dev
	.venv/bin/python -m pytest

setup:
	scripts/setup.sh

setup-dev:
	scripts/setup.sh --dev

lint:
	.venv/bin/ruff check assistant nlu ui tests migrations
