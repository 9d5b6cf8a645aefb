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
    "handler/handler_support.py",
    "handler/test_handler.py",
    "handler/test_ownership.py",
    "handler/test_ledger_faults.py",
    "handler/test_region_lock.py",
    "handler/test_stackset_rollout.py",
    "explorer/conftest.py",
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
    for test in (*TESTS, *(t.removeprefix("tests/") for t in LISTED_TESTS)):
        target = STAGE / "tests" / test
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "tests" / test, target)
    (STAGE / "plugins").mkdir()
    shutil.copy(ROOT / "tools" / "mutmut_pytest9.py", STAGE / "plugins" / "mutmut_pytest9.py")
    sources = (str(path.relative_to(ROOT / "lambda")) for path in (ROOT / "lambda").rglob("*.py"))
    kept: set[str] = set()
    for source in sources:
        package = source.split("/")[0] if "/" in source else None
        if source in modules:
            continue
        # A package none of whose modules is mutated is copied whole (mutmut copies files, not parents).
        mutated_inside = package is not None and any(m.startswith(f"{package}/") for m in modules)
        kept.add(package if package and not mutated_inside else source)
    others = sorted(kept)
    (STAGE / "pyproject.toml").write_text(
        PYPROJECT.format(modules=_toml_list(modules), others=_toml_list(["tests", *others]))
    )


def _toml_list(items: Iterable[str]) -> str:
    return ", ".join(f'"{item}"' for item in items)


# `--listed`: the behaviours a mutation run once left untested (issue 12), each as one change to the code
# and the tests that must fail on it. Quicker than a whole run, and it names what each change breaks.
LISTED = (
    ("ledger.py", "self.deadline + self.lease_margin", "self.clock.time() + 1", "a lease of 1 s"),
    (
        "protocol.py",
        "TIMEOUT_MARGIN_SECONDS + 10",
        "TIMEOUT_MARGIN_SECONDS + 0",
        "a lease without its margin",
    ),
    ("ledger.py", "self.clock.time() + pause > self.give_up_at", "False", "the wait budget ignored"),
    (
        "protocol.py",
        "max(time_left - TIME_KEPT_FOR_THE_WORK_SECONDS, 0.0)",
        "time_left",
        "no time kept for the write",
    ),
    (
        "rds_override_ledger/declarations.py",
        "if generation.expires_at <= now:",
        "if False:",
        "an expired lock never taken over",
    ),
    (
        "rds_override_ledger/declarations.py",
        "if generation.expires_at <= now:",
        "if generation.expires_at <= now or (generation.holder and generation.holder.stack_id == me.stack_id):",  # noqa: E501
        "the same resource's next request takes over before the lease ends (issue 19, class 5)",
    ),
    (
        "rds_override_ledger/declarations.py",
        "if generation.holder == me:",
        "if False:",
        "a take whose answer was lost waits for itself (issue 19, class 1)",
    ),
    (
        "rds_override_ledger/declarations.py",
        "LOCK_GENERATION_LIFETIME_SECONDS = LAMBDA_LONGEST_TIMEOUT_SECONDS + CLOCK_SKEW_MARGIN_SECONDS",
        "LOCK_GENERATION_LIFETIME_SECONDS = 0.0",
        "a generation forgotten while a stalled take may retry it (issue 19, class 1)",
    ),
    (
        "ledger.py",
        "if error_code(error) in _BUSY_CODES:",
        "if error_code(error) == 'ParameterAlreadyExists':",
        "TooManyUpdates not taken for busy",
    ),
    (
        "ledger.py",
        "_put(ssm, lock_name(self.generation + 1), free, overwrite=False)",
        "_put(ssm, lock_name(self.generation + 1), free, overwrite=True)",
        "a release that overwrites whoever took the lock over",
    ),
    (
        "ledger.py",
        "if error_code(error) not in _RELEASE_RETRY_CODES or (",
        "if True or (",
        "a release given up after the SDK's retries",
    ),
    (
        "ledger.py",
        "and read_entry(region, declaration.name) == value",
        "and False",
        "a first record whose answer was lost is taken for a withdrawal (issue 19, class 1)",
    ),
    (
        "protocol.py",
        "if self.cloudformation_deadline is not None:",
        "if False:",
        "writes after CloudFormation stopped waiting (issue 19, class 4)",
    ),
    (
        "cfn_resource.py",
        "if self._answered:\n                return 0.0",
        "if False:\n                return 0.0",
        "writes after the timer answered (issue 19, class 6)",
    ),
    (
        "protocol.py",
        "may_have_changed: bool = False",
        "may_have_changed: bool = True",
        "a Create that never held the lock says it may have changed things (issue 19, class 3)",
    ),
    (
        "protocol.py",
        "_forget_old_withdrawals(region, snapshot.declarations, budget, fence)",
        "pass",
        "withdrawals never forgotten (issue 19, class 7)",
    ),
    (
        "rds_override_ledger/declarations.py",
        "type(version) is not int or version != FORMAT_VERSION",
        "False",
        "any Version trusted",
    ),
    (
        "protocol.py",
        "if write and view.others_unreadable:",
        "if view.others_unreadable:",
        "an unreadable entry fails every event",
    ),
    (
        "protocol.py",
        "if own is None or not own.same_declaration(declaration) or",
        "if own is None or",
        "an Update that skips its intent record",
    ),
    (
        "rds_override_ledger/declarations.py",
        "return replace(self, **unstamped) == replace(other, **unstamped)",
        "return self.certificate == other.certificate",
        "same_declaration compares the CA only",
    ),
    (
        "protocol.py",
        "write_confirmed=declared.state is WriteState.APPLIED,",
        "write_confirmed=True,",
        "pending taken for confirmed on Delete",
    ),
    (
        "index.py",
        "if deadline is not None and clock.time() >= deadline.timestamp():",
        "if False:",
        "late events run",
    ),
    (
        "protocol.py",
        "if own.request_id == request.holder.request_id:",
        "if False:",
        "a rolled-back Create delivered again runs",
    ),
    (
        "protocol.py",
        "live_other=liveness.first_live(view.others) if needs_other else None,",
        "live_other=view.others[0] if needs_other else None,",
        "what stood before from a stale declaration",
    ),
    (
        "protocol.py",
        "and sent < declaration.request_sent_at",
        "and False",
        "a late delivery of an older request acts after a newer one (the explorer's seed 180)",
    ),
    (
        "protocol.py",
        "if request.sent_before(own.updated_at):",
        "if False:",
        "a late delivery of a request acts after its resource was deleted (found by the explorer)",
    ),
    (
        "protocol.py",
        'return sent is not None and (declaration.request_sent_at or "") < sent',
        "return False",
        "a newer request does not stamp an unchanged declaration (the explorer's seed 2286)",
    ),
    (
        "protocol.py",
        "if not isinstance(busy, ledger.AnotherDeliveryHolds) and _acted_already(region, holder):",
        "if False:",
        "a delivery that gave up answers though another delivery of its request wrote (seed 1763)",
    ),
    (
        "ledger.py",
        "if decision.holder is not None and decision.holder.request_id == self.holder.request_id:",
        "if False:",
        "a delivery waiting for another delivery of its request answers FAILED while that one writes",
    ),
    (
        "protocol.py",
        "if self.another_delivery_held:",
        "if False:",
        "a second delivery acts after the first decided and answered (the explorer's seed 24)",
    ),
    (
        "index.py",
        "except protocol.RegionRefused as refused:",
        "except ZeroDivisionError as refused:",
        "a Region change's rollback fails in a refusing region",
    ),
)
LISTED_TESTS = (
    "tests/explorer/test_regressions.py",
    "tests/unit/test_declarations.py",
    "tests/handler/test_region_lock.py",
    "tests/handler/test_ledger_faults.py",
    "tests/handler/test_ownership.py",
    "tests/handler/test_handler.py",
)


