"""The pure decisions of lambda/override.py: properties, physical ids, certificate choice, Delete's plan."""

from datetime import UTC, datetime

import pytest

from override import (
    Certificate,
    CertificateError,
    DeleteAction,
    DeletePlan,
    FailedCreateId,
    PhysicalId,
    PropertyError,
    answer_deadline,
    attributes,
    choose_certificate,
    current_override,
    failed_create_physical_id,
    parse_boolean,
    parse_properties,
    plan_delete,
    stack_digest,
)

NOW = datetime(2026, 11, 28, tzinfo=UTC)
REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-7", "eusc-de-east-1")


def cert(identifier: str, *, till_year: int = 2121, override: bool = False) -> Certificate:
    valid_till = datetime(till_year, 5, 25, 23, 34, 57, tzinfo=UTC)
    return Certificate(
        identifier=identifier,
        arn=f"arn:aws:rds:eu-west-1::cert:{identifier}",
        certificate_type="CA",
        thumbprint="ab" * 20,
        valid_from=datetime(2021, 5, 25, 23, 34, 57, tzinfo=UTC),
        valid_till=valid_till,
        customer_override=override,
        customer_override_valid_till=valid_till if override else None,
    )


CATALOG = [
    cert("rds-ca-rsa2048-g1", till_year=2061),
    cert("rds-ca-rsa4096-g1"),
    cert("rds-ca-ecc384-g1"),
    cert("rds-ca-2019", till_year=2024),
]


class TestParseProperties:
    def parse(self, **raw: object) -> object:
        return parse_properties(
            {"ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:f", **raw},
            default_region="eu-west-1",
            known_regions=REGIONS,
        )

    def test_defaults(self) -> None:
        parsed = self.parse(CertificateIdentifier="rds-ca-rsa4096-g1")
        assert parsed.certificate_identifier == "rds-ca-rsa4096-g1"
        assert parsed.region == "eu-west-1"
        assert parsed.restore_previous_on_delete is False

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("true", True),
            ("TRUE", True),
            ("True", True),
            ("false", False),
            ("False", False),
            (True, True),
            (False, False),
            ("", False),
        ],
    )
    def test_restore_previous_accepts_string_and_json_booleans(self, raw: object, expected: bool) -> None:
        parsed = self.parse(CertificateIdentifier="rds-ca-rsa4096-g1", RestorePreviousOnDelete=raw)
        assert parsed.restore_previous_on_delete is expected

    @pytest.mark.parametrize("raw", ["yes", "1", "ture", 1])
    def test_restore_previous_rejects_anything_else(self, raw: object) -> None:
        with pytest.raises(PropertyError, match=r"RestorePreviousOnDelete must be true or false"):
            self.parse(CertificateIdentifier="rds-ca-rsa4096-g1", RestorePreviousOnDelete=raw)

    def test_region_and_service_timeout(self) -> None:
        parsed = self.parse(
            CertificateIdentifier="rds-ca-ecc384-g1", Region="us-east-1", ServiceTimeout="300"
        )
        assert parsed.region == "us-east-1"

    @pytest.mark.parametrize("timeout", ["1", "3600", 300, "", None])
    def test_a_service_timeout_from_1_to_3600_seconds_is_accepted(self, timeout: object) -> None:
        parsed = self.parse(CertificateIdentifier="rds-ca-ecc384-g1", ServiceTimeout=timeout)
        assert parsed.certificate_identifier == "rds-ca-ecc384-g1"

    @pytest.mark.parametrize(
        "timeout", ["five minutes", "300s", "0", "3601", "-1", "2.5", 0, 3601, True, ["300"]]
    )
    def test_a_service_timeout_that_is_not_1_to_3600_seconds_is_refused_naming_the_range(
        self, timeout: object
    ) -> None:
        with pytest.raises(PropertyError) as error:
            self.parse(CertificateIdentifier="rds-ca-ecc384-g1", ServiceTimeout=timeout)
        assert str(error.value) == (
            "ServiceTimeout must be whole seconds from 1 to 3600 (how long CloudFormation waits for the "
            f"answer), not {timeout!r}"
        )

    @pytest.mark.parametrize("missing", [{}, {"CertificateIdentifier": ""}, {"CertificateIdentifier": "  "}])
    def test_certificate_identifier_is_required(self, missing: dict[str, str]) -> None:
        with pytest.raises(PropertyError, match=r"CertificateIdentifier is required.*rds-ca-rsa4096-g1"):
            self.parse(**missing)

    def test_unknown_property_is_named_with_the_valid_ones(self) -> None:
        with pytest.raises(PropertyError) as error:
            self.parse(CertificateIdentifer="rds-ca-rsa4096-g1", Regoin="eu-west-1")
        assert str(error.value) == (
            "Unknown properties CertificateIdentifer, Regoin: "
            "valid properties are CertificateIdentifier, Region, RestorePreviousOnDelete"
        )

    @pytest.mark.parametrize("region", ["eu-west", "EU-WEST-1", "eu_west_1", "eu-west-1 ", "eu-west-1\n"])
    def test_a_region_outside_the_sdks_list_is_refused(self, region: str) -> None:
        with pytest.raises(PropertyError, match=r"Region .* is not a region where RDS is available: valid"):
            self.parse(CertificateIdentifier="rds-ca-rsa4096-g1", Region=region)

    def test_a_region_is_checked_against_the_list_not_a_shape(self) -> None:
        """The European Sovereign Cloud's region does not fit the usual two-letter shape."""
        parsed = self.parse(CertificateIdentifier="rds-ca-rsa4096-g1", Region="eusc-de-east-1")
        assert parsed.region == "eusc-de-east-1"

    @pytest.mark.parametrize(
        ("properties", "message"),
        [
            (
                {"CertificateIdentifier": "rds-ca-rsa4096-g1", "Region": ["eu-west-1"]},
                "Region must be a string, got a list",
            ),
            (
                {"CertificateIdentifier": ["rds-ca-rsa4096-g1"]},
                "CertificateIdentifier must be a string, got a list",
            ),
            ({"CertificateIdentifier": {"Ref": "Ca"}}, "CertificateIdentifier must be a string, got a map"),
            ({"CertificateIdentifier": 4096}, "CertificateIdentifier must be a string, got a number"),
            ({"CertificateIdentifier": True}, "CertificateIdentifier must be a string, got a boolean"),
            (
                {"CertificateIdentifier": "x", "RestorePreviousOnDelete": [True]},
                "RestorePreviousOnDelete must be true or false, got a list",
            ),
        ],
    )
    def test_a_value_of_another_type_is_named_by_its_type(
        self, properties: dict[str, object], message: str
    ) -> None:
        with pytest.raises(PropertyError) as error:
            self.parse(**properties)
        assert str(error.value) == message

    def test_region_must_be_known_to_rds(self) -> None:
        with pytest.raises(
            PropertyError,
            match=r"'eu-west-9' is not a region where RDS.*eu-west-1, eusc-de-east-1, us-east-1",
        ):
            self.parse(CertificateIdentifier="rds-ca-rsa4096-g1", Region="eu-west-9")


