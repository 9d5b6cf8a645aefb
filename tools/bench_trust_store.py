"""Time `check-trust-store` with a 500-certificate bundle against 17 regions, beside one `status` of the same
account and regions, on the emulator; count its DescribeCertificates calls (one per region).

The emulator runs in this process (its calls are counted here); both commands run as their own processes,
`--rounds` times each, alternating. Prints the medians and their ratio; exits non-zero when the ratio is
over `--goal` or a region's certificates were read more than once.

    python tools/bench_trust_store.py [--regions 17] [--certificates 500] [--rounds 5] [--goal 2.0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from rds_override_local import organization
from rds_override_local import rds_emulator as emulator
from rds_override_local.cloud import emulator_server
from rds_override_local.rds_emulator import ca_roots


def bundle(regions: list[str], size: int) -> bytes:
    """Every RDS root of `regions` (as global-bundle.pem) and other CAs up to `size` certificates (as a
    system CA file appended to it)."""
    rds = ca_roots.bundle(regions, "whole")
    key = ec.generate_private_key(ec.SECP256R1())
    start = datetime(2020, 1, 1, tzinfo=UTC)
    others = []
    for index in range(size - rds.count(b"BEGIN CERTIFICATE")):
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, f"Another Root CA {index}")])
        others.append(ca_roots.make_root(name, "ecc384", start, start + timedelta(days=36500), key=key))
    return rds + b"".join(c.public_bytes(serialization.Encoding.PEM) for c in others)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--regions", type=int, default=17)
    parser.add_argument("--certificates", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--goal", type=float, default=2.0, help="the ratio check/status must stay under (2)")
    options = parser.parse_args()
    os.environ.update(organization.status_environment())
    accounts = organization.account_ids(1)
    regions = organization.managed_regions(options.regions)
    with emulator_server() as endpoint, tempfile.TemporaryDirectory() as folder:
        organization.populate(endpoint, accounts, regions)
        path = Path(folder) / "bundle.pem"
        path.write_bytes(bundle(regions, options.certificates))
        size = path.read_bytes().count(b"BEGIN CERTIFICATE")
        status_s, check_s, reads = [], [], Counter[str]()
        for _ in range(options.rounds):
            status_s.append(organization.run_status(endpoint, accounts, regions).wall_s)
            emulator.reset_calls()
            check = organization.run_check_trust_store(endpoint, accounts, regions, [str(path)])
            check_s.append(check.wall_s)
            reads = Counter(c.region for c in emulator.calls() if c.action == "DescribeCertificates")
            if check.exit_code == 2:
                print(
                    f"check-trust-store could not read everything: {check.report['errors']}", file=sys.stderr
                )
                return 1
    status_median, check_median = statistics.median(status_s), statistics.median(check_s)
    ratio = check_median / status_median
    once = sorted(reads) == sorted(regions) and set(reads.values()) == {1}
    print(
        f"check-trust-store, {size} certificates x {len(regions)} regions: median {check_median:.2f} s; "
        f"status, 1 account x {len(regions)} regions: median {status_median:.2f} s "
        f"({options.rounds} rounds each); ratio {ratio:.2f} (goal under {options.goal}: "
        f"{'met' if ratio < options.goal else 'MISSED'}); DescribeCertificates "
        f"{'once per region' if once else f'NOT once per region: {dict(reads)}'}"
    )
    return 0 if once and ratio < options.goal else 1


if __name__ == "__main__":
    sys.exit(main())
