"""A deployment's session env file (`SESSION_RESTORE.env`, the seed's session restore): where its
Prometheus, Alertmanager and Grafana answer, which runtime components this host runs on which
ports, where the state database, its snapshots and pid files live, and the paths of the files
holding secrets — never a secret's value.

The format is the common env-file subset: `KEY=VALUE` lines, `export ` allowed before a key,
`#` comments, values bare or in single or double quotes, taken literally (no `$` expansion, no
escapes). Relative paths are relative to the env file's directory (the repository's root for
SESSION_RESTORE.env beside the Makefile). Every problem is reported with its file and line, and
ends the command with exit 2.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from generator.errors import Location, SpecError, SpecIssue

LINE = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.*?)\s*$")
LABEL_VALUE = re.compile(r"^[A-Za-z0-9_.:-]+$")
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]*$")

URLS = ("PROMETHEUS_URL", "ALERTMANAGER_URL", "GRAFANA_URL")
REQUIRED = (
    "METRIC_REALM",
    "OBSGEN_COMPONENTS",
    *URLS,
    "OBSGEN_STATE_DB",
    "GRAFANA_TOKEN_FILE",
)
OPTIONAL = (
    "OBSGEN_SPEC_DIR",
    "OBSGEN_GENERATED_DIR",
    "OBSGEN_SNAPSHOT_DIR",
    "OBSGEN_RUN_DIR",
    "OBSGEN_SECRETS_DIR",
    "OBSGEN_TIME_SCALE",
    "OBSGEN_LISTEN",
)


@dataclass(frozen=True)
class SessionEnv:
    file: Path
    lines: dict[str, int]
    """variable → its line in the file"""
    realm: str
    components: tuple[str, ...]
    """the services this host runs as runtime components (`obsgen component start NAME`)"""
    ports: dict[str, int]
    """component → the port its exporter listens on (`URE_PORT=9305`)"""
    prometheus_url: str
    alertmanager_url: str
    grafana_url: str
    state_db: Path
    snapshot_dir: Path
    run_dir: Path
    grafana_token_file: Path
    spec_dir: Path = Path("spec")
    generated_dir: Path = Path("generated")
    secrets_dir: Path | None = None
    """where Alertmanager's secret files are (default: the spec's `secrets_dir`)"""
    time_scale: float = 1.0
    listen: str = "127.0.0.1"

    def where(self, variable: str) -> Location:
        return Location(str(self.file), self.lines.get(variable), variable)

    def grafana_environ(self) -> dict[str, str]:
        """GRAFANA_URL and GRAFANA_TOKEN (read from GRAFANA_TOKEN_FILE) for `obsgen grafana import`;
        an empty token when the file cannot be read, so the import refuses it (exit 20) rather
        than use a GRAFANA_TOKEN the caller's environment happens to hold."""
        token = ""
        with contextlib.suppress(OSError, UnicodeDecodeError):
            token = self.grafana_token_file.read_text(encoding="utf-8").strip()
        return {"GRAFANA_URL": self.grafana_url, "GRAFANA_TOKEN": token}


def port_variable(component: str) -> str:
    """`ure` → `URE_PORT`, `checkout-api` → `CHECKOUT_API_PORT`."""
    return f"{component.upper().replace('-', '_')}_PORT"


def read_session_env(path: Path) -> SessionEnv:
    """The session env at `path`, checked; SpecError with every problem, each located."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(
            [SpecIssue(Location(str(path)), f"cannot read the session env file: {reason}")]
        ) from None
    values, lines, issues = parse_env(text, str(path))
    issues += _checked(values, lines, str(path))
    if issues:
        raise SpecError(issues)
    return _session(path, values, lines)


def parse_env(text: str, file: str) -> tuple[dict[str, str], dict[str, int], list[SpecIssue]]:
    """Variables, the line of each, and the syntax problems of an env file's text."""
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    issues: list[SpecIssue] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        match = LINE.match(raw)
        if match is None:
            issues.append(
                SpecIssue(Location(file, number), "expected KEY=VALUE (a variable name, `=`, a value)")
            )
            continue
        key = match["key"]
        value, problem = _value(match["value"])
        if key in lines:
            issues.append(SpecIssue(Location(file, number, key), f"set twice (first on line {lines[key]})"))
        elif problem:
            issues.append(SpecIssue(Location(file, number, key), problem))
            lines[key] = number
        else:
            values[key], lines[key] = value, number
    return values, lines, issues


