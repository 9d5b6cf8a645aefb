"""member-roles.yaml as CloudFormation would create it for some parameters, and the AWS calls each operator
command makes in a member account: what the roles must allow.

`Template.roles(parameters)` evaluates the template's Conditions and the few intrinsic functions it uses
(Ref, Fn::Sub, Fn::If, Fn::Equals, Fn::Not, Fn::Or, Condition, AWS::NoValue) and gives each role that would
exist with its trust policy and every policy statement it gets (its managed policies of the template and its
inline policies).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

from rds_override_tools import rotate_fleet

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "member-roles.yaml"
ACCOUNT = "123456789012"
"""The member account the template is deployed in (AWS::AccountId)."""
TRUSTED = "111122223333"
"""The management or delegated administrator account (TrustedAccountId)."""

# What each command calls in a member account, as IAM actions. test_member_role_calls records `status`'s on
# the emulator and checks it against STATUS; `rotate`'s plan is recorded the same way against ROTATE_PLAN.
STATUS = frozenset(
    {
        "rds:DescribeCertificates",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "rds:DescribePendingMaintenanceActions",
        "rds:DescribeDBEngineVersions",
        "ssm:GetParametersByPath",
        "cloudformation:DescribeStacks",
        "ec2:DescribeRegions",
    }
)
# `rotate`'s own lists of what it calls in a member account (rds_override_tools.rotate_fleet).
ROTATE_PLAN = frozenset(rotate_fleet.READ_ACTIONS)
ROTATE_APPLY = ROTATE_PLAN | frozenset(rotate_fleet.WRITE_ACTIONS)
READS = STATUS | ROTATE_PLAN
"""Everything a command that changes nothing calls: the audit role allows exactly these."""
WRITES = ROTATE_APPLY - READS
"""What only `rotate --apply` calls: only the rotation role, only with AllowRotation=true, allows these."""
READ_VERBS = ("Describe", "Get", "List")


def is_read(action: str) -> bool:
    return action.split(":", 1)[1].startswith(READ_VERBS)


_NO_VALUE = object()


@dataclass(frozen=True)
class Role:
    logical_id: str
    name: str
    trust: list[dict[str, Any]]
    statements: list[dict[str, Any]]

    def actions(self) -> set[str]:
        """Every action an Allow statement grants (the template uses no wildcards and no Deny)."""
        assert all(statement["Effect"] == "Allow" for statement in self.statements)
        return {action for statement in self.statements for action in as_list(statement["Action"])}

    def resources(self, action: str) -> set[str]:
        return {
            resource
            for statement in self.statements
            if action in as_list(statement["Action"])
            for resource in as_list(statement["Resource"])
        }


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


class Template:
    def __init__(self, path: Path = TEMPLATE) -> None:
        self.path = path
        self.body: dict[str, Any] = _plain(cfn_yaml.load(str(path)))

    def parameters(self, given: dict[str, str]) -> dict[str, str]:
        """Each parameter's value: given, else its default; neither, or a value the parameter refuses, is an
        error, as in CloudFormation."""
        declared = self.body["Parameters"]
        unknown = set(given) - set(declared)
        assert not unknown, f"not parameters of the template: {unknown}"
        values = {}
        for name, parameter in declared.items():
            value = given.get(name, parameter.get("Default"))
            if value is None:
                raise ValueError(f"parameter {name} has no default and no value")
            pattern = parameter.get("AllowedPattern")
            if pattern is not None and not re.fullmatch(pattern, value):
                raise ValueError(f"parameter {name}: {value!r} does not match {pattern}")
            if "AllowedValues" in parameter and value not in parameter["AllowedValues"]:
                raise ValueError(f"parameter {name}: {value!r} not in {parameter['AllowedValues']}")
            values[name] = value
        return values

    def resources(self, given: dict[str, str]) -> dict[str, dict[str, Any]]:
        """The resources created with these parameters, their properties resolved."""
        resolver = _Resolver(self.body, self.parameters(given))
        return {
            logical_id: {**resource, "Properties": resolver.value(resource.get("Properties", {}))}
            for logical_id, resource in self.body["Resources"].items()
            if "Condition" not in resource or resolver.condition(resource["Condition"])
        }

    def roles(self, given: dict[str, str]) -> dict[str, Role]:
        """The roles created with these parameters, by role name."""
        resources = self.resources(given)
        roles = {}
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::IAM::Role":
                continue
            properties = resource["Properties"]
            statements = [
                statement
                for arn in properties.get("ManagedPolicyArns", [])
                for statement in resources[_ref_of(arn)]["Properties"]["PolicyDocument"]["Statement"]
            ] + [
                statement
                for policy in properties.get("Policies", [])
                for statement in policy["PolicyDocument"]["Statement"]
            ]
            role = Role(
                logical_id,
                properties["RoleName"],
                properties["AssumeRolePolicyDocument"]["Statement"],
                statements,
            )
            roles[role.name] = role
        return roles


def _ref_of(value: str) -> str:
    match = re.fullmatch(r"<ref (\w+)>", value)
    assert match, f"a managed policy not of this template: {value}"
    return match.group(1)


def _plain(node: Any) -> Any:
    """cfn-lint's YAML nodes as plain dicts, lists and strings."""
    if isinstance(node, dict):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(value) for value in node]
    return str(node) if isinstance(node, str) else node


class _Resolver:
    def __init__(self, body: dict[str, Any], parameters: dict[str, str]) -> None:
        self.body = body
        self.names = {
            **parameters,
            "AWS::Partition": "aws",
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": "eu-west-1",
        }

    def condition(self, name: str) -> bool:
        result = self.value(self.body["Conditions"][name])
        assert isinstance(result, bool), name
        return result

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        return self.names.get(name, f"<ref {name}>")

    def sub(self, text: str) -> str:
        return re.sub(r"\$\{([\w:]+)\}", lambda match: self.names[match.group(1)], text)

    def if_(self, argument: list[Any]) -> Any:
        name, when_true, when_false = argument
        return self.value(when_true if self.condition(name) else when_false)

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        functions: dict[str, Callable[[Any], Any]] = {
            "Ref": self.ref,
            "Fn::Sub": self.sub,
            "Fn::If": self.if_,
            "Fn::Equals": lambda pair: self.value(pair[0]) == self.value(pair[1]),
            "Fn::Not": lambda one: not self.value(one[0]),
            "Fn::Or": lambda several: any(self.value(item) for item in several),
        }
        if len(node) == 1:
            ((key, argument),) = node.items()
            if key in functions:
                return functions[key](argument)
            if key == "Condition" and argument in self.body["Conditions"]:
                return self.condition(argument)
            assert not key.startswith("Fn::"), f"the resolver does not know {key}"
        return {k: v for k, v in ((k, self.value(item)) for k, item in node.items()) if v is not _NO_VALUE}
