"""Hatchling build hook: puts the prebuilt Lambda function (the asset) into the wheel and the sdist.

The asset is ignored by git, and hatchling never walks into `__pycache__` directories (not even for
`artifacts` or a forced directory), yet the function's bytecode must ship: Lambda's task root is read-only,
so a function without its .pyc recompiles every module at every cold start. Each file is therefore
force-included one by one. A build without the asset fails here rather than install and fail at synth.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

ASSET = Path("src", "rds_certificate_override", "function")


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
