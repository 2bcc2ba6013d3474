"""Serving a custom model: on-demand deployments and provisioned throughput."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from bedrock_custom_resource import contract

from constructs import Construct

from . import _requests
from ._metrics import InvocationMetrics
from ._nag import acknowledge, wildcard_resources
from ._resource import TaggedResource, attribute_string, custom_resource
from ._tokens import is_unresolved
from .provider import CustomizationProvider

COMMITMENT_WARNING_ID = "cdk-bedrock-customization:provisionedThroughputCommitment"
# The id aws-cdk-lib gives the singleton function of AwsCustomResource (AWS + its fixed UUID).
AWS_CUSTOM_RESOURCE_FUNCTION_ID = "AWS679f53fac002430cb0da5b7982bd2287"
INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")


class CustomModelBase(Construct):
    """A custom model that can be served: trained by a job, imported, or one that exists already."""

    @property
    def model_arn(self) -> str:
        raise NotImplementedError

    def add_deployment(self, construct_id: str, **props: Any) -> CustomModelDeployment:
        """Deploy this model for on-demand inference; props are those of ``CustomModelDeployment``."""
        return CustomModelDeployment(self, construct_id, model=self, **props)

    def add_provisioned_throughput(self, construct_id: str, *, model_units: int, **props: Any) -> ProvisionedThroughput:
        """Buy provisioned throughput for this model; props are those of ``ProvisionedThroughput``."""
        return ProvisionedThroughput(self, construct_id, model=self, model_units=model_units, **props)


class ExistingCustomModel(CustomModelBase):
    """A custom model made outside this app (see ``CustomModel.from_custom_model_arn`` and ``_name``)."""

    def __init__(self, scope: Construct, construct_id: str, *, model_arn: str) -> None:
        super().__init__(scope, construct_id)
        self._model_arn = model_arn

    @property
    def model_arn(self) -> str:
        return self._model_arn

    @staticmethod
    def from_arn(scope: Construct, construct_id: str, model_arn: str) -> ExistingCustomModel:
        problems = contract.value_problems("CustomModelArn", model_arn, "model_arn", is_unresolved=is_unresolved)
        if problems:
            raise ValueError("; ".join(problems))
        return ExistingCustomModel(scope, construct_id, model_arn=model_arn)

    @staticmethod
    def from_name(scope: Construct, construct_id: str, model_name: str) -> ExistingCustomModel:
        """Deployments need the model's ARN, whose last part Bedrock generates: look it up at deploy time."""
        model = ExistingCustomModel(scope, construct_id, model_arn="")
        stack = cdk.Stack.of(scope)
        custom_models = stack.format_arn(service="bedrock", resource="custom-model", resource_name="*")
        lookup = cr.AwsCustomResource(
            model,
            "Lookup",
            on_update=cr.AwsSdkCall(
                service="bedrock",
                action="GetCustomModel",
                parameters={"modelIdentifier": model_name},
                physical_resource_id=cr.PhysicalResourceId.from_response("modelArn"),
                output_paths=["modelArn"],
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[custom_models]),
            install_latest_aws_sdk=False,
        )
        model._model_arn = lookup.get_response_field("modelArn")
        acknowledge(
            model,
            (
                "IAM5",
                "A custom model's ARN ends in an id that Bedrock generates: the lookup by name may read any "
                "custom model of this account and Region.",
                wildcard_resources(model, [custom_models]),
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
        return model


class Commitment(enum.Enum):
    """A provisioned throughput commitment term: billed in full and never cancellable."""

    ONE_MONTH = "OneMonth"
    SIX_MONTHS = "SixMonths"


class _ServingResource(TaggedResource, InvocationMetrics, Construct):
    """A resource that serves a model (of resource_type, made from properties), invoked through its own ARN.

    Its ``metric_*`` helpers are the ``AWS/Bedrock`` runtime metrics with ``ModelId`` = that ARN (see ``_metrics``).
    """

    #: The attribute that holds the ARN to invoke the model through.
    INVOKE_ARN_ATTRIBUTE: str

    def _serve(
        self,
        scope: Construct,
        resource_type: str,
        model: CustomModelBase | bedrock.IModel,
        properties: dict[str, Any],
        tags: Mapping[str, str] | None,
        removal_policy: cdk.RemovalPolicy,
        provider: CustomizationProvider | None,
    ) -> None:
        self.provider = provider or CustomizationProvider.of(scope)  # scope: usually the stack, found at once
        self.model = model
        self._own_tags = {"tags": dict(tags or {})}
        self.resource = custom_resource(self, self.provider, resource_type, properties, self._own_tags, removal_policy)
        self.provider.use(self).grants.allow(resource_type, model.model_arn)

    @property
    def _invoked_arn(self) -> str:
        return attribute_string(self.resource, self.INVOKE_ARN_ATTRIBUTE)

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let grantee invoke the model through exactly this resource."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(INVOKE_ACTIONS), resource_arns=[self._invoked_arn]
        )


@jsii.implements(cdk.ITaggable)
class CustomModelDeployment(_ServingResource):
    """A custom model deployed for on-demand inference.

    Pointing it at another model is done in place; changing its name or description replaces it.
    """

    INVOKE_ARN_ATTRIBUTE = "customModelDeploymentArn"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: CustomModelBase,
        model_deployment_name: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY,
        provider: CustomizationProvider | None = None,
    ) -> None:
        """
        :param model: the custom model to serve.
        :param model_deployment_name: @default generated from the stack and construct, new for each replacement
        :param description: @default none
        :param tags: tags of the deployment. @default none (besides ``Tags.of``)
        :param removal_policy: @default DESTROY: a deployment holds no data, and is recreated in minutes
        :param provider: @default the stack's shared ``CustomizationProvider.of(stack)``
        """
        super().__init__(scope, construct_id)
        properties = _requests.deployment(
            model=model.model_arn, model_deployment_name=model_deployment_name, description=description
        )
        self._serve(scope, contract.MODEL_DEPLOYMENT, model, properties, tags, removal_policy, provider)

    @property
    def custom_model_deployment_arn(self) -> str:
        """The ARN to invoke the model with (the ``modelId`` of InvokeModel and Converse)."""
        return self._invoked_arn

    @property
    def model_deployment_name(self) -> str:
        return attribute_string(self.resource, "modelDeploymentName")


