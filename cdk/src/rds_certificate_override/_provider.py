"""The provider function behind every Custom::RdsCertificateOverride of a stack: one per stack.

It mirrors the SAM template (template.yaml at the repository root), setting for setting; the test suite
compares the two so that they cannot drift. The code is the SAM build output itself, shipped in the package.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Duration, Fn, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ._asset import asset_directory

PROVIDER_ID = "RdsCertificateOverrideProvider"
"""The id of the provider, a direct child of the stack (a stack singleton)."""

SERVICE_NAME = "rds-certificate-override"
LOG_LEVEL = "INFO"
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
"""The template's LogRetentionInDays default (90)."""

# The settings of template.yaml's Globals.Function and RdsCertificateOverrideFunction: see the reasons there.
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
HANDLER = "index.handler"
TIMEOUT = Duration.seconds(120)
MAX_EVENT_AGE = Duration.hours(1)
MEMORY_MB = 256
DESCRIPTION = "Custom::RdsCertificateOverride provider (sets the RDS default CA for new DB instances)"

RDS_ACTIONS = ("rds:DescribeCertificates", "rds:ModifyCertificates")
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
LEDGER_ACTIONS = (
    "ssm:GetParametersByPath",
    "ssm:PutParameter",
    "ssm:DeleteParameter",
    "ssm:DeleteParameters",
)
# Fn::Sub, written as template.yaml writes them (the parity test compares the two roles whole).
LEDGER_PARAMETERS = "arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:parameter/rds-certificate-override/*"
STACK_ACTIONS = ("cloudformation:DescribeStacks",)
DECLARING_STACKS = "arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/*/*"

# The findings of cdk-nag's AwsSolutions pack that are deliberate, acknowledged through CDK's own
# Validations API: a user's AwsSolutionsChecks (cdk-nag 3) then reports nothing for the construct, which
# does not depend on cdk-nag. The ids carry the plugin's name (`plugin::rule`), as cdk-nag asks, so that
# CDK's synthesis filters them out of the plugin's report.
_ACK_RDS_WILDCARD = Acknowledgment(
    id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
    reason="rds:DescribeCertificates and rds:ModifyCertificates support no resource ARNs and no condition "
    "keys (Service Authorization Reference): Resource '*' is the only possible one.",
)
_ACK_LEDGER_WILDCARDS = [
    Acknowledgment(
        id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{resource}]",
        reason="The declarations ledger lives in SSM in every region the function manages, under one path; "
        "a declaring stack can be in any region of the account. Scoped to the account and the path.",
    )
    for resource in (
        "arn:<AWS::Partition>:ssm:*:<AWS::AccountId>:parameter/rds-certificate-override/*",
        "arn:<AWS::Partition>:cloudformation:*:<AWS::AccountId>:stack/*/*",
    )
]
_ACK_RUNTIME = Acknowledgment(
    id="AwsSolutions::AwsSolutions-L1",
    reason="python3.13 is deliberate: the asset is the SAM template's build, whose dependencies and "
    "bytecode are for Python 3.13.",
)


# checkov's findings that are deliberate, with the reasons template.yaml gives for the same resources
# (a test checks that both skip the same checks).
_CHECKOV_LOG_GROUP_SKIPS = [
    {
        "id": "CKV_AWS_158",
        "comment": "The logs hold certificate ids, stack ids and outcomes, never a secret (the ResponseURL "
        "is never logged); CloudWatch Logs encrypts them at rest already.",
    }
]
_CHECKOV_FUNCTION_SKIPS = [
    {
        "id": "CKV_AWS_116",
        "comment": "No DLQ: the function answers CloudFormation itself on every outcome, and a replayed "
        "event could not be answered (its presigned ResponseURL expires).",
    },
    {
        "id": "CKV_AWS_117",
        "comment": "No VPC: it calls only the public RDS API and the S3 ResponseURL, and needs no private "
        "resource.",
    },
    {"id": "CKV_AWS_173", "comment": "The environment holds a service name and a log level, no secret."},
    {
        "id": "CKV_AWS_115",
        "comment": "No reserved concurrency: it fails the deploy in accounts whose concurrency quota is 10 "
        "(new and Control Tower accounts). Events for one region are serialised by the ledger's region lock.",
    },
]


class Provider(Construct):
    """The log group, role and function that answer for every override in the stack."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        # Which override holds which region key: the setting is account-wide per region (see construct).
        self.regions: dict[str, str] = {}

        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
        )

        # An inline policy, as in the template, rather than a separate AWS::IAM::Policy: the function (and
        # so every override) then depends on it, and a stack deletion cannot remove the permissions
        # before the overrides' Delete has run.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="rds-certificate-override provider function",
            inline_policies={
                SERVICE_NAME: iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="RdsDefaultCertificate", actions=list(RDS_ACTIONS), resources=["*"]
                        ),
                        # The declarations ledger and the region lock, in every region it manages.
                        iam.PolicyStatement(
                            sid="DeclarationsLedger",
                            actions=list(LEDGER_ACTIONS),
                            resources=[Fn.sub(LEDGER_PARAMETERS)],
                        ),
                        # To tell a live declaration from a stale one: is the declaring stack deleted?
                        iam.PolicyStatement(
                            sid="DeclaringStacks",
                            actions=list(STACK_ACTIONS),
                            resources=[Fn.sub(DECLARING_STACKS)],
                        ),
                        # Its own log group only; no logs:CreateLogGroup, the group is created here.
                        iam.PolicyStatement(
                            sid="OwnLogGroup",
                            actions=list(LOG_ACTIONS),
                            resources=[self.log_group.log_group_arn],
                        ),
                    ]
                )
            },
        )
        Validations.of(self.role).acknowledge(_ACK_RDS_WILDCARD, *_ACK_LEDGER_WILDCARDS)

        self.function = lambda_.Function(
            self,
            "Function",
            code=lambda_.Code.from_asset(str(asset_directory())),
            handler=HANDLER,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            timeout=TIMEOUT,
            memory_size=MEMORY_MB,
            description=DESCRIPTION,
            role=self.role,
            # No reserved concurrency: it fails the deploy in accounts whose concurrency quota is 10 (new
            # and Control Tower accounts). Concurrent events for one region are serialised by the region lock.
            # The function always answers CloudFormation itself; a retried event could only act after
            # CloudFormation has moved on, changing an override no stack owns.
            retry_attempts=0,
            # An event queued longer than CloudFormation's longest wait is dropped: no stack waits for it.
            max_event_age=MAX_EVENT_AGE,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.TEXT,
            environment={"POWERTOOLS_SERVICE_NAME": SERVICE_NAME, "POWERTOOLS_LOG_LEVEL": LOG_LEVEL},
        )
        Validations.of(self.function).acknowledge(_ACK_RUNTIME)
        _skip_checkov(self.log_group, _CHECKOV_LOG_GROUP_SKIPS)
        _skip_checkov(self.function, _CHECKOV_FUNCTION_SKIPS)

    @classmethod
    def of(cls, scope: Construct) -> Provider:
        """The stack's provider, created on first use."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(PROVIDER_ID)
        if existing is None:
            return cls(stack, PROVIDER_ID)
        if not isinstance(existing, cls):
            raise TypeError(
                f"{stack.node.path}/{PROVIDER_ID} is not an RdsCertificateOverride provider: "
                "that construct id is reserved in stacks that use RdsCertificateOverride"
            )
        return existing


def _skip_checkov(construct: Construct, skips: list[dict[str, str]]) -> None:
    resource = construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to annotate")
    resource.add_metadata("checkov", {"skip": skips})
