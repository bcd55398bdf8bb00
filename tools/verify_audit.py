#!/usr/bin/env python3
"""Verify an MLAS audit export (JSON Lines) with the Python standard library only.

Each line of the export is one audit record: the ten hashed members plus
"hash". The hash is SHA-256 (or HMAC-SHA256 with the audit key) of the
canonical JSON of the line's object without "hash" (see AUDIT.md).

Usage:
    verify_audit.py EXPORT.jsonl [--anchor-seq N --anchor-hash HEX]
                    [--key-file PATH | --key-hex HEX]
                    [--checkpoint-seq N --checkpoint-hash HEX]
    verify_audit.py --sqlite DATABASE --tenant TENANT [--key-... ] [--checkpoint-...]

With --sqlite the records are read straight from an MLAS SQLite file (opened
read-only), each row turned into the documented object; the anchor left by
archiving is read from the file too, and an audit.archived record must vouch
for it.

Without an anchor, a file whose first record is seq 1 must start from the
genesis hash (64 zeros); a file starting later is verified from its first
record's prev_hash, which is reported as not anchored.

Prints the verified head, or the first broken record and why. Exit status:
0 intact, 1 broken, 2 usage or input error.
"""

import argparse
import datetime
import hashlib
import hmac
import json
import sqlite3
import sys

GENESIS_HASH = "0" * 64
MEMBERS = {
    "actor", "affiliate_id", "at", "hash", "payload", "prev_hash",
    "resource_id", "resource_type", "seq", "tenant", "type",
}
MAX_SAFE_INTEGER = 2**53 - 1


