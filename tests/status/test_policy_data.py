"""`rds-certificate-override policy-data` on moto with the RDS emulator: the data file the Guard rules judge
by, read from DescribeCertificates, DescribeDBEngineVersions (paged) and the ledger, per account-region."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from status_support import CALLER_ACCOUNT, HOME, Account

from rds_override_local import rds_emulator as emulator
from rds_override_tools import cli, policy_data

US = "us-east-1"
ECC, RSA2048, RSA4096 = "rds-ca-ecc384-g1", "rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1"


def policy_data_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(["policy-data", *args])
    return code, json.loads(capsys.readouterr().out)


def test_one_region_to_stdout_with_a_declared_default(
    caller: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    stack_id = caller.create_stack("team-a")
    caller.declare(HOME, stack_id, RSA4096)
    emulator.add_engine_version(CALLER_ACCOUNT, HOME, "postgres", "16.3")
    emulator.add_engine_version(CALLER_ACCOUNT, HOME, "postgres", "16.1", [RSA2048])
    emulator.add_engine_version(CALLER_ACCOUNT, HOME, "docdb", "5.0.0")

    code, data = policy_data_json(capsys, "--regions", HOME)

    assert code == 0
    assert (data["RdsCaAccount"], data["RdsCaRegion"]) == (CALLER_ACCOUNT, HOME)
    assert data["RdsCaDefault"] == {
        "Certificate": RSA4096,
        "SetBy": "declared",
        "DeclaredBy": ["team-a/RdsCertificateOverride"],
    }
    assert {ECC, RSA2048, RSA4096} <= set(data["RdsCaCertificates"])
    selections = {(s["Engine"], s["Version"]): s["Supported"] for s in data["RdsCaEngineSelections"]}
    assert selections[("postgres", "16.1")] == [RSA2048]
    assert ECC in selections[("postgres", "16.3")]
    assert selections[("postgres", "16")] == [RSA2048]  # what every 16.x supports
    assert ECC not in selections[("sqlserver-se", "11.00.2100.60.v1")]
    assert ("docdb", "5.0.0") in selections  # DocumentDB's engine, asked for by name
    assert data["RdsCaHorizon"]["Days"] == 30
    assert list(data) == sorted(data)


def test_an_override_set_by_hand_is_not_declared(caller: Account, capsys: pytest.CaptureFixture[str]) -> None:
    emulator.set_override(CALLER_ACCOUNT, HOME, ECC)
    _, data = policy_data_json(capsys, "--regions", HOME)
    assert data["RdsCaDefault"] == {"Certificate": ECC, "SetBy": "hand", "DeclaredBy": []}


def test_no_override_is_the_system_default(caller: Account, capsys: pytest.CaptureFixture[str]) -> None:
    _, data = policy_data_json(capsys, "--regions", HOME)
    assert data["RdsCaDefault"]["SetBy"] == "system"


def test_engine_versions_are_read_page_by_page(caller: Account, capsys: pytest.CaptureFixture[str]) -> None:
    for patch in range(150):  # more than one page of 100
        emulator.add_engine_version(CALLER_ACCOUNT, HOME, "mysql", f"8.0.{patch}")
    emulator.reset_calls()
    _, data = policy_data_json(capsys, "--regions", HOME)
    versions = {s["Version"] for s in data["RdsCaEngineSelections"] if s["Engine"] == "mysql"}
    assert {f"8.0.{patch}" for patch in range(150)} <= versions
    asked = [call for call in emulator.calls() if call.action == "DescribeDBEngineVersions"]
    assert len(asked) == 3  # two pages of every engine (162 versions), one of docdb


def test_an_expiring_ca_is_listed_within_days(caller: Account, capsys: pytest.CaptureFixture[str]) -> None:
    soon = datetime.now(UTC) + timedelta(days=20)
    emulator.add_certificate(
        CALLER_ACCOUNT, HOME, "rds-ca-soon", valid_from=soon - timedelta(days=400), valid_till=soon
    )
    _, data = policy_data_json(capsys, "--regions", HOME)
    assert data["RdsCaExpiring"] == ["rds-ca-2019", "rds-ca-soon"]  # the emulator's catalog: 2019 expired
    _, data = policy_data_json(capsys, "--regions", HOME, "--days", "10")
    assert data["RdsCaExpiring"] == ["rds-ca-2019"]


def test_several_regions_write_one_file_each(
    caller: Account, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    caller.declare(US, caller.create_stack("virginia", US), ECC)
    out = tmp_path / "policy-data"
    assert cli.main(["policy-data", "--regions", f"{HOME},{US}", "--output", str(out)]) == 0
    assert sorted(path.name for path in out.iterdir()) == [
        f"{CALLER_ACCOUNT}-{HOME}.json",
        f"{CALLER_ACCOUNT}-{US}.json",
    ]
    virginia = json.loads((out / f"{CALLER_ACCOUNT}-{US}.json").read_text())
    home = json.loads((out / f"{CALLER_ACCOUNT}-{HOME}.json").read_text())
    assert (virginia["RdsCaDefault"]["SetBy"], virginia["RdsCaDefault"]["Certificate"]) == ("declared", ECC)
    assert home["RdsCaDefault"]["SetBy"] == "system"
    # Deterministic: the same facts give the same bytes.
    assert cli.main(["policy-data", "--regions", f"{HOME},{US}", "--output", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / f"{CALLER_ACCOUNT}-{US}.json").read_bytes() == (
        out / f"{CALLER_ACCOUNT}-{US}.json"
    ).read_bytes()


def test_a_json_output_is_one_file(caller: Account, tmp_path: Path) -> None:
    target = tmp_path / "deep" / "data.json"
    assert cli.main(["policy-data", "--regions", HOME, "--output", str(target)]) == 0
    assert json.loads(target.read_text())["RdsCaRegion"] == HOME


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["--regions", f"{HOME},{US}"],
            "--output (stdout) holds one account-region: give a folder for several",
        ),
        (["--regions", f"{HOME},{US}", "--output", "x.json"], "--output x.json holds one account-region"),
        (["--days", "-1"], "--days must be 0 or more, not -1"),
        (["--regions", "mars-1"], "--regions: unknown in partition aws: mars-1"),
    ],
)
def test_bad_input_is_refused_exit_2(
    caller: Account, capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["policy-data", *args])
    assert exited.value.code == 2
    assert said in capsys.readouterr().err


def test_an_unreadable_region_is_named_exit_2(caller: Account, capsys: pytest.CaptureFixture[str]) -> None:
    emulator.inject_fault("DescribeCertificates", code="AccessDenied", region=HOME, count=None)
    assert cli.main(["policy-data", "--regions", HOME]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"policy-data: {CALLER_ACCOUNT} {HOME}: access denied: DescribeCertificates" in err


class TestSelections:
    def test_selectors_are_the_dotted_prefixes(self) -> None:
        assert policy_data.selectors("16.3") == ["16", "16.3"]
        assert policy_data.selectors("15.00.4415.2.v1") == [
            "15",
            "15.00",
            "15.00.4415",
            "15.00.4415.2",
            "15.00.4415.2.v1",
        ]

    def test_a_partial_version_supports_what_all_its_versions_support(self) -> None:
        selections, engines = policy_data.engine_selections(
            [
                {
                    "Engine": "Postgres",
                    "EngineVersion": "16.1",
                    "SupportedCACertificateIdentifiers": [RSA2048],
                },
                {
                    "Engine": "postgres",
                    "EngineVersion": "16.3",
                    "SupportedCACertificateIdentifiers": [ECC, RSA2048],
                },
                {"Engine": "postgres", "EngineVersion": "17.1", "SupportedCACertificateIdentifiers": [ECC]},
            ]
        )
        by = {(s["Engine"], s["Version"]): s["Supported"] for s in selections}
        assert by == {
            ("postgres", "16"): [RSA2048],
            ("postgres", "16.1"): [RSA2048],
            ("postgres", "16.3"): [ECC, RSA2048],
            ("postgres", "17"): [ECC],
            ("postgres", "17.1"): [ECC],
        }
        assert engines == [{"Engine": "postgres", "Supported": []}]

    def test_a_version_that_lists_no_cas_leaves_its_selections_out(self) -> None:
        selections, engines = policy_data.engine_selections(
            [
                {
                    "Engine": "oracle-ee",
                    "EngineVersion": "19.0.1",
                    "SupportedCACertificateIdentifiers": [RSA2048],
                },
                {"Engine": "oracle-ee", "EngineVersion": "19.0.2"},
            ]
        )
        assert [(s["Engine"], s["Version"]) for s in selections] == [("oracle-ee", "19.0.1")]
        assert engines == []
