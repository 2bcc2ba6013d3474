"""ImportedModel: open-weight model weights imported into Bedrock by a model import job (CreateModelImportJob)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from bedrock_custom_resource import contract

from constructs import Construct

from . import _requests
from ._nag import acknowledge, wildcard_resources
from ._resource import (
    MODEL_KEY_ACTIONS,
    Grants,
    OwnRole,
    ServiceRoleUser,
    TaggedResource,
    attribute_string,
    custom_resource,
    grant_model_key,
)
from .inputs import S3Data
from .provider import CustomizationProvider
from .serving import INVOKE_ACTIONS

RESOURCE_TYPE = contract.MODEL_IMPORT
# Bedrock runs one model import job at a time per account and Region (DESIGN.md, fact 16).
CONCURRENT_IMPORTS = 1


@jsii.implements(cdk.ITaggable)
class ImportedModel(TaggedResource, ServiceRoleUser, Construct):
    """An open-weight model (Llama, Mistral, Qwen...) imported from its weights in S3, in the Hugging Face layout.

    ``cdk deploy`` starts a model import job and waits for it (import jobs emit no events: the provider polls
    them, up to its total_timeout of at most 1 hour); ``model_arn`` is then available to the rest of the stack,
    and the model is invoked on demand by that ARN (``grant_invoke``). A change of anything but tags imports the
    weights again under new names. The stack's imports run one at a time, as Bedrock's quota allows.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_data: S3Data,
        job_name: str | None = None,
        imported_model_name: str | None = None,
        role: iam.IRole | None = None,
        kms_key: kms.IKey | None = None,
        job_tags: Mapping[str, str] | None = None,
        imported_model_tags: Mapping[str, str] | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        provider: CustomizationProvider | None = None,
    ) -> None:
        """
        :param model_data: the S3 folder (a prefix ending in ``/``) of the weights: ``config.json``, the tokenizer
            files and ``.safetensors`` weights.
        :param job_name: @default generated from the stack and construct, new for each replacement
        :param imported_model_name: @default generated like job_name
        :param role: the service role Bedrock assumes to read the weights and use the key. @default a role granted
            exactly that
        :param kms_key: encrypts the imported model. @default an AWS owned key
        :param job_tags: tags of the import job. @default none (besides ``Tags.of``)
        :param imported_model_tags: tags of the imported model. @default none (besides ``Tags.of``)
        :param removal_policy: what deleting or replacing the resource does to the model. @default RETAIN: an
            imported model is data
        :param provider: @default the stack's shared ``CustomizationProvider.of(stack)``
        """
        super().__init__(scope, construct_id)
        self.provider = provider or CustomizationProvider.of(scope)
        use = self.provider.use(scope)
        own_role = self._create_service_role(model_data, kms_key) if role is None else None
        role_arn = str(self._use_role(role, own_role))
        properties = _requests.model_import(
            model_data=model_data.uri,
            role=role_arn,
            job_name=job_name,
            imported_model_name=imported_model_name,
            kms_key=kms_key.key_arn if kms_key else None,
        )
        self._own_tags = {"jobTags": dict(job_tags or {}), "importedModelTags": dict(imported_model_tags or {})}
        self.resource = custom_resource(
            self,
            self.provider,
            RESOURCE_TYPE,
            properties,
            self._own_tags,
            removal_policy,
            # Bedrock checks the role's access when the job starts: a given role's key grant must exist first.
            dependencies=[role] if role is not None and kms_key is not None else [],
            use=use,
        )
        use.grants.allow(RESOURCE_TYPE, role_arn=role_arn, own_role=role is None)
        use.jobs.order("model-import", self.resource, self.resource, limit=CONCURRENT_IMPORTS)
        if kms_key is not None:
            grant_model_key(kms_key, use.handler, *([] if role is None else [role]))

    @property
    def role(self) -> iam.IRole:
        """The service role Bedrock assumes. For a role this construct made, what you grant it goes in a policy
        of its own, which the import waits for."""
        return cast(iam.IRole, self._service_role)

    @property
    def model_arn(self) -> str:
        """The imported model's ARN, once the import has completed: the ``modelId`` to invoke it with."""
        return attribute_string(self.resource, "importedModelArn")

    @property
    def model_name(self) -> str:
        return attribute_string(self.resource, "importedModelName")

    @property
    def model_architecture(self) -> str:
        """The architecture Bedrock read from the weights' config.json (GetImportedModel's modelArchitecture)."""
        return attribute_string(self.resource, "modelArchitecture")

    @property
    def instruct_supported(self) -> str:
        """``true`` or ``false``: whether the model supports instructions (GetImportedModel's instructSupported)."""
        return attribute_string(self.resource, "instructSupported")

    @property
    def custom_model_units_per_model_copy(self) -> str:
        """The custom model units one copy of the model takes, which its on-demand price follows."""
        return attribute_string(self.resource, "customModelUnitsPerModelCopy")

    @property
    def job_arn(self) -> str:
        return attribute_string(self.resource, "jobArn")

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let grantee invoke exactly this model, on demand, by its ARN."""
        return iam.Grant.add_to_principal(grantee=grantee, actions=list(INVOKE_ACTIONS), resource_arns=[self.model_arn])

    def _create_service_role(self, model_data: S3Data, kms_key: kms.IKey | None) -> OwnRole:
        """A role that Bedrock may assume for this account's import jobs, which reads exactly the weights' prefix
        and uses the key."""
        grants = Grants()
        prefixes = model_data.allow_read(self, grants)
        if kms_key is not None:
            grants.allow(MODEL_KEY_ACTIONS, [kms_key.key_arn])
        stack = cdk.Stack.of(self)
        role = OwnRole(self, stack, "model-import-job", "Assumed by Bedrock to import a model's weights", grants)
        if prefixes:
            acknowledge(
                role.resource,
                ("IAM5", "Bedrock reads every file of the weights' folder.", wildcard_resources(stack, prefixes)),
            )
        return role
