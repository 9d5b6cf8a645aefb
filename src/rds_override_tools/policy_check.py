"""`policy-check`: the RDS CA Guard rules (policy/*.guard) run on CloudFormation templates by the real Guard
engine, cfn-guard 3.0.1 as embedded by the PyPI package cfn-guard-rs. Nothing here judges a resource: this
module loads templates, merges the data file at the top level (as a Guard Hook merges its input parameters),
runs Guard once per judged resource and renders what Guard reports.

Once per resource: a Guard Hook sees one resource at a time, and a finding then needs no path arithmetic to
name its resource. The resource is evaluated with the template's other resources of other types beside it
(a DocumentDB instance's cluster, the parameter groups), never with the other judged resources.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

try:
    import yaml
    from cfn_guard_rs.cfn_guard_rs import run_checks_rs  # type: ignore[import-not-found]
except ImportError as missing:  # the `policy` extra: wheels for CPython 3.11 and 3.12 only
    raise ImportError(
        f"policy-check needs the Guard engine ({missing.name} is missing): "
        "pip install 'rds-certificate-override[policy]' (CPython 3.11 or 3.12)"
    ) from missing

# The engine and the Guard version it embeds (cfn-guard-rs 0.3.3 is built on the cfn-guard 3.0.1 crate).
ENGINE = "cfn-guard-rs 0.3.3 (cfn-guard 3.0.1)"
JUDGED_TYPES = ("AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::DocDB::DBInstance")
RULES = resources.files("rds_override_tools") / "policy_rules"


class Severity(StrEnum):
    FAIL = "FAIL"
    WARN = "WARN"


RULE_FILES = {Severity.FAIL: "rds-ca.guard", Severity.WARN: "rds-ca-warnings.guard"}


class PolicyInputError(ValueError):
    """A template or data file that cannot be read: the message names it."""


def rules_text(severity: Severity) -> str:
    return (RULES / RULE_FILES[severity]).read_text()


@dataclass(frozen=True)
class Finding:
    template: str
    resource: str
    rule: str
    severity: Severity
    message: str  # the rule's own message (its `<< >>`)
    value: Any = None  # what Guard compared
    choices: Any = None  # what it compared against
    excluded: bool = False  # the value must not be one of the choices (`not in`)

    def line(self) -> str:
        detail = ""
        if self.value is not None:
            detail = f" (value: {_show(self.value)}"
            label = "must not be one of" if self.excluded else "valid"
            detail += f"; {label}: {_show(self.choices)})" if self.choices is not None else ")"
        return f"{self.severity} {self.template} {self.resource} {self.rule}: {self.message}{detail}"

    def as_json(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "resource": self.resource,
            "rule": self.rule,
            "severity": str(self.severity),
            "message": self.message,
            "value": self.value,
            "valid": None if self.excluded else self.choices,
            "excluded": self.choices if self.excluded else None,
        }


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_show(item) for item in value) or "(none)"
    return str(value)


# ---- templates ----------------------------------------------------------------------------------------


class _TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !GetAtt, !Sub...) read as their long form."""


def _short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type,unused-ignore]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _short_form)