_LISTED_COMMAND = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *LISTED_TESTS]


def run_listed() -> int:
    """Each listed change alone, in the staging folder: the tests must fail on every one."""
    stage(())
    # A change counts as killed only where the tests pass without it (a broken environment kills all).
    if subprocess.run(_LISTED_COMMAND, cwd=STAGE, capture_output=True, check=False).returncode != 0:  # noqa: S603
        print("the listed tests fail without any change: fix them first", file=sys.stderr)
        return 2
    survivors = 0
    for module, old, new, what in LISTED:
        path = STAGE / module
        original = path.read_text()
        if original.count(old) != 1:
            print(f"CANNOT APPLY  {what}: {old!r} is not once in {module}")
            survivors += 1
            continue
        path.write_text(original.replace(old, new))
        try:
            result = subprocess.run(  # noqa: S603 - this environment's own pytest
                _LISTED_COMMAND,
                cwd=STAGE,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            failed = result.returncode != 0
            detail = next((line for line in result.stdout.splitlines() if line.startswith("FAILED")), "")
        except subprocess.TimeoutExpired:
            failed, detail = True, "timed out (the change made a test loop)"
        finally:
            path.write_text(original)
        survivors += not failed
        print(f"{'killed  ' if failed else 'SURVIVED'}  {what}  {detail[:150]}", flush=True)
    print(f"listed changes: {len(LISTED)}, survived: {survivors}")
    return 1 if survivors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("modules", nargs="*", default=list(MODULES), help="modules of lambda/ to mutate")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--listed", action="store_true", help="only the listed changes (LISTED), one by one")
    args = parser.parse_args()
    if args.listed:
        return run_listed()
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
