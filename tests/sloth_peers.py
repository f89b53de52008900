"""Sloth's example specs, the rules Sloth generated from them, and its validation cases.

DESIGN.md keeps them in ../shared/peers/sloth/ (Apache-2.0, LICENSE alongside). A clean clone
may sit where ../shared is not, so tests/fixtures/sloth/ holds a verbatim copy:
`python tests/sloth_peers.py` rewrites it from ../shared, and `test_vendored_copy_is_sloths`
asserts the two agree whenever ../shared is there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "peers" / "sloth"
SLOTH = ROOT / "tests" / "fixtures" / "sloth"

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
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


if __name__ == "__main__":
    shutil.rmtree(SLOTH, ignore_errors=True)
    shutil.copytree(SHARED, SLOTH)
    print(f"copied {len(files(SLOTH))} files from {SHARED} to {SLOTH.relative_to(ROOT)}")
