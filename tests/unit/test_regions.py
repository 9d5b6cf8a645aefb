"""Region lists read the same everywhere (rds_override_tools.regions): commas, spaces or both; an error for a
list it cannot read says how to write one."""

from __future__ import annotations

import pytest

from rds_override_tools import cli
from rds_override_tools.regions import HOW_TO_WRITE, RegionListError, parse_regions, rds_regions


@pytest.mark.parametrize(
    "text",
    [
        "eu-west-1,us-east-1",
        "eu-west-1 us-east-1",
        "eu-west-1, us-east-1",
        " eu-west-1\tus-east-1\n",
        "eu-west-1,,us-east-1,",
        "eu-west-1 us-east-1 eu-west-1",
    ],
)
def test_commas_spaces_or_both_give_the_regions_in_order_once_each(text: str) -> None:
    assert parse_regions(text) == ["eu-west-1", "us-east-1"]


@pytest.mark.parametrize("text", ["", "  ", ",", " , "])
def test_a_list_that_names_no_region_is_empty_for_the_caller_to_default_or_refuse(text: str) -> None:
    assert parse_regions(text) == []


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("eu-west-1;us-east-1", "'eu-west-1;us-east-1'"),
        ("eu-west-1|us-east-1", "'eu-west-1|us-east-1'"),
        ('["eu-west-1"]', "'[\"eu-west-1\"]'"),
        ("eu-west-1 us.east.1", "'us.east.1'"),
    ],
)
def test_a_list_it_cannot_read_is_refused_saying_how_to_write_one(text: str, named: str) -> None:
    with pytest.raises(RegionListError) as error:
        parse_regions(text)
    assert str(error.value) == f"cannot read {named} as a region name: {HOW_TO_WRITE}"
    assert 'e.g. eu-west-1,us-east-1 or "eu-west-1 us-east-1"' in HOW_TO_WRITE


def test_the_sdks_regions_include_those_of_no_usual_shape() -> None:
    assert "eusc-de-east-1" in rds_regions("aws-eusc")
    with pytest.raises(RegionListError, match="unknown partition 'aws-moon': valid partitions are aws, "):
        rds_regions("aws-moon")


@pytest.mark.parametrize(
    "argv",
    [
        ["--regions", "eu-west-1,us-east-1"],
        ["--regions", "eu-west-1 us-east-1"],
        ["--regions", "eu-west-1", "us-east-1"],
        ["--regions", "eu-west-1,", "us-east-1", "eu-west-1"],
    ],
)
@pytest.mark.parametrize("command", ["status", "rotate"])
def test_status_and_rotate_read_regions_with_commas_or_spaces(command: str, argv: list[str]) -> None:
    args = cli.build_parser().parse_args([command, *argv])
    assert args.regions == ["eu-west-1", "us-east-1"]


@pytest.mark.parametrize("command", ["status", "rotate"])
def test_status_and_rotate_refuse_a_list_they_cannot_read_saying_how_to_write_one(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--regions", "eu-west-1;us-east-1"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --regions: cannot read 'eu-west-1;us-east-1' as a region name: {HOW_TO_WRITE}" in err


def test_without_regions_the_option_is_none_every_enabled_region() -> None:
    assert cli.build_parser().parse_args(["status"]).regions is None
