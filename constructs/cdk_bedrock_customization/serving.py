"""Serving a custom model: on-demand deployments and provisioned throughput."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, cast

import aws_cdk as cdk
import jsii
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from bedrock_custom_resource import contract

from constructs import Construct

from . import _requests
from ._prop_types import check_prop_types
from ._regions import refuse_another_region
from ._resource import TaggedResource, attribute_string, custom_resource, grant_model_key, refusal_leaves_nothing
from ._tokens import is_unresolved
from .invocable import InvocableModel, arn_by_name, checked_value
from .provider import CustomizationProvider

COMMITMENT_WARNING_ID = "cdk-bedrock-customization:provisionedThroughputCommitment"
# Bedrock user guide, "Deploy a custom model for on-demand inference" (and the Nova user guide's "On-demand inference on
# Custom Models"): the base models on-demand deployments are documented for, each with its "Supported Region"; a model
# of no known base (an imported one), the Regions of its prerequisites. AWS may add more, so another is a warning.
ON_DEMAND_REGIONS_BY_BASE_MODEL = {
    "amazon.nova-pro-": ("us-east-1",),
    "amazon.nova-lite-": ("us-east-1",),
    "amazon.nova-micro-": ("us-east-1",),
    "amazon.nova-2-lite-": ("us-east-1",),
    "meta.llama3-3-70b-instruct-": ("us-west-2",),
}
ON_DEMAND_REGIONS = ("us-east-1", "us-west-2")
ON_DEMAND_WARNING_ID = "cdk-bedrock-customization:onDemandDeploymentUndocumented"
VARIANT_WARNING_ID = "cdk-bedrock-customization:provisionedThroughputModelVariant"


class CustomModelBase(cdk.Resource):
    """A custom model that can be served: trained by a job, imported, copied, or one that exists already.

    Bedrock invokes a custom model only through a deployment or a provisioned throughput, so it is not itself an
    ``aws_bedrock.IModel`` to invoke (its ``model_arn`` is what ``base_model`` takes to train it further).

    Example::

        existing = CustomModel.from_custom_model_name(self, "Existing", "support-model")  # any CustomModelBase
        existing.add_deployment("OnDemand", description="Support assistant").grant_invoke(function)
        existing.add_provisioned_throughput("Provisioned", model_units=1)
    """

    #: The customer managed key that encrypts the model, when this app made the model (None: an AWS owned key, or
    #: a model given by ARN or name, whose key a deployment's or throughput's handler must be granted otherwise).
    kms_key: kms.IKey | None = None

    @property
    def model_arn(self) -> str:
        """The custom model's ARN: what a deployment or throughput serves, and ``base_model`` trains further."""
        raise NotImplementedError

    def add_deployment(
        self,
        construct_id: str,
        *,
        model_deployment_name: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY,
        provider: CustomizationProvider | None = None,
    ) -> CustomModelDeployment:
        """Deploy this model for on-demand inference, in this construct (the options of ``CustomModelDeployment``).

        :param model_deployment_name: @default generated from the stack and construct, new for each replacement
        :param description: @default none
        :param tags: tags of the deployment. @default none (besides the stack's tags and ``Tags.of``'s)
        :param removal_policy: @default DESTROY: a deployment holds no data, and is recreated in minutes
        :param provider: @default the stack's shared ``CustomizationProvider.of(stack)``
        """
        return CustomModelDeployment(
            self,
            construct_id,
            model=self,
            model_deployment_name=model_deployment_name,
            description=description,
            tags=tags,
            removal_policy=removal_policy,
            provider=provider,
        )

    def add_provisioned_throughput(
        self,
        construct_id: str,
        *,
        model_units: int,
        provisioned_model_name: str | None = None,
        commitment: Commitment | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY,
        provider: CustomizationProvider | None = None,
    ) -> ProvisionedThroughput:
        """Buy provisioned throughput for this model, in this construct (the options of ``ProvisionedThroughput``).

        :param model_units: the number of model units to buy.
        :param provisioned_model_name: @default generated from the stack and construct, new for each replacement
        :param commitment: a commitment term, billed in full. @default none: billed by the hour, deletable at any time
        :param tags: tags of the provisioned throughput. @default none (besides the stack's tags and ``Tags.of``'s)
        :param removal_policy: @default DESTROY: provisioned throughput is billed for as long as it exists
        :param provider: @default the stack's shared ``CustomizationProvider.of(stack)``
        """
        return ProvisionedThroughput(
            self,
            construct_id,
            model=self,
            model_units=model_units,
            provisioned_model_name=provisioned_model_name,
            commitment=commitment,
            tags=tags,
            removal_policy=removal_policy,
            provider=provider,
        )


