"""`obsgen init`: a fresh project to start from, rendered from the template in the package.

The template (`generator/project_template/`) holds real files: the settings, one example
service (an HTTP API with an availability and a latency SLO), the Alertmanager routing, a
Makefile, a README and a .gitignore. The service's name is the placeholder `__SERVICE__`
(file names included) and its CamelCase form, as alert names spell it, `__SERVICE_CAMEL__`.
Nothing here touches the disk; the CLI hands the files to the writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources import files
from importlib.resources.abc import Traversable

TEMPLATE = "project_template"
SERVICE = "__SERVICE__"
SERVICE_CAMEL = "__SERVICE_CAMEL__"
DEFAULT_SERVICE = "api"
RENAMED = {"gitignore": ".gitignore"}
"""Dot files are stored without their dot, so packaging never drops them as hidden."""

WHAT = {
    "spec/obsgen.yaml": "settings: evaluation interval, Alertmanager address, runbook links",
    f"spec/{SERVICE}.yaml": "the example service: an HTTP API, its availability and latency SLOs",
    "spec/alertmanager.yaml": "receivers (a pager, a chat channel, a dead-man's switch) and routes",
    "Makefile": "make gen, make test",
    "README.md": "how to use this project",
    ".gitignore": "",
}


def service_name_problem(name: str) -> str | None:
    """Why `name` cannot name the example service, or None when it can."""
    from pydantic import TypeAdapter, ValidationError

    from generator.model.common import Slug

    try:
        TypeAdapter(Slug).validate_python(name)
    except ValidationError:
        return (
            f"{name!r} is not a service name: lower-case letters, digits and dashes, "
            "starting with a letter and not ending with a dash, at most 63 characters (e.g. checkout)"
        )
    if f"spec/{name}.yaml" in WHAT:
        return f"{name!r} would overwrite spec/{name}.yaml, which the project needs; pick another name"
    return None


def render_project(service: str = DEFAULT_SERVICE) -> dict[str, str]:
    """Every file of a new project, relative path → text, with the example service named `service`."""
    from generator.slo_math import camel

    problem = service_name_problem(service)
    if problem is not None:
        raise ValueError(problem)
    rendered: dict[str, str] = {}
    for path, text in _walk(files("generator") / TEMPLATE, ""):
        head, _, base = path.rpartition("/")
        name = f"{head}/{RENAMED.get(base, base)}" if head else RENAMED.get(base, base)
        rendered[name.replace(SERVICE, service)] = text.replace(SERVICE_CAMEL, camel(service)).replace(
            SERVICE, service
        )
    return rendered


def describe(name: str, service: str) -> str:
    """What a file of the new project is for (empty when it goes without saying)."""
    return WHAT.get(name.replace(f"spec/{service}.yaml", f"spec/{SERVICE}.yaml"), "")


def _walk(node: Traversable, prefix: str) -> Iterator[tuple[str, str]]:
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.name == "__pycache__":
            continue
        if child.is_dir():
            yield from _walk(child, f"{prefix}{child.name}/")
        else:
            yield f"{prefix}{child.name}", child.read_text(encoding="utf-8")


def report(directory: str, service: str, status: dict[str, str]) -> list[str]:
    """The lines `obsgen init` prints: each file (with `status` when not plainly written, e.g.
    `replaced`) and what it is for, then the next steps."""
    import shlex

    order = list(WHAT)
    names = sorted(status, key=lambda n: (_rank(order, n, service), n))
    width = max(len(n) for n in names) + 2
    lines = [f"obsgen: new project in {directory}/"]
    for name in names:
        state = "" if status[name] == "wrote" else f"({status[name]}) "
        lines.append(f"  {name:<{width}}{state}{describe(name, service)}".rstrip())
    steps = [
        (f"cd {shlex.quote(directory)}", ""),
        (f"$EDITOR spec/{service}.yaml", "the scrape port first, then the metrics and objectives"),
        ("obsgen gen", "or `make gen`: writes generated/"),
        ("make test", "promtool and amtool checks, the generated tests"),
    ]
    column = max(len(command) for command, why in steps if why) + 2
    lines.append("Next steps:")
    lines += [f"  {command:<{column}}# {why}" if why else f"  {command}" for command, why in steps]
    return lines


def _rank(order: list[str], name: str, service: str) -> int:
    key = name.replace(f"spec/{service}.yaml", f"spec/{SERVICE}.yaml")
    return order.index(key) if key in order else len(order)
