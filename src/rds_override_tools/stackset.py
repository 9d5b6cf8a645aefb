"""`make stackset`: template.yaml as a template that a service-managed CloudFormation StackSet accepts.

template.yaml is translated by the SAM translator (no AWS call) into plain CloudFormation; its one
Custom::RdsCertificateOverride becomes one per chosen region (`Region` property), the function's code comes
from the CodeBucket/CodeKey parameters (the key carries the zip's digest), and SAM's traces go. Why it is
made this way: docs/organization.md. It needs the `stackset` extra (the SAM
translator).

Use `python -m rds_override_tools.stackset --help`. Simulations and tests call `generate()`, then
`region_overrides()` (the resources as written) or `override_properties()` (what each one sends its function).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from rds_override_tools.regions import RegionListError, parse_regions, rds_regions

try:
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.yaml_helper import yaml_parse
except ModuleNotFoundError as missing:
    raise ModuleNotFoundError(
        "rds_override_tools.stackset needs the SAM translator: install the `stackset` extra "
        "(pip install 'rds-certificate-override[stackset]')",
        name=missing.name,
    ) from missing

ROOT = Path(__file__).resolve().parents[2]
SAM_TEMPLATE = ROOT / "template.yaml"
FUNCTION_ZIP = ROOT / "dist" / "rds-certificate-override-function.zip"
OUT_DIR = ROOT / "dist" / "stackset"
TEMPLATE_NAME = "template.json"

OVERRIDE_TYPE = "Custom::RdsCertificateOverride"
SAM_FUNCTION_TYPE = "AWS::Serverless::Function"
REGION_PROPERTY = "Region"
"""The property of the resource that names the region it manages (lambda/override.py's REGION)."""

CODE_BUCKET = "CodeBucket"
CODE_KEY = "CodeKey"

MAX_TEMPLATE_BODY_BYTES = 51_200
"""CloudFormation's limit for --template-body; larger templates must be uploaded (--template-url)."""

SAM_BUILD_METADATA = frozenset({"BuildMethod", "BuildProperties", "SkipBuild", "SamResourceId"})
"""Metadata keys that only `sam build` reads."""
SAM_TAG = "lambda:createdBy"
SAR_METADATA = "AWS::ServerlessRepo::Application"
"""Template metadata that only `sam publish` reads (the Serverless Application Repository)."""
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")
"""A ${Name} or ${Name.Attribute} of Fn::Sub; ${!Literal} is not one."""

DEFAULT_PARTITION = "aws"
ENABLED_BY_DEFAULT = {
    # The regions every account of the `aws` partition has enabled: those launched before 20 March 2019.
    # Every region launched since is opt-in, so this set is closed. The SDK cannot tell (opt-in status is
    # per account: account:ListRegions), hence this list; each entry is still checked against the SDK's.
    "aws": (
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "sa-east-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-north-1",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
    ),
}
"""Default regions per partition; a partition not listed has no opt-in regions: all its RDS regions."""


_CONDITION_FUNCTIONS: dict[str, Callable[[list[Any]], bool]] = {
    "Fn::Equals": lambda arguments: str(arguments[0]) == str(arguments[1]),
    "Fn::Not": lambda arguments: not arguments[0],
    "Fn::And": all,
    "Fn::Or": any,
}
"""Condition functions, for override_properties (CloudFormation's are these and Fn::If)."""


class StackSetError(ValueError):
    """Bad input to the generator: nothing was written."""


@dataclass(frozen=True)
class Generated:
    """A StackSet template and what it manages."""

    template: dict[str, Any]
    regions: tuple[str, ...]
    partition: str

    @property
    def overrides(self) -> dict[str, dict[str, Any]]:
        """The per-region Custom::RdsCertificateOverride resources: logical id -> resource."""
        return region_overrides(self.template)

    def body(self) -> str:
        return json.dumps(self.template, indent=1) + "\n"


# ----------------------------------------------------------------------------------------------------
# Regions


def choose_regions(requested: Iterable[str] | None, partition: str = DEFAULT_PARTITION) -> tuple[str, ...]:
    """`requested` checked against the SDK's RDS regions of the partition, in order, once each.

    None or nothing: the regions enabled by default in every account of the partition.
    """
    try:
        known = rds_regions(partition)
    except RegionListError as error:
        raise StackSetError(str(error)) from error
    wanted = list(dict.fromkeys(requested or ())) or list(ENABLED_BY_DEFAULT.get(partition, known))
    unknown = [region for region in wanted if region not in known]
    if unknown:
        raise StackSetError(
            f"{'region' if len(unknown) == 1 else 'regions'} {', '.join(unknown)}: not an RDS region of "
            f"partition {partition}; valid regions are {', '.join(known)}"
        )
    return tuple(wanted)


def logical_id_suffix(region: str) -> str:
    """eu-west-1 -> EuWest1: logical ids are alphanumeric."""
    return "".join(part.capitalize() for part in region.split("-"))


# ----------------------------------------------------------------------------------------------------
# The template


def load_sam_template(path: Path = SAM_TEMPLATE) -> dict[str, Any]:
    """template.yaml as plain data, its short-form tags (!Ref, !GetAtt, !Sub) in their long form."""
    template = yaml_parse(path.read_text())
    if not isinstance(template, dict):
        raise StackSetError(f"{path} is not a CloudFormation template")
    return template


def _only(resources: Mapping[str, Any], type_: str) -> str:
    ids = [key for key, resource in resources.items() if resource.get("Type") == type_]
    if len(ids) != 1:
        raise StackSetError(f"expected one {type_} in the SAM template, found {len(ids)}: {ids}")
    return ids[0]


def _references(value: Any) -> set[str]:
    """The logical ids `value` refers to through Ref, Fn::GetAtt or Fn::Sub."""
    if isinstance(value, list):
        return set().union(*map(_references, value))
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    for key, item in value.items():
        if key == "Ref" and isinstance(item, str):
            found.add(item)
        elif key == "Fn::GetAtt":
            found.add(item[0] if isinstance(item, list) else str(item).split(".")[0])
        elif key == "Fn::Sub":
            text = item[0] if isinstance(item, list) else item
            found |= {name.split(".")[0] for name in _SUB_VARIABLE.findall(str(text))}
        found |= _references(item)
    return found


def translate(sam_template: Mapping[str, Any], translation_region: str) -> dict[str, Any]:
    """The SAM template as plain CloudFormation, the function's code read from CodeBucket/CodeKey.

    The translator wants a region for its pseudo parameters; it writes none into this template (tested).
    """
    source = copy.deepcopy(dict(sam_template))
    function_id = _only(source["Resources"], SAM_FUNCTION_TYPE)
    source.setdefault("Parameters", {}).update(
        {
            CODE_BUCKET: {
                "Type": "String",
                "Description": "S3 bucket in this region (the StackSet's home region) that holds the "
                "function's zip; its policy lets the Organization read it (aws:PrincipalOrgID).",
                "MinLength": 3,
            },
            CODE_KEY: {"Type": "String", "Description": "S3 key of the function's zip.", "MinLength": 1},
        }
    )
    source["Resources"][function_id]["Properties"]["CodeUri"] = {
        "Bucket": {"Ref": CODE_BUCKET},
        "Key": {"Ref": CODE_KEY},
    }

    def no_managed_policies() -> dict[str, str]:
        raise StackSetError("template.yaml uses an AWS managed policy: the translator would have to ask IAM")

    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=translation_region))
    translated: dict[str, Any] = translator.translate(
        source, parameter_values={}, get_managed_policy_map=no_managed_policies
    )
    # Metadata is for tools: checkov's reasoned skips stay (checkov runs on this template); SAM's build
    # settings go. Resources SAM generated (the event invoke config) have none of their own.
    for logical_id, resource in translated["Resources"].items():
        resource.pop("Metadata", None)
        metadata = {
            key: value
            for key, value in sam_template["Resources"].get(logical_id, {}).get("Metadata", {}).items()
            if key not in SAM_BUILD_METADATA
        }
        if metadata:
            resource["Metadata"] = copy.deepcopy(metadata)
        properties = resource.get("Properties", {})
        if isinstance(properties.get("Tags"), list):
            properties["Tags"] = [tag for tag in properties["Tags"] if tag.get("Key") != SAM_TAG]
            if not properties["Tags"]:
                del properties["Tags"]
    template_metadata = translated.get("Metadata", {})
    template_metadata.pop(SAR_METADATA, None)
    if not template_metadata:
        translated.pop("Metadata", None)
    return translated