class ExistingCustomModel(CustomModelBase):
    """A custom model made outside this app (see ``CustomModel.from_custom_model_arn`` and ``_name``)."""

    def __init__(self, scope: Construct, construct_id: str, *, model_arn: str) -> None:
        literal = bool(model_arn) and not is_unresolved(model_arn)
        super().__init__(scope, construct_id, environment_from_arn=model_arn if literal else None)
        self._model_arn = model_arn

    @property
    def model_arn(self) -> str:
        """The custom model's ARN, as given (by name: looked up at deploy time)."""
        return self._model_arn

    @staticmethod
    def from_arn(scope: Construct, construct_id: str, model_arn: str) -> ExistingCustomModel:
        return ExistingCustomModel(
            scope, construct_id, model_arn=checked_value(model_arn, "CustomModelArn", "model_arn")
        )

    @staticmethod
    def from_name(scope: Construct, construct_id: str, model_name: str) -> ExistingCustomModel:
        """Deployments need the model's ARN, whose last part Bedrock generates: look it up at deploy time."""
        checked_value(model_name, "CustomModelName", "model_name")  # before the lookup is made
        model = ExistingCustomModel(scope, construct_id, model_arn="")
        model._model_arn = arn_by_name(model, "GetCustomModel", model_name, "custom-model")
        return model


class Commitment(enum.Enum):
    """A provisioned throughput commitment term: billed in full and never cancellable."""

    ONE_MONTH = "OneMonth"
    SIX_MONTHS = "SixMonths"


class CustomModelDeploymentBase(InvocableModel):
    """A custom model deployment: a ``CustomModelDeployment``, or one made elsewhere
    (``CustomModelDeployment.from_custom_model_deployment_arn``).

    Example::

        shared = CustomModelDeployment.from_custom_model_deployment_arn(
            self, "Shared", "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/a1b2c3d4e5f6"
        )
        shared.grant_invoke(function)
    """

    @property
    def custom_model_deployment_arn(self) -> str:
        """The ARN to invoke the model with (the ``modelId`` of InvokeModel and Converse)."""
        return self.model_arn


class ProvisionedThroughputBase(InvocableModel):
    """A provisioned throughput: a ``ProvisionedThroughput``, or one bought elsewhere
    (``ProvisionedThroughput.from_provisioned_model_arn``).

    Example::

        shared = ProvisionedThroughput.from_provisioned_model_arn(
            self, "Shared", "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/a1b2c3d4e5f6"
        )
        shared.grant_invoke(function)
    """

    @property
    def provisioned_model_arn(self) -> str:
        """The ARN to invoke the model with (the ``modelId`` of InvokeModel and Converse)."""
        return self.model_arn


def _let_bedrock_optimize_with_the_models_key(model: CustomModelBase | bedrock.IModel) -> None:
    """The statement that the Nova user guide's customize-fine-tune-encrypt.html (PermissionsNovaProvisionedThroughput)
    adds to a custom Nova model's key: Bedrock optimizes the model for provisioned throughput with that key, as
    itself. Added to a key this app made (an imported key's policy is its owner's to change), unless the model's
    foundation model is known and not Nova."""
    key = getattr(model, "kms_key", None)
    foundation = getattr(model, "foundation_model", None)
    if not isinstance(key, kms.Key) or (
        isinstance(foundation, str) and not is_unresolved(foundation) and "amazon.nova-" not in foundation
    ):
        return
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("bedrock.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=["*"],
            conditions={"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "aws:bedrock:custom-model"}},
        )
    )


def _refuse_another_region(scope: Construct, model: CustomModelBase | bedrock.IModel) -> None:
    """Bedrock serves a model in its own Region (a token, or a stack of no Region, is left to Bedrock)."""
    refuse_another_region(
        scope,
        "model",
        model.model_arn,
        "a model",
        "Bedrock serves a model in its own Region; copy it to this Region (CopiedCustomModel), or serve it from a "
        "stack there",
        model,
    )


