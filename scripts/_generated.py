"""Writing generated content files, or checking that they are up to date (the `--check` of the
make_* scripts). Developer tool shared by scripts/make_zelfdiagnose_*.py and make_verbatim_sources.py."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from fhirrug.jsonio import atomic_write  # noqa: E402


def sync(files: dict[Path, str], check: bool, gone: list[Path] = ()) -> tuple[bool, list[Path]]:
    """Write every file whose text differs and remove `gone` (files no longer generated), or with
    `check` only report them. Returns (up to date before the call, the paths changed or to change)."""
    changed = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text] + list(gone)
    if check:
        if changed:
            print("out of date: " + ", ".join(str(p.relative_to(ROOT)) for p in changed), file=sys.stderr)
        return not changed, changed
    for path in changed:
        if path in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, files[path])
        else:
            path.unlink()
    return not changed, changed