def stackset_template(translated: Mapping[str, Any], regions: Sequence[str], code_key: str) -> dict[str, Any]:
    """The translated template with its one override replaced by one per region, managed from here."""
    template = copy.deepcopy(dict(translated))
    resources = template["Resources"]
    override_id = _only(resources, OVERRIDE_TYPE)
    override = resources.pop(override_id)
    for region in regions:
        per_region = copy.deepcopy(override)
        per_region["Properties"][REGION_PROPERTY] = region
        resources[f"{override_id}{logical_id_suffix(region)}"] = per_region
    # Outputs about the one override of template.yaml have no single resource to name any more.
    template["Outputs"] = {
        name: output
        for name, output in template.get("Outputs", {}).items()
        if override_id not in _references(output)
    }
    if not template["Outputs"]:
        del template["Outputs"]
    template["Parameters"][CODE_KEY]["Default"] = code_key
    template["Description"] = (
        f"{template.get('Description', '')} StackSet template generated from template.yaml by "
        f"`make stackset`: one stack per account manages {len(regions)} regions."
    ).strip()
    return template


def region_overrides(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The Custom::RdsCertificateOverride resources of a generated template, by logical id, in order."""
    return {
        logical_id: copy.deepcopy(resource)
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == OVERRIDE_TYPE
    }


def override_properties(
    template: Mapping[str, Any], parameters: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """What each per-region override sends its function, for a stand-in of CloudFormation to play.

    Parameter references resolved (`parameters`, else the template's defaults); overrides whose Condition is
    false left out, as CloudFormation would; ServiceToken left out: it is the stack's own function, which
    the player supplies. Values are as written (ServiceTimeout 300): CloudFormation sends them as strings.
    """
    declared = template.get("Parameters", {})
    defaults = {name: spec["Default"] for name, spec in declared.items() if "Default" in spec}
    values = defaults | dict(parameters or {})
    conditions = template.get("Conditions", {})

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"Ref"}:
            if value["Ref"] not in values:
                raise StackSetError(f"parameter {value['Ref']} has no value and no default")
            return values[value["Ref"]]
        if isinstance(value, dict) and set(value) == {"Condition"}:
            return resolve(conditions[value["Condition"]])
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _CONDITION_FUNCTIONS:
            ((function, arguments),) = value.items()
            return _CONDITION_FUNCTIONS[function]([resolve(argument) for argument in arguments])
        if isinstance(value, dict | list):
            raise StackSetError(f"cannot resolve {json.dumps(value)} without CloudFormation")
        return value

    played = {}
    for logical_id, resource in region_overrides(template).items():
        if "Condition" in resource and not resolve(conditions[resource["Condition"]]):
            continue
        properties = {k: v for k, v in resource["Properties"].items() if k != "ServiceToken"}
        played[logical_id] = {key: resolve(value) for key, value in properties.items()}
    return played


def content_digest(zip_path: Path) -> str:
    """A digest of what the zip holds (each file's path and bytes), not of how it was packed.

    Timestamps, permissions and compression do not count: a rebuild of the same code, or a release of a
    later commit that did not change the function, gives the same digest (and so the same CodeKey).
    """
    digest = hashlib.sha256()
    with zipfile.ZipFile(zip_path) as archive:
        for name in sorted(info.filename for info in archive.infolist() if not info.is_dir()):
            digest.update(f"{name}\0{hashlib.sha256(archive.read(name)).hexdigest()}\n".encode())
    return digest.hexdigest()


def code_key_for(zip_path: Path) -> str:
    """The zip's S3 key: its name with a digest of its content, so that new code is a new key."""
    if not zip_path.is_file():
        raise StackSetError(f"{zip_path} does not exist: run `make build` first")
    return f"{zip_path.stem}-{content_digest(zip_path)[:16]}{zip_path.suffix}"


def generate(
    regions: Iterable[str] | None = None,
    *,
    partition: str = DEFAULT_PARTITION,
    sam_template: Path = SAM_TEMPLATE,
    code_key: str = "rds-certificate-override-function.zip",
) -> Generated:
    """The StackSet template for `regions` (None: the partition's default regions), without writing it."""
    chosen = choose_regions(regions, partition)
    translated = translate(load_sam_template(sam_template), translation_region=chosen[0])
    return Generated(stackset_template(translated, chosen, code_key), chosen, partition)


def write(generated: Generated, function_zip: Path, out_dir: Path = OUT_DIR) -> Path:
    """template.json and the zip (named as the template's CodeKey default) into a fresh `out_dir`."""
    body = generated.body()
    if len(body.encode()) > MAX_TEMPLATE_BODY_BYTES:
        raise StackSetError(
            f"the template is {len(body.encode())} bytes, over the {MAX_TEMPLATE_BODY_BYTES} bytes of "
            "--template-body: upload it to S3 and use --template-url"
        )
    code_key = generated.template["Parameters"][CODE_KEY]["Default"]
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Written beside, then swapped in: a failure leaves the previous output whole.
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would hide the output from other users of the checkout
        (staging / TEMPLATE_NAME).write_text(body)
        shutil.copyfile(function_zip, staging / code_key)
        shutil.rmtree(out_dir, ignore_errors=True)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir / TEMPLATE_NAME


# ----------------------------------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rds_override_tools.stackset",
        description="Write a StackSet template (plain CloudFormation, no transform) and the function's zip.",
    )
    parser.add_argument(
        "--regions",
        default="",
        help="regions each stack instance manages, separated by spaces or commas "
        "(default: the regions enabled by default in every account of the partition)",
    )
    parser.add_argument("--partition", default=DEFAULT_PARTITION, help="default: %(default)s")
    parser.add_argument("--zip", type=Path, default=FUNCTION_ZIP, help="the function's zip (make build)")
    parser.add_argument("--template", type=Path, default=SAM_TEMPLATE, help="the SAM template")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output directory, replaced")
    args = parser.parse_args(argv)
    try:
        generated = generate(
            parse_regions(args.regions) or None,
            partition=args.partition,
            sam_template=args.template,
            code_key=code_key_for(args.zip),
        )
        path = write(generated, args.zip, args.out)
    except RegionListError as error:
        print(f"stackset: --regions: {error}; nothing written", file=sys.stderr)
        return 2
    except StackSetError as error:
        print(f"stackset: {error}; nothing written", file=sys.stderr)
        return 2
    code_key = generated.template["Parameters"][CODE_KEY]["Default"]
    print(f"wrote {path} ({path.stat().st_size} bytes) and {path.parent / code_key}")
    print(f"regions ({len(generated.regions)}): {' '.join(generated.regions)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
