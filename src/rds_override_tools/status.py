"""`status`: what each account and region's RDS default CA is, against what the ledger declares.

Pure decisions and rendering only: the SDK reads live in `fleet.py`, which hands the answers here.
The ledger is read by its one definition, `rds_override_ledger`, the function's own.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from rds_override_ledger import declarations as ledger
from rds_override_tools.published_roots import risk_note
from rds_override_tools.rotation import expired_on

if TYPE_CHECKING:
    from rds_override_tools.readiness import Readiness


class State(StrEnum):
    IN_SYNC = "in-sync"
    DRIFT = "drift"  # a live declaration declares a CA other than the override in force
    UNDECLARED = "undeclared"  # an override that no live declaration declares
    STALE = "stale"  # a declaration whose stack is gone
    EXPIRED_CA = "expired-ca"  # databases on a CA past its ValidTill: their clients' TLS checks fail
    UNREADABLE = "unreadable"  # some read failed: the row says which and why


class LedgerError(ValueError):
    """A ledger parameter that is not a declaration this reader understands."""


@dataclass(frozen=True)
class Declaration:
    parameter_name: str
    stack_id: str
    logical_resource_id: str
    certificate_identifier: str
    ledger_state: str  # "pending" (written before ModifyCertificates) or "applied"

    @property
    def stack_name(self) -> str:
        # arn:<partition>:cloudformation:<region>:<account>:stack/<StackName>/<StackUUID>
        return self.stack_id.split(":", 5)[5].split("/")[1]

    @property
    def stack_region(self) -> str:
        return self.stack_id.split(":")[3]

    @property
    def declared_by(self) -> str:
        return f"{self.stack_name}/{self.logical_resource_id}"


def parse_declaration(name: str, value: str) -> Declaration:
    """One ledger parameter (name and JSON value), read by the function's own definition of the ledger
    (`rds_override_ledger`); LedgerError names the parameter and how to repair it."""
    try:
        written = ledger.Declaration.from_json(value)
    except ValueError as error:
        raise LedgerError(ledger.UnreadableEntry(name, str(error)).repair_hint()) from error
    return _as_read(name, written)


def parse_ledger(parameters: Iterable[tuple[str, str]]) -> list[Declaration]:
    """The declarations among a region's ledger parameters. A withdrawal (what the rollback of a failed
    Create leaves) declares nothing; an entry that cannot be read makes the row unreadable, naming it:
    the function refuses changes while it stands, and so must the report not guess."""
    read = ledger.Ledger.parse(parameters)
    if read.unreadable:
        raise LedgerError(read.unreadable[0].repair_hint())
    # Ledger.parse keeps an entry only under its own resource's name: that name is the parameter's.
    return [_as_read(d.name, d) for d in read.declarations if not d.withdrawn]


def _as_read(name: str, written: ledger.Declaration) -> Declaration:
    if ledger.StackRef.parse(written.stack_id) is None:
        raise LedgerError(f"ledger parameter {name}: StackId {written.stack_id!r} is not a stack ARN")
    return Declaration(
        parameter_name=name,
        stack_id=written.stack_id,
        logical_resource_id=written.logical_id,
        certificate_identifier=written.certificate,
        ledger_state=written.state.value,
    )


@dataclass(frozen=True)
class Certificates:
    """DescribeCertificates of one region, reduced to what the report shows."""

    default: str  # DefaultCertificateForNewLaunches
    override: str | None  # the certificate with CustomerOverride, if any
    default_valid_till: datetime | None
    override_valid_till: datetime | None  # CustomerOverrideValidTill
    valid_till: dict[str, datetime] = field(default_factory=dict)  # every CA's ValidTill, by identifier


def read_certificates(default: str, certificates: Iterable[Mapping[str, Any]]) -> Certificates:
    by_id = {certificate["CertificateIdentifier"]: certificate for certificate in certificates}
    overridden = [certificate for certificate in by_id.values() if certificate.get("CustomerOverride")]
    override = overridden[0] if overridden else None
    return Certificates(
        default=default,
        override=override["CertificateIdentifier"] if override else None,
        default_valid_till=by_id.get(default, {}).get("ValidTill"),
        override_valid_till=override.get("CustomerOverrideValidTill") if override else None,
        valid_till={ca: c["ValidTill"] for ca, c in by_id.items() if c.get("ValidTill") is not None},
    )


@dataclass(frozen=True)
class Instance:
    identifier: str
    engine: str
    engine_version: str
    certificate: str | None  # CACertificateIdentifier
    valid_till: datetime | None  # CertificateDetails.ValidTill: the server certificate's expiry


def read_instance(instance: Mapping[str, Any]) -> Instance:
    return Instance(
        identifier=instance["DBInstanceIdentifier"],
        engine=instance.get("Engine", ""),
        engine_version=instance.get("EngineVersion", ""),
        certificate=instance.get("CACertificateIdentifier"),
        valid_till=instance.get("CertificateDetails", {}).get("ValidTill"),
    )


def decide_state(override: str | None, declarations: Sequence[Declaration], live_stacks: set[str]) -> State:
    """The row's state: what the region has against what its live declarations declare.

    The worst finding wins: drift (the override is not what live stacks declare; also when they declare
    different CAs, which the function refuses) before stale (a stack gone, its declaration left) before
    undeclared (an override, no live declaration).
    """
    live = [declaration for declaration in declarations if declaration.stack_id in live_stacks]
    declared = {declaration.certificate_identifier for declaration in live}
    if live and declared != {override}:
        return State.DRIFT
    if len(live) < len(declarations):
        return State.STALE
    if override is not None and not live:
        return State.UNDECLARED
    return State.IN_SYNC


@dataclass
class Row:
    """One account and region: what the report shows and --json prints."""

    account: str
    region: str
    state: State
    default_certificate: str | None = None
    override: bool | None = None
    declared_certificates: list[str] = field(default_factory=list)
    declarations: list[Declaration] = field(default_factory=list)
    stale_stacks: list[str] = field(default_factory=list)
    default_valid_till: datetime | None = None
    override_valid_till: datetime | None = None
    instances_by_certificate: dict[str, int] = field(default_factory=dict)
    expiring_instances: list[Instance] = field(default_factory=list)
    unsupported_engines: list[str] = field(default_factory=list)
    on_expired_ca: list[str] = field(default_factory=list)  # "<database> (<CA>, expired <date>)"
    readiness: Readiness | None = None  # set by the reader (readiness.measure); None when unreadable
    error: str | None = None


def unreadable(account: str, region: str, error: str) -> Row:
    return Row(account=account, region=region, state=State.UNREADABLE, error=error)


def build_row(
    account: str,
    region: str,
    *,
    certificates: Certificates,
    declarations: Sequence[Declaration],
    live_stacks: set[str],
    instances: Sequence[Instance],
    supported_certificates: Mapping[tuple[str, str], Sequence[str] | None],
    now: datetime,
    days: int,
    on_expired_ca: Sequence[str] = (),
) -> Row:
    """Everything the report says about one region, from what was read there.

    supported_certificates: SupportedCACertificateIdentifiers per (engine, engine version) in use; None where
    DescribeDBEngineVersions does not say (then nothing is claimed about that engine). on_expired_ca: the
    databases on a CA past its ValidTill (`expired_databases`): the row is expired-ca unless it is drift.
    """
    live = [declaration for declaration in declarations if declaration.stack_id in live_stacks]
    horizon = now + timedelta(days=days)
    unsupported = sorted(
        f"{engine} {version}"
        for (engine, version), supported in supported_certificates.items()
        if supported is not None and certificates.default not in supported
    )
    state = decide_state(certificates.override, declarations, live_stacks)
    if on_expired_ca and state is not State.DRIFT:
        state = State.EXPIRED_CA
    return Row(
        account=account,
        region=region,
        state=state,
        default_certificate=certificates.default,
        override=certificates.override is not None,
        declared_certificates=sorted({declaration.certificate_identifier for declaration in live}),
        declarations=list(declarations),
        stale_stacks=sorted({d.stack_id for d in declarations if d.stack_id not in live_stacks}),
        default_valid_till=certificates.default_valid_till,
        override_valid_till=certificates.override_valid_till,
        instances_by_certificate=dict(
            sorted(Counter(instance.certificate or "unknown" for instance in instances).items())
        ),
        expiring_instances=sorted(
            (i for i in instances if i.valid_till is not None and i.valid_till <= horizon),
            key=lambda instance: (instance.valid_till, instance.identifier),
        ),
        unsupported_engines=unsupported,
        on_expired_ca=list(on_expired_ca),
    )


def expired_databases(
    databases: Iterable[tuple[str, str | None]], valid_till: Mapping[str, datetime], now: datetime
) -> list[str]:
    """ "<database> (<CA>, expired <date>)" for each (identifier, CA) whose CA is past its ValidTill."""
    found = []
    for identifier, certificate in databases:
        expired = expired_on(certificate, valid_till, now)
        if expired is not None:
            found.append(f"{identifier} ({certificate}, expired {expired.date()})")
    return sorted(found)


def filter_states(rows: Iterable[Row], states: Iterable[State] | None) -> list[Row]:
    """The rows in one of `states` (all of them when None)."""
    wanted = None if states is None else set(states)
    return [row for row in rows if wanted is None or row.state in wanted]


def exit_code(rows: Iterable[Row]) -> int:
    """0: every row in sync; 1: drift, undeclared or stale found; 2: some row could not be read (wins)."""
    states = {row.state for row in rows}
    if State.UNREADABLE in states:
        return 2
    return 0 if states <= {State.IN_SYNC} else 1


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def row_json(row: Row, days: int) -> dict[str, Any]:
    return {
        "account": row.account,
        "region": row.region,
        "state": str(row.state),
        "default_certificate": row.default_certificate,
        "override": row.override,
        "declared_certificates": row.declared_certificates,
        "declarations": [
            {
                "parameter_name": d.parameter_name,
                "stack_id": d.stack_id,
                "stack_name": d.stack_name,
                "logical_resource_id": d.logical_resource_id,
                "certificate_identifier": d.certificate_identifier,
                "ledger_state": d.ledger_state,
                "stack_gone": d.stack_id in row.stale_stacks,
            }
            for d in row.declarations
        ],
        "default_valid_till": _iso(row.default_valid_till),
        "override_valid_till": _iso(row.override_valid_till),
        "instances_by_certificate": row.instances_by_certificate,
        f"instances_expiring_within_{days}_days": [
            {"identifier": i.identifier, "certificate": i.certificate, "valid_till": _iso(i.valid_till)}
            for i in row.expiring_instances
        ],
        "engines_without_default_certificate": row.unsupported_engines,
        "databases_on_expired_ca": row.on_expired_ca,
        "target_risk_note": _risk(row),
        "readiness": row.readiness.json() if row.readiness else None,
        "error": row.error,
    }


def summary(rows: Sequence[Row]) -> dict[str, int]:
    counts = Counter(str(row.state) for row in rows)
    return {"account_regions": len(rows)} | {str(state): counts[str(state)] for state in State}


def report_json(rows: Sequence[Row], days: int, generated_at: datetime) -> str:
    document = {
        "generated_at": _iso(generated_at),
        "days": days,
        "summary": summary(rows),
        "rows": [row_json(row, days) for row in rows],
    }
    return json.dumps(document, indent=2)


def _date(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else "-"


def _notes(row: Row) -> str:
    if row.error:
        return row.error
    notes = []
    if row.state is State.DRIFT:
        notes.append(f"declared {', '.join(row.declared_certificates) or 'by no live stack'}")
    notes.extend(f"stack gone: {d.declared_by}" for d in row.declarations if d.stack_id in row.stale_stacks)
    notes.extend(
        f"{instance.identifier} expires {_date(instance.valid_till)}" for instance in row.expiring_instances
    )
    if row.unsupported_engines:
        notes.append(f"engines without {row.default_certificate}: {', '.join(row.unsupported_engines)}")
    if row.on_expired_ca:
        notes.append(f"on an expired CA: {', '.join(row.on_expired_ca)}")
    return "; ".join(notes) or "-"


def _risk(row: Row) -> str | None:
    """The risk note of the row's target CA (ECC384, RSA4096), if any."""
    target = row.readiness.target if row.readiness else None
    return risk_note(target) if target else None


