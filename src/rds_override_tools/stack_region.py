"""The stack's region for `make deploy`, `make outputs` and `make delete`, and for deploy the credentials.

The region is the first set of REGION, AWS_REGION, AWS_DEFAULT_REGION, the region `sam deploy --guided`
saved in samconfig.toml, and the AWS profile's region. Prints it, or exits saying how to give one, naming
the make target that asked. With --check-credentials (make deploy, before `sam deploy --guided` asks
anything), also checks that there are credentials and that they work, with one STS GetCallerIdentity call.
Run as `python -m rds_override_tools.stack_region --target deploy|outputs|delete [--check-credentials]`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions

from rds_override_tools import regions

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


def given_region(environ: dict[str, str]) -> tuple[str, str] | None:
    """(the region, how it was given: `REGION=eu-west-1`, `eu-west-1 (samconfig.toml)`...), or None."""
    for name in ("REGION", "AWS_REGION", "AWS_DEFAULT_REGION"):
        if environ.get(name):
            return environ[name], f"{name}={environ[name]}"
    if saved := saved_region():
        return saved, f"{saved} (saved in {SAMCONFIG})"
    if profile := boto3.session.Session().region_name:
        return profile, f"{profile} (the AWS profile's region)"
    return None


def stack_region(environ: dict[str, str]) -> str | None:
    given = given_region(environ)
    return given[0] if given else None


def unknown_region(region: str, given: str, target: str) -> str | None:
    """Why `region` (`given` says how) cannot be the stack's, naming the valid ones; None when RDS is there.
    Checked before any call: a misspelt region would otherwise fail in sam, after the build and its
    questions, or wait on a host that does not exist."""
    known = regions.every_rds_region()
    if any(region in partition_regions for partition_regions in known.values()):
        return None
    valid = "; ".join(f"{partition}: {', '.join(found)}" for partition, found in known.items() if found)
    return (
        f"{given} is not a region where RDS is available: valid regions are {valid}; "
        f"then `make {target} REGION=<region>`"
    )


TARGETS = ("deploy", "outputs", "delete")

NO_CREDENTIALS = (
    "No AWS credentials: sign in first, e.g. `aws sso login --profile NAME` and `export AWS_PROFILE=NAME`, "
    "or `aws configure` (access keys), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; "
    "then `make {target}`"
)


def no_region(target: str) -> str:
    if target == "deploy":
        return (
            "No region: say where to deploy, e.g. `make deploy REGION=eu-west-1` (or set AWS_REGION, or "
            "`aws configure set region eu-west-1` for your profile)"
        )
    return (
        f"No region: say which region the stack is in, e.g. `make {target} REGION=eu-west-1` "
        "(or set AWS_REGION, or deploy with `make deploy`, which saves it in samconfig.toml)"
    )


def check_credentials(region: str, target: str) -> str:
    """The caller's ARN, from one STS GetCallerIdentity call in `region`; CredentialsError saying why not."""
    session = boto3.session.Session(region_name=region)
    if session.get_credentials() is None:
        raise CredentialsError(NO_CREDENTIALS.format(target=target))
    sts = session.client(
        "sts", config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 2})
    )
    try:
        return str(sts.get_caller_identity()["Arn"])
    except botocore.exceptions.ClientError as error:
        details = error.response.get("Error", {})
        raise CredentialsError(
            f"The AWS credentials do not work in {region} ({details.get('Code')}: {details.get('Message')}): "
            f"sign in again (`aws sso login`, or new access keys), or enable the region; then `make {target}`"
        ) from error
    except botocore.exceptions.BotoCoreError as error:
        raise CredentialsError(f"Could not check the AWS credentials in {region}: {error}") from error


class CredentialsError(Exception):
    """No credentials, or credentials STS refuses: the message says how to fix it."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rds_override_tools.stack_region")
    parser.add_argument("--target", choices=TARGETS, default="delete", help="the make target asking")
    parser.add_argument(
        "--check-credentials", action="store_true", help="also check the credentials (one STS call)"
    )
    args = parser.parse_args(argv)
    given = given_region(dict(os.environ))
    if not given:
        print(no_region(args.target), file=sys.stderr)
        return 2
    region, described = given
    if problem := unknown_region(region, described, args.target):
        print(problem, file=sys.stderr)
        return 2
    if args.check_credentials:
        try:
            caller = check_credentials(region, args.target)
        except CredentialsError as error:
            print(error, file=sys.stderr)
            return 2
        print(f"==> {args.target} as {caller}, in {region}", file=sys.stderr)
    print(region)
    return 0


if __name__ == "__main__":
    sys.exit(main())
