"""The loopback control endpoint: `GET /scenario` names the current one, `POST /scenario` with
the name as body (or `?name=`) switches to another while everything keeps running."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from runtime.scenarios import SCENARIOS
from runtime.world import UnknownScenario, World


def _handler(world: World) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if urlsplit(self.path).path != "/scenario":
                return self._json(404, {"error": "use /scenario"})
            with world.lock:
                current = world.scenario.name
            self._json(200, {"scenario": current, "known": list(SCENARIOS)})

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            if url.path != "/scenario":
                return self._json(404, {"error": "use /scenario"})
            length = int(self.headers.get("Content-Length") or 0)
            name = self.rfile.read(length).decode().strip() or parse_qs(url.query).get("name", [""])[0]
            try:
                scenario = world.switch(name)
            except UnknownScenario as exc:
                return self._json(400, {"error": str(exc)})
            self._json(200, {"scenario": scenario.name, "description": scenario.description})

        def _json(self, code: int, body: dict[str, object]) -> None:
            data = (json.dumps(body) + "\n").encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class Control:
    def __init__(self, world: World, host: str, port: int) -> None:
        self.server = ThreadingHTTPServer((host, port), _handler(world))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="control", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()