class _ServingResource(TaggedResource):
    """The custom resource of what serves a model (of resource_type, made from properties); ``model_arn`` is its
    attribute ``INVOKE_ARN_ATTRIBUTE``."""

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
        self.resource = custom_resource(
            cast(Construct, self), self.provider, resource_type, properties, self._own_tags, removal_policy
        )
        use = self.provider.use(cast(Construct, self))
        use.grants.allow(resource_type, model.model_arn)
        if self._invocation_key is not None:  # Bedrock serves an encrypted model with the caller's use of its key
            grant_model_key(self._invocation_key, use.handler)

    @property
    def _invocation_key(self) -> kms.IKey | None:
        return getattr(self.model, "kms_key", None)

    @property
    def model_arn(self) -> str:
        """The ARN to invoke the model by (the ``modelId`` of InvokeModel and Converse), known at deploy time."""
        return attribute_string(self.resource, self.INVOKE_ARN_ATTRIBUTE)


@jsii.implements(cdk.ITaggable)
class CustomModelDeployment(_ServingResource, CustomModelDeploymentBase):
    """A custom model deployed for on-demand inference; an ``aws_bedrock.IModel`` invoked by its ARN.

    Pointing it at another model is done in place; changing its name or description replaces it.

    Example::

        deployment = model.add_deployment("OnDemand", description="Support assistant")
        deployment.grant_invoke(function)
        body = sfn.TaskInput.from_object({"messages": [{"role": "user", "content": [{"text": "Hello"}]}]})
        tasks.BedrockInvokeModel(self, "Ask", model=deployment, body=body)
    """

    INVOKE_ARN_ATTRIBUTE = "customModelDeploymentArn"

    @refusal_leaves_nothing
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
        :param tags: tags of the deployment. @default none (besides the stack's tags and ``Tags.of``'s)
        :param removal_policy: @default DESTROY: a deployment holds no data, and is recreated in minutes
        :param provider: @default the stack's shared ``CustomizationProvider.of(stack)``
        """
        check_prop_types(CustomModelDeployment.__init__, locals())  # before anything is made
        _refuse_another_region(scope, model)
        super().__init__(scope, construct_id)
        properties = _requests.deployment(
            model=model.model_arn, model_deployment_name=model_deployment_name, description=description
        )
        self._serve(scope, contract.MODEL_DEPLOYMENT, model, properties, tags, removal_policy, provider)
        _warn_where_on_demand_is_undocumented(self, model)

    @staticmethod
    def from_custom_model_deployment_arn(
        scope: Construct, construct_id: str, custom_model_deployment_arn: str
    ) -> CustomModelDeploymentBase:
        """A deployment made elsewhere (another stack, account or Region), by its ARN: to invoke and grant.

        :param custom_model_deployment_arn: the deployment's ARN
            (``arn:aws:bedrock:<region>:<account>:custom-model-deployment/<id>``), checked against the service
            model's CustomModelDeploymentArn shape (a token is checked at deploy time)
        """
        arn = checked_value(custom_model_deployment_arn, "CustomModelDeploymentArn", "custom_model_deployment_arn")
        return CustomModelDeploymentBase(scope, construct_id, model_arn=arn)

    @property
    def model_deployment_name(self) -> str:
        """The deployment's name (``modelDeploymentName``): the one given, or the one generated, as a token."""
        return attribute_string(self.resource, "modelDeploymentName")


