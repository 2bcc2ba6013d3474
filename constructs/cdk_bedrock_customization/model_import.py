"""ImportedModel: open-weight model weights imported into Bedrock by a model import job (CreateModelImportJob)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from bedrock_custom_resource import contract

from constructs import Construct

from . import _requests
from ._nag import Finding, acknowledge, wildcard_resources
from ._network import allow_vpc_access, network, vpc_config
from ._prop_types import check_prop_types
from ._resource import (
    AwaitedJob,
    Grants,
    OwnRole,
    ServiceRoleUser,
    TaggedResource,
    allow_model_key,
    checked_kms_key,
    custom_resource,
    key_grantee,
    refusal_leaves_nothing,
    use_model_key,
)
from ._tokens import is_unresolved
from .completion import DEFAULT_COMPLETION, Completion, await_job, keyed_for_waiting
from .inputs import S3Data
from .invocable import InvocableModel, arn_by_name, checked_value
from .provider import CustomizationProvider
from .weights import WeightsError, validate_weights

RESOURCE_TYPE = contract.MODEL_IMPORT
# What Bedrock assumes the service role for (model-import-iam-role.html: its aws:SourceArn).
JOB_KIND = "model-import-job"
# Bedrock runs one model import job at a time per account and Region (DESIGN.md, fact 16).
CONCURRENT_IMPORTS = 1
# Bedrock user guide, "Use Custom model import to import a customized open-source model into Amazon Bedrock": "Custom
# model import is supported in the following regions"; "GPT-OSS model architecture is only supported in the US East (N.
# Virginia) region". AWS may add more, so another is a warning, not a refusal.
IMPORT_REGIONS = ("eu-central-1", "us-east-1", "us-east-2", "us-west-2")
IMPORT_REGIONS_BY_FAMILY = {"GPT-OSS": ("us-east-1",)}
IMPORT_REGION_WARNING_ID = "cdk-bedrock-customization:modelImportRegionUndocumented"


class ImportedModelBase(InvocableModel):
    """An open-weight model imported into Bedrock: an ``ImportedModel``, or one imported elsewhere
    (``ImportedModel.from_imported_model_arn`` or ``from_imported_model_name``), invoked on demand by its ARN.

    Example::

        existing = ImportedModel.from_imported_model_name(self, "Existing", "support-llama")
        existing.grant_invoke(function)
    """


@jsii.implements(cdk.ITaggable)
class ImportedModel(TaggedResource, ServiceRoleUser, AwaitedJob, ImportedModelBase):
    """An open-weight model (Llama, Mistral, Qwen...) imported from its weights in S3, in the Hugging Face layout.

    ``cdk deploy`` starts a model import job and waits for it, up to 12 hours by default (import jobs emit no
    events: the stack's notifier checks them every few minutes); ``model_arn`` is then available to the rest of the
    stack, and the model is invoked on demand by that ARN (``grant_invoke``, and the ``metric_*`` helpers: the
    ``AWS/Bedrock`` runtime metrics with ``ModelId`` = that ARN, see ``_metrics``). A change of anything but tags
    imports the weights again under new names. The stack's imports run one at a time, as Bedrock's quota allows.

    Example::

        llama = ImportedModel(self, "Llama", model_data=S3Data.from_bucket(bucket, "llama-3-8b-support/"))
        llama.grant_invoke(function)
        function.add_environment("MODEL_ID", llama.model_arn)
    """

    @refusal_leaves_nothing
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
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        completion: Completion | None = None,
        job_tags: Mapping[str, str] | None = None,
        imported_model_tags: Mapping[str, str] | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        provider: CustomizationProvider | None = None,
    ) -> None:
        """
        :param model_data: the S3 folder (a prefix ending in ``/``) of the weights: ``config.json``, the tokenizer
            files and ``.safetensors`` weights. A local folder (``S3Data.from_local_folder``) is checked as
            ``validate-weights`` checks it, at synth, and uploaded before the import starts.
        :param job_name: @default generated from the stack and construct, new for each replacement
        :param imported_model_name: @default generated like job_name
        :param role: the service role Bedrock assumes to read the weights and use the key. @default a role granted
            exactly that
        :param kms_key: encrypts the imported model. @default an AWS owned key
        :param vpc: runs the import job in this VPC (it reads the weights through it). @default no VPC
        :param vpc_subnets: subnets of ``vpc``. @default the VPC's private subnets
        :param security_groups: security groups in ``vpc``. @default one new group, outbound only
        :param completion: how the deployment waits for the import. @default Completion.event_driven(): up to
            12 hours, checked every few minutes. Completion.polling() polls from the provider, up to 1 hour
        :param job_tags: tags of the import job. @default none (besides the stack's tags and ``Tags.of``'s)
        :param imported_model_tags: tags of the imported model. @default none (besides the stack's tags and
            ``Tags.of``'s)
        :param removal_policy: what deleting or replacing the resource does to the model. @default RETAIN: an
            imported model is data
        :param provider: @default the stack's shared ``CustomizationProvider.of(stack)``
        """
        check_prop_types(ImportedModel.__init__, locals())  # before anything is made
        kms_key = checked_kms_key(scope, kms_key)  # IAM names a key, never its alias
        super().__init__(scope, construct_id)
        family = _check_weights(model_data.local_folder) if model_data.local_folder is not None else None
        _warn_where_import_is_undocumented(self, family)
        self.provider = provider or CustomizationProvider.of(scope)
        self.completion = completion or DEFAULT_COMPLETION
        use = self.provider.use(scope)
        subnets, groups = network(self, vpc, vpc_subnets, security_groups)
        own_role = self._create_service_role(model_data, kms_key, subnets, groups) if role is None else None
        role_arn = str(self._use_role(role, own_role, JOB_KIND))
        grantee = key_grantee(self, role) if kms_key is not None else None
        properties = _requests.model_import(
            model_data=model_data.uri,
            role=role_arn,
            job_name=job_name,
            imported_model_name=imported_model_name,
            kms_key=kms_key.key_arn if kms_key else None,
            vpc_config=vpc_config(subnets, groups),
            completion=self.completion.wait_until(RESOURCE_TYPE),
            model_data_digest=_uploaded_digest(model_data),
        )
        properties = keyed_for_waiting(self.completion, use.stack, properties, RESOURCE_TYPE)
        self._own_tags = {"jobTags": dict(job_tags or {}), "importedModelTags": dict(imported_model_tags or {})}
        self.resource = custom_resource(
            self,
            self.provider,
            RESOURCE_TYPE,
            properties,
            self._own_tags,
            removal_policy,
            # Bedrock checks the role's access when the job starts: a given role's key grant must exist first; and
            # the weights of a local folder must have been uploaded.
            dependencies=[
                *([grantee] if grantee is not None else []),
                *([model_data.uploaded_by] if model_data.uploaded_by is not None else []),
            ],
            use=use,
        )
        use.grants.allow(RESOURCE_TYPE, role_arn=role_arn, own_role=role is None)
        # Where the completed import's attributes come from (None: nowhere, the deployment does not wait).
        self._completed, end = await_job(
            self, self.completion, self.resource, RESOURCE_TYPE, properties, self.provider, use
        )
        use.jobs.order("model-import", self.resource, end, limit=CONCURRENT_IMPORTS)
        use_model_key(self, kms_key, removal_policy, use.handler, *([] if grantee is None else [grantee]))
        self.kms_key = kms_key

    @property
    def role(self) -> iam.IRole:
        """The service role Bedrock assumes. For a role this construct made, what you grant it goes in a policy
        of its own, which the import waits for."""
        return cast(iam.IRole, self._service_role)

    @property
    def _invocation_key(self) -> kms.IKey | None:
        return self.kms_key

    @property
    def model_arn(self) -> str:
        """The imported model's ARN, once the import has completed: the ``modelId`` to invoke it with."""
        return self._completed_attribute("importedModelArn")

    @property
    def model_name(self) -> str:
        """The imported model's name (the ``imported_model_name`` given, or the one generated), once the import has
        completed; refused with ``Completion.no_wait()``."""
        return self._completed_attribute("importedModelName")

    @property
    def model_architecture(self) -> str:
        """The architecture Bedrock read from the weights' config.json (GetImportedModel's modelArchitecture)."""
        return self._completed_attribute("modelArchitecture")

    @property
    def instruct_supported(self) -> str:
        """``true`` or ``false``: whether the model supports instructions (GetImportedModel's instructSupported)."""
        return self._completed_attribute("instructSupported")

    @property
    def custom_model_units_per_model_copy(self) -> str:
        """The custom model units one copy of the model takes, which its on-demand price follows."""
        return self._completed_attribute("customModelUnitsPerModelCopy")

    @staticmethod
    def from_imported_model_arn(scope: Construct, construct_id: str, imported_model_arn: str) -> ImportedModelBase:
        """A model imported elsewhere (another stack, account or Region), by its ARN: to invoke and grant.

        :param imported_model_arn: the imported model's ARN
            (``arn:aws:bedrock:<region>:<account>:imported-model/<id>``), checked against the service model's
            ImportedModelArn shape (a token is checked at deploy time)
        """
        arn = checked_value(imported_model_arn, "ImportedModelArn", "imported_model_arn")
        return ImportedModelBase(scope, construct_id, model_arn=arn)

    @staticmethod
    def from_imported_model_name(scope: Construct, construct_id: str, imported_model_name: str) -> ImportedModelBase:
        """A model imported elsewhere in this account and Region, by name: its ARN ends in an id that Bedrock
        generates, so it is looked up at deploy time (GetImportedModel).

        :param imported_model_name: the imported model's name, checked against the service model's
            ImportedModelName shape (a token is checked at deploy time)
        """
        checked_value(imported_model_name, "ImportedModelName", "imported_model_name")
        model = ImportedModelBase(scope, construct_id, model_arn="")
        model._referenced_arn = arn_by_name(model, "GetImportedModel", imported_model_name, "imported-model")
        return model

    def _create_service_role(
        self,
        model_data: S3Data,
        kms_key: kms.IKey | None,
        subnets: Sequence[ec2.ISubnet],
        security_groups: Sequence[ec2.ISecurityGroup],
    ) -> OwnRole:
        """A role that Bedrock may assume for this account's import jobs, which reads exactly the weights' prefix,
        uses the key, and runs the job in the VPC."""
        grants = Grants()
        stack = cdk.Stack.of(self)
        prefixes = model_data.allow_read(self, grants, folder=True)
        if kms_key is not None:
            allow_model_key(grants, kms_key.key_arn)
        findings: list[Finding] = []
        if subnets:
            findings.append(allow_vpc_access(stack, subnets, security_groups, grants, JOB_KIND))
        role = OwnRole(self, stack, JOB_KIND, "Assumed by Bedrock to import a model's weights", grants)
        if prefixes:
            findings.append(
                ("IAM5", "Bedrock reads every file of the weights' folder.", wildcard_resources(stack, prefixes))
            )
        if findings:
            acknowledge(role.resource, *findings)
        return role


def _check_weights(folder: str) -> str:
    """A local folder of weights is checked as validate-weights checks it, before anything is uploaded or paid for;
    its architecture's family."""
    try:
        return validate_weights(folder).family
    except WeightsError as error:
        raise ValueError("model_data: the weights are not ones Custom Model Import takes:\n" + str(error)) from None


def _uploaded_digest(model_data: S3Data) -> str | None:
    """The digest of the weights the stack uploads under model_data (None: weights it does not upload)."""
    if model_data.uploaded_by is None:
        return None
    from ._uploads import uploaded_digest  # loads aws_s3_deployment only when a folder is uploaded

    return uploaded_digest(model_data.uploaded_by)


def _warn_where_import_is_undocumented(model: Construct, family: str | None) -> None:
    """A warning when the stack's Region is not among those the user guide documents custom model import for (of the
    weights' architecture family, where a local folder tells it): CreateModelImportJob may be refused there, once the
    weights are uploaded."""
    region = cdk.Stack.of(model).region
    regions = IMPORT_REGIONS_BY_FAMILY.get(family or "", IMPORT_REGIONS)
    if not is_unresolved(region) and region not in regions:
        of_family = f" of {family} models" if family in IMPORT_REGIONS_BY_FAMILY else ""
        cdk.Annotations.of(model).add_warning_v2(
            IMPORT_REGION_WARNING_ID,
            f"Custom model import{of_family} is documented for the Regions {', '.join(regions)}, not {region} (Bedrock "
            'user guide, "Use Custom model import to import a customized open-source model into Amazon Bedrock"): '
            "CreateModelImportJob may be refused when the stack deploys, after the weights are uploaded.",
        )
