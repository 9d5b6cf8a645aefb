"""Where the prebuilt Lambda function lives inside the installed package."""

from __future__ import annotations

from pathlib import Path

ASSET_DIRECTORY = Path(__file__).resolve().parent / "function"
"""The SAM build output of the provider function (`make cdk-asset` copies it here; the wheel carries it)."""

HANDLER_FILE = "index.py"


class AssetMissingError(FileNotFoundError):
    """The package has no prebuilt function: synthesizing would deploy a function without code."""


def asset_directory() -> Path:
    """The directory to hand to `Code.from_asset`. Raises AssetMissingError when it is not there."""
    if not (ASSET_DIRECTORY / HANDLER_FILE).is_file():
        raise AssetMissingError(
            f"The provider function's asset is missing from {ASSET_DIRECTORY}. "
            "In a clone of the repository, run `make cdk-asset` (it runs `make build`); "
            "from a package, reinstall cdk-rds-certificate-override from a wheel built with `make cdk-wheel`."
        )
    return ASSET_DIRECTORY
