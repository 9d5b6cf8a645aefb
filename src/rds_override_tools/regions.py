"""Region lists, read the same by every command and make variable: names separated by commas, spaces or both
(`eu-west-1,us-east-1`, `"eu-west-1 us-east-1"`, `"eu-west-1, us-east-1"`); and the regions the SDK knows.

`status --regions` and `rotate --regions`, `make stackset REGIONS=...` and `make release REGIONS=...` (the
StackSet template's), the status demo's `--regions`: all go through `parse_regions`. Whether a name is a
region is the SDK's list to say (`rds_regions`), never a pattern: `eusc-de-east-1` is one.
"""

from __future__ import annotations

import re

import botocore.session

HOW_TO_WRITE = 'separate regions with commas or spaces, e.g. eu-west-1,us-east-1 or "eu-west-1 us-east-1"'
_SEPARATORS = re.compile(r"[,\s]+")
# What a region name can hold (letters, digits, hyphens): anything else means the list was misread.
_NAME = re.compile(r"[A-Za-z0-9-]+")


class RegionListError(ValueError):
    """A region list that cannot be read, or an unknown partition: the message says how to write it."""


def parse_regions(text: str) -> list[str]:
    """The regions named in `text`, in order, once each; [] when it names none (the caller's default)."""
    names = [name for name in _SEPARATORS.split(text) if name]
    unreadable = [name for name in names if not _NAME.fullmatch(name)]
    if unreadable:
        raise RegionListError(
            f"cannot read {' '.join(map(repr, unreadable))} as a region name: {HOW_TO_WRITE}"
        )
    return list(dict.fromkeys(names))


def rds_regions(partition: str) -> tuple[str, ...]:
    """The regions where the SDK knows RDS in `partition` (opt-in regions included)."""
    session = botocore.session.Session()
    partitions = session.get_available_partitions()
    if partition not in partitions:
        raise RegionListError(
            f"unknown partition {partition!r}: valid partitions are {', '.join(partitions)}"
        )
    return tuple(session.get_available_regions("rds", partition_name=partition, allow_non_regional=False))


def every_rds_region() -> dict[str, tuple[str, ...]]:
    """Each partition's RDS regions, for a region given with no partition to check it against."""
    session = botocore.session.Session()
    return {partition: rds_regions(partition) for partition in session.get_available_partitions()}
