"""The constants the local stand-ins, the demo and the tests share, in one place.

Nothing here reaches AWS: the credentials are moto's dummy ones and every endpoint is on loopback.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[3]
"""The clone this package is installed from (editable, by `uv sync`): the stand-ins run the build there."""
TEMPLATE = REPOSITORY / "template.yaml"
ARTIFACT = REPOSITORY / ".aws-sam" / "build" / "RdsCertificateOverrideFunction"
"""The function as `make build` (sam build) leaves it."""
RUNTIME_SDK = REPOSITORY / "build" / "lambda-runtime-sdk"
"""boto3 as the Lambda runtime provides it (`make test` and `make demo` install it there)."""

ACCOUNT_ID = "123456789012"
"""The account moto derives from the dummy credentials (moto's DEFAULT_ACCOUNT_ID)."""
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

REGION = "eu-west-1"
"""The function's region."""
OTHER_REGION = "us-east-1"
"""A second region, for overrides the function manages elsewhere."""
ISOLATED_AWS_ENVIRONMENT = {
    **DUMMY_CREDENTIALS,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
"""What tests and commands on the emulator run with instead of the shell's AWS settings (drop every
`AWS_*` first): dummy credentials, the home region, no configuration file, no instance metadata."""

FUNCTION_NAME = "rds-certificate-override"
SERVICE_NAME = "rds-certificate-override"
"""POWERTOOLS_SERVICE_NAME, as template.yaml sets it."""
HANDLER = "index.handler"
MEMORY_MB = 256

STACK_ID = (
    # Its digest is part of every physical id the demo prints: keep it as it is.
    f"arn:aws:cloudformation:us-east-1:{ACCOUNT_ID}:stack/"
    "rds-certificate-override-demo/5b918d10-cd98-11ea-90d5-0a9cd3354c10"
)
SERVICE_TOKEN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{FUNCTION_NAME}"
LOGICAL_ID = "Override"
RESOURCE_TYPE = "Custom::RdsCertificateOverride"
SERVICE_TIMEOUT_S = 300
"""The custom resource's ServiceTimeout property in template.yaml's example."""

V1 = {"CertificateIdentifier": "rds-ca-rsa4096-g1"}
"""Sample properties: a first declaration..."""
V2 = {"CertificateIdentifier": "rds-ca-ecc384-g1"}
"""...and the update that follows it."""


def _template_setting(name: str, pattern: str) -> str:
    found = re.findall(rf"^\s*{name}: ({pattern})\s*$", TEMPLATE.read_text(encoding="utf-8"), re.MULTILINE)
    if len(found) != 1:
        raise RuntimeError(f"{TEMPLATE} must set exactly one `{name}`; found {found or 'none'}")
    return str(found[0])


TIMEOUT_S = float(_template_setting("Timeout", r"\d+"))
"""The function's timeout (template.yaml's Globals.Function.Timeout)."""


@functools.cache
def runtime_version() -> str:
    """The Lambda runtime's Python version ("3.13", say), from template.yaml's ``Runtime``: its one home."""
    return _template_setting("Runtime", r"python\d+\.\d+").removeprefix("python")