def test_parse_boolean_default() -> None:
    assert parse_boolean("X", None, default=True) is True


class TestPhysicalId:
    @pytest.mark.parametrize("region", ["eu-west-1", "eusc-de-east-1", "us-gov-west-1", "cn-north-1"])
    def test_round_trip(self, region: str) -> None:
        for previous in (None, "rds-ca-rsa2048-g1"):
            physical_id = PhysicalId(region, previous, stack_digest("stack", "Override"))
            assert PhysicalId.parse(str(physical_id)) == physical_id

    def test_format_does_not_contain_the_declared_certificate(self) -> None:
        physical_id = PhysicalId("eu-west-1", None, "0123456789ab")
        assert str(physical_id) == "rds-certificate-override:v1:eu-west-1:-:0123456789ab"

    def test_stack_digest_is_stable_per_resource(self) -> None:
        assert stack_digest("stack-a", "Override") == stack_digest("stack-a", "Override")
        assert stack_digest("stack-a", "Override") != stack_digest("stack-b", "Override")
        assert stack_digest("stack-a", "Override") != stack_digest("stack-a", "Other")

    @pytest.mark.parametrize(
        "value",
        [
            None,
            "",
            failed_create_physical_id("1d2c3b4a"),
            "Override",  # a placeholder CloudFormation may send
            "my-stack-Override-1A2B3C4D5E6F",
            "rds-certificate-override:v2:eu-west-1:-:0123456789ab",
            "rds-certificate-override:v1:not a region:-:0123456789ab",
            "rds-certificate-override:v1:eu-west-1::0123456789ab",
            "rds-certificate-override:v1:eu-west-1:-",
        ],
    )
    def test_anything_a_successful_create_did_not_issue_is_rejected(self, value: str | None) -> None:
        assert PhysicalId.parse(value) is None

    def test_failed_create_id_is_not_empty_and_carries_the_request_id(self) -> None:
        assert failed_create_physical_id("req-1") == "rds-certificate-override:create-failed:req-1"
        assert FailedCreateId.parse(failed_create_physical_id("req-1")) == FailedCreateId("req-1", True)

    def test_a_create_that_changed_nothing_says_so_in_its_id(self) -> None:
        unchanged = str(FailedCreateId("req-1", may_have_changed=False))
        assert unchanged == "rds-certificate-override:nothing-changed:req-1"
        assert FailedCreateId.parse(unchanged) == FailedCreateId("req-1", False)

    @pytest.mark.parametrize(
        "value",
        [
            None,
            "",
            "rds-certificate-override:create-failed:",
            "rds-certificate-override:nothing-changed:",
            "rds-certificate-override:v1:eu-west-1:-:ab",
            "other:create-failed:req-1",
        ],
    )
    def test_only_a_failed_create_id_carries_a_request_id(self, value: str | None) -> None:
        assert FailedCreateId.parse(value) is None


