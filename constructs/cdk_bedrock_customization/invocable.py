"""What serves a model and is invoked by its own ARN: deployments, provisioned throughput, imported models.

Each is an ``aws_bedrock.IModel`` whose ``model_arn`` is the ARN that InvokeModel and Converse take as their
``modelId``, so aws-cdk-lib's constructs that take a model (``aws_stepfunctions_tasks.BedrockInvokeModel``) invoke
and grant exactly it. A custom model itself is not one: Bedrock invokes it only through a deployment or a
throughput.
"""

from __future__ import annotations

import aws_cdk as cdk
import jsii
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import custom_resources as cr
from bedrock_custom_resource import contract

from constructs import Construct

from ._metrics import InvocationMetrics
from ._nag import acknowledge, wildcard_resources
from ._resource import grant_key, via_bedrock_in_the_keys_region
from ._tokens import is_unresolved

INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
# The id aws-cdk-lib gives the singleton function of AwsCustomResource (AWS + its fixed UUID).
AWS_CUSTOM_RESOURCE_FUNCTION_ID = "AWS679f53fac002430cb0da5b7982bd2287"


@jsii.implements(bedrock.IModel)
class InvocableModel(InvocationMetrics, cdk.Resource):
    """A model invoked by one ARN, ``model_arn``: made by this app, or referenced by ``from_*`` (then ``model_arn``
    is the one given, and ``env`` its account and Region).

    Example::

        invocable = model.add_deployment("OnDemand")  # or a ProvisionedThroughput, an ImportedModel, a from_* lookup
        invocable.grant_invoke(function)
        errors = invocable.metric_invocation_client_errors()
        errors.create_alarm(self, "ClientErrors", threshold=5, evaluation_periods=3)
    """

    def __init__(self, scope: Construct, construct_id: str, *, model_arn: str | None = None) -> None:
        literal = bool(model_arn) and not is_unresolved(str(model_arn))
        super().__init__(scope, construct_id, environment_from_arn=model_arn if literal else None)
        self._referenced_arn = model_arn

    @property
    def model_arn(self) -> str:
        """The ARN to invoke the model by (the ``modelId`` of InvokeModel and Converse)."""
        if self._referenced_arn is None:
            raise NotImplementedError(f"{type(self).__name__} does not say which ARN invokes it")
        return self._referenced_arn

    @property
    def _invoked_arn(self) -> str:
        return self.model_arn

    @property
    def _invocation_key(self) -> kms.IKey | None:
        """The customer managed key of the model invoked, when this app knows it."""
        return None

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let grantee invoke the model by exactly ``model_arn`` (InvokeModel, and with a response stream; Converse
        and ConverseStream are authorized by the same actions), and use its customer managed key through Bedrock when
        this app knows it (the Nova user guide's customize-fine-tune-encrypt.html, statement PermissionsModelInvocation:
        kms:Decrypt and kms:GenerateDataKey, with kms:ViaService Bedrock's: not the key itself, which may also encrypt
        data the grantee has no business reading)."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=list(INVOKE_ACTIONS), resource_arns=[self.model_arn]
        )
        if self._invocation_key is not None:
            key, actions = self._invocation_key, ("kms:Decrypt", "kms:GenerateDataKey")
            grant_key(key, actions, grantee, conditions=via_bedrock_in_the_keys_region(key.key_arn))
        return grant


def checked_value(value: str, shape: str, parameter: str) -> str:
    """value (an ARN or a name), when it matches the service model's shape (a token is checked at deploy time)."""
    problems = contract.value_problems(shape, value, parameter, is_unresolved=is_unresolved)
    if problems:
        raise ValueError("; ".join(problems))
    return value


def arn_by_name(owner: Construct, action: str, name: str, resource_type: str) -> str:
    """The ARN of a Bedrock resource found by name at deploy time: its ARN ends in an id that Bedrock generates.

    An AwsCustomResource in owner calls ``action`` (GetCustomModel, GetImportedModel) with ``modelIdentifier``,
    allowed on this account and Region's resources of resource_type.
    """
    stack = cdk.Stack.of(owner)
    resources = stack.format_arn(service="bedrock", resource=resource_type, resource_name="*")
    lookup = cr.AwsCustomResource(
        owner,
        "Lookup",
        on_update=cr.AwsSdkCall(
            service="bedrock",
            action=action,
            parameters={"modelIdentifier": name},
            physical_resource_id=cr.PhysicalResourceId.from_response("modelArn"),
            output_paths=["modelArn"],
        ),
        policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[resources]),
        install_latest_aws_sdk=False,
    )
    acknowledge(
        owner,
        (
            "IAM5",
            f"A {resource_type}'s ARN ends in an id that Bedrock generates: the lookup by name may read any "
            f"{resource_type} of this account and Region.",
            wildcard_resources(owner, [resources]),
        ),
    )
    # aws-cdk-lib's one function per stack for every AwsCustomResource.
    singleton = stack.node.try_find_child(AWS_CUSTOM_RESOURCE_FUNCTION_ID)
    if singleton is not None:
        acknowledge(
            singleton,
            (
                "IAM4",
                "aws-cdk-lib's AwsCustomResource function uses AWSLambdaBasicExecutionRole for its logs.",
                ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
            ),
        )
    return lookup.get_response_field("modelArn")
