# The commands developers and CI share. `make test` is the one CI runs.

CARGO ?= cargo

.PHONY: test rust-test lint example python-test c-test bench install-c

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
	mlas-py/run-tests.sh

c-test:
	mlas-ffi/run-c-tests.sh

bench:
	$(CARGO) bench

# Installs mlas.h, libmlas (shared with its SONAME, and static) and mlas.pc under PREFIX.
PREFIX ?= /usr/local
install-c:
	PREFIX=$(PREFIX) mlas-ffi/install.sh