SIGNED = "https://bucket.s3.amazonaws.com/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261129T100000Z"


class TestAnswerDeadline:
    def test_sigv4_the_service_timeout_from_the_signing_time(self) -> None:
        deadline = answer_deadline(f"{SIGNED}&X-Amz-Expires=7200&X-Amz-Signature=s", "300")
        assert deadline == datetime(2026, 11, 29, 10, 5, tzinfo=UTC)

    @pytest.mark.parametrize("timeout", [None, "", "0", "3601", "soon", ["300"]])
    def test_a_missing_or_invalid_service_timeout_is_cloudformations_default_hour(
        self, timeout: object
    ) -> None:
        assert answer_deadline(SIGNED, timeout) == datetime(2026, 11, 29, 11, 0, tzinfo=UTC)

    def test_a_url_that_expires_first_bounds_it(self) -> None:
        assert answer_deadline(f"{SIGNED}&X-Amz-Expires=60", "300") == datetime(
            2026, 11, 29, 10, 1, tzinfo=UTC
        )

    def test_sigv2_only_the_expiry(self) -> None:
        url = "https://bucket.s3.amazonaws.com/key?AWSAccessKeyId=AKIA&Expires=1796040000&Signature=s"
        assert answer_deadline(url, "300") == datetime.fromtimestamp(1796040000, UTC)

    @pytest.mark.parametrize(
        "url",
        [
            "",
            "https://bucket/key?X-Amz-Signature=s",
            "https://b/k?X-Amz-Date=yesterday",
            "https://b/k?Expires=x",
        ],
    )
    def test_a_url_that_says_nothing_tells_nothing(self, url: str) -> None:
        assert answer_deadline(url, "300") is None


class TestChooseCertificate:
    def test_known_valid_certificate(self) -> None:
        assert choose_certificate(CATALOG, "rds-ca-ecc384-g1", NOW).identifier == "rds-ca-ecc384-g1"

    def test_unknown_certificate_names_it_and_the_valid_choices(self) -> None:
        with pytest.raises(CertificateError) as error:
            choose_certificate(CATALOG, "rds-ca-rsa4096-g2", NOW)
        assert str(error.value) == (
            "CertificateIdentifier 'rds-ca-rsa4096-g2' is not an RDS CA certificate in this region: "
            "valid choices are rds-ca-ecc384-g1, rds-ca-rsa2048-g1, rds-ca-rsa4096-g1"
        )

    def test_expired_certificate_says_when(self) -> None:
        with pytest.raises(CertificateError, match=r"'rds-ca-2019' expired on 2024-05-25T23:34:57Z"):
            choose_certificate(CATALOG, "rds-ca-2019", NOW)


def test_current_override() -> None:
    assert current_override(CATALOG) is None
    assert current_override([*CATALOG[:2], cert("rds-ca-ecc384-g1", override=True)]) == "rds-ca-ecc384-g1"


