"""Sloth's example specs, the rules Sloth generated from them, and its validation cases.

DESIGN.md keeps them in ../shared/peers/sloth/ (Apache-2.0, LICENSE alongside). A clean clone
may sit where ../shared is not, so tests/fixtures/sloth/ holds a verbatim copy:
`python tests/sloth_peers.py` rewrites it from ../shared, and `test_vendored_copy_is_sloths`
asserts the two agree whenever ../shared is there.

tests/fixtures/sloth/shipped/ is not from ../shared: Sloth's own alert windows
(internal/alert/windows/google-28d.yaml and google-30d.yaml of github.com/slok/sloth at
0e395d81513ff701f5d27b7aa47d794cb764fd5e, with its LICENSE), which
generator/importers/windows.py holds as data; the copy above keeps it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "peers" / "sloth"
SLOTH = ROOT / "tests" / "fixtures" / "sloth"
SHIPPED = SLOTH / "shipped"

PLUGIN_FREE = (
    "getting-started",
    "home-wifi",
    "kubernetes-apiserver",
    "multifile",
    "no-alerts",
    "raw-home-wifi",
    "openslo-getting-started",
    "openslo-kubernetes-apiserver",
)
"""Every example; none uses a Sloth plugin (checked by test_import_sloth)."""


def files(root: Path) -> dict[str, bytes]:
    """Every file under `root` by relative path, but the shipped windows (not from ../shared)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and SHIPPED not in p.parents
    }


if __name__ == "__main__":
    shipped = {path.name: path.read_bytes() for path in SHIPPED.iterdir()}
    shutil.rmtree(SLOTH, ignore_errors=True)
    shutil.copytree(SHARED, SLOTH)
    SHIPPED.mkdir()
    for name, data in shipped.items():
        (SHIPPED / name).write_bytes(data)
    print(f"copied {len(files(SLOTH))} files from {SHARED} to {SLOTH.relative_to(ROOT)}")