def _value(written: str) -> tuple[str, str | None]:
    """The value of a line's right-hand side, or a problem."""
    if written[:1] in ("'", '"'):
        quote = written[0]
        end = written.find(quote, 1)
        if end < 0:
            return "", f"expected a closing {quote}"
        rest = written[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            return "", f"expected nothing but a comment after the closing {quote}"
        return written[1:end], None
    value = re.split(r"\s+#", written, maxsplit=1)[0].strip()
    if "$" in value:
        return "", "expected a literal value: no `$` expansion here, write the value out"
    return value, None


def _checked(values: dict[str, str], lines: dict[str, int], file: str) -> list[SpecIssue]:
    def issue(key: str, message: str) -> SpecIssue:
        return SpecIssue(Location(file, lines.get(key), key), message)

    issues = [issue(key, "is not set (required)") for key in REQUIRED if key not in lines]
    issues += [issue(key, "is empty (required)") for key in REQUIRED if key in values and not values[key]]
    issues += [
        issue(key, "looks like a secret's value; the session env names files only (their paths)")
        for key in lines
        if secret_name(key)
    ]
    components = _components(values.get("OBSGEN_COMPONENTS", ""))
    bad = [name for name in components if not SERVICE_NAME.match(name)]
    if bad:
        issues.append(issue("OBSGEN_COMPONENTS", f"expected service names, got {', '.join(map(repr, bad))}"))
    ports = {port_variable(name) for name in components}
    issues += [
        issue(key, "is not set (the port of a component in OBSGEN_COMPONENTS)")
        for key in sorted(ports)
        if key not in lines
    ]
    issues += [
        issue(key, "is empty (the port of a component in OBSGEN_COMPONENTS)")
        for key in sorted(ports)
        if values.get(key) == ""
    ]
    issues += _shared_ports(values, [port_variable(name) for name in components], issue)
    for key, value in values.items():
        check = VALUE_CHECKS.get(key) or (_port_problem if key in ports else None)
        problem = check(value) if check and value else None
        if problem:
            issues.append(issue(key, problem))
        elif check is None and (key.startswith("OBSGEN_") or key.endswith("_PORT")):
            issues.append(issue(key, _unknown(key, [*REQUIRED, *OPTIONAL, *sorted(ports)])))
    return issues


def secret_name(key: str) -> bool:
    """A variable whose name says it holds a secret (`GRAFANA_TOKEN`, `ALERT_SLACK_WEBHOOK`,
    `ALERT_PAGERDUTY_ROUTING_KEY`, …) rather than a file's path (`…_FILE`)."""
    if key.endswith(("_FILE", "_DIR")):
        return False
    return any(word in key for word in ("TOKEN", "WEBHOOK", "PASSWORD", "SECRET")) or key.endswith("_KEY")


def _shared_ports(
    values: dict[str, str], ports: list[str], issue: Callable[[str, str], SpecIssue]
) -> list[SpecIssue]:
    """Two components on one port: the second could never start."""
    first: dict[str, str] = {}
    issues = []
    for key in ports:
        value = values.get(key, "")
        if value and value in first:
            issues.append(issue(key, f"is {first[value]}'s port too; each component needs its own"))
        first.setdefault(value, key)
    return issues


def _unknown(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"is not a session variable{hint}"


def _components(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part for part in re.split(r"[\s,]+", value) if part))


def _url_problem(value: str) -> str | None:
    try:
        parsed = urllib.parse.urlsplit(value)
        _ = parsed.port
    except ValueError:
        return "expected an http(s) URL with a valid port"
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return "expected an http(s) URL with a host, e.g. http://127.0.0.1:9090"
    if parsed.query or parsed.fragment:
        return "expected a base URL, without a query or fragment"
    return None


def _port_problem(value: str) -> str | None:
    valid = re.fullmatch(r"[0-9]{1,5}", value) and 1 <= int(value) <= 65535
    return None if valid else "expected a port number, 1 to 65535"


def _realm_problem(value: str) -> str | None:
    return None if LABEL_VALUE.match(value) else "expected a realm (letters, digits, `_.:-`), e.g. prod"


def _scale_problem(value: str) -> str | None:
    try:
        scale = float(value)
    except ValueError:
        return "expected a number, at least 1"
    return None if 1 <= scale < float("inf") else "expected a number, at least 1"


def _path_problem(value: str) -> str | None:
    return "expected a path" if "\x00" in value else None


def _listen_problem(value: str) -> str | None:
    valid = re.fullmatch(r"[0-9A-Za-z.-]+", value)
    return None if valid else "expected an IPv4 address or host name to bind, e.g. 127.0.0.1"


VALUE_CHECKS: dict[str, Callable[[str], str | None]] = {
    **dict.fromkeys(URLS, _url_problem),
    "METRIC_REALM": _realm_problem,
    "OBSGEN_COMPONENTS": lambda value: None if _components(value) else "expected one service name or more",
    "OBSGEN_TIME_SCALE": _scale_problem,
    "OBSGEN_LISTEN": _listen_problem,
    **dict.fromkeys(
        (
            "OBSGEN_STATE_DB",
            "OBSGEN_SNAPSHOT_DIR",
            "OBSGEN_RUN_DIR",
            "OBSGEN_SECRETS_DIR",
            "OBSGEN_SPEC_DIR",
            "OBSGEN_GENERATED_DIR",
        ),
        _path_problem,
    ),
    "GRAFANA_TOKEN_FILE": _path_problem,
}


def _session(path: Path, values: dict[str, str], lines: dict[str, int]) -> SessionEnv:
    """The checked values, with relative paths taken from the env file's directory."""
    base = path.parent

    def located(key: str, default: str) -> Path:
        return base / (values.get(key) or default)

    components = _components(values["OBSGEN_COMPONENTS"])
    state_db = located("OBSGEN_STATE_DB", "")
    secrets = values.get("OBSGEN_SECRETS_DIR")
    return SessionEnv(
        file=path,
        lines=lines,
        realm=values["METRIC_REALM"],
        components=components,
        ports={name: int(values[port_variable(name)]) for name in components},
        prometheus_url=values["PROMETHEUS_URL"].rstrip("/"),
        alertmanager_url=values["ALERTMANAGER_URL"].rstrip("/"),
        grafana_url=values["GRAFANA_URL"].rstrip("/"),
        state_db=state_db,
        snapshot_dir=base / values["OBSGEN_SNAPSHOT_DIR"]
        if values.get("OBSGEN_SNAPSHOT_DIR")
        else state_db.parent / "backups",
        run_dir=located("OBSGEN_RUN_DIR", ".sandbox/components"),
        grafana_token_file=located("GRAFANA_TOKEN_FILE", ""),
        spec_dir=located("OBSGEN_SPEC_DIR", "spec"),
        generated_dir=located("OBSGEN_GENERATED_DIR", "generated"),
        secrets_dir=base / secrets if secrets else None,
        time_scale=float(values.get("OBSGEN_TIME_SCALE") or 1),
        listen=values.get("OBSGEN_LISTEN") or "127.0.0.1",
    )
