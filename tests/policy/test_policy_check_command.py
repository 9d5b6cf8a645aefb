"""`rds-certificate-override policy-check`: templates in, findings out; exit 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policy_cases import ECC384, RSA2048, SYSTEM, db
from rds_override_tools import cli

YAML_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Version:
    Type: String
Resources:
  Db:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: sqlserver-se
      EngineVersion: 15.00.4415.2.v1
      CACertificateIdentifier: rds-ca-ecc384-g1
      DBInstanceClass: !Sub "db.${AWS::Region}"
      Tags:
        - Key: arn
          Value: !GetAtt Other.Arn
  Other:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Ref AWS::StackName
"""


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "111122223333-eu-west-1.json"
    path.write_text(json.dumps(SYSTEM))
    return path


def write(path: Path, resources: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"Resources": resources}))
    return path


def test_a_clean_template_exits_0(
    tmp_path: Path, data_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = write(tmp_path / "ok.json", {"Db": db("postgres", "16.3", RSA2048)})
    assert cli.main(["policy-check", str(template), "--data", str(data_file)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "1 template(s), 0 failure(s), 0 warning(s) (cfn-guard-rs 0.3.3 (cfn-guard 3.0.1))" in captured.err


def test_yaml_with_short_form_tags_is_read_and_a_failure_exits_1(
    tmp_path: Path, data_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(YAML_TEMPLATE)
    assert cli.main(["policy-check", str(template), "--data", str(data_file)]) == 1
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(f"FAIL {template} Db RDS_CA_ENGINE_SUPPORTED: ")
    assert line.endswith(f"(value: {ECC384}; valid: rds-ca-rsa2048-g1, rds-ca-rsa4096-g1)")


def test_warnings_only_exit_0_and_json_names_everything(
    tmp_path: Path, data_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = write(tmp_path / "w.json", {"Db": db("postgres", "99.1", RSA2048)})
    assert cli.main(["policy-check", str(template), "--data", str(data_file), "--format", "json"]) == 0
    [finding] = json.loads(capsys.readouterr().out)
    assert finding["template"] == str(template)
    assert (finding["resource"], finding["rule"], finding["severity"], finding["value"]) == (
        "Db",
        "RDS_CA_ENGINE_KNOWN",
        "WARN",
        "99.1",
    )


def test_a_cdk_out_folder_means_each_template_json(
    tmp_path: Path, data_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cdk.out"
    out.mkdir()
    write(out / "A.template.json", {"Db": db("postgres", "16.3", RSA2048)})
    write(out / "B.template.json", {"Db": db("sqlserver-se", "15.00.4415.2.v1", ECC384)})
    (out / "manifest.json").write_text("{}")
    assert cli.main(["policy-check", str(out), "--data", str(data_file)]) == 1
    captured = capsys.readouterr()
    assert [line.split()[1] for line in captured.out.splitlines()] == [str(out / "B.template.json")]
    assert "2 template(s), 1 failure(s)" in captured.err


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda d: d / "missing.json", "missing.json: no such file or folder"),
        (
            lambda d: (d / "bad.json").write_text("{nope") and d / "bad.json",
            "bad.json: not a JSON or YAML template",
        ),
        (
            lambda d: (d / "bad.yaml").write_text("a: [") and d / "bad.yaml",
            "bad.yaml: not a JSON or YAML template",
        ),
        (
            lambda d: (d / "list.json").write_text("[]") and d / "list.json",
            "list.json: not a CloudFormation template",
        ),
        (lambda d: (d / "empty").mkdir() or d / "empty", "empty: a folder with no *.template.json in it"),
    ],
)
def test_bad_templates_are_named_exit_2(
    tmp_path: Path, data_file: Path, capsys: pytest.CaptureFixture[str], make: Any, said: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(SystemExit) as exited:
        cli.main(["policy-check", str(path), "--data", str(data_file)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert said in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "cannot read it"),
        ("{nope", "not JSON"),
        ('{"Resources": {}}', "not a policy data file (missing RdsCaCertificates, RdsCaExpiring"),
    ],
)
def test_a_bad_data_file_is_named_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, said: str
) -> None:
    template = write(tmp_path / "ok.json", {"Db": db("postgres", "16.3", RSA2048)})
    data = tmp_path / "data.json"
    if content is not None:
        data.write_text(content)
    with pytest.raises(SystemExit) as exited:
        cli.main(["policy-check", str(template), "--data", str(data)])
    assert exited.value.code == 2
    assert f"--data {data}: {said}" in capsys.readouterr().err
