"""A stack that holds only a provider and exports its ServiceToken, so that plain CloudFormation templates,
written without CDK, can declare this library's resources."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from bedrock_custom_resource import contract

from constructs import Construct

from ._prop_types import check_prop_types, check_types
from ._resource import grant_model_key
from ._tokens import is_unresolved
from .provider import CustomizationProvider, ProviderKind

# IAM's patterns for a role path (other than "/") and a role name.
# IAM's path characters but the policy wildcards * and ?, which would let the handler pass roles of any path; at most
# 512 characters (IAM's pathType).
_ROLE_PATH = re.compile(r"/[\x21-\x29\x2B-\x3E\x40-\x7E]{1,510}/")
_ROLE_NAME_PREFIX = re.compile(r"[\w+=,.@-]{1,63}", re.ASCII)  # IAM's \w is ASCII's


class CustomizationProviderStack(cdk.Stack):
    """The provider, and an export of its ServiceToken named ``<stack name>-ServiceToken``.

    Templates bring their own Bedrock service roles; the handler passes to Bedrock only roles with the given
    path (``/bedrock-customization/``) or name prefix, and refuses others before creating anything. It may
    customize any foundation or custom model of its account and Region, import custom models (from SageMaker AI
    model packages of its account and Region too), copy the account's custom models from other Regions, deploy
    custom models, and provision throughput for any foundation or custom model. It does not run evaluations
    (their gate reads the results from the template's buckets): declare those with CDK. It may encrypt models
    only with the keys of ``model_key_arns`` (Bedrock creates a model key's grant with the caller's own
    permissions).

    Example::

        CustomizationProviderStack(
            app, "BedrockCustomizationProvider",
            passable_role_path="/bedrock-customization/",  # or passable_role_name_prefix="bedrock-"
            env=cdk.Environment(account="123456789012", region="us-east-1"),
        )
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        passable_role_path: str | None = None,
        passable_role_name_prefix: str | None = None,
        model_key_arns: Sequence[str] = (),
        kind: ProviderKind = ProviderKind.FRAMEWORK,
        query_interval: cdk.Duration | None = None,
        total_timeout: cdk.Duration | None = None,
        log_retention: logs.RetentionDays | None = None,
        **stack_props: Any,
    ) -> None:
        """
        :param passable_role_path: the IAM path of the roles templates may pass, e.g. ``/bedrock-customization/``
        :param passable_role_name_prefix: or the name prefix of those roles (roles with the path ``/``)
        :param model_key_arns: the ARNs of the customer managed keys templates may encrypt custom models with
            (``customModelKmsKeyId``, ``modelKmsKeyArn``). @default none: a template that passes a key is denied,
            unless the key's own policy allows the handler's role
        :param kind: @default ProviderKind.FRAMEWORK
        :param query_interval: @default 1 minute
        :param total_timeout: at most 1 hour. @default 1 hour
        :param log_retention: @default one month
        :param stack_props: as for ``cdk.Stack``
        """
        check_prop_types(CustomizationProviderStack.__init__, locals())
        problems = [
            problem
            for index, arn in enumerate(model_key_arns)
            for problem in contract.value_problems(
                "KmsKeyArn", arn, f"model_key_arns[{index}]", is_unresolved=is_unresolved
            )
        ]
        if problems:
            raise ValueError("; ".join(problems))
        super().__init__(scope, construct_id, **stack_props)
        passable = _passable_roles(passable_role_path, passable_role_name_prefix)
        roles = self.format_arn(service="iam", region="", resource="role", resource_name=passable)
        self.provider = CustomizationProvider.of(
            self, kind=kind, query_interval=query_interval, total_timeout=total_timeout, log_retention=log_retention
        )
        self.provider.allow_passing_roles(roles)
        if passable_role_name_prefix is not None:
            # A name prefix is of roles with the path /; IAM's * in role/<prefix>* would also match a path.
            in_paths = self.format_arn(service="iam", region="", resource="role", resource_name=f"{passable}/*")
            self.provider.use(self).handler.add_to_principal_policy(
                iam.PolicyStatement(effect=iam.Effect.DENY, actions=["iam:PassRole"], resources=[in_paths])
            )
        any_foundation_model = self.format_arn(
            service="bedrock", account="", resource="foundation-model", resource_name="*"
        )
        use = self.provider.use(self)
        grants = use.grants
        grants.any_stack = True
        any_custom_model = self.format_arn(service="bedrock", resource="custom-model", resource_name="*")
        for index, arn in enumerate(model_key_arns):
            grant_model_key(kms.Key.from_key_arn(self, f"ModelKey{index}", arn), use.handler)
        # A copy's source is a custom model of another Region, or shared from another account (copy-model.html).
        any_region_custom_model = self.format_arn(
            service="bedrock", region="*", account="*", resource="custom-model", resource_name="*"
        )
        for resource_type, models in (
            (contract.CUSTOMIZATION_JOB, [any_foundation_model]),
            (contract.CUSTOM_MODEL, [None]),
            (contract.MODEL_IMPORT, [None]),
            (contract.MODEL_COPY, [any_region_custom_model]),
            (contract.MODEL_DEPLOYMENT, [any_custom_model]),
            (contract.PROVISIONED_THROUGHPUT, [any_custom_model, any_foundation_model]),
        ):
            for model in models:
                grants.allow(resource_type, model)
        grants.allow_using_model_package(
            self.format_arn(service="sagemaker", resource="model-package", resource_name="*"),
            reason="The provider stack's templates may import any SageMaker AI model package of its account and "
            "Region.",
        )
        self.export_name = f"{self.stack_name}-ServiceToken"
        self.service_token_output = cdk.CfnOutput(
            self,
            "ServiceToken",
            value=self.provider.service_token,
            description=f"The ServiceToken of cdk-bedrock-customization resources ({kind.value} provider)",
            export_name=self.export_name,
        )


def _passable_roles(path: str | None, name_prefix: str | None) -> str:
    """The resource name (after ``role/``) that matches the roles templates may pass."""
    check_types(
        passable_role_path=(path, (str, type(None))), passable_role_name_prefix=(name_prefix, (str, type(None)))
    )
    if (path is None) == (name_prefix is None):
        raise ValueError(
            f"passable_role_path: {path!r}, passable_role_name_prefix: {name_prefix!r}: give exactly one, so "
            "that the handler passes only those roles to Bedrock"
        )
    if path is not None:
        if not _ROLE_PATH.fullmatch(path):
            raise ValueError(
                f"passable_role_path: {path!r} is not an IAM path other than '/' (it starts and ends with '/', "
                "e.g. '/bedrock-customization/', has at most 512 characters, and no * or ?, which IAM reads as "
                "wildcards)"
            )
        return f"{path[1:]}*"
    assert name_prefix is not None
    if not _ROLE_NAME_PREFIX.fullmatch(name_prefix):
        raise ValueError(
            f"passable_role_name_prefix: {name_prefix!r} is not the start of an IAM role name (letters, digits "
            "and +=,.@_-, at most 63 characters)"
        )
    return f"{name_prefix}*"
