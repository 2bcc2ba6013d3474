"""CopiedCustomModel: a custom model copied into the stack's Region from another Region (CreateModelCopyJob)."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
import jsii
from aws_cdk import aws_kms as kms
from bedrock_custom_resource import contract

import constructs
from constructs import Construct

from . import _requests
from ._prop_types import check_prop_types
from ._regions import another_partition_problem
from ._resource import (
    SOURCE_MODEL_KEY_ACTIONS,
    AwaitedJob,
    TaggedResource,
    checked_kms_key,
    custom_resource,
    grant_key,
    refusal_leaves_nothing,
    use_model_key,
)
from ._tokens import is_unresolved
from .completion import DEFAULT_COMPLETION, Completion, await_job, keyed_for_waiting
from .provider import CustomizationProvider
from .serving import CustomModelBase, ExistingCustomModel

RESOURCE_TYPE = contract.MODEL_COPY
SOURCE_WRITTEN_ONCE_WARNING_ID = "cdk-bedrock-customization:crossRegionSourceWrittenOnce"


@jsii.implements(cdk.ITaggable)
class CopiedCustomModel(TaggedResource, AwaitedJob, CustomModelBase):
    """A custom model copied into this stack's Region from another Region, servable like any custom model.

    ``cdk deploy`` starts a model copy job and waits for it, up to 12 hours by default (copy jobs emit no events: the
    stack's notifier checks them every few minutes); ``model_arn`` is then available to the rest of the stack, and
    ``add_deployment`` and ``add_provisioned_throughput`` serve the copy. A change of the source or the key copies
    again under a new name. The copy is made by the provider's handler, in this stack's Region: give it access to
    the source model's key, if that model is encrypted with one.

    Example::

        copy = CopiedCustomModel(
            self, "SupportCopy",
            source_model="arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6",
        )
        copy.add_deployment("OnDemand").grant_invoke(function)
    """

    @refusal_leaves_nothing
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source_model: str | CustomModelBase,
        target_model_name: str | None = None,
        kms_key: kms.IKey | None = None,
        target_model_tags: Mapping[str, str] | None = None,
        completion: Completion | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        provider: CustomizationProvider | None = None,
    ) -> None:
        """
        :param source_model: the model to copy: a custom model's ARN (of another Region, or shared from another
            account), or a model of another stack (whose stack then needs ``cross_region_references``)
        :param target_model_name: @default generated from the stack and construct, new for each replacement
        :param kms_key: encrypts the copy. @default an AWS owned key
        :param target_model_tags: tags of the copy. @default none (besides the stack's tags and ``Tags.of``'s)
        :param completion: how the deployment waits for the copy. @default Completion.event_driven(): up to
            12 hours, checked every few minutes. Completion.polling() polls from the provider, up to 1 hour
        :param removal_policy: what deleting or replacing the resource does to the copy. @default RETAIN
        :param provider: @default the stack's shared ``CustomizationProvider.of(stack)``
        """
        check_prop_types(CopiedCustomModel.__init__, locals())  # before anything is made
        kms_key = checked_kms_key(scope, kms_key)  # IAM names a key, never its alias
        super().__init__(scope, construct_id)
        self.provider = provider or CustomizationProvider.of(scope)
        self.completion = completion or DEFAULT_COMPLETION
        use = self.provider.use(scope)
        source_arn = source_model if isinstance(source_model, str) else source_model.model_arn
        of_another_partition = another_partition_problem(scope, source_arn, "a model", source_model)
        if of_another_partition is not None:  # a copy crosses Regions, never partitions
            raise ValueError(f"source_model: {of_another_partition}")
        properties = _requests.model_copy(
            source_model=source_arn,
            target_model_name=target_model_name,
            kms_key=kms_key.key_arn if kms_key else None,
            completion=self.completion.wait_until(RESOURCE_TYPE),
        )
        properties = keyed_for_waiting(self.completion, use.stack, properties, RESOURCE_TYPE)
        self._own_tags = {"targetModelTags": dict(target_model_tags or {})}
        self.resource = custom_resource(
            self, self.provider, RESOURCE_TYPE, properties, self._own_tags, removal_policy, use=use
        )
        use.grants.allow(RESOURCE_TYPE, _granted_source(use.stack, source_model, source_arn))
        if is_unresolved(source_arn):  # a model of another stack: how it reaches this one is known once resolved
            self.node.add_validation(_SourceWrittenOnce(self, source_arn))
        # Where the completed copy's attributes come from (None: nowhere, the deployment does not wait).
        self._completed, _end = await_job(
            self, self.completion, self.resource, RESOURCE_TYPE, properties, self.provider, use
        )
        use_model_key(self, kms_key, removal_policy, use.handler)
        self.kms_key = kms_key
        source_key = None if isinstance(source_model, str) else source_model.kms_key
        if source_key is not None:  # the copying role decrypts the source model
            grant_key(source_key, SOURCE_MODEL_KEY_ACTIONS, use.handler)

    @property
    def model_arn(self) -> str:
        """The copy's ARN, once the copy job has completed."""
        return self._completed_attribute("targetModelArn")

    @property
    def model_name(self) -> str:
        """The copy's name (the ``target_model_name`` given, or the one generated), once the copy job has completed;
        refused with ``Completion.no_wait()``."""
        return self._completed_attribute("targetModelName")


