"""A pytest plugin for mutation runs only (`make mutate`): mutmut 3.7, the newest the dev environment's
click allows, reads `Item._nodeid`, which pytest 9 no longer has. It gets the public `nodeid` instead."""

import pytest

if not hasattr(pytest.Item, "_nodeid"):
    pytest.Item._nodeid = property(lambda item: item.nodeid)  # type: ignore[attr-defined]
