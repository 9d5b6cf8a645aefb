"""Hatchling hooks: the package version, and the prebuilt Lambda function (the asset) in wheel and sdist.

The version is the function's (lambda/version.py, the one place it is set): read from the asset's copy when
the asset is there (a wheel, an sdist, a wheel built from that sdist), else from ../lambda/version.py (the
editable install of the development environment, before any build).

The asset is ignored by git, and hatchling never walks into `__pycache__` directories (not even for
`artifacts` or a forced directory), yet the function's bytecode must ship: Lambda's task root is read-only,
so a function without its .pyc recompiles every module at every cold start. Each file is therefore
force-included one by one. A build without the asset fails here rather than install and fail at synth.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.metadata.plugin.interface import MetadataHookInterface

ASSET = Path("src", "rds_certificate_override", "function")
VERSION_FILES = (ASSET / "version.py", Path("..", "lambda", "version.py"))
_VERSION = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)


def read_version(root: Path) -> str:
    """The function's version, from the first of VERSION_FILES found under `root`."""
    for candidate in VERSION_FILES:
        path = root / candidate
        if path.is_file():
            found = _VERSION.search(path.read_text(encoding="utf-8"))
            if found is None:
                raise RuntimeError(f'{path} does not set __version__ = "..."')
            return found[1]
    raise RuntimeError(
        f"No version: neither {' nor '.join(map(str, VERSION_FILES))} exists under {root}. "
        "Run `make cdk-asset` at the repository root, then build again."
    )


class VersionHook(MetadataHookInterface):
    PLUGIN_NAME = "custom"

    def update(self, metadata: dict[str, Any]) -> None:
        metadata["version"] = read_version(Path(self.root))


class AssetBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            # The dev environment imports the package from src/, where `make cdk-asset` puts the asset.
            return
        asset = Path(self.root) / ASSET
        if not (asset / "index.py").is_file():
            raise RuntimeError(
                f"{ASSET} is missing: the package carries the prebuilt Lambda function as its asset. "
                "Run `make cdk-asset` (it runs `make build`) at the repository root, then build again."
            )
        for path in sorted(asset.rglob("*")):
            if path.is_file():
                # The sdist keeps the source layout; the wheel maps src/ away (tool.hatch...packages).
                build_data["force_include"][str(path)] = (ASSET / path.relative_to(asset)).as_posix()