@jsii.implements(constructs.IValidation)
class _SourceWrittenOnce:
    """At synth, once cross-stack references are resolved: a source model of another stack whose retrained model would
    not reach the copy is warned of. A strong cross-Region reference (an SSM parameter, read by aws-cdk-lib's export
    reader) is written only once; a weak reference (Fn::GetStackOutput) is resolved only when the copy's stack is
    updated, which a deploy that changes the source's stack alone does not do (its template is unchanged)."""

    def __init__(self, copy: CopiedCustomModel, source_arn: str) -> None:
        self._copy, self._source_arn = copy, source_arn

    def validate(self) -> list[str]:
        resolved = cdk.Stack.of(self._copy).resolve(self._source_arn)
        resolved = resolved if isinstance(resolved, dict) else {}
        read = resolved.get("Fn::GetAtt")
        if isinstance(read, list) and len(read) == 2 and str(read[1]).startswith("/cdk/exports/"):
            how = "aws-cdk-lib's strong cross-Region reference, whose writer puts a value only once"
        elif "Fn::GetStackOutput" in resolved:
            how = (
                "a weak reference (Fn::GetStackOutput), resolved only when this stack is updated, which a deploy that "
                "changes only the source's stack does not do (this template is unchanged)"
            )
        else:
            return []
        cdk.Annotations.of(self._copy).add_warning_v2(
            SOURCE_WRITTEN_ONCE_WARNING_ID,
            f"source_model: the model of another stack reaches this stack through {how}: a retrained source model "
            "does not reach this copy, which stays the first model's. To copy a retrained model, give its ARN "
            "(source_model='arn:...'), or deploy without the copy, then with it again.",
        )
        return []


def _granted_source(stack: cdk.Stack, source_model: str | CustomModelBase, source_arn: str) -> str:
    """The models the handler may copy from: the ARN given; a model made in the app (known only at deploy): any custom
    model of its stack's account, in its stack's Region (any Region, when that is known only at deploy); an ARN known
    only at deploy (a parameter, an import): any custom model, as a source may be of any Region or shared from
    another account. The handler copies only what the template names."""
    if not is_unresolved(source_arn):
        return source_arn
    made_in = None if isinstance(source_model, str | ExistingCustomModel) else cdk.Stack.of(source_model)
    return stack.format_arn(
        service="bedrock",
        region="*" if made_in is None or is_unresolved(made_in.region) else made_in.region,
        account="*" if made_in is None else made_in.account,
        resource="custom-model",
        resource_name="*",
    )
