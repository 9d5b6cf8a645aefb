"""Set-up of the explorer's tests: the function's environment and the SDK patches, undone afterwards."""

from collections.abc import Iterator

import pytest

from rds_override_local.explorer.world import prepared


@pytest.fixture(scope="module", autouse=True)
def explorer_process() -> Iterator[None]:
    with prepared():
        yield
