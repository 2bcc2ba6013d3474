"""The custom resource behind each construct of this library, and Tags.of(...) for its tag lists."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from bedrock_custom_resource import contract
from bedrock_custom_resource.lifecycle import STACK_TAG

from constructs import Construct, IDependable

from ._tokens import is_unresolved

if TYPE_CHECKING:
    from .provider import CustomizationProvider, StackUse


class TaggedResource:
    """Gives a construct a ``tags`` TagManager that reaches the tag-list properties of its ``resource``.

    Subclasses set ``resource`` and ``_own_tags`` (tag property name -> the construct's own tags) and
    render their own tags with ``tag_list`` into the resource's properties.
    """

    resource: cdk.CfnResource
    _own_tags: Mapping[str, Mapping[str, str]]
    _tags: cdk.TagManager | None = None  # created when Tags.of(...) first looks

    @property
    def tags(self) -> cdk.TagManager:
        """Tags from ``Tags.of(...)`` (own tags win on a clash).

        Made on first use (by the Tags aspect, at synth), and only then are the tag properties made
        lazy: a lazy value costs jsii round trips at every resolution, which a resource without
        ``Tags.of`` need not pay.
        """
        if self._tags is None:
            resource = self.resource
            tags = self._tags = cdk.TagManager(cdk.TagType.MAP, resource.cfn_resource_type)
            for name, own in self._own_tags.items():
                merged = partial(_merged_tag_list, tags, own)
                resource.add_property_override(name, cdk.Lazy.uncached_any(_Producer(merged)))
        return self._tags


def custom_resource(
    scope: Construct,
    provider: CustomizationProvider,
    resource_type: str,
    properties: dict[str, Any],
    own_tags: Mapping[str, Mapping[str, str]],
    removal_policy: cdk.RemovalPolicy,
    *,
    dependencies: Sequence[IDependable] = (),
    use: StackUse | None = None,
) -> cdk.CfnResource:
    """scope's resource, once its properties pass the contract (tokens are left to the handler)."""
    contract.create_request(resource_type, properties, is_unresolved=is_unresolved)
    properties = {**properties, **{name: tag_list(own) for name, own in own_tags.items() if own}}
    return provider.custom_resource(
        scope, "Resource", resource_type, properties, removal_policy, dependencies=dependencies, use=use
    )


class Grants:
    """A service role's grants, as IAM statements built in Python.

    The role gets them inline, as one policy, in the call that creates it: no policy resource per role (a stack
    of many models stays far from CloudFormation's 500 resources, and a job that waits for its role waits for
    every grant), and no jsii round trip per statement.
    """

    def __init__(self) -> None:
        self.statements: list[dict[str, Any]] = []

    def allow(
        self, actions: Sequence[str], resources: Sequence[str], conditions: Mapping[str, Any] | None = None
    ) -> None:
        statement: dict[str, Any] = {"Effect": "Allow", "Action": list(actions), "Resource": list(resources)}
        if conditions:
            statement["Condition"] = dict(conditions)
        self.statements.append(statement)


class ServiceRole(iam.Role):
    """A role whose grants, given and added later, are one inline policy of the role itself. It carries its
    stack's tag: the stack's handler may pass such roles with one statement."""

    def __init__(self, scope: Construct, construct_id: str, *, grants: Grants, **props: Any) -> None:
        if not grants.statements:
            raise ValueError("a service role starts with its grants: CloudFormation refuses an empty inline policy")
        document = iam.PolicyDocument.from_json({"Statement": grants.statements})  # one round trip for them all
        super().__init__(scope, construct_id, inline_policies={"Grants": document}, **props)
        self._grants = document
        cdk.Tags.of(self).add(STACK_TAG, _stack_id())

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        # Also what aws-cdk-lib's grants (bucket.grant_read, key.grant) call.
        self._grants.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self)


def service_role(
    scope: Construct, stack: cdk.Stack, bedrock_resource: str, description: str, grants: Grants
) -> iam.Role:
    """A role, with these grants, that Bedrock may assume only for this account's resources of this kind
    (``model-customization-job``, or ``*`` for any): a confused-deputy guard."""
    return ServiceRole(
        scope, "ServiceRole", grants=grants, assumed_by=_bedrock(stack, bedrock_resource), description=description
    )


def stack_arn(stack: cdk.Stack, service: str, resource: str, resource_name: str | None = None) -> str:
    """stack.format_arn, once per stack and arguments: each call is a jsii round trip, and a stack's models ask
    for the same ARNs."""
    arns = _ARNS.setdefault(stack, {})
    key = (service, resource, resource_name)
    if key not in arns:
        arns[key] = stack.format_arn(service=service, resource=resource, resource_name=resource_name)
    return arns[key]


def _bedrock(stack: cdk.Stack, bedrock_resource: str) -> iam.IPrincipal:
    """Bedrock, for this stack's account and its resources of this kind; one principal per stack and kind
    (principals are values: roles may share one)."""
    principals = _PRINCIPALS.setdefault(stack, {})
    if bedrock_resource not in principals:
        if bedrock_resource == "*":
            source_arn = stack_arn(stack, "bedrock", "*")
        else:
            source_arn = stack_arn(stack, "bedrock", bedrock_resource, "*")
        principals[bedrock_resource] = iam.ServicePrincipal("bedrock.amazonaws.com").with_conditions(
            {"StringEquals": {"aws:SourceAccount": stack.account}, "ArnLike": {"aws:SourceArn": source_arn}}
        )
    return principals[bedrock_resource]


_ARNS: weakref.WeakKeyDictionary[cdk.Stack, dict[tuple[str, str, str | None], str]] = weakref.WeakKeyDictionary()
_PRINCIPALS: weakref.WeakKeyDictionary[cdk.Stack, dict[str, iam.IPrincipal]] = weakref.WeakKeyDictionary()


@functools.cache
def _stack_id() -> str:
    """The AWS::StackId pseudo parameter, read from aws-cdk-lib once (each read is a jsii round trip)."""
    return cdk.Aws.STACK_ID


# What Bedrock needs of a customer managed key that encrypts a custom model.
MODEL_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant")


def grant_model_key(key: kms.IKey, *principals: iam.IGrantable) -> None:
    for principal in principals:
        key.grant(principal, *MODEL_KEY_ACTIONS)


def attribute_string(resource: cdk.CfnResource, name: str) -> str:
    """A custom resource's attribute, as cdk.CustomResource.get_att_string gives it."""
    return cdk.Token.as_string(resource.get_att(name))


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """Tags as the API's list of key/value pairs, in a stable order."""
    return [{"key": key, "value": tags[key]} for key in sorted(tags)]


def _merged_tag_list(tags: cdk.TagManager, own: Mapping[str, str]) -> list[dict[str, str]] | None:
    return tag_list({**(tags.render_tags() or {}), **own}) or None


@jsii.implements(cdk.IAnyProducer)
class _Producer:
    def __init__(self, produce: Callable[[], Any]) -> None:
        self._produce = produce

    def produce(self, context: cdk.IResolveContext) -> Any:
        return self._produce()
