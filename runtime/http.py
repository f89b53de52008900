"""The runtime's small HTTP servers (exporters, scenario control, sink) share this: a quiet
handler with one way to answer, and a threaded loopback server that starts and stops."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TEXT = "text/plain; charset=utf-8"


class QuietHandler(BaseHTTPRequestHandler):
    def answer(self, code: int, body: bytes, kind: str = TEXT) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer_json(self, code: int, body: object) -> None:
        self.answer(code, (json.dumps(body) + "\n").encode(), "application/json")

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server:
    """Binds at construction (a taken port fails before anything starts)."""

    def __init__(self, host: str, port: int, handler: type[BaseHTTPRequestHandler], name: str) -> None:
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name=name, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()
