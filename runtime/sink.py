"""A local HTTP sink standing in for Slack, PagerDuty and the dead-man's switch: every POST is
appended to a JSON-lines file (path, body) that the sandbox smoke reads."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from runtime.http import QuietHandler, Server


def _handler(log: Path, lock: threading.Lock) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body: object = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            with lock, log.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"path": self.path, "body": body}) + "\n")
            reply = {"ok": True, "status": "success", "message": "Event processed"}
            self.answer_json(202 if self.path.startswith("/pagerduty") else 200, reply)

    return Handler


class Sink(Server):
    def __init__(self, host: str, port: int, log: Path) -> None:
        self.log = log
        super().__init__(host, port, _handler(log, threading.Lock()), "sink")


def notifications(log: Path) -> list[dict[str, object]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
