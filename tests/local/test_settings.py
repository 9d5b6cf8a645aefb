"""The constants the local stand-ins share (rds_override_local.settings)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID

from rds_override_local import settings


@pytest.fixture
def fresh_runtime_version() -> Iterator[None]:
    settings.runtime_version.cache_clear()
    yield
    settings.runtime_version.cache_clear()


def test_the_account_is_the_one_moto_derives_from_the_dummy_credentials() -> None:
    assert settings.ACCOUNT_ID == DEFAULT_ACCOUNT_ID


@pytest.mark.usefixtures("fresh_runtime_version")
def test_the_runtime_version_is_read_from_the_template() -> None:
    (runtime,) = re.findall(r"Runtime: python(\S+)", settings.TEMPLATE.read_text())
    assert settings.runtime_version() == runtime


@pytest.mark.usefixtures("fresh_runtime_version")
@pytest.mark.parametrize("runtimes", ["", "Runtime: python3.12\n  Runtime: python3.13\n"])
def test_a_template_without_exactly_one_runtime_is_refused(
    runtimes: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(f"Globals:\n  {runtimes}")
    monkeypatch.setattr(settings, "TEMPLATE", template)
    with pytest.raises(RuntimeError, match=r"must set exactly one `Runtime`"):
        settings.runtime_version()


def test_importing_the_emulator_patches_nothing_into_moto() -> None:
    check = (
        "from rds_override_local import rds_emulator\n"
        "from moto.rds.responses import RDSResponse\n"
        "assert 'describe_certificates' not in vars(RDSResponse)\n"
        "rds_emulator.install()\n"
        "assert 'describe_certificates' in vars(RDSResponse)\n"
    )
    subprocess.run([sys.executable, "-c", check], check=True, timeout=120)  # noqa: S603 - our own code