def load_template(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as error:
        raise PolicyInputError(f"{path}: cannot read it: {error.strerror}") from error
    try:
        template = json.loads(text) if path.suffix == ".json" else yaml.load(text, _TemplateLoader)  # noqa: S506
    except (ValueError, yaml.YAMLError) as error:
        raise PolicyInputError(f"{path}: not a JSON or YAML template: {error}") from error
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise PolicyInputError(f"{path}: not a CloudFormation template (no Resources section)")
    return template


def template_paths(arguments: Sequence[str]) -> list[Path]:
    """The templates named: a folder (a CDK cloud assembly such as cdk.out) means its *.template.json."""
    paths: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = sorted(path.glob("*.template.json"))
            if not found:
                raise PolicyInputError(f"{path}: a folder with no *.template.json in it")
            paths.extend(found)
        elif not path.exists():
            raise PolicyInputError(f"{path}: no such file or folder")
        else:
            paths.append(path)
    return paths


def load_data(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise PolicyInputError(f"--data {path}: cannot read it: {error.strerror}") from error
    except ValueError as error:
        raise PolicyInputError(f"--data {path}: not JSON: {error}") from error
    missing = [key for key in DATA_KEYS if not isinstance(data, dict) or key not in data]
    if missing:
        raise PolicyInputError(
            f"--data {path}: not a policy data file (missing {', '.join(missing)}): "
            "make one with `rds-certificate-override policy-data`"
        )
    return dict(data)


DATA_KEYS = ("RdsCaCertificates", "RdsCaExpiring", "RdsCaDefault", "RdsCaEngineSelections", "RdsCaEngines")


# ---- evaluation ---------------------------------------------------------------------------------------


def judged_inputs(template: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, Guard input) for each resource of a judged type: that resource alone among the judged,
    beside every resource of other types."""
    all_resources: Mapping[str, Any] = template["Resources"]
    context = {
        name: resource
        for name, resource in all_resources.items()
        if not (isinstance(resource, dict) and resource.get("Type") in JUDGED_TYPES)
    }
    for name, resource in all_resources.items():
        if isinstance(resource, dict) and resource.get("Type") in JUDGED_TYPES:
            yield name, {"Resources": {**context, name: resource}}


def run_guard(data: Mapping[str, Any], rules: str) -> dict[str, Any]:
    """Guard's report (its JSON, non-verbose) of `rules` on `data`."""
    report: dict[str, Any] = json.loads(run_checks_rs(json.dumps(data), rules, False))
    return report


@dataclass(frozen=True)
class Failed:
    """One clause Guard reports as failed: its rule, message and what it compared."""

    rule: str
    message: str
    value: Any = None
    choices: Any = None
    excluded: bool = False


def evaluate(document: Mapping[str, Any], data: Mapping[str, Any], severity: Severity) -> list[Failed]:
    """Each clause that failed, in Guard's words, once."""
    report = run_guard({**data, **document}, rules_text(severity))
    found: list[Failed] = []
    for entry in report.get("not_compliant", []):
        rule = entry["Rule"]
        for failed in _failed_clauses(rule["name"], rule.get("checks", [])):
            if failed not in found:
                found.append(failed)
    return found


def _message(messages: Mapping[str, Any] | None) -> str:
    messages = messages or {}
    return str(messages.get("custom_message") or messages.get("error_message") or "").strip()


def _failed_clauses(rule: str, checks: Sequence[Mapping[str, Any]]) -> Iterator[Failed]:
    for check in checks:
        if "Rule" in check:
            yield from _failed_clauses(rule, check["Rule"].get("checks", []))
        elif "Disjunctions" in check:
            yield from _failed_clauses(rule, [check["Disjunctions"]["checks"]])
        elif "Clause" in check:
            clause = check["Clause"].get("Binary") or check["Clause"].get("Unary") or {}
            compared = clause.get("check") or {}
            value, choices = _compared(compared)
            excluded = bool(compared.get("InResolved", {}).get("comparison", [None, False])[1])
            yield Failed(rule, _message(clause.get("messages")), value, choices, excluded)
        elif "GuardBlock" in check:
            yield Failed(rule, _message(check["GuardBlock"].get("messages")))


def _compared(check: Mapping[str, Any]) -> tuple[Any, Any]:
    if "InResolved" in check:
        resolved = check["InResolved"]
        choices = [item["value"] for item in resolved["to"]]
        flat = [value for item in choices for value in (item if isinstance(item, list) else [item])]
        return resolved["from"]["value"], flat
    if "Resolved" in check:
        resolved = check["Resolved"]
        if "from" in resolved:
            return _named(resolved["from"]), _named(resolved["to"])
        value = resolved.get("value") or {}
        return _named(value), None
    return None, None


def _named(found: Mapping[str, Any]) -> Any:
    """A compared value; a whole resource (a struct) by its path instead (/Resources/<logical id>)."""
    value = found.get("value")
    return found.get("path") if isinstance(value, dict) else value


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value)) if value is not None else None


def check_template(name: str, template: Mapping[str, Any], data: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    for resource, document in judged_inputs(template):
        for severity in Severity:
            findings.extend(
                Finding(
                    name,
                    resource,
                    failed.rule,
                    severity,
                    failed.message,
                    _json_safe(failed.value),
                    _json_safe(failed.choices),
                    failed.excluded,
                )
                for failed in evaluate(document, data, severity)
            )
    return findings


def exit_code(findings: Sequence[Finding]) -> int:
    """1 when a hard rule fails; warnings alone are 0."""
    return 1 if any(finding.severity is Severity.FAIL for finding in findings) else 0
