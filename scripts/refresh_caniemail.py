#!/usr/bin/env python3
"""Refresh the shipped caniemail data from the npm package ``caniemail`` (MIT).

    python scripts/refresh_caniemail.py            # the latest version
    python scripts/refresh_caniemail.py 2.0.2      # a given version

Runs ``npm pack caniemail@VERSION`` (the npm registry through npm itself),
takes ``package/data/caniemail.json`` and ``package/LICENSE`` out of the
tarball, checks the JSON has the shape ``core/checks/caniemail.py`` reads
(api_version, nicenames, data[] with slug/title/stats), and writes both into
``mailcatcher_gui/core/checks/data/``. The app never fetches anything at run
time: commit the refreshed files (and run tests/test_checks_compatibility.py,
which checks every slug the detection tables name still exists).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

DEST = Path(__file__).resolve().parent.parent / "mailcatcher_gui" / "core" / "checks" / "data"


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    f = tar.extractfile(name)
    if f is None:
        raise SystemExit(f"{name} is not a file in the package")
    return f.read()


def main(argv: list[str]) -> int:
    version = argv[1] if len(argv) > 1 else "latest"
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            ["npm", "pack", f"caniemail@{version}", "--pack-destination", tmp, "--json"],
            check=True,
            capture_output=True,
            text=True,
        )
        info = json.loads(out.stdout)[0]
        with tarfile.open(Path(tmp) / info["filename"]) as tar:
            data = _member(tar, "package/data/caniemail.json")
            licence = _member(tar, "package/LICENSE")
    parsed = json.loads(data)
    items = parsed.get("data")
    if not isinstance(items, list) or not items or "nicenames" not in parsed:
        raise SystemExit("unexpected caniemail.json shape: no data[] or nicenames")
    for item in items:
        if not {"slug", "title", "stats"} <= set(item):
            raise SystemExit(f"unexpected feature entry: {sorted(item)}")
    DEST.mkdir(parents=True, exist_ok=True)
    (DEST / "caniemail.json").write_bytes(data)
    (DEST / "caniemail.LICENSE").write_bytes(licence)
    print(
        f"caniemail {info.get('version')}: {len(items)} features, "
        f"updated {parsed.get('last_update_date')} -> {DEST}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
