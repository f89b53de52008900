"""`python -m runtime.replay`: the runtime's state writers against a database at accelerated
speed, for `obsgen dr rehearse`.

It replays `--hours` of simulated time in about `--seconds` of wall time, one transaction per
simulated minute with the rows the runtime writes in a minute (loop state every 5 s, a canary
sample every 10 s, a URE sync step every 30 s, a heartbeat), checkpointing and vacuuming on the
runtime's schedule in simulated time. Then it keeps writing large transactions until it is
killed. It holds the database's lock like the runtime does.

Every step goes to a ledger (JSON lines, flushed): `commit` after each commit, with the highest
key of every table, is the independent record of what was durable when; in the endless tail,
`begin` once a transaction is open and `committing` just before its COMMIT, so a kill that
lands after a `begin` provably interrupted an open transaction.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import TextIO

from generator.exit_codes import ExitCode
from runtime.state import CANARY_INSTANCE, HEALTHY_UNIQUE, CanarySampler, StateSchedule, StateStore, max_keys

STEP = 60
"""simulated seconds per transaction"""
TAIL_ROWS = 2000
"""rows per transaction once the replay is done, so a kill almost always lands inside one"""
TAIL_LIMIT = 60.0
"""wall seconds the tail may run before the replay gives up on being killed"""
LOOP_METRIC, GAIN, GUARD = "bridge_phase_diff", 0.35, 0.005


def note(ledger: TextIO, event: str, **fields: object) -> None:
    ledger.write(json.dumps({"event": event, **fields}) + "\n")
    ledger.flush()


def write_minute(store: StateStore, sampler: CanarySampler, start: float, ids: dict[str, int]) -> None:
    """One simulated minute of runtime state from `start`; `ids` gets each table's last key."""
    for second in range(0, STEP, 5):
        at = start + second
        target = 0.01 + 0.004 * math.sin(at / 900)
        key = store.record_loop(LOOP_METRIC, GAIN, GUARD, int(at * 20), target, target * 0.98, at)
        ids["loop_state"] = key or ids["loop_state"]
    for second in range(0, STEP, 10):
        key = store.record_sample(start + second, CANARY_INSTANCE, sampler.next(HEALTHY_UNIQUE))
        ids["canary_sample"] = key or ids["canary_sample"]
    for second in (0, 30):
        residual = 0.01 * math.sin((start + second) / 300)
        ids["ure_sync"] = store.record_sync(start + second, residual, "healthy") or ids["ure_sync"]
    ids["heartbeat"] = store.record_beat(start) or ids["heartbeat"]


def replay(store: StateStore, ledger: TextIO, start: float, hours: float, seconds: float) -> int:
    """Write `hours` of state paced over `seconds`; return the number of transactions."""
    schedule, sampler = StateSchedule(), CanarySampler()
    ids = max_keys(store.conn)
    steps = round(hours * 3600 / STEP)
    began = time.monotonic()
    checkpointed = vacuumed = start
    for step in range(steps):
        at = start + step * STEP
        with store.transaction():
            write_minute(store, sampler, at, ids)
        note(ledger, "commit", txn=step + 1, sim=at + STEP, ids=ids)
        if at + STEP - checkpointed >= schedule.checkpoint_every:
            store.checkpoint()
            checkpointed = at + STEP
        if at + STEP - vacuumed >= schedule.vacuum_every:
            store.vacuum()
            vacuumed = at + STEP
        ahead = began + (step + 1) * seconds / steps - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    note(ledger, "replayed", txn=steps, sim=start + steps * STEP, ids=ids)
    return steps


def tail(store: StateStore, ledger: TextIO, txn: int, at: float) -> None:
    """Large transactions until killed (or TAIL_LIMIT)."""
    sampler, ids = CanarySampler(), max_keys(store.conn)
    deadline = time.monotonic() + TAIL_LIMIT
    while time.monotonic() < deadline:
        txn += 1
        with store.transaction():
            note(ledger, "begin", txn=txn)
            for row in range(TAIL_ROWS):
                at += 0.05
                if row % 2:
                    key = store.record_sample(at, CANARY_INSTANCE, sampler.next(HEALTHY_UNIQUE))
                    ids["canary_sample"] = key or ids["canary_sample"]
                else:
                    key = store.record_loop(LOOP_METRIC, GAIN, GUARD, int(at * 20), 0.01, 0.01, at)
                    ids["loop_state"] = key or ids["loop_state"]
            note(ledger, "committing", txn=txn)
        note(ledger, "commit", txn=txn, sim=at, ids=ids)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.replay", description=__doc__)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--ledger", type=Path, required=True)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seconds", type=float, default=3.0, help="wall time of the replay")
    parser.add_argument("--start", type=float, default=None, help="unix time the replay begins at")
    args = parser.parse_args(argv)
    start = args.start if args.start is not None else time.time() - args.hours * 3600
    store = StateStore.open(args.db)
    with open(args.ledger, "a", encoding="utf-8") as ledger:
        steps = replay(store, ledger, start, args.hours, args.seconds)
        tail(store, ledger, steps, start + steps * STEP)
    store.close()
    print("replay: never killed", file=sys.stderr)
    return ExitCode.CHECK_FAILED  # the rehearsal kills it: ending on its own is a failure


if __name__ == "__main__":
    sys.exit(main())
