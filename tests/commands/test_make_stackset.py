"""`make stackset`: the template a service-managed StackSet accepts, generated from template.yaml."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from cfnlint.api import lint_all

from override import OUR_PROPERTIES
from rds_override_tools import stackset
from rds_override_tools.stackset import (
    CODE_BUCKET,
    CODE_KEY,
    ENABLED_BY_DEFAULT,
    Generated,
    StackSetError,
    choose_regions,
    generate,
    load_sam_template,
    main,
    override_properties,
    region_overrides,
    translate,
)

MACRO_MARKERS = ("Fn::Transform", "AWS::Include", "AWS::LanguageExtensions", "AWS::Serverless")
CDK_MARKERS = ("BootstrapVersion", "CheckBootstrapVersion", "AssetParameters", "cdk-hnb659fds", "aws:cdk:")
SAM_REGIONS = botocore.session.Session().get_available_regions("rds", "aws")


def lint_findings(template: str) -> list[str]:
    """cfn-lint's errors and warnings, as its command line reports them (informational rules are opt-in)."""
    return [str(match) for match in lint_all(template) if match.rule.id[0] in "EW"]


@pytest.fixture(scope="module")
def generated() -> Generated:
    return generate(code_key="function-0123.zip")


def the_function(template: dict[str, Any]) -> dict[str, Any]:
    (function,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function")
    return dict(function)


def strings_and_keys(value: Any) -> list[str]:
    """Every key and string of a template, recursively."""
    if isinstance(value, dict):
        return [item for key, v in value.items() for item in (key, *strings_and_keys(v))]
    if isinstance(value, list):
        return [item for v in value for item in strings_and_keys(v)]
    return [value] if isinstance(value, str) else []


def test_there_is_no_transform_macro_or_cdk_bootstrap(generated: Generated) -> None:
    template = generated.template
    assert "Transform" not in template
    assert "Globals" not in template
    found = strings_and_keys(template)
    for marker in (*MACRO_MARKERS, *CDK_MARKERS):
        assert not [text for text in found if marker in text], marker
    assert not [name for name in template["Parameters"] if name.startswith(("Asset", "Bootstrap"))]
    assert "Rules" not in template


def test_the_sam_template_has_what_is_translated_away() -> None:
    # A guard for the test above: the source does use the transform, a SAM type and SAM's build metadata.
    source = load_sam_template()
    assert source["Transform"] == "AWS::Serverless-2016-10-31"
    assert "AWS::Serverless" in json.dumps(source) and "BuildMethod" in json.dumps(source)


def test_one_override_per_region_each_as_template_yaml_declares_it(generated: Generated) -> None:
    source = load_sam_template()
    (declared,) = (r for r in source["Resources"].values() if r["Type"] == "Custom::RdsCertificateOverride")
    overrides = generated.overrides
    assert [o["Properties"]["Region"] for o in overrides.values()] == list(generated.regions)
    assert "RdsCertificateOverrideEuWest1" in overrides
    for override in overrides.values():
        properties = dict(override["Properties"])
        del properties["Region"]
        assert {**override, "Properties": properties} == declared
        assert int(override["Properties"]["ServiceTimeout"]) == 300
    assert "Region" in OUR_PROPERTIES, "the property the function reads"


def test_region_overrides_reads_a_template_as_written(generated: Generated) -> None:
    template = json.loads(generated.body())
    assert region_overrides(template) == generated.overrides
    assert len(generated.overrides) == len(generated.regions)


def test_the_function_code_comes_from_the_bucket_parameters(generated: Generated) -> None:
    function = the_function(generated.template)
    assert function["Properties"]["Code"] == {"S3Bucket": {"Ref": CODE_BUCKET}, "S3Key": {"Ref": CODE_KEY}}
    assert "Default" not in generated.template["Parameters"][CODE_BUCKET]
    assert generated.template["Parameters"][CODE_KEY]["Default"] == "function-0123.zip"
    for parameter in ("CertificateIdentifier", "RestorePreviousOnDelete", "LogLevel", "LogRetentionInDays"):
        assert parameter in generated.template["Parameters"]


def test_sams_build_traces_go_and_checkovs_reasons_stay(generated: Generated) -> None:
    found = strings_and_keys(generated.template)
    assert "BuildMethod" not in found
    assert "lambda:createdBy" not in found
    function = the_function(generated.template)
    assert {skip["id"] for skip in function["Metadata"]["checkov"]["skip"]} >= {"CKV_AWS_116", "CKV_AWS_117"}


def test_outputs_name_no_resource_that_is_gone(generated: Generated) -> None:
    outputs = generated.template.get("Outputs", {})
    assert "ServiceToken" in outputs
    assert not {"CertificateIdentifier", "CertificateArn", "ValidTill"} & set(outputs)


def test_the_translation_writes_no_region_or_partition_in() -> None:
    # The translator needs a region for its pseudo parameters; the template must not depend on which.
    source = load_sam_template()
    assert translate(source, "us-east-1") == translate(source, "cn-north-1") == translate(source, "eu-west-3")


def test_queued_events_older_than_cloudformations_longest_wait_are_dropped(generated: Generated) -> None:
    resources = generated.template["Resources"]
    (invoke_config,) = (r for r in resources.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig")
    assert invoke_config["Properties"]["MaximumEventAgeInSeconds"] == 3600
    assert invoke_config["Properties"]["MaximumRetryAttempts"] == 0


def test_a_setting_added_to_template_yaml_is_carried_through(tmp_path: Path) -> None:
    """Nothing is listed by hand: a new SAM property, IAM statement or removed setting follows."""
    source = load_sam_template()
    function = source["Resources"]["RdsCertificateOverrideFunction"]["Properties"]
    function.pop("ReservedConcurrentExecutions", None)
    function["EventInvokeConfig"] = {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 900}
    policies = source["Resources"]["FunctionRole"]["Properties"]["Policies"]
    policies[0]["PolicyDocument"]["Statement"].append(
        {"Sid": "Ledger", "Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": "*"}
    )
    source["Globals"]["Function"]["MemorySize"] = 512
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(source))

    template = generate(["eu-west-1"], sam_template=path).template
    resources = template["Resources"]
    (invoke_config,) = (r for r in resources.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig")
    assert invoke_config["Properties"]["MaximumRetryAttempts"] == 0
    assert invoke_config["Properties"]["MaximumEventAgeInSeconds"] == 900
    assert invoke_config["Properties"]["FunctionName"] == {"Ref": "RdsCertificateOverrideFunction"}
    assert resources["RdsCertificateOverrideFunction"]["Properties"]["MemorySize"] == 512
    assert "ReservedConcurrentExecutions" not in resources["RdsCertificateOverrideFunction"]["Properties"]
    policy = resources["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert policy["Statement"][-1]["Sid"] == "Ledger"
    assert lint_findings(json.dumps(template)) == []


@pytest.mark.parametrize("regions", [None, SAM_REGIONS], ids=["default regions", "every RDS region"])
def test_cfn_lint_finds_nothing(regions: list[str] | None) -> None:
    template = generate(regions).body()
    assert lint_findings(template) == []
    assert len(template.encode()) <= stackset.MAX_TEMPLATE_BODY_BYTES, "fits --template-body"


def test_the_default_regions_are_those_every_account_has_enabled() -> None:
    assert choose_regions(None) == ENABLED_BY_DEFAULT["aws"]
    assert len(ENABLED_BY_DEFAULT["aws"]) == 17
    assert set(ENABLED_BY_DEFAULT["aws"]) <= set(SAM_REGIONS)
    # Other partitions have no opt-in regions: every RDS region of theirs.
    assert choose_regions(None, "aws-cn") == ("cn-north-1", "cn-northwest-1")


def test_regions_are_kept_in_order_once_each() -> None:
    assert choose_regions(["eu-west-1", "us-east-1", "eu-west-1"]) == ("eu-west-1", "us-east-1")
    assert choose_regions(["us-gov-west-1"], "aws-us-gov") == ("us-gov-west-1",)


@pytest.mark.parametrize(
    ("regions", "partition", "message"),
    [
        (
            ["eu-west-1", "eu-wst-9"],
            "aws",
            "region eu-wst-9: not an RDS region of partition aws; valid regions",
        ),
        (["cn-north-1"], "aws", "region cn-north-1: not an RDS region of partition aws"),
        (["eu-west-1"], "aws-cn", "region eu-west-1: not an RDS region of partition aws-cn; valid regions"),
        (["eu-west-1"], "aws-mars", "unknown partition 'aws-mars': valid partitions are aws, aws-cn"),
    ],
)
def test_an_unknown_region_or_partition_names_the_valid_choices(
    regions: list[str], partition: str, message: str
) -> None:
    with pytest.raises(StackSetError) as raised:
        choose_regions(regions, partition)
    assert message in str(raised.value)
    if "valid regions" in message:
        assert "eu-central-1" in str(raised.value) or "cn-northwest-1" in str(raised.value)


@pytest.fixture
def function_zip(tmp_path: Path) -> Path:
    path = tmp_path / "rds-certificate-override-function.zip"
    path.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip archive
    return path


def test_make_stackset_writes_the_template_and_the_zip_it_names(function_zip: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist" / "stackset"
    assert main(["--regions", "eu-west-1,eu-central-1", "--zip", str(function_zip), "--out", str(out)]) == 0
    template = json.loads((out / "template.json").read_text())
    code_key = template["Parameters"][CODE_KEY]["Default"]
    assert sorted(path.name for path in out.iterdir()) == sorted(["template.json", code_key])
    assert (out / code_key).read_bytes() == function_zip.read_bytes()
    assert code_key.startswith("rds-certificate-override-function-") and code_key.endswith(".zip")
    assert [o["Properties"]["Region"] for o in region_overrides(template).values()] == [
        "eu-west-1",
        "eu-central-1",
    ]


def _zip(path: Path, files: dict[str, bytes], date_time: tuple[int, ...], mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            entry = zipfile.ZipInfo(name, date_time=date_time)  # type: ignore[arg-type]
            entry.external_attr = mode << 16
            archive.writestr(entry, data)
    return path


def test_new_code_is_a_new_code_key_and_the_same_code_the_same_key(tmp_path: Path) -> None:
    code = {"index.py": b"def handler(event, context): ...\n", "version.py": b'__version__ = "1"\n'}
    first = stackset.code_key_for(_zip(tmp_path / "a.zip", code, (2026, 1, 1, 0, 0, 0)))
    # Rebuilt later (`touch lambda/index.py && make stackset`), entries in another order, other modes.
    again = _zip(tmp_path / "b" / "a.zip", dict(reversed(code.items())), (2027, 6, 1, 12, 0, 0), 0o600)
    assert stackset.code_key_for(again) == first
    changed = _zip(tmp_path / "c" / "a.zip", code | {"index.py": b"# changed\n"}, (2026, 1, 1, 0, 0, 0))
    assert stackset.code_key_for(changed) != first
    renamed = _zip(
        tmp_path / "d" / "a.zip",
        {"main.py": code["index.py"], "version.py": code["version.py"]},
        (2026, 1, 1, 0, 0, 0),
    )
    assert stackset.code_key_for(renamed) != first


def test_bad_input_writes_nothing(
    function_zip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "stackset"
    assert main(["--regions", "eu-west-1", "--zip", str(function_zip), "--out", str(out)]) == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}

    assert main(["--regions", "eu-west-1 moon-base-1", "--zip", str(function_zip), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "region moon-base-1: not an RDS region of partition aws; valid regions are af-south-1" in error
    assert "nothing written" in error
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(["stackset", function_zip.name])

    assert main(["--regions", "eu-west-1;us-east-1", "--zip", str(function_zip), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "stackset: --regions: cannot read 'eu-west-1;us-east-1' as a region name: separate regions with "
        'commas or spaces, e.g. eu-west-1,us-east-1 or "eu-west-1 us-east-1"; nothing written\n'
    )
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before

    assert main(["--zip", str(tmp_path / "missing.zip"), "--out", str(tmp_path / "other")]) == 2
    assert "missing.zip does not exist: run `make build` first" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


def test_override_properties_are_what_each_region_sends_its_function(generated: Generated) -> None:
    played = override_properties(generated.template, {"CertificateIdentifier": "rds-ca-ecc384-g1"})
    assert list(played) == list(generated.overrides)
    assert played["RdsCertificateOverrideEuWest1"] == {
        "ServiceTimeout": 300,
        "CertificateIdentifier": "rds-ca-ecc384-g1",
        "RestorePreviousOnDelete": "false",
        "Region": "eu-west-1",
    }
    # template.yaml's HasOverride: an empty CertificateIdentifier deploys the function only.
    assert override_properties(generated.template, {"CertificateIdentifier": ""}) == {}


def test_override_properties_refuses_what_only_cloudformation_can_resolve(generated: Generated) -> None:
    template = json.loads(generated.body())
    template["Resources"]["RdsCertificateOverrideEuWest1"]["Properties"]["Region"] = {"Ref": "AWS::Region"}
    with pytest.raises(StackSetError, match="parameter AWS::Region has no value and no default"):
        override_properties(template)
    template["Resources"]["RdsCertificateOverrideEuWest1"]["Properties"]["Region"] = {"Fn::Sub": "x"}
    with pytest.raises(StackSetError, match=re.escape('cannot resolve {"Fn::Sub": "x"}')):
        override_properties(template)


def test_the_output_directory_is_readable_as_any_directory_is(function_zip: Path, tmp_path: Path) -> None:
    out = tmp_path / "stackset"
    assert main(["--regions", "eu-west-1", "--zip", str(function_zip), "--out", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o755
