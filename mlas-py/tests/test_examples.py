"""The repository's Python example (examples/runbook.py) runs, reads right, and its audit
export verifies with the standalone tools/verify_audit.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # mlas-py/tests/ -> the repository
EXAMPLE = ROOT / "examples" / "runbook.py"
VERIFY = ROOT / "tools" / "verify_audit.py"


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def lines_of(output: str) -> list[str]:
    """Each output line with its runs of spaces collapsed, so table rows compare simply."""
    return [" ".join(line.split()) for line in output.splitlines()]


def test_runbook_example(tmp_path: Path) -> None:
    db = tmp_path / "runbook.db"
    done = run([str(EXAMPLE), str(db)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    out = done.stdout
    lines = lines_of(out)

    # Startup and health, at both ends of the run.
    health = [line for line in lines if re.match(r"status \S+ version ", line)]
    assert len(health) == 2
    assert all(line.startswith("status healthy ") for line in health)
    assert health[0].endswith("audit head - verified yes")
    assert re.search(r"audit head \d+ verified yes$", health[1])

    # Payout details are masked: John's US account and Ada's IBAN.
    assert "aff-123 John Affiliate bronze 10% aff-456 BANK_TRANSFER ****7890" in lines
    assert "1234567890" not in out and "021000021" not in out
    assert "DE89" not in out

    # Commissions with rates and currencies; sale-457's explanation.
    assert "sale-456 aff-123 1 10% 100.00 USD PENDING" in lines
    assert "sale-457 aff-789 3 2.5% 6.25 USD PENDING" in lines
    assert "exact total 43.74825 rounded half-even to 43.75 USD" in lines

    # Approval, the dispute, the batch, its failed payout and the retry.
    assert "approvable on day 0: 0" in lines
    assert any(line.startswith("approved on day 14: 6 (one disputed: com_") for line in lines)
    assert "batch batch-2026-02-15 is PARTIALLY_FAILED" in lines
    assert re.search(r"^failed: pay_\S+ aff-456 62\.50 USD: paypal account", out, re.M)
    assert re.search(r"^retry: pay_\S+ is PAID after 2 attempts$", "\n".join(lines), re.M)
    assert "batch batch-2026-02-15 is COMPLETED, 3 payouts, 4 attempts" in lines
    assert "PAID 3 197.75 USD" in lines

    # The partial refund's clawbacks and the balances they leave.
    assert any(line.startswith("aff-123 30.00 USD clawback adj_") for line in lines)
    assert "balance aff-123: -30.00 USD" in lines
    assert "balance aff-456: -15.00 USD" in lines
    assert "balance aff-789: 0" in lines

    # Audit: verified in process; the disputed commission's records; metrics.
    verified = re.search(r"^verified (\d+) records; head seq (\d+) hash [0-9a-f]{16}$", out, re.M)
    assert verified and verified.group(1) == verified.group(2)
    assert "records about the disputed commission: 2" in lines
    assert "dispute rate 14.29%" in lines
    assert "payout retry rate 33.33%" in lines
    assert 'mlas_commissions{tenant="org-123",status="PAID"} 6' in lines

    # The export sits next to the database and verifies on its own, up to the checkpoint.
    export = tmp_path / "runbook.audit.jsonl"
    assert f"exported {verified.group(1)} records to {export}" in lines
    checkpoint_text = out.split("checkpoint to keep elsewhere: ", 1)[1].splitlines()[0]
    checkpoint = json.loads(checkpoint_text)
    assert str(checkpoint["seq"]) == verified.group(2)
    check = run(
        [
            str(VERIFY),
            str(export),
            "--checkpoint-seq",
            str(checkpoint["seq"]),
            "--checkpoint-hash",
            checkpoint["hash"],
        ],
        cwd=tmp_path,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith(f"OK: {verified.group(1)} records")
    assert f"head seq {checkpoint['seq']} hash {checkpoint['hash']}" in check.stdout

    # And so does the database itself, read straight from the SQLite file.
    direct = run([str(VERIFY), "--sqlite", str(db), "--tenant", "org-123"], cwd=tmp_path)
    assert direct.returncode == 0, direct.stdout + direct.stderr
    assert f"head seq {checkpoint['seq']} hash {checkpoint['hash']}" in direct.stdout


def test_runbook_example_on_a_temporary_file(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = run([str(EXAMPLE)], cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    database = re.search(r"^database  (.+)$", done.stdout, re.M)
    assert database, done.stdout
    path = Path(database.group(1))
    assert path.is_relative_to(tmp_path) and path.is_file()


def test_runbook_example_refuses_an_existing_path(tmp_path: Path) -> None:
    db = tmp_path / "taken.db"
    db.write_bytes(b"not mine to overwrite")
    done = run([str(EXAMPLE), str(db)], cwd=tmp_path)
    assert done.returncode == 2
    assert "exists" in done.stderr and done.stdout == ""
    assert db.read_bytes() == b"not mine to overwrite"
