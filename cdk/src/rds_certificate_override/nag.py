"""`RdsCaChecks`: a cdk-nag 3 pack applying the RDS CA rules (policy/rds-ca.guard, rds-ca-warnings.guard) at
synth, with one account-region's data file (`rds-certificate-override policy-data`). Needs the `nag` extra
(`pip install 'cdk-rds-certificate-override[nag]'`: cdk-nag 3).

    cdk.Validations.of(app).add_plugins(RdsCaChecks(app, data="policy-data/111122223333-eu-west-1.json"))

Rule ids are `RdsCa-` and the Guard rule's name (`RdsCa-RDS_CA_ENGINE_SUPPORTED`); hard rules are errors,
warnings warnings. Acknowledge one the cdk-nag 3 way, with CDK's Validations API:

    cdk.Validations.of(database).acknowledge(
        cdk.Acknowledgment(id="RdsCa::RdsCa-RDS_CA_ENGINE_SUPPORTED", reason="...")
    )
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance
from constructs import IConstruct

from . import ca_policy

PACK_NAME = "RdsCa"


def load_data(data: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """The data file (a path or its parsed JSON); ValueError names what is missing."""
    loaded = json.loads(Path(data).read_text()) if isinstance(data, (str, Path)) else dict(data)
    missing = [key for key in ca_policy.DATA_KEYS if key not in loaded]
    if missing:
        raise ValueError(
            f"RdsCaChecks(data=...): not a policy data file (missing {', '.join(missing)}): "
            "make one with `rds-certificate-override policy-data`"
        )
    return dict(loaded)


def template_shape(node: cdk.CfnResource) -> dict[str, Any]:
    """The resource as its template shows it (properties resolved; Metadata as set on it)."""
    stack = cdk.Stack.of(node)
    shape: dict[str, Any] = {
        "Type": node.cfn_resource_type,
        "Properties": stack.resolve(node._render_properties(node._cfn_properties)) or {},
    }
    if node.cfn_options.metadata:
        shape["Metadata"] = stack.resolve(node.cfn_options.metadata)
    return shape


@jsii.implements(IApplyRule)
class _Finding:
    """One finding handed to cdk-nag (`applyRule`): always non-compliant, its message the rule's own."""

    def __init__(self, node: cdk.CfnResource, finding: ca_policy.Finding) -> None:
        self._node = node
        self._finding = finding

    @property
    def node(self) -> cdk.CfnResource:
        return self._node

    @property
    def info(self) -> str:
        return self._finding.text()

    @property
    def explanation(self) -> str:
        return self._finding.message

    @property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel.ERROR if self._finding.severity == ca_policy.FAIL else NagMessageLevel.WARN

    @property
    def rule_suffix_override(self) -> str:
        return self._finding.rule

    def rule(self, _node: cdk.CfnResource) -> NagRuleCompliance:
        return NagRuleCompliance.NON_COMPLIANT


class RdsCaChecks(NagPack):
    """The RDS CA rules as a cdk-nag pack. `data`: one account-region's data file (path or parsed JSON)."""

    def __init__(
        self,
        scope: IConstruct | None = None,
        *,
        data: str | Path | Mapping[str, Any],
        verbose: bool | None = None,
    ) -> None:
        super().__init__(scope, verbose=verbose)
        self._pack_name = PACK_NAME
        self._data = load_data(data)
        self._templates: dict[str, dict[str, Any]] = {}

    @property
    def name(self) -> str:
        return PACK_NAME

    def _stack_resources(self, stack: cdk.Stack) -> dict[str, Any]:
        """The stack's resources in the template shape, by logical id (made once per stack)."""
        key = stack.node.path
        if key not in self._templates:
            self._templates[key] = {
                stack.get_logical_id(child): template_shape(child)
                for child in stack.node.find_all()
                if isinstance(child, cdk.CfnResource) and cdk.Stack.of(child) is stack
            }
        return self._templates[key]

    def _check_resource(self, node: cdk.CfnResource) -> None:
        if node.cfn_resource_type not in (ca_policy.INSTANCE, ca_policy.CLUSTER, ca_policy.DOCDB):
            return
        resource = template_shape(node)
        for finding in ca_policy.judge(resource, self._stack_resources(cdk.Stack.of(node)), self._data):
            # jsii reads an interface's members as properties (plain attributes are not seen), which the
            # Protocol of the stubs takes as read-only variables.
            self._apply_rule(_Finding(node, finding))  # type: ignore[arg-type]