@jsii.implements(cdk.ITaggable)
class ProvisionedThroughput(_ServingResource, ProvisionedThroughputBase):
    """Provisioned throughput for a model; an ``aws_bedrock.IModel`` invoked by its ARN.

    Its name and model change in place. A change of ``model_units`` or ``commitment`` replaces a
    throughput without a commitment, and is refused at deploy time for one with a commitment.

    Example::

        throughput = model.add_provisioned_throughput("Provisioned", model_units=1)
        throughput.grant_invoke(function)
    """

    INVOKE_ARN_ATTRIBUTE = "provisionedModelArn"

    @refusal_leaves_nothing
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
        :param tags: tags of the provisioned throughput. @default none (besides the stack's tags and ``Tags.of``'s)
        :param removal_policy: @default DESTROY: provisioned throughput is billed for as long as it exists
        :param provider: @default the stack's shared ``CustomizationProvider.of(stack)``
        """
        check_prop_types(ProvisionedThroughput.__init__, locals())  # before anything is made
        if isinstance(model, InvocableModel):
            # CreateProvisionedModelThroughput's modelId takes a custom or foundation model only.
            raise ValueError(
                f"model: {model.node.path} ({type(model).__name__}) is invoked by its own ARN (model_arn), and a "
                "provisioned throughput serves only a custom model or a foundation model: invoke it directly"
            )
        _refuse_another_region(scope, model)
        super().__init__(scope, construct_id)
        properties = _requests.provisioned_throughput(
            model=model.model_arn,
            model_units=model_units,
            provisioned_model_name=provisioned_model_name,
            commitment=commitment.value if commitment else None,
        )
        self._serve(scope, contract.PROVISIONED_THROUGHPUT, model, properties, tags, removal_policy, provider)
        _warn_of_a_foundation_model_without_its_variant(self, model.model_arn)
        _let_bedrock_optimize_with_the_models_key(model)
        if commitment is not None:
            cdk.Annotations.of(self).add_warning_v2(
                COMMITMENT_WARNING_ID,
                f"This provisioned throughput has a {commitment.value} commitment: the whole term is billed, and "
                "Bedrock can neither cancel nor delete it before the term ends. Deleting it earlier fails, and "
                "changing its model units or commitment is refused, as is a new construct id (its logical id) while "
                "the old one's term runs.",
            )

    @staticmethod
    def from_provisioned_model_arn(
        scope: Construct, construct_id: str, provisioned_model_arn: str
    ) -> ProvisionedThroughputBase:
        """A provisioned throughput bought elsewhere (another stack, account or Region), by its ARN: to invoke and
        grant.

        :param provisioned_model_arn: the throughput's ARN
            (``arn:aws:bedrock:<region>:<account>:provisioned-model/<id>``), checked against the service model's
            ProvisionedModelArn shape (a token is checked at deploy time)
        """
        arn = checked_value(provisioned_model_arn, "ProvisionedModelArn", "provisioned_model_arn")
        return ProvisionedThroughputBase(scope, construct_id, model_arn=arn)

    @property
    def provisioned_model_name(self) -> str:
        """The throughput's name (``provisionedModelName``): the one given, or the one generated, as a token."""
        return attribute_string(self.resource, "provisionedModelName")


def _warn_where_on_demand_is_undocumented(deployment: Construct, model: CustomModelBase) -> None:
    """A warning, on the deployment, when what it serves or where is not among what on-demand deployments are
    documented for: a custom model of a known base model, a SageMaker-trained model (PEFT ones only), a Region."""
    from .imported_model import ImportedCustomModel

    region = cdk.Stack.of(deployment).region
    base = str(getattr(model, "foundation_model", ""))
    model_id = base.rsplit("foundation-model/", 1)[-1]
    known_base = bool(base) and not is_unresolved(base)
    documented = next(
        (regions for prefix, regions in ON_DEMAND_REGIONS_BY_BASE_MODEL.items() if model_id.startswith(prefix)), None
    )
    why = []
    if known_base and documented is None:
        why.append(
            "custom models of Amazon Nova Pro, Lite, Micro and Nova 2 Lite, and of Meta Llama 3.3 70B Instruct, "
            f"not of {model_id}"
        )
    if isinstance(model, ImportedCustomModel):
        why.append("SageMaker AI-trained Amazon Nova models fine-tuned with PEFT only, not full-rank ones")
    regions = documented or ON_DEMAND_REGIONS
    if not is_unresolved(region) and region not in regions:
        where = f"models of {model_id} in" if documented else "the Regions"
        why.append(f"{where} {' and '.join(regions)}, not {region}")
    if why:
        cdk.Annotations.of(deployment).add_warning_v2(
            ON_DEMAND_WARNING_ID,
            f'On-demand deployments are documented for {"; and for ".join(why)} (Bedrock user guide, "Deploy a '
            'custom model for on-demand inference"): CreateCustomModelDeployment may be refused. A provisioned '
            "throughput (add_provisioned_throughput) serves any custom model.",
        )


def _warn_of_a_foundation_model_without_its_variant(throughput: Construct, model_arn: str) -> None:
    """A warning when a foundation model's id has no contextual variant: the user guide ("Supported Regions and
    models for Provisioned Throughput") asks for one, such as amazon.nova-micro-v1:0:128k, where the model has them;
    some models have none (amazon.nova-canvas-v1:0), so this is no refusal."""
    _, found, model_id = model_arn.rpartition("foundation-model/")
    if found and not is_unresolved(model_id) and model_id.count(":") < 2:
        cdk.Annotations.of(throughput).add_warning_v2(
            VARIANT_WARNING_ID,
            f"{model_id} names no contextual variant: Provisioned Throughput of a foundation model is bought for a "
            "variant of its id where the model has them (amazon.nova-micro-v1:0:128k, not amazon.nova-micro-v1:0; "
            "the user guide's \"Supported Regions and models for Provisioned Throughput\" lists each model's id).",
        )
