"""The release version: the one place it is set.

The function logs it with every request; the CDK package's metadata (cdk/hatch_build.py), the SAR metadata
of template.yaml and CHANGELOG.md follow it (tests/unit/test_release_metadata.py keeps them in step).
"""

__version__ = "0.1.0"
