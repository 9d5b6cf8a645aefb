"""`status` readiness: how far one account-region's databases are from its CA, from plain data.

Apart from the ledger on purpose: the target CA comes in as an argument (the region's declared CA, or with
none declared its default for new launches: `target_certificate`), whatever code read the declarations.
The databases, engine facts and maintenance actions are the ones `rotate` plans from (`rotation.py`), so
that `status` and `rotate` count the same databases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rds_override_tools.rotation import (
    OTHER_SERVICES,
    UNKNOWN_ENGINE,
    Database,
    EngineFacts,
    MaintenanceAction,
)


@dataclass(frozen=True)
class Readiness:
    target: str | None  # None: live declarations disagree, no target to measure against
    databases: int  # DB instances and Multi-AZ DB clusters (members of those counted with their cluster)
    off_target: int
    restarts: (
        int  # off-target databases whose engine version cannot rotate without a restart (or does not say)
    )
    unsupported: int  # databases whose engine version does not list the target CA
    pending_rotations: int  # ca-certificate-rotation pending maintenance actions
    earliest_auto_applied: datetime | None
    earliest_forced: datetime | None

    def json(self) -> dict[str, Any]:
        return {
            "target_certificate": self.target,
            "databases": self.databases,
            "off_target": self.off_target,
            "restarts_to_rotate": self.restarts,
            "without_target_support": self.unsupported,
            "pending_rotations": self.pending_rotations,
            "earliest_auto_applied_after": _iso(self.earliest_auto_applied),
            "earliest_forced_apply": _iso(self.earliest_forced),
        }


def target_certificate(declared: Sequence[str], default: str) -> str | None:
    """The CA the region's databases should be on: the declared one, else the default for new launches;
    None when live declarations disagree."""
    distinct = set(declared)
    if len(distinct) > 1:
        return None
    return next(iter(distinct)) if distinct else default


def measure(
    target: str | None,
    databases: Sequence[Database],
    engines: Mapping[tuple[str, str], EngineFacts],
    maintenance: Mapping[str, MaintenanceAction],
) -> Readiness:
    # A Multi-AZ DB cluster's members count with it; DocumentDB and Neptune are not RDS databases here.
    counted = [d for d in databases if d.multi_az_cluster is None and d.engine not in OTHER_SERVICES]
    off = [database for database in counted if target is not None and database.certificate != target]

    def facts(database: Database) -> EngineFacts:
        return engines.get((database.engine, database.engine_version), UNKNOWN_ENGINE)

    actions = list(maintenance.values())
    auto = [action.auto_applied_after for action in actions if action.auto_applied_after is not None]
    forced = [action.forced_apply for action in actions if action.forced_apply is not None]
    return Readiness(
        target=target,
        databases=len(counted),
        off_target=len(off),
        restarts=sum(1 for database in off if not facts(database).rotates_without_restart),
        unsupported=sum(
            1
            for database in counted
            if target is not None
            and (supported := facts(database).supported_certificates) is not None
            and target not in supported
        ),
        pending_rotations=len(actions),
        earliest_auto_applied=min(auto, default=None),
        earliest_forced=min(forced, default=None),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None
