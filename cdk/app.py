"""Example CDK app: a stack that makes rds-ca-rsa4096-g1 the default CA for new RDS DB instances.

`make synth` synthesizes it offline into cdk/cdk.out (no Docker, no AWS account: the function is the
prebuilt asset the package carries). With the CDK CLI, from this directory and with the repository's
.venv active: `npx aws-cdk@2 synth` or `npx aws-cdk@2 deploy`.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from rds_certificate_override import RdsCertificateOverride

STACK_NAME = "RdsCertificateOverrideExample"


class ExampleStack(cdk.Stack):
    """One override, in the stack's region, that puts the previous one back when it is deleted."""

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        override = RdsCertificateOverride(
            self,
            "DefaultCertificate",
            certificate_identifier="rds-ca-rsa4096-g1",
            restore_previous_on_delete=True,
        )
        cdk.CfnOutput(self, "CertificateArn", value=override.certificate_arn)
        cdk.CfnOutput(self, "CertificateValidTill", value=override.certificate_valid_till)
        cdk.CfnOutput(self, "CustomerOverrideValidTill", value=override.customer_override_valid_till)
        cdk.CfnOutput(self, "ServiceToken", value=override.function.function_arn)


def example_stack(app: cdk.App) -> ExampleStack:
    """The app's one stack; env-agnostic, so it deploys to the CLI's account and region."""
    return ExampleStack(
        app,
        STACK_NAME,
        description="Example of the RdsCertificateOverride CDK construct (rds-certificate-override)",
    )


def main() -> None:
    app = cdk.App()
    example_stack(app)
    app.synth()


if __name__ == "__main__":
    main()
