"""The stack a CDK user would write without the construct: `AwsCustomResource` calling ModifyCertificates.

Only `make bench` uses it, to time its synth side by side with the example app (cdk/app.py). It is the
baseline, not a recommendation: its Delete runs even after a failed Create, it removes an override that
someone else set, and its attributes are raw response strings.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import custom_resources as cr
from constructs import Construct

CERTIFICATE = "rds-ca-rsa4096-g1"


class AwsCustomResourceStack(cdk.Stack):
    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        set_override = cr.AwsSdkCall(
            service="RDS",
            action="modifyCertificates",
            parameters={"CertificateIdentifier": CERTIFICATE},
            physical_resource_id=cr.PhysicalResourceId.of("rds-default-certificate"),
        )
        resource = cr.AwsCustomResource(
            self,
            "DefaultCertificate",
            on_create=set_override,
            on_update=set_override,
            on_delete=cr.AwsSdkCall(
                service="RDS", action="modifyCertificates", parameters={"RemoveCustomerOverride": True}
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
                resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
            ),
            install_latest_aws_sdk=False,
        )
        for output, field in (
            ("CertificateArn", "Certificate.CertificateArn"),
            ("CertificateValidTill", "Certificate.ValidTill"),
            ("CustomerOverrideValidTill", "Certificate.CustomerOverrideValidTill"),
        ):
            cdk.CfnOutput(self, output, value=resource.get_response_field(field))


def main() -> None:
    app = cdk.App()
    AwsCustomResourceStack(app, "RdsCertificateOverrideAwsCustomResource")
    app.synth()


if __name__ == "__main__":
    main()