class Broken(Exception):
    """The chain is broken at a record."""

    def __init__(self, seq, reason):
        super().__init__(f"seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason


def canonical(obj):
    """The hashed bytes: RFC 8785 within the MLAS profile."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def record_hash(obj, key):
    data = canonical(obj)
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def no_duplicates(pairs):
    obj = {}
    for name, value in pairs:
        if name in obj:
            raise ValueError(f"duplicate member {name!r}")
        obj[name] = value
    return obj


def reject_float(text):
    raise ValueError(f"number {text} is outside the audit profile")


def reject_constant(text):
    raise ValueError(f"{text} is not JSON")


def check_profile(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"integer {value} is outside the audit profile")
        return
    if isinstance(value, list):
        for item in value:
            check_profile(item)
        return
    if isinstance(value, dict):
        for name, item in value.items():
            if any(ord(c) > 0xFFFF for c in name):
                raise ValueError(f"key {name!r} is outside the Basic Multilingual Plane")
            check_profile(item)
        return
    raise ValueError(f"value {value!r} is outside the audit profile")


def is_hash(text):
    return isinstance(text, str) and len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def parse_line(text):
    obj = json.loads(
        text,
        object_pairs_hook=no_duplicates,
        parse_float=reject_float,
        parse_constant=reject_constant,
    )
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    if set(obj) != MEMBERS:
        raise ValueError(f"members {sorted(obj)}, expected exactly {sorted(MEMBERS)}")
    for name in ("actor", "at", "resource_id", "resource_type", "type", "tenant", "seq"):
        if not isinstance(obj[name], str):
            raise ValueError(f"{name} is not a string")
    if obj["affiliate_id"] is not None and not isinstance(obj["affiliate_id"], str):
        raise ValueError("affiliate_id is neither a string nor null")
    if not isinstance(obj["payload"], dict):
        raise ValueError("payload is not an object")
    check_profile(obj["payload"])
    seq = obj["seq"]
    if not (seq.isascii() and seq.isdigit()) or seq.startswith("0"):
        raise ValueError(f"seq {seq!r} is not a decimal number from 1")
    if not is_hash(obj["prev_hash"]):
        raise ValueError("prev_hash is not 64 lower-case hex digits")
    if not isinstance(obj["hash"], str):
        raise ValueError("hash is not a string")
    return obj


def verify(lines, key=None, anchor=None, checkpoint=None, vouch=False):
    """Walks the lines; returns (records, start, head). Raises Broken.

    With `vouch`, some audit.archived record must name the anchor."""
    vouched = not (vouch and anchor)
    expected_seq = anchor[0] + 1 if anchor else None
    expected_prev = anchor[1] if anchor else None
    tenant = None
    start = anchor
    head = anchor
    count = 0
    for text in lines:
        text = text.rstrip("\n")
        at = expected_seq if expected_seq is not None else 0
        try:
            obj = parse_line(text)
        except ValueError as e:
            raise Broken(at, f"malformed record: {e}") from None
        seq = int(obj["seq"])
        if tenant is None:
            tenant = obj["tenant"]
        elif obj["tenant"] != tenant:
            raise Broken(seq, f"record of another tenant {obj['tenant']!r}")
        if expected_seq is None:
            # The first record: seq 1 starts from genesis, a later one is taken on trust.
            expected_seq = seq
            expected_prev = GENESIS_HASH if seq == 1 else None
            start = None if seq == 1 else (seq - 1, obj["prev_hash"])
        if seq != expected_seq:
            raise Broken(expected_seq, f"sequence gap: expected seq {expected_seq}, found {seq}")
        stored = obj.pop("hash")
        computed = record_hash(obj, key)
        if computed != stored:
            raise Broken(seq, f"hash mismatch: stored {stored}, contents give {computed}")
        if expected_prev is not None and obj["prev_hash"] != expected_prev:
            raise Broken(
                seq, f"broken link: prev_hash {obj['prev_hash']}, previous hash is {expected_prev}"
            )
        if checkpoint and seq == checkpoint[0] and stored != checkpoint[1]:
            raise Broken(
                seq, f"checkpoint mismatch: checkpoint holds {checkpoint[1]}, file has {stored}"
            )
        if (
            not vouched
            and obj["type"] == "audit.archived"
            and obj["payload"].get("through_seq") == str(anchor[0])
            and obj["payload"].get("through_hash") == anchor[1]
        ):
            vouched = True
        head = (seq, stored)
        expected_seq = seq + 1
        expected_prev = stored
        count += 1
    if not vouched:
        raise Broken(anchor[0], f"bad anchor: no audit.archived record vouches for seq {anchor[0]}")
    if checkpoint:
        head_seq = head[0] if head else 0
        if head_seq < checkpoint[0]:
            raise Broken(head_seq + 1, f"missing: the file ends at seq {head_seq} (truncated tail)")
    return count, start, head


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def rfc3339(micros):
    """The documented form of a stored time: RFC 3339 UTC, six fractional digits."""
    t = EPOCH + datetime.timedelta(microseconds=micros)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sqlite_lines(conn, tenant):
    """The tenant's records from an MLAS SQLite file, as canonical export lines."""
    rows = conn.execute(
        "SELECT tenant, seq, at, type, resource_type, resource_id, affiliate_id, actor,"
        " payload, prev_hash, hash FROM audit_records WHERE tenant = ? ORDER BY seq",
        (tenant,),
    )
    for row in rows:
        try:
            record = {
                "tenant": row[0],
                "seq": str(row[1]),
                "at": rfc3339(row[2]),
                "type": row[3],
                "resource_type": row[4],
                "resource_id": row[5],
                "affiliate_id": row[6],
                "actor": row[7],
                "payload": json.loads(row[8], object_pairs_hook=no_duplicates),
                "prev_hash": row[9],
                "hash": row[10],
            }
        except (ValueError, TypeError, OverflowError) as e:
            yield f"unreadable row seq {row[1]}: {e}"
            continue
        yield json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sqlite_anchor(conn, tenant):
    row = conn.execute(
        "SELECT seq, hash FROM audit_anchors WHERE tenant = ?", (tenant,)
    ).fetchone()
    return None if row is None else (row[0], row[1])


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verify an MLAS audit export (JSON Lines).")
    parser.add_argument("export", nargs="?", help="the JSON Lines file ('-' for standard input)")
    parser.add_argument("--sqlite", help="read the records from this MLAS SQLite file instead")
    parser.add_argument("--tenant", help="the tenant whose chain to read (with --sqlite)")
    parser.add_argument("--anchor-seq", type=int, help="seq of the record before the file")
    parser.add_argument("--anchor-hash", help="hash of the record before the file")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--key-file", help="file holding the raw bytes of the HMAC key")
    keys.add_argument("--key-hex", help="the HMAC key, hex-encoded")
    parser.add_argument("--checkpoint-seq", type=int, help="seq of a checkpoint to check")
    parser.add_argument("--checkpoint-hash", help="hash of a checkpoint to check")
    args = parser.parse_args(argv)

    if (args.export is None) == (args.sqlite is None):
        parser.error("give either an export file or --sqlite")
    if args.sqlite and not args.tenant:
        parser.error("--sqlite needs --tenant")
    if args.sqlite and args.anchor_seq is not None:
        parser.error("with --sqlite the anchor is read from the file")
    if (args.anchor_seq is None) != (args.anchor_hash is None):
        parser.error("--anchor-seq and --anchor-hash go together")
    if (args.checkpoint_seq is None) != (args.checkpoint_hash is None):
        parser.error("--checkpoint-seq and --checkpoint-hash go together")
    anchor = None
    if args.anchor_seq is not None:
        if args.anchor_seq < 0 or not is_hash(args.anchor_hash):
            parser.error("the anchor is a seq >= 0 and 64 lower-case hex digits")
        anchor = (args.anchor_seq, args.anchor_hash)
    checkpoint = None
    if args.checkpoint_seq is not None:
        if args.checkpoint_seq < 0 or not is_hash(args.checkpoint_hash):
            parser.error("the checkpoint is a seq >= 0 and 64 lower-case hex digits")
        checkpoint = (args.checkpoint_seq, args.checkpoint_hash)
    key = None
    try:
        if args.key_file:
            with open(args.key_file, "rb") as f:
                key = f.read()
        elif args.key_hex:
            key = bytes.fromhex(args.key_hex)
    except (OSError, ValueError) as e:
        parser.error(f"cannot read the key: {e}")

    if args.sqlite:
        try:
            conn = sqlite3.connect(f"file:{args.sqlite}?mode=ro", uri=True)
            try:
                anchor = sqlite_anchor(conn, args.tenant)
                result = verify(sqlite_lines(conn, args.tenant), key, anchor, checkpoint, True)
            finally:
                conn.close()
        except Broken as e:
            print(f"BROKEN at seq {e.seq}: {e.reason}")
            return 1
        except sqlite3.Error as e:
            print(f"error: cannot read {args.sqlite}: {e}", file=sys.stderr)
            return 2
        return report(result, anchor is not None or args.anchor_seq is not None)
    try:
        if args.export == "-":
            result = verify(sys.stdin, key, anchor, checkpoint)
        else:
            with open(args.export, encoding="utf-8") as f:
                result = verify(f, key, anchor, checkpoint)
    except Broken as e:
        print(f"BROKEN at seq {e.seq}: {e.reason}")
        return 1
    except (OSError, UnicodeDecodeError) as e:
        print(f"error: cannot read {args.export}: {e}", file=sys.stderr)
        return 2

    return report(result, anchor is not None)


def report(result, anchored):
    count, start, head = result
    start_text = "genesis" if start is None else f"seq {start[0]} hash {start[1]}"
    if not anchored and start is not None:
        start_text += " (not anchored: taken from the first record)"
    if head is None:
        print(f"OK: 0 records, start {start_text}")
    else:
        print(f"OK: {count} records, start {start_text}, head seq {head[0]} hash {head[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
