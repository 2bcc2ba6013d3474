"""ImportedCustomModel: a SageMaker AI-trained Amazon Nova model imported into Bedrock (CreateCustomModel)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from bedrock_custom_resource import contract

from constructs import Construct

from . import _requests
from ._nag import acknowledge, wildcard_resources
from ._prop_types import check_prop_types, check_types
from ._regions import refuse_another_partition
from ._resource import (
    Grants,
    OwnRole,
    ServiceRoleUser,
    TaggedResource,
    allow_model_key,
    attribute_string,
    checked_kms_key,
    custom_resource,
    key_grantee,
    refusal_leaves_nothing,
    use_model_key,
)
from .inputs import S3Data
from .provider import CustomizationProvider
from .serving import CustomModelBase

RESOURCE_TYPE = contract.CUSTOM_MODEL
# Which Bedrock ARN an import's role assumption carries is not documented: any of this account and Region's.
JOB_KIND = "*"


@dataclass(frozen=True)
class ModelSource:
    """Where the model to import is. Create one with a static method."""

    properties: Mapping[str, Any]
    s3_data: S3Data | None = None
    model_package_arn: str | None = None

    @staticmethod
    def from_s3(data: S3Data) -> ModelSource:
        """The model artifacts in the Amazon-managed S3 bucket where SageMaker AI wrote them.

        :param data: the artifacts' S3 prefix (usually ``S3Data.from_uri``: the bucket is not this app's)
        """
        return ModelSource(_requests.model_in_s3(data.uri), data)

    @staticmethod
    def from_uri(uri: str) -> ModelSource:
        """The same as ``from_s3(S3Data.from_uri(uri))``."""
        return ModelSource.from_s3(S3Data.from_uri(uri))

    @staticmethod
    def from_model_package_arn(model_package_arn: str) -> ModelSource:
        """A SageMaker AI model package. Bedrock reads it with its own credentials: no service role needed. The
        handler, which asks for the import, must be allowed the package, and is granted it.

        :param model_package_arn: the model package's ARN (``arn:aws:sagemaker:<region>:<account>:model-package/...``)
        """
        check_types(model_package_arn=(model_package_arn, str))
        return ModelSource(_requests.model_package(model_package_arn), model_package_arn=model_package_arn)


def _refuse_a_bucket_of_this_app(data: S3Data | None) -> None:
    """CreateCustomModel reads "the Amazon-managed Amazon S3 bucket containing your model artifacts" only (botocore's
    modelSourceConfig), the one SageMaker AI wrote to: never a bucket this app makes, nor an upload of it."""
    if data is None or data.bucket is None:
        return
    if data.uploaded_by is not None or cdk.Resource.is_owned_resource(data.bucket):
        raise ValueError(
            f"source: bucket {data.bucket.node.path} (key {data.key!r}) is one this app makes or uploads to; "
            "CreateCustomModel imports a SageMaker AI-trained model only from the Amazon-managed bucket SageMaker AI "
            "wrote it to (ModelSource.from_uri('s3://customer-escrow-...')). Import open-weight files with "
            "ImportedModel"
        )


@jsii.implements(cdk.ITaggable)
class ImportedCustomModel(TaggedResource, ServiceRoleUser, CustomModelBase):
    """A custom model imported from SageMaker AI; ``model_arn`` is available once it is Active.

    A change of anything but tags imports a new model under a new name.

    Example::

        nova = ImportedCustomModel(
            self, "ImportedNova", source=ModelSource.from_uri("s3://customer-escrow-123456789012-smtj-a1b2c3/nova-support/")
        )
        nova.add_provisioned_throughput("Provisioned", model_units=1).grant_invoke(function)
    """

    @refusal_leaves_nothing
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: ModelSource,
        model_name: str | None = None,
        role: iam.IRole | None = None,
        kms_key: kms.IKey | None = None,
        model_tags: Mapping[str, str] | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        provider: CustomizationProvider | None = None,
    ) -> None:
        """
        :param source: where the model is: ``ModelSource.from_uri(...)`` or ``from_model_package_arn(...)``.
        :param model_name: @default generated from the stack and construct, new for each replacement
        :param role: the service role Bedrock assumes to read the model and use the key. @default for an S3 source
            or a key, a role granted exactly that; otherwise none
        :param kms_key: encrypts the model. @default an AWS owned key
        :param model_tags: tags of the model. @default none (besides the stack's tags and ``Tags.of``'s)
        :param removal_policy: what deleting or replacing the resource does to the model. @default RETAIN
        :param provider: @default the stack's shared ``CustomizationProvider.of(stack)``
        """
        check_prop_types(ImportedCustomModel.__init__, locals())  # before anything is made
        _refuse_a_bucket_of_this_app(source.s3_data)
        if source.model_package_arn is not None:
            refuse_another_partition(scope, "source", source.model_package_arn, "a model package")
        kms_key = checked_kms_key(scope, kms_key)  # IAM names a key, never its alias
        super().__init__(scope, construct_id)
        self.provider = provider or CustomizationProvider.of(scope)
        needs_role = source.s3_data is not None or kms_key is not None
        own_role = self._create_service_role(source, kms_key) if role is None and needs_role else None
        role_arn = self._use_role(role, own_role, JOB_KIND)
        properties = _requests.imported_model(
            source=source.properties, model_name=model_name, kms_key=kms_key.key_arn if kms_key else None, role=role_arn
        )
        self._own_tags = {"modelTags": dict(model_tags or {})}
        self.resource = custom_resource(self, self.provider, RESOURCE_TYPE, properties, self._own_tags, removal_policy)
        use = self.provider.use(scope)
        use.grants.allow(RESOURCE_TYPE, role_arn=role_arn, own_role=own_role is not None)
        if source.model_package_arn is not None:
            use.grants.allow_using_model_package(source.model_package_arn)
        use.jobs.order("import", self.resource, self.resource)
        grantee = key_grantee(self, role) if kms_key is not None else None
        use_model_key(self, kms_key, removal_policy, use.handler, *([] if grantee is None else [grantee]))
        if grantee is not None:
            # Bedrock checks the role's access when the import starts: the grant above must exist first. (A
            # role made here has its grants in the role, which roleArn already waits for.)
            self.resource.node.add_dependency(grantee)
        self.kms_key = kms_key

    @property
    def role(self) -> iam.IRole | None:
        """The service role Bedrock assumes (None: Bedrock reads a model package with its own credentials). For a
        role this construct made, what you grant it goes in a policy of its own, which the import waits for."""
        return self._service_role

    @property
    def model_arn(self) -> str:
        """The ARN of the imported model, once it is Active."""
        return attribute_string(self.resource, "modelArn")

    @property
    def model_name(self) -> str:
        """The custom model's name (the ``model_name`` given, or the one generated), known at deploy time."""
        return attribute_string(self.resource, "modelName")

    def _create_service_role(self, source: ModelSource, kms_key: kms.IKey | None) -> OwnRole:
        """A role that may read exactly the model's prefix and use the key."""
        grants = Grants()
        prefixes = source.s3_data.allow_read(self, grants, folder=True) if source.s3_data is not None else []
        if kms_key is not None:
            allow_model_key(grants, kms_key.key_arn)
        role = OwnRole(self, cdk.Stack.of(self), JOB_KIND, "Assumed by Bedrock to import a custom model", grants)
        if prefixes:
            acknowledge(
                role.resource,
                ("IAM5", "Bedrock reads every object under the model's prefix.", wildcard_resources(self, prefixes)),
            )
        return role
