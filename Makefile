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

## Set up, start the services, build, render a sample clip to out/sample.mp4; then run the
## product (`spinbot up`): the web chat on http://127.0.0.1:8080, a render worker, and every
## bot whose token is set (TELEGRAM_BOT_TOKEN, DISCORD_BOT_TOKEN), until Ctrl-C.
up: build services
	mkdir -p out
	@# Each voice's pitch and brightness, once, for matching voices to voice notes.
	test -f "$(ASSETS)/voice-figures.json" || cargo run --release --quiet -- voices --measure > /dev/null
	cargo run --release --quiet -- render --photo "$(ASSETS)/photos/t1.jpg" \
		--say "$(SAMPLE_TEXT)" -o out/sample.mp4
	@echo "out/sample.mp4 is ready; starting the product (the web chat, a render worker, and the bots whose tokens are set)"
	source .dev/env && exec cargo run --release --quiet -- up

## A render worker on the services of `make services`.
worker: build
	source .dev/env && cargo run --release --quiet -- worker

## Every test, with the real weights.
test: setup
	cargo nextest run --workspace --no-fail-fast

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
