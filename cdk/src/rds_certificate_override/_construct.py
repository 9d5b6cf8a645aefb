"""RdsCertificateOverride: the RDS default CA certificate override of a region, as a CDK construct."""

from __future__ import annotations

import functools
import os
import re
import sys

import jsii
from aws_cdk import Annotations, CustomResource, Duration, RemovalPolicy, Stack, Token, region_info
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IValidation

from ._provider import Provider

RESOURCE_TYPE = "Custom::RdsCertificateOverride"

CERTIFICATE_IDENTIFIER_PATTERN = re.compile(r"^rds-ca-[a-z0-9-]+$")
"""The shape of an RDS CA id: the template's AllowedPattern, less its empty choice. The function checks the
id against DescribeCertificates in the target region (some opt-in regions use region-suffixed ids)."""

PUBLISHED_CERTIFICATE_AUTHORITIES = ("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1")
"""The CAs RDS publishes in every region. Some opt-in regions use region-suffixed ids, such as
``rds-ca-rsa2048-g1-<suffix>``: an id that starts with one of these and a hyphen is accepted as well."""

UNPUBLISHED_CERTIFICATE_WARNING = "rds-certificate-override:unpublishedCertificateAuthority"
"""The id of the synth warning for a CA id RDS does not publish (acknowledge it with this id)."""

EXPIRED_CERTIFICATE_AUTHORITIES = {"rds-ca-2015": "2020-03-05", "rds-ca-2019": "2024-08-22"}
"""CAs RDS retired, with the day they expired: the deployment would fail on them."""

SERVICE_TIMEOUT = Duration.seconds(300)
"""CloudFormation fails the resource after 5 minutes without an answer, instead of its default hour."""

# RETAIN_ON_UPDATE_OR_DELETE is RETAIN for this resource: its Delete after a failed Create changes nothing.
_SUPPORTED_REMOVAL_POLICIES = (
    RemovalPolicy.DESTROY,
    RemovalPolicy.RETAIN,
    RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
)
_STACK_REGION = "(the stack's region)"


