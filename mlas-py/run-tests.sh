#!/usr/bin/env bash
# The Python package's test command, for CI and developers alike.
#
# Needs only Rust, Python >= 3.10 and pip (maturin and the test tools come from
# PyPI). It builds one release wheel through the same PEP 517 path as
# `pip install ./mlas-py`, installs it into a fresh venv, runs pytest (warnings
# are errors), mypy.stubtest and benchmark 6 once on a tiny dataset, then builds
# the sdist with maturin and installs that into a second fresh venv for a smoke
# test.
#
# CARGO_TARGET_DIR defaults to the workspace's target/, so the third-party crates
# compile once for both routes. PYTHON picks the interpreter (default python3).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/mlas-py-tests.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/../target}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\n== %s\n' "$*"; }

step "wheel (pip wheel ./mlas-py, release build)"
"$python" -m venv "$work/venv"
venv="$work/venv/bin"
"$venv/pip" wheel --quiet --no-deps --wheel-dir "$work/dist" "$here"
# ruff is pinned to one minor release: its formatter's style changes between them.
"$venv/pip" install --quiet "$work"/dist/mlas-*.whl "pytest>=8" "hypothesis>=6" "mypy>=1.10" \
    "maturin>=1.14,<2" "ruff>=0.17,<0.18"
"$venv/python" -c 'import mlas, sys; print("mlas", mlas.__version__, "from", mlas.__file__)'

step "ruff (lint, format check)"
# One configuration (mlas-py/pyproject.toml) for the package, its tests and the
# Python runbook and benchmark at the root.
lint_paths=("$here/python" "$here/tests" "$here/../examples/runbook.py" "$here/../benches/python_ingest.py")
"$venv/ruff" check --config "$here/pyproject.toml" "${lint_paths[@]}"
"$venv/ruff" format --check --config "$here/pyproject.toml" "${lint_paths[@]}"

step "pytest"
(cd "$here" && "$venv/python" -m pytest -W error -p no:cacheprovider tests)

step "mypy.stubtest"
(cd "$work" && "$venv/python" -m mypy.stubtest mlas --allowlist "$here/stubtest-allowlist.txt")

step "benchmark 6 once, on a tiny dataset (benches/python_ingest.py; untimed)"
(cd "$here/.." && "$venv/python" benches/python_ingest.py --rounds 1 --batches 1 --batch-size 20)

step "sdist (maturin sdist), installed into a second fresh venv"
"$venv/maturin" sdist --manifest-path "$here/Cargo.toml" --out "$work/sdist"
"$python" -m venv "$work/venv2"
"$work/venv2/bin/pip" install --quiet "$work"/sdist/mlas-*.tar.gz
(cd "$work" && "$work/venv2/bin/python" - <<'PY'
import datetime as dt
from decimal import Decimal

import mlas

engine = mlas.Engine.in_memory(clock=mlas.FixedClock(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)))
engine.create_affiliate(tenant="t", affiliate_id="a", name="A", email="a@example.com",
                        commission_rate=Decimal("10"))
sale = engine.record_sale(tenant="t", sale_id="s", amount=Decimal("9.99"), currency="USD",
                          affiliate_id="a")
assert sale.commissions[0].amount == Decimal("1.00"), sale
print("sdist smoke test passed:", mlas.__version__, mlas.__file__)
PY
)
step "python tests: all passed"