@jsii.implements(cdk.ITaggable)
class ProvisionedThroughput(_ServingResource):
    """Provisioned throughput for a model.

    Its name and model change in place. A change of ``model_units`` or ``commitment`` replaces a
    throughput without a commitment, and is refused at deploy time for one with a commitment.
    """

    INVOKE_ARN_ATTRIBUTE = "provisionedModelArn"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: CustomModelBase | bedrock.IModel,
        model_units: int,
        provisioned_model_name: str | None = None,
        commitment: Commitment | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY,
        provider: CustomizationProvider | None = None,
    ) -> None:
        """
        :param model: a custom model, or a foundation model (``aws_bedrock.FoundationModel``).
        :param model_units: the number of model units to buy.
        :param provisioned_model_name: @default generated from the stack and construct, new for each replacement
        :param commitment: a commitment term, billed in full. @default none: billed by the hour, deletable at any time
        :param tags: tags of the provisioned throughput. @default none (besides ``Tags.of``)
        :param removal_policy: @default DESTROY: provisioned throughput is billed for as long as it exists
        :param provider: @default the stack's shared ``CustomizationProvider.of(stack)``
        """
        super().__init__(scope, construct_id)
        properties = _requests.provisioned_throughput(
            model=model.model_arn,
            model_units=model_units,
            provisioned_model_name=provisioned_model_name,
            commitment=commitment.value if commitment else None,
        )
        self._serve(scope, contract.PROVISIONED_THROUGHPUT, model, properties, tags, removal_policy, provider)
        if commitment is not None:
            cdk.Annotations.of(self).add_warning_v2(
                COMMITMENT_WARNING_ID,
                f"This provisioned throughput has a {commitment.value} commitment: the whole term is billed, and "
                "Bedrock can neither cancel nor delete it before the term ends. Deleting it earlier fails, and "
                "changing its model units or commitment is refused.",
            )

    @property
    def provisioned_model_arn(self) -> str:
        """The ARN to invoke the model with (the ``modelId`` of InvokeModel and Converse)."""
        return self._invoked_arn

    @property
    def provisioned_model_name(self) -> str:
        return attribute_string(self.resource, "provisionedModelName")
