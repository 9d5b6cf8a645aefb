"""What AWS's answers mean for the ledger, for the function and the operator commands alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# A region that refuses the account's credentials: an opt-in region not enabled. Nothing can reach it.
REGION_NOT_ENABLED_CODES = frozenset(
    {"UnrecognizedClientException", "InvalidClientTokenId", "AuthFailure", "OptInRequired"}
)
# A region (or an action) that a policy refuses: a region-deny SCP, a missing permission.
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException"})


def stack_gone(
    stacks: Sequence[Mapping[str, Any]] | None, error_code: str = "", error_message: str = ""
) -> bool:
    """Whether DescribeStacks, asked by a stack's ARN, says the stack is gone: DELETE_COMPLETE (answered for
    a while after the deletion), or "does not exist" (later). `stacks` is its answer's Stacks, or None with
    the error's code and message."""
    if stacks is None:
        return error_code == "ValidationError" and "does not exist" in error_message
    return not stacks or stacks[0].get("StackStatus") == "DELETE_COMPLETE"
