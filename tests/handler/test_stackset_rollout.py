"""The StackSet template's per-region overrides, played through the handler on the emulator."""

from __future__ import annotations

from harness import CloudFormation
from harness import override as override_in
from rds_override_tools.stackset import generate, override_properties


def test_the_generated_overrides_set_and_then_remove_each_regions_default(cfn: CloudFormation) -> None:
    """The template's resources played through the handler on the emulator, as one stack instance would."""
    regions = ("eu-west-1", "us-east-1", "ap-southeast-2")
    played = override_properties(generate(regions).template, {"CertificateIdentifier": "rds-ca-ecc384-g1"})
    physical_ids = {}
    for logical_id, properties in played.items():
        answer = cfn.send("Create", properties)
        assert answer["Status"] == "SUCCESS", answer["Reason"]
        physical_ids[logical_id] = answer["PhysicalResourceId"]
    assert {region: override_in(region) for region in regions} == dict.fromkeys(regions, "rds-ca-ecc384-g1")

    for logical_id, properties in played.items():
        answer = cfn.send("Delete", properties, physical_id=physical_ids[logical_id])
        assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert {region: override_in(region) for region in regions} == dict.fromkeys(regions)
