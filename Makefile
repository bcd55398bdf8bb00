# The commands developers and CI share. `make test` is the one CI runs.

CARGO ?= cargo

.PHONY: test rust-test lint example python-test c-test bench

test: lint rust-test example python-test c-test

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-test:
	$(CARGO) test --workspace --exclude mlas-py
	$(CARGO) test --benches

example:
	$(CARGO) run --quiet --example runbook

python-test:
	@if [ -x mlas-py/run-tests.sh ]; then mlas-py/run-tests.sh; else echo "python tests: not yet"; fi

c-test:
	@if [ -x mlas-ffi/run-c-tests.sh ]; then mlas-ffi/run-c-tests.sh; else echo "c tests: not yet"; fi

bench:
	$(CARGO) bench