def expiring(row: Row, horizon: datetime) -> list[str]:
    """What expires by `horizon`: the default CA, the override, every database's server certificate."""
    found = []
    if row.default_valid_till is not None and row.default_valid_till <= horizon:
        found.append(f"default CA {row.default_certificate} expires {_date(row.default_valid_till)}")
    if row.override_valid_till is not None and row.override_valid_till <= horizon:
        found.append(f"override expires {_date(row.override_valid_till)}")
    found.extend(
        f"{instance.identifier} expires {_date(instance.valid_till)}"
        for instance in row.expiring_instances
        if instance.valid_till is not None and instance.valid_till <= horizon
    )
    return found


def _count(row: Row, value: int | None) -> str:
    return "-" if row.error is not None or value is None else str(value)


def _readiness_cells(row: Row) -> dict[str, str]:
    ready = row.readiness
    return {
        "OFF-CA": _count(row, ready.off_target if ready and ready.target else None),
        "RESTART": _count(row, ready.restarts if ready and ready.target else None),
        "NO-TARGET": _count(row, ready.unsupported if ready and ready.target else None),
        "PENDING": _count(row, ready.pending_rotations if ready else None),
        "AUTO-APPLY": _date(ready.earliest_auto_applied) if ready else "-",
        "FORCED": _date(ready.earliest_forced) if ready else "-",
    }


