"""The loopback control endpoint: `GET /scenario` names the current one, `POST /scenario` with
the name as body (or `?name=`) switches to another while everything keeps running."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from runtime.http import QuietHandler, Server
from runtime.world import UnknownScenario, World


def _handler(world: World) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            if urlsplit(self.path).path != "/scenario":
                return self.answer_json(404, {"error": "use /scenario"})
            with world.lock:
                current = world.scenario.name
            self.answer_json(200, {"scenario": current, "known": list(world.scenarios)})

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            if url.path != "/scenario":
                return self.answer_json(404, {"error": "use /scenario"})
            length = int(self.headers.get("Content-Length") or 0)
            name = self.rfile.read(length).decode().strip() or parse_qs(url.query).get("name", [""])[0]
            try:
                scenario = world.switch(name)
            except UnknownScenario as exc:
                return self.answer_json(400, {"error": str(exc)})
            self.answer_json(200, {"scenario": scenario.name, "description": scenario.description})

    return Handler


class Control(Server):
    def __init__(self, world: World, host: str, port: int) -> None:
        super().__init__(host, port, _handler(world), "control")
