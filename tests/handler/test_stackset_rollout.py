"""The StackSet template's per-region overrides, played through the handler on the emulator."""

from __future__ import annotations

import moto_rds_certificates as emulator
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


def test_an_opt_in_region_the_account_has_not_enabled_fails_at_once(cfn: CloudFormation) -> None:
    """Such a region refuses the function's credentials: that override fails, unretried, and says why."""
    regions = ("eu-west-1", "ap-southeast-3")
    played = override_properties(generate(regions).template)
    emulator.inject_fault(
        "DescribeCertificates",
        code="InvalidClientTokenId",
        status=403,
        message="The security token included in the request is invalid.",
        count=None,
        region="ap-southeast-3",
    )
    try:
        enabled = cfn.send("Create", played["RdsCertificateOverrideEuWest1"])
        not_enabled = cfn.send("Create", played["RdsCertificateOverrideApSoutheast3"])
        calls = emulator.calls()
    finally:
        emulator.clear_faults()

    assert enabled["Status"] == "SUCCESS"
    assert not_enabled["Status"] == "FAILED"
    assert "InvalidClientTokenId" in not_enabled["Reason"]
    assert "The security token included in the request is invalid" in not_enabled["Reason"]
    # One call, not the SDK's five attempts with backoff: nothing waits for the ServiceTimeout.
    assert [(call.region, call.action) for call in calls] == [("ap-southeast-3", "DescribeCertificates")]
    assert override_in("ap-southeast-3") is None
