"""The deployed stack's region, for `make outputs` and `make delete`: the first set of REGION, AWS_REGION,
AWS_DEFAULT_REGION, the region `sam deploy --guided` saved in samconfig.toml, and the AWS profile's region.
Prints it, or exits saying how to give one. Run as `python -m rds_override_tools.stack_region`.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

import boto3

# Where sam reads and saves it: the directory sam runs in (make runs it at the repository's root).
SAMCONFIG = Path("samconfig.toml")


def saved_region(samconfig: Path = SAMCONFIG) -> str | None:
    """The region `sam deploy --guided` saved in samconfig.toml (its deploy or global parameters)."""
    if not samconfig.is_file():
        return None
    environments = tomllib.loads(samconfig.read_text()).get("default", {})
    for command in ("deploy", "global"):
        region = environments.get(command, {}).get("parameters", {}).get("region")
        if region:
            return str(region)
    return None


def stack_region(environ: dict[str, str]) -> str | None:
    for name in ("REGION", "AWS_REGION", "AWS_DEFAULT_REGION"):
        if environ.get(name):
            return environ[name]
    return saved_region() or boto3.session.Session().region_name


def main() -> int:
    region = stack_region(dict(os.environ))
    if not region:
        print(
            "No region: say which region the stack is in, e.g. `make delete REGION=eu-west-1` "
            "(or set AWS_REGION, or deploy with `make deploy`, which saves it in samconfig.toml)",
            file=sys.stderr,
        )
        return 2
    print(region)
    return 0


if __name__ == "__main__":
    sys.exit(main())
