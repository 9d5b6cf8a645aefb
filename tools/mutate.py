"""`make mutate`: a mutation run (mutmut 3) of the function's ledger, lock and handler against their tests.

mutmut 3 mutates modules that live under ./, src/ or source/, by their dotted path; the function's modules
are in lambda/, which cannot be a package (`lambda` is a Python keyword). So the run happens in a staging
folder, build/mutation/, with the function's modules at its root and the tests that hold them beside.
Prints mutmut's count of killed and surviving mutants, and each survivor's diff into build/mutation/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "mutation"
MODULES = ("rds_override_ledger/declarations.py", "ledger.py", "index.py")
# The in-process tests of those modules (the built artifact's end-to-end tests run unmutated code).
TESTS = (
    "unit/test_declarations.py",
    "handler/conftest.py",
    "handler/harness.py",
    "handler/test_handler.py",
    "handler/test_ownership.py",
    "handler/test_ledger_faults.py",
    "handler/test_region_lock.py",
    "handler/test_stackset_rollout.py",
)
PYPROJECT = """\
[tool.pytest.ini_options]
pythonpath = ["."]
addopts = "-p no:cacheprovider"
markers = ["e2e: drives the built artifact"]

[tool.mutmut]
source_paths = [{modules}]
also_copy = [{others}]
pytest_add_cli_args_test_selection = ["tests/"]
# mutmut 3.7 (the newest the dev environment's click allows) reads pytest's Item._nodeid: see the plugin.
pytest_add_cli_args = ["-p", "mutmut_pytest9", "-x", "-q"]
"""


def stage(modules: tuple[str, ...]) -> None:
    shutil.rmtree(STAGE, ignore_errors=True)
    (STAGE / "tests").mkdir(parents=True)
    shutil.copytree(ROOT / "lambda", STAGE, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    for test in TESTS:
        target = STAGE / "tests" / test
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "tests" / test, target)
    (STAGE / "plugins").mkdir()
    shutil.copy(ROOT / "tools" / "mutmut_pytest9.py", STAGE / "plugins" / "mutmut_pytest9.py")
    sources = (str(path.relative_to(ROOT / "lambda")) for path in (ROOT / "lambda").rglob("*.py"))
    others = sorted(source for source in sources if source not in modules)
    (STAGE / "pyproject.toml").write_text(
        PYPROJECT.format(modules=_toml_list(modules), others=_toml_list(["tests", *others]))
    )


def _toml_list(items: Iterable[str]) -> str:
    return ", ".join(f'"{item}"' for item in items)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("modules", nargs="*", default=list(MODULES), help="modules of lambda/ to mutate")
    parser.add_argument("--max-children", type=int, default=2)
    args = parser.parse_args()
    stage(tuple(args.modules))
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    env = {**os.environ, "PYTHONPATH": str(STAGE / "plugins")}
    run = subprocess.run(  # noqa: S603 - this environment's own mutmut
        [mutmut, "run", "--max-children", str(args.max_children)], cwd=STAGE, env=env, check=False
    )
    results = subprocess.run(  # noqa: S603 - this environment's own mutmut
        [mutmut, "results", "--all", "true"], cwd=STAGE, capture_output=True, text=True, check=False
    )
    (STAGE / "results.txt").write_text(results.stdout)
    survivors = [
        line.split(":")[0].strip()
        for line in results.stdout.splitlines()
        if line.rstrip().endswith("survived")
    ]
    with (STAGE / "survivors.diff").open("w") as out:
        for name in survivors:
            out.write(
                subprocess.run(  # noqa: S603 - this environment's own mutmut
                    [mutmut, "show", name], cwd=STAGE, capture_output=True, text=True, check=False
                ).stdout
            )
    counts: dict[str, int] = {}
    for line in results.stdout.splitlines():
        status = line.rsplit(":", 1)[-1].strip()
        counts[status] = counts.get(status, 0) + 1
    print("mutants:", ", ".join(f"{status} {n}" for status, n in sorted(counts.items())))
    print(f"survivors' diffs: {STAGE / 'survivors.diff'}")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
