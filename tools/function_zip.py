"""Zip a built function directory the same way every time: `python tools/function_zip.py DIR ZIP`.

The same files give the same bytes: entries sorted by path, files only (no directory entries), every
timestamp SOURCE_DATE_EPOCH (else the last commit's time, else 1980-01-01), permissions 0644 (0755 when
executable), no extra fields, deflate level 9. `make build` (the zip `make stackset` names after its
digest) and `make release` (tools/release.py) both zip through `write_zip`.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ZIP_EPOCH = 315_532_800
"""1980-01-01T00:00:00Z, the earliest time a zip entry can hold."""


def source_date_epoch(repository: Path | None = None) -> int:
    """SOURCE_DATE_EPOCH when set, else the last commit's time, else 1980-01-01 (not a checkout)."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        result = subprocess.run(
            ["git", "log", "-1", "--format=%ct"],  # noqa: S607 - git from PATH
            cwd=repository or Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return ZIP_EPOCH
    return int(result.stdout.strip() or ZIP_EPOCH)


def write_zip(source: Path, destination: Path, epoch: int | None = None) -> int:
    """Zip every file under `source` into `destination` (replaced); returns the number of files."""
    stamp = time.gmtime(max(ZIP_EPOCH, source_date_epoch() if epoch is None else epoch))[:6]
    files = sorted(
        (path for path in source.rglob("*") if path.is_file()),
        key=lambda path: path.relative_to(source).as_posix(),
    )
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for path in files:
            entry = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=stamp)
            mode = 0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644
            entry.external_attr = (stat.S_IFREG | mode) << 16
            entry.create_system = 3  # Unix, whatever this machine is: the permissions above are Unix ones
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, path.read_bytes(), compresslevel=9)
    partial.replace(destination)
    return len(files)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python tools/function_zip.py DIRECTORY ZIP", file=sys.stderr)
        return 2
    source, destination = Path(argv[0]), Path(argv[1])
    if not source.is_dir():
        print(f"function_zip: {source} is not a directory (build the function first)", file=sys.stderr)
        return 2
    write_zip(source, destination)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
