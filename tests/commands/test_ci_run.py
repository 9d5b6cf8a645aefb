"""`.ci/run` starts from an empty uv cache, as a newcomer's machine does, and leaves none behind.

A test that relies on what an earlier run left in the cache (`uv pip install --offline`) passed on every
machine that had run the suite before and failed on a fresh one: CI must be that fresh machine.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_every_step_with_a_fresh_empty_uv_cache_and_removes_it(tmp_path: Path) -> None:
    # A `make` that records, for each step, the cache it was given and what the cache held.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "steps"
    make = bin_dir / "make"
    make.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$1 $UV_CACHE_DIR $(ls -A "$UV_CACHE_DIR" | wc -l)" >> {record}\n'
        'touch "$UV_CACHE_DIR/$1"\n'
    )
    make.chmod(0o755)
    warm = tmp_path / "warm-cache"
    warm.mkdir()
    (warm / "wheels").mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "UV_CACHE_DIR": str(warm)}
    result = subprocess.run(  # noqa: S603 - a fixed argv
        [str(ROOT / ".ci" / "run")], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    steps = [line.split() for line in record.read_text().splitlines()]
    assert [step[0] for step in steps] == ["release", "lint", "test", "demo"]
    (cache,) = {step[1] for step in steps}
    assert cache != str(warm)
    assert steps[0][2] == "0", "the first step starts with an empty cache"
    assert not Path(cache).exists(), "the cache is removed at the end"