class RdsCertificateOverride(Construct):
    """Makes an RDS CA certificate the default for new DB instances in a region (RDS ModifyCertificates).

    The override is an account-wide setting of one region: a stack may hold one override per region. All
    the overrides of a stack share one provider function, the same artifact as the SAM template's.

    Example::

        RdsCertificateOverride(self, "DefaultCa", certificate_identifier="rds-ca-rsa4096-g1")
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        certificate_identifier: str,
        region: str | None = None,
        restore_previous_on_delete: bool = False,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        """Declare the override.

        :param certificate_identifier: The RDS CA to make the default for new DB instances, such as
            ``rds-ca-rsa2048-g1``, ``rds-ca-rsa4096-g1`` or ``rds-ca-ecc384-g1``. Checked for its shape here,
            and against DescribeCertificates in the target region at deployment.
        :param region: The region whose default to set. Default: the stack's region.
        :param restore_previous_on_delete: When the resource is deleted, put back the override that stood
            before it set its own, instead of removing the override. Default: False (remove it: new DB
            instances then get the RDS system default).
        :param removal_policy: What deleting the resource from the stack does. ``DESTROY``: the Delete
            removes the override (or restores the previous one, see ``restore_previous_on_delete``).
            ``RETAIN``: CloudFormation forgets the resource and the override stays as it is (also when
            the resource is replaced because ``region`` changed). ``RETAIN_ON_UPDATE_OR_DELETE`` behaves
            as ``RETAIN``. ``SNAPSHOT`` is rejected. Default: ``RemovalPolicy.DESTROY``.
        :raises ValueError: an invalid property, or a second override of the same region in the stack.
        """
        stack = Stack.of(scope)
        _check_certificate_identifier(certificate_identifier)
        _check_region(region, stack)
        if not isinstance(restore_previous_on_delete, bool):
            raise TypeError(f"restore_previous_on_delete must be a bool, not {restore_previous_on_delete!r}")
        if removal_policy not in _SUPPORTED_REMOVAL_POLICIES:
            raise ValueError(
                f"removal_policy {removal_policy} is not supported: a certificate override has nothing to "
                "snapshot. Use RemovalPolicy.DESTROY (the Delete removes or restores the override) or "
                "RemovalPolicy.RETAIN (the override stays)."
            )

        # Every check before the construct joins the tree: a refused override leaves no trace in it.
        provider = Provider.of(stack)
        region_key = _region_key(stack, region)
        path = f"{scope.node.path}/{id}" if scope.node.path else id
        _check_region_is_free(provider, region_key, path)

        super().__init__(scope, id)
        provider.regions[region_key[0]] = self.node.path

        properties: dict[str, str] = {
            "CertificateIdentifier": certificate_identifier,
            # CloudFormation hands every property to the function as a string: say it the same way.
            "RestorePreviousOnDelete": "true" if restore_previous_on_delete else "false",
        }
        if region is not None:
            properties["Region"] = region

        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.function.function_arn,
            resource_type=RESOURCE_TYPE,
            properties=properties,
            service_timeout=SERVICE_TIMEOUT,
            removal_policy=removal_policy,
        )
        """The ``Custom::RdsCertificateOverride`` resource: for dependencies, or attributes not typed here."""
        if _warn_if_unpublished(self, certificate_identifier):
            self.node.add_validation(_ShowWarningOutsideTheCli(self))

        self.function: lambda_.IFunction = provider.function
        """The provider function, shared by every override in the stack."""
        self.certificate_identifier: str = self.resource.get_att_string("CertificateIdentifier")
        """The CA now the default for new DB instances (a token: referencing it orders after the override)."""
        self.certificate_arn: str = self.resource.get_att_string("CertificateArn")
        """The ARN of the CA certificate."""
        self.certificate_valid_till: str = self.resource.get_att_string("ValidTill")
        """When the CA expires, ISO 8601 UTC (``YYYY-MM-DDThh:mm:ssZ``)."""
        self.customer_override_valid_till: str = self.resource.get_att_string("CustomerOverrideValidTill")
        """Until when the override stands, ISO 8601 UTC (RDS's CustomerOverrideValidTill)."""
        self.thumbprint: str = self.resource.get_att_string("Thumbprint")
        """The thumbprint of the CA certificate."""
        self.previous_certificate_identifier: str = self.resource.get_att_string(
            "PreviousCertificateIdentifier"
        )
        """The override that stood before this resource was created, or an empty string if none did."""
        self.certificate_type: str = self.resource.get_att_string("CertificateType")
        """The certificate's type, ``CA``."""
        self.certificate_valid_from: str = self.resource.get_att_string("ValidFrom")
        """When the CA became valid, ISO 8601 UTC (``YYYY-MM-DDThh:mm:ssZ``)."""
        self.region: str = self.resource.get_att_string("Region")
        """The region whose default this resource manages (the ``region`` given, else the stack's)."""


def _region_key(stack: Stack, region: str | None) -> tuple[str, str]:
    """What identifies the override's region within the stack, and how to name it in an error."""
    if region is not None:
        # An unresolved region (a parameter, say) is its token: the same token is the same region.
        return region, region
    if Token.is_unresolved(stack.region):
        return _STACK_REGION, "the stack's region"
    return stack.region, f"{stack.region} (the stack's region)"


def _check_region_is_free(provider: Provider, region_key: tuple[str, str], path: str) -> None:
    key, label = region_key
    holder = provider.regions.get(key)
    if holder is not None:
        raise ValueError(
            f"{path}: {holder} already overrides the RDS default certificate of {label} in this stack. "
            "The override is one account-wide setting per region: two resources would overwrite each "
            "other's choice, and deleting either would remove or restore the other's. Declare one "
            "RdsCertificateOverride per region."
        )


def _check_certificate_identifier(value: str) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(
            "certificate_identifier must be a str such as rds-ca-rsa4096-g1, "
            f"not {type(value).__name__} ({value!r})"
        )
    if Token.is_unresolved(value):
        return
    if not value or not value.strip():
        raise ValueError(
            "certificate_identifier is required: the RDS CA to make the default for new DB instances, "
            "e.g. rds-ca-rsa2048-g1, rds-ca-rsa4096-g1 or rds-ca-ecc384-g1"
        )
    if not CERTIFICATE_IDENTIFIER_PATTERN.fullmatch(value):  # fullmatch: `$` lets a final \n through
        raise ValueError(
            f"certificate_identifier {value!r} is not an RDS CA identifier "
            f"(pattern {CERTIFICATE_IDENTIFIER_PATTERN.pattern}), "
            "e.g. rds-ca-rsa2048-g1, rds-ca-rsa4096-g1 or rds-ca-ecc384-g1"
        )


def _warn_if_unpublished(scope: Construct, value: str) -> bool:
    """Warn at synth about a near miss (``rds-ca-rsa4096``) or an expired CA: the deployment would fail."""
    if Token.is_unresolved(value) or value in PUBLISHED_CERTIFICATE_AUTHORITIES:
        return False
    if value.startswith(tuple(f"{ca}-" for ca in PUBLISHED_CERTIFICATE_AUTHORITIES)):
        return False  # a region-suffixed id of a published CA
    if value in EXPIRED_CERTIFICATE_AUTHORITIES:
        message = (
            f"certificate_identifier {value!r} expired on {EXPIRED_CERTIFICATE_AUTHORITIES[value]}: the "
            f"deployment fails on it. Use a current CA: {', '.join(PUBLISHED_CERTIFICATE_AUTHORITIES)}."
        )
    else:
        message = (
            f"certificate_identifier {value!r} is not a CA that RDS publishes "
            f"({', '.join(PUBLISHED_CERTIFICATE_AUTHORITIES)}, or one of them with a region suffix): the "
            "deployment fails unless the target region's DescribeCertificates lists it."
        )
    Annotations.of(scope).add_warning_v2(UNPUBLISHED_CERTIFICATE_WARNING, message)
    return True


CDK_CLI_VERSION_ENV = "CDK_CLI_VERSION"
"""Set by the CDK CLI for the app it runs (cx_api's CLI_VERSION_ENV): the CLI shows warnings itself."""


@jsii.implements(IValidation)
class _ShowWarningOutsideTheCli:
    """At synth, prints the construct's warning to stderr when no CDK CLI will: `python app.py` shows it too.

    Run as the app is validated, after the app's code had its chance to acknowledge the warning (which
    removes it): an acknowledged warning prints nothing.
    """

    def __init__(self, scope: Construct) -> None:
        self._scope = scope

    def validate(self) -> list[str]:
        if os.environ.get(CDK_CLI_VERSION_ENV):
            return []
        for entry in self._scope.node.metadata:
            if entry.type == "aws:cdk:warning" and UNPUBLISHED_CERTIFICATE_WARNING in str(entry.data):
                print(f"[Warning at /{self._scope.node.path}] {entry.data}", file=sys.stderr)
        return []


@functools.cache
def known_regions() -> dict[str, str]:
    """Every region aws-cdk-lib knows, in every partition: name -> partition (aws_cdk.region_info).

    The function accepts the RDS regions botocore knows in its partition; a test checks, for every
    partition, that each of those is here with the same partition, so the construct refuses none of them.
    """
    return {region.name: str(region.partition) for region in region_info.RegionInfo.regions}


def _check_region(value: str | None, stack: Stack) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise TypeError(
            f"region must be a str such as eu-west-1, or None, not {type(value).__name__} ({value!r})"
        )
    if Token.is_unresolved(value):
        return
    regions = known_regions()
    if value not in regions:
        raise ValueError(
            f"region {value!r} is not an AWS region name that aws-cdk-lib knows (a region newer than the "
            f"installed aws-cdk-lib needs a newer one); leave it None for the stack's region. Valid regions: "
            f"{', '.join(sorted(regions))}"
        )
    home = None if Token.is_unresolved(stack.region) else regions.get(stack.region)
    if home is not None and regions[value] != home:
        raise ValueError(
            f"region {value!r} is in partition {regions[value]}, the stack's region {stack.region} in "
            f"{home}: the function manages regions of its own partition only; deploy a stack there."
        )