def _all_cells(row: Row) -> dict[str, str]:
    live = [d for d in row.declarations if d.stack_id not in row.stale_stacks]
    return {
        "ACCOUNT": row.account,
        "REGION": row.region,
        "STATE": str(row.state),
        "DEFAULT": row.default_certificate or "-",
        "OVERRIDE": "-" if row.override is None else ("yes" if row.override else "no"),
        "CA EXPIRES": _date(row.default_valid_till),
        "OVERRIDE EXPIRES": _date(row.override_valid_till),
        "INSTANCES BY CA": ",".join(f"{ca}={n}" for ca, n in row.instances_by_certificate.items()) or "-",
        "EXPIRING": str(len(row.expiring_instances)) if row.error is None else "-",
        **_readiness_cells(row),
        "DECLARED BY": ",".join(d.declared_by for d in live) or "-",
        "NOTES": _notes(row),
    }


# --wide and csv: every column. The default table: what fits a 120-column terminal, the notes below it.
WIDE_COLUMNS = (
    "ACCOUNT",
    "REGION",
    "STATE",
    "DEFAULT",
    "OVERRIDE",
    "CA EXPIRES",
    "OVERRIDE EXPIRES",
    "INSTANCES BY CA",
    "EXPIRING",
    "OFF-CA",
    "RESTART",
    "NO-TARGET",
    "PENDING",
    "AUTO-APPLY",
    "FORCED",
    "DECLARED BY",
    "NOTES",
)
NARROW_COLUMNS = (
    "ACCOUNT",
    "REGION",
    "STATE",
    "DEFAULT",
    "OVERRIDE",
    "EXPIRING",
    "OFF-CA",
    "RESTART",
    "PENDING",
    "FORCED",
)
TABLE_WIDTH = 120


