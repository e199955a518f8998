# The two commands of the quick start are `make up` and `make test`.
SHELL := /bin/bash
ASSETS ?= $(or $(SPINBOT_ASSETS),$(HOME)/.cache/spinbot)
SAMPLE_TEXT ?= Hello! I am your talking avatar. Send me a selfie and tell me what to say.

.PHONY: setup build up test lint services services-stop worker

## Install everything a fresh Debian 12 machine lacks (idempotent).
setup:
	bash scripts/setup.sh

## The release binary.
build: setup
	cargo build --release

## Redis, PostgreSQL and SeaweedFS on loopback (idempotent); `source .dev/env` to use them.
services:
	bash scripts/services.sh

services-stop:
	bash scripts/services.sh stop

## Set up, start the services, build, render a sample clip to out/sample.mp4; then, with
## TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN set, run the product (`spinbot up`: a worker
## and every bot whose token is set).
up: build services
	mkdir -p out
	@# Each voice's pitch and brightness, once, for matching voices to voice notes.
	test -f "$(ASSETS)/voice-figures.json" || cargo run --release --quiet -- voices --measure > /dev/null
	cargo run --release --quiet -- render --photo "$(ASSETS)/photos/t1.jpg" \
		--say "$(SAMPLE_TEXT)" -o out/sample.mp4
	@if [ -n "$$TELEGRAM_BOT_TOKEN$$DISCORD_BOT_TOKEN" ]; then \
		source .dev/env && exec cargo run --release --quiet -- up; \
	else \
		echo "out/sample.mp4 is ready; set TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN and run 'make up' to chat with the bot"; \
	fi

## A render worker on the services of `make services`.
worker: build
	source .dev/env && cargo run --release --quiet -- worker

## Every test, with the real weights.
test: setup
	cargo nextest run --workspace --no-fail-fast

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