class TestPlanDelete:
    VALID = frozenset({"rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"})

    def plan(
        self,
        *,
        previous: str | None = None,
        standing: str | None,
        restore: bool = False,
        declared: str = "X",
        co_declarers: tuple[str, ...] = (),
        write_confirmed: bool = True,
    ) -> DeletePlan:
        return plan_delete(
            declared=declared,
            previous=previous,
            restore_previous=restore,
            standing_override=standing,
            valid_certificates=self.VALID,
            co_declarers=co_declarers,
            write_confirmed=write_confirmed,
        )

    def test_a_live_co_declarer_keeps_the_override(self) -> None:
        plan = self.plan(
            standing="rds-ca-rsa4096-g1",
            declared="rds-ca-rsa4096-g1",
            restore=True,
            previous="rds-ca-rsa2048-g1",
            co_declarers=("stack b, resource Override",),
        )
        assert plan.action is DeleteAction.LEAVE
        assert "still declared by stack b, resource Override" in plan.reason

    def test_a_write_that_never_landed_is_not_undone_and_not_a_warning(self) -> None:
        plan = self.plan(standing="rds-ca-rsa2048-g1", declared="rds-ca-rsa4096-g1", write_confirmed=False)
        assert plan.action is DeleteAction.LEAVE
        assert not plan.warning
        assert "never landed" in plan.reason

    def test_a_pending_write_that_landed_is_undone(self) -> None:
        plan = self.plan(standing="rds-ca-rsa4096-g1", declared="rds-ca-rsa4096-g1", write_confirmed=False)
        assert plan.action is DeleteAction.REMOVE

    def test_removes_the_override_it_declares(self) -> None:
        plan = self.plan(standing="rds-ca-rsa4096-g1", declared="rds-ca-rsa4096-g1")
        assert plan.action is DeleteAction.REMOVE

    def test_no_override_leaves(self) -> None:
        plan = self.plan(standing=None, declared="rds-ca-rsa4096-g1")
        assert plan.action is DeleteAction.LEAVE
        assert not plan.warning

    def test_out_of_band_change_leaves_with_a_warning(self) -> None:
        plan = self.plan(
            standing="rds-ca-ecc384-g1",
            declared="rds-ca-rsa4096-g1",
            restore=True,
            previous="rds-ca-rsa2048-g1",
        )
        assert plan.action is DeleteAction.LEAVE
        assert plan.warning
        assert "changed outside this resource" in plan.reason

    def test_restores_the_previous_override(self) -> None:
        plan = self.plan(
            previous="rds-ca-rsa2048-g1",
            standing="rds-ca-rsa4096-g1",
            declared="rds-ca-rsa4096-g1",
            restore=True,
        )
        assert plan.action is DeleteAction.RESTORE
        assert plan.restore_to == "rds-ca-rsa2048-g1"

    def test_restore_without_a_previous_override_removes(self) -> None:
        plan = self.plan(
            previous=None, standing="rds-ca-rsa4096-g1", declared="rds-ca-rsa4096-g1", restore=True
        )
        assert plan.action is DeleteAction.REMOVE

    def test_restore_of_an_expired_previous_override_removes_with_a_warning(self) -> None:
        plan = self.plan(
            previous="rds-ca-2019", standing="rds-ca-rsa4096-g1", declared="rds-ca-rsa4096-g1", restore=True
        )
        assert plan.action is DeleteAction.REMOVE
        assert plan.warning

    def test_restore_when_the_previous_override_is_the_declared_one_leaves_it(self) -> None:
        plan = self.plan(
            previous="rds-ca-rsa4096-g1",
            standing="rds-ca-rsa4096-g1",
            declared="rds-ca-rsa4096-g1",
            restore=True,
        )
        assert plan.action is DeleteAction.LEAVE

    def test_without_restore_the_previous_override_is_not_put_back(self) -> None:
        plan = self.plan(
            previous="rds-ca-rsa2048-g1", standing="rds-ca-rsa4096-g1", declared="rds-ca-rsa4096-g1"
        )
        assert plan.action is DeleteAction.REMOVE


def test_attributes_are_strings_in_iso8601_utc() -> None:
    data = attributes(cert("rds-ca-rsa4096-g1", override=True), region="eu-west-1", previous_override=None)
    assert data == {
        "CertificateIdentifier": "rds-ca-rsa4096-g1",
        "CertificateArn": "arn:aws:rds:eu-west-1::cert:rds-ca-rsa4096-g1",
        "CertificateType": "CA",
        "Thumbprint": "ab" * 20,
        "ValidFrom": "2021-05-25T23:34:57Z",
        "ValidTill": "2121-05-25T23:34:57Z",
        "CustomerOverrideValidTill": "2121-05-25T23:34:57Z",
        "Region": "eu-west-1",
        "PreviousCertificateIdentifier": "",
    }
