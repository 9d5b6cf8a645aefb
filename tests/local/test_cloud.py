"""`local_cloud`: every cloud starts empty, whatever an earlier one in the same process left."""

from __future__ import annotations

from rds_override_local import settings
from rds_override_local.cloud import local_cloud


def test_a_cloud_starts_empty_after_another_one() -> None:
    # moto's backends live in this process: without a reset the second cloud would see the first one's state.
    code_dirs = [str(settings.ARTIFACT)]
    with local_cloud(code_dirs) as first:
        first.stack("team-a")
        first.rds().modify_certificates(CertificateIdentifier="rds-ca-rsa4096-g1")
        first.client("ssm").put_parameter(Name="/rds-certificate-override/lock", Value="{}", Type="String")
    with local_cloud(code_dirs) as second:
        assert second.client("cloudformation").describe_stacks()["Stacks"] == []
        answer = second.rds().describe_certificates()
        assert not any(certificate.get("CustomerOverride") for certificate in answer["Certificates"])
        assert second.default_for_new_launches() == "rds-ca-rsa2048-g1"
        assert second.client("ssm").describe_parameters()["Parameters"] == []
        second.stack("team-a")  # the name is free again
