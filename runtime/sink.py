"""A local HTTP sink standing in for Slack, PagerDuty and the dead-man's switch: every POST is
appended to a JSON-lines file (path, body) that the sandbox smoke reads."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def _handler(log: Path, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body: object = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            with lock, log.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"path": self.path, "body": body}) + "\n")
            reply = b'{"ok": true, "status": "success", "message": "Event processed"}'
            self.send_response(202 if self.path.startswith("/pagerduty") else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class Sink:
    def __init__(self, host: str, port: int, log: Path) -> None:
        self.log = log
        self.server = ThreadingHTTPServer((host, port), _handler(log, threading.Lock()))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="sink", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()


def notifications(log: Path) -> list[dict[str, object]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
