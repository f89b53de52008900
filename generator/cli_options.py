"""Click options several command groups share; no heavy imports (`obsgen --help` loads this)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def generated_dir_option(flag: str, help: str) -> Callable[[Any], Any]:
    """`--out`/`--dir`: the generated tree (default `generated/`), passed as `out_dir`."""
    return click.option(
        flag,
        "out_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("generated"),
        show_default=True,
        help=help,
    )


def spec_dir_option() -> Callable[[Any], Any]:
    """`--spec DIR`: the spec directory (default `spec/`), passed as `spec_dir`."""
    return click.option(
        "--spec",
        "spec_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("spec"),
        show_default=True,
        help="Directory of spec files (*.yaml, *.yml, *.jsonnet).",
    )
