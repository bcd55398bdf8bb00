//! Benchmark 6 under `cargo bench`: Python bulk ingest beside the same work
//! in Rust, by `benches/python_ingest.py` (see its docstring).
//!
//! The package is installed from this checkout (`pip install ./mlas-py`, a
//! release build) into a virtual environment under `target/bench-venv`, made
//! on first use, so the figure is always of the code being benchmarked.
//! Under `cargo test --benches` nothing is built or timed here: the package's
//! test run (`mlas-py/run-tests.sh`, part of `make test`) runs the script once
//! on a tiny dataset instead, with the wheel it has just built.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::Path;
use std::process::Command;

fn run(what: &str, command: &mut Command) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(status.success(), "{what} failed: {status}");
}

fn main() {
    if !common::full_run() {
        println!(
            "python: measured under `cargo bench --bench python`; `make python-test` runs \
             benches/python_ingest.py once on a tiny dataset"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join("target/bench-venv");
    if !venv.join("bin/python").exists() {
        run(
            "python3 -m venv",
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
        );
    }
    run(
        "pip install ./mlas-py",
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--force-reinstall", "--no-deps"])
            .arg(root.join("mlas-py"))
            .current_dir(root),
    );
    run(
        "benches/python_ingest.py",
        Command::new(venv.join("bin/python"))
            .arg(root.join("benches/python_ingest.py"))
            .current_dir(root),
    );
}
