"""The StackSet template's per-region overrides, played through the handler on the emulator."""

from __future__ import annotations

from typing import Any

import pytest
from moto.core.exceptions import JsonRESTError
from moto.ssm.models import SimpleSystemManagerBackend

from handler_support import CloudFormation, rds_calls
from handler_support import override as override_in
from rds_override_tools.stackset import generate, override_properties


def test_the_generated_overrides_set_and_then_remove_each_regions_default(cfn: CloudFormation) -> None:
    """The template's resources played through the handler on the emulator, as one stack instance would."""
    regions = ("eu-west-1", "us-east-1", "ap-southeast-2")
    played = override_properties(generate(regions).template, {"CertificateIdentifier": "rds-ca-ecc384-g1"})
    physical_ids = {}
    for logical_id, properties in played.items():
        answer = cfn.send("Create", properties).answer
        assert answer["Status"] == "SUCCESS", answer["Reason"]
        physical_ids[logical_id] = answer["PhysicalResourceId"]
    assert {region: override_in(region) for region in regions} == dict.fromkeys(regions, "rds-ca-ecc384-g1")

    for logical_id, properties in played.items():
        answer = cfn.send("Delete", properties, physical_id=physical_ids[logical_id]).answer
        assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert {region: override_in(region) for region in regions} == dict.fromkeys(regions)


def test_an_opt_in_region_the_account_has_not_enabled_fails_at_once(
    cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Such a region refuses the function's credentials on the first call there (the region's lock in SSM,
    a JSON-protocol service: UnrecognizedClientException). The refusal comes from the region itself (moto's
    SSM there), through the SDK's retry loop: one call, not five with backoff, so the override fails at
    once with the region's message, and the other region's override is set."""
    regions = ("eu-west-1", "ap-southeast-3")
    played = override_properties(generate(regions).template)
    refused = []
    put_parameter = SimpleSystemManagerBackend.put_parameter

    def refusing_put_parameter(self: SimpleSystemManagerBackend, *args: Any, **kwargs: Any) -> Any:
        if self.region_name != "ap-southeast-3":
            return put_parameter(self, *args, **kwargs)
        refused.append(self.region_name)
        raise JsonRESTError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )

    monkeypatch.setattr(SimpleSystemManagerBackend, "put_parameter", refusing_put_parameter)
    enabled = cfn.send("Create", played["RdsCertificateOverrideEuWest1"]).answer
    not_enabled = cfn.send("Create", played["RdsCertificateOverrideApSoutheast3"]).answer

    assert enabled["Status"] == "SUCCESS", enabled["Reason"]
    assert not_enabled["Status"] == "FAILED"
    assert not_enabled["Reason"] == (
        "Region ap-southeast-3 refuses this account's credentials (UnrecognizedClientException): it is "
        "probably an opt-in region that the account has not enabled. Enable it (AWS Account Management, "
        "Regions) or stop declaring it. Nothing was changed."
    )
    assert refused == ["ap-southeast-3"]
    assert rds_calls() == []
    assert override_in("eu-west-1") is not None
    assert override_in("ap-southeast-3") is None