def _header(column: str, days: int, *, wide: bool = True) -> str:
    if column == "EXPIRING":
        return f"EXPIRING <={days}D" if wide else f"EXP <={days}D"
    return column


def _align(table: list[tuple[str, ...]], last_free: bool) -> list[str]:
    count = len(table[0]) - (1 if last_free else 0)
    widths = [max(len(line[index]) for line in table) for index in range(count)]
    return [
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(line, widths, strict=False)), *line[count:]]
        ).rstrip()
        for line in table
    ]


def _summary_line(rows: Sequence[Row]) -> str:
    counts = summary(rows)
    total = counts.pop("account_regions")
    return f"{total} account-regions: " + ", ".join(f"{n} {state}" for state, n in counts.items())


def report_table(rows: Sequence[Row], days: int, *, wide: bool = False) -> str:
    """Aligned columns, one row per account and region, then one summary line.

    The default fits 120 columns: the notes go under the table, one wrapped paragraph per row that has
    any; `wide` puts every column on the row, notes last.
    """
    columns = WIDE_COLUMNS if wide else NARROW_COLUMNS
    header = tuple(_header(column, days, wide=wide) for column in columns)
    cells = [_all_cells(row) for row in rows]
    table = [header, *(tuple(cell[column] for column in columns) for cell in cells)]
    lines = _align(table, last_free=wide)
    if not wide:
        notes = [(row, cell["NOTES"]) for row, cell in zip(rows, cells, strict=True) if cell["NOTES"] != "-"]
        if notes:
            lines.append("")
            lines.append("NOTES")
        for row, note in notes:
            lines.extend(
                textwrap.wrap(
                    note,
                    width=TABLE_WIDTH,
                    initial_indent=f"{row.account} {row.region}: ",
                    subsequent_indent="    ",
                    break_on_hyphens=False,
                )
            )
    # Said once per risky target CA, not on every row.
    for risk in sorted({risk for row in rows if (risk := _risk(row))}):
        lines.extend(textwrap.wrap(risk, width=TABLE_WIDTH, subsequent_indent="    ", break_on_hyphens=False))
    lines.append(_summary_line(rows))
    return "\n".join(lines)


def report_csv(rows: Sequence[Row], days: int) -> str:
    """Every column, one line per account and region (no summary line)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([_header(column, days) for column in WIDE_COLUMNS])
    writer.writerows([cell[column] for column in WIDE_COLUMNS] for cell in map(_all_cells, rows))
    return out.getvalue().rstrip("\n")
