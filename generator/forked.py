"""`[work(item) for item in items]` with the items after the first each in a forked process.

A large spec's services are independent once loaded, so `obsgen gen` designs and renders them
in as many processes as there are usable cores. The children are forks: they start from the
loaded spec in memory and send their result back pickled through a pipe. A child that fails
in any way (an exception, a signal, a short read) is not trusted: its item is redone here, so
the result never depends on the split and a real error surfaces with its real traceback.
"""

from __future__ import annotations

import gc
import os
import pickle
from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def map_forked(work: Callable[[Item], Result], items: Sequence[Item]) -> list[Result]:
    if len(items) < 2 or not hasattr(os, "fork"):
        return [work(item) for item in items]
    gc.freeze()  # else a collection in a child touches, and so copies, every object it shares
    try:
        children = [_start(work, item) for item in items[1:]]
        results = [work(items[0])]
        for (pid, reader), item in zip(children, items[1:], strict=True):
            results.append(_collect(pid, reader, work, item))
    finally:
        gc.unfreeze()
    return results


def _start(work: Callable[[Item], Result], item: Item) -> tuple[int, int]:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns, never runs the parent's exit handlers
        os.close(reader)
        status = 1
        try:
            with os.fdopen(writer, "wb") as out:
                pickle.dump(work(item), out, protocol=pickle.HIGHEST_PROTOCOL)
            status = 0
        finally:
            os._exit(status)
    os.close(writer)
    return pid, reader


def _collect(pid: int, reader: int, work: Callable[[Item], Result], item: Item) -> Result:
    with os.fdopen(reader, "rb") as source:
        data = source.read()
    _, status = os.waitpid(pid, 0)
    if status == 0:
        try:
            return pickle.loads(data)  # our own child's result, through our own pipe
        except Exception:  # a truncated result: redone below
            pass
    return work(item)
