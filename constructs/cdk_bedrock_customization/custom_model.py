"""CustomModel: a Bedrock model customization job, created and awaited at deploy time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import aws_cdk as cdk
import jsii
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from bedrock_custom_resource import contract

from constructs import Construct

from . import _requests
from ._hyper_parameters import hyper_parameter_warnings
from ._local_datasets import ship_local_datasets
from ._nag import Finding, acknowledge, wildcard_resources
from ._network import allow_vpc_access, network, vpc_config
from ._prop_types import check_prop_types
from ._regions import refuse_another_partition, refuse_another_region
from ._resource import (
    SOURCE_MODEL_KEY_ACTIONS,
    AwaitedJob,
    Grants,
    OwnRole,
    ServiceRoleUser,
    TaggedResource,
    allow_model_key,
    attribute_string,
    checked_kms_key,
    custom_resource,
    grant_key,
    key_grantee,
    refusal_leaves_nothing,
    use_model_key,
)
from ._tokens import attribute, is_unresolved, with_names_resolved
from .completion import DEFAULT_COMPLETION, Completion, await_job, keyed_for_waiting
from .datasets import SUPPORTED_URL, DatasetError, format_rule
from .inputs import _PROFILE_ID, Customization, InvocationLogs, S3Data
from .models_file import _show
from .provider import CustomizationProvider, StackUse
from .serving import CustomModelBase, ExistingCustomModel

RESOURCE_TYPE = contract.CUSTOMIZATION_JOB
# What Bedrock assumes the service role for (model-customization-iam-role.html: its aws:SourceArn).
JOB_KIND = "model-customization-job"
BASE_MODEL_WARNING_ID = "cdk-bedrock-customization:baseModelUnknown"
HYPER_PARAMETER_WARNING_ID = "cdk-bedrock-customization:hyperParameterUndocumented"
DISTILLATION_WARNING_ID = "cdk-bedrock-customization:distillationPairUndocumented"
DISTILLATION_PAIRS_URL = "https://docs.aws.amazon.com/bedrock/latest/userguide/prequisites-model-distillation.html"
# That page's "Supported models and Regions for Amazon Bedrock Model Distillation": each teacher's students (by id, of
# any context variant), the Region the job runs in, and how the teacher is named ("Inference profile support": by
# profile, by model id, or either). It lists no Anthropic pair: "Distillation is not currently available for Anthropic
# models on Amazon Bedrock". AWS may add pairs, so another is a warning, not a refusal.
BY_PROFILE, BY_MODEL_ID, EITHER = "Inference profile only", "On demand", "Both"
_NOVA_STUDENTS = ("amazon.nova-lite-v1:0", "amazon.nova-micro-v1:0")
_SMALL_LLAMAS = ("meta.llama3-1-8b-instruct-v1:0", "meta.llama3-2-1b-instruct-v1:0", "meta.llama3-2-3b-instruct-v1:0")
DISTILLATION_PAIRS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "amazon.nova-pro-v1:0": (_NOVA_STUDENTS, "us-east-1", EITHER),
    "amazon.nova-premier-v1:0": ((*_NOVA_STUDENTS, "amazon.nova-pro-v1:0"), "us-east-1", BY_PROFILE),
    "meta.llama3-1-405b-instruct-v1:0": (
        (
            "meta.llama3-1-8b-instruct-v1:0",
            "meta.llama3-1-70b-instruct-v1:0",
            "meta.llama3-2-1b-instruct-v1:0",
            "meta.llama3-3-70b-instruct-v1:0",
        ),
        "us-west-2",
        BY_MODEL_ID,
    ),
    "meta.llama3-1-70b-instruct-v1:0": (_SMALL_LLAMAS, "us-west-2", EITHER),
    "meta.llama3-3-70b-instruct-v1:0": (_SMALL_LLAMAS, "us-west-2", BY_PROFILE),
}
_Resource = cdk.CfnResource | None


@jsii.implements(cdk.ITaggable)
class CustomModel(TaggedResource, ServiceRoleUser, AwaitedJob, CustomModelBase):
    """A custom model trained by a Bedrock model customization job.

    ``cdk deploy`` starts the job and waits for it; ``output_model_arn`` is then available to the
    rest of the stack. ``Tags.of(...)`` reaches both the job and the model. ``add_deployment`` and
    ``add_provisioned_throughput`` serve the model.

    Example::

        support = CustomModel(
            self, "SupportAssistant",
            base_model="amazon.nova-micro-v1:0:128k",
            training_data=S3Data.from_bucket(bucket, "support/train.jsonl"),
            output_data=S3Data.from_bucket(bucket, "support/output/"),
            hyper_parameters={"epochCount": 2, "learningRate": "0.00001"},
        )
        support.add_deployment("OnDemand").grant_invoke(function)
    """

    @refusal_leaves_nothing
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        base_model: str | bedrock.IModel | CustomModelBase,
        training_data: S3Data | InvocationLogs,
        output_data: S3Data,
        customization: Customization | None = None,
        completion: Completion | None = None,
        validation_data: Sequence[S3Data] | None = None,
        hyper_parameters: Mapping[str, str | int | float] | None = None,
        job_name: str | None = None,
        custom_model_name: str | None = None,
        role: iam.IRole | None = None,
        kms_key: kms.IKey | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        job_tags: Mapping[str, str] | None = None,
        custom_model_tags: Mapping[str, str] | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        provider: CustomizationProvider | None = None,
    ) -> None:
        """
        :param base_model: the model to customize: a model id (``amazon.nova-micro-v1:0:128k``), a
            foundation or custom model ARN, an ``aws_bedrock.FoundationModel``, or a custom model to train further.
        :param training_data: an S3 object (or prefix), a local file (``S3Data.from_local_file``: validated at synth
            against the base model's format and shipped as an asset), or invocation logs for distillation.
        :param output_data: the S3 prefix where Bedrock writes the job's metrics.
        :param customization: the kind of customization; the service role that the construct creates may invoke
            a distillation teacher and a reinforcement fine-tuning grader. @default Customization.fine_tuning()
        :param completion: how the deployment waits for the job. @default Completion.event_driven(): up to
            12 hours, so that multi-hour jobs deploy
        :param validation_data: validation datasets, in S3 or local files (``S3Data.from_local_file``). @default none
        :param hyper_parameters: the base model's hyperparameters, e.g. ``{"epochCount": 2}``; one that the user
            guide's page for the base model does not document (name, type, range) is a synth warning. @default Bedrock's
        :param job_name: @default generated from the stack and construct, new for each replacement
        :param custom_model_name: @default generated like job_name
        :param role: the service role Bedrock assumes. @default a role granted exactly what the job needs
        :param kms_key: encrypts the custom model. @default an AWS owned key
        :param vpc: runs the job in this VPC. @default no VPC
        :param vpc_subnets: subnets of ``vpc``. @default the VPC's private subnets
        :param security_groups: security groups in ``vpc``. @default one new group, outbound only
        :param job_tags: tags of the job. @default none (besides the stack's tags and ``Tags.of``'s)
        :param custom_model_tags: tags of the model. @default none (besides the stack's tags and ``Tags.of``'s)
        :param removal_policy: what deleting or replacing the resource does to the model. @default RETAIN
        :param provider: @default the stack's shared ``CustomizationProvider.of(stack)``
        """
        check_prop_types(CustomModel.__init__, locals())  # before anything is made
        kms_key = checked_kms_key(scope, kms_key)  # IAM names a key, never its alias
        customization = customization or Customization.fine_tuning()
        hyper_parameters = with_names_resolved(scope, hyper_parameters or {}, "hyper_parameters")
        base_model_id = base_model if isinstance(base_model, str) else base_model.model_arn
        _refuse_models_bedrock_would_not_take(scope, base_model_id, customization, base_model)
        super().__init__(scope, construct_id)
        self.kms_key = kms_key
        #: The foundation model this model customizes, through the models it continues training.
        self.foundation_model: str = (
            base_model.foundation_model if isinstance(base_model, CustomModel) else base_model_id
        )
        training_data, validation_data = ship_local_datasets(
            self, self.foundation_model, customization.customization_type, training_data, validation_data or []
        )
        self.completion = completion or DEFAULT_COMPLETION
        self.provider = provider or CustomizationProvider.of(scope)
        use = self.provider.use(scope)  # the model's stack is its scope's: usually the stack, looked up once
        self._stack = use.stack
        self._subnets, self._security_groups = network(self, vpc, vpc_subnets, security_groups)
        own_role: OwnRole | None = None
        if role is None:
            own_role = self._create_service_role(training_data, output_data, validation_data, customization, base_model)
        role_arn = str(self._use_role(role, own_role, JOB_KIND))
        properties = _requests.job(
            base_model=base_model_id,
            customization=(customization.customization_type, customization.config),
            role=role_arn,
            training_data=_training_data(self, training_data),
            output_data=output_data.uri,
            validation_data=[data.uri for data in validation_data or []],
            hyper_parameters=hyper_parameters,
            job_name=job_name,
            custom_model_name=custom_model_name,
            kms_key=kms_key.key_arn if kms_key else None,
            vpc_config=vpc_config(self._subnets, self._security_groups),
            completion=self.completion.wait_until(RESOURCE_TYPE),
        )
        _warn_of_what_bedrock_may_refuse(self, base_model_id, properties, hyper_parameters)
        properties = keyed_for_waiting(self.completion, use.stack, properties, RESOURCE_TYPE)
        self._own_tags = {"jobTags": dict(job_tags or {}), "customModelTags": dict(custom_model_tags or {})}
        self.resource = custom_resource(
            self,
            self.provider,
            RESOURCE_TYPE,
            properties,
            self._own_tags,
            removal_policy,
            use=use,
        )
        self._allow_handler(use, customization, base_model_id, role_arn, own_role=role is None)
        self._let_given_role_read([training_data, *validation_data], self.resource)
        # Where the completed job's attributes come from (None: nowhere, the deployment does not wait).
        self._completed, end = await_job(
            self, self.completion, self.resource, RESOURCE_TYPE, properties, self.provider, use
        )
        use.jobs.order("job", self.resource, end)
        _use_keys(self, use, role, removal_policy, _model_key(base_model))

    def _allow_handler(
        self, use: StackUse, customization: Customization, base_model_id: str, role_arn: str, own_role: bool
    ) -> None:
        """The handler may create the job from its base model and, for a distillation, its teacher (the request
        names it too), passing its role."""
        use.grants.allow(RESOURCE_TYPE, base_model_id, role_arn, own_role=own_role)
        teacher = customization.teacher_model(self)
        if teacher is not None:
            use.grants.allow(RESOURCE_TYPE, teacher)

    @property
    def role(self) -> iam.IRole:
        """The service role Bedrock assumes. For a role this construct made, what you grant it goes in a policy
        of its own, which the job waits for."""
        return cast(iam.IRole, self._service_role)

    @staticmethod
    def from_custom_model_arn(scope: Construct, construct_id: str, model_arn: str) -> CustomModelBase:
        """A custom model that exists already, by ARN, to deploy or provision.

        :param model_arn: the custom model's ARN (``arn:aws:bedrock:<region>:<account>:custom-model/...``), checked
            against the service model's CustomModelArn shape (a token is checked at deploy time)
        """
        return ExistingCustomModel.from_arn(scope, construct_id, model_arn)

    @staticmethod
    def from_custom_model_name(scope: Construct, construct_id: str, model_name: str) -> CustomModelBase:
        """A custom model that exists already, by name. Its ARN is looked up at deploy time (GetCustomModel).

        :param model_name: the custom model's name in this account and Region, checked against the service model's
            CustomModelName shape (a token is checked at deploy time)
        """
        return ExistingCustomModel.from_name(scope, construct_id, model_name)

    @property
    def output_model_arn(self) -> str:
        """The ARN of the custom model, once the job has completed."""
        return self._completed_attribute("outputModelArn")

    @property
    def model_arn(self) -> str:
        """The same as ``output_model_arn``."""
        return self.output_model_arn

    @property
    def output_model_name(self) -> str:
        """The custom model's name (the ``custom_model_name`` given, or the one generated), once the job has
        completed; refused with ``Completion.no_wait()``."""
        return self._completed_attribute("outputModelName")

    @property
    def job_name(self) -> str:
        """The customization job's name (the ``job_name`` given, or the one generated), known at deploy time."""
        return attribute_string(self.resource, "jobName")

    def _create_service_role(
        self,
        training_data: S3Data | InvocationLogs,
        output_data: S3Data,
        validation_data: Sequence[S3Data],
        customization: Customization,
        base_model: str | bedrock.IModel | CustomModelBase,
    ) -> OwnRole:
        """A role granted exactly what the job needs."""
        grants = Grants()
        if isinstance(training_data, S3Data):
            prefixes = training_data.allow_read(self, grants)
        else:  # a prefix, with or without its final /: Bedrock reads the log files under it
            prefixes = training_data.source.allow_read(self, grants, folder=True)
        prefixes += [arn for source in validation_data for arn in source.allow_read(self, grants)]
        prefixes += output_data.allow_output(self, grants)
        if customization.grader is not None:
            # Exactly the function (or version or alias) the job names: Lambda's grant_invoke would add every
            # version and alias (<function ARN>:*).
            grants.allow(["lambda:InvokeFunction"], [customization.grader.function_arn])
        teacher_models = customization.allow_teacher(self, grants)
        vpc_finding = (
            allow_vpc_access(self._stack, self._subnets, self._security_groups, grants, JOB_KIND)
            if self._subnets
            else None
        )
        if self.kms_key is not None:
            allow_model_key(grants, self.kms_key.key_arn)
        base_key = _model_key(base_model)
        if base_key is not None:  # the model it trains further is read with its key, as a copy's source is
            grants.allow(SOURCE_MODEL_KEY_ACTIONS, [base_key.key_arn])
        role = OwnRole(self, self._stack, JOB_KIND, "Assumed by Bedrock to run a customization job", grants)
        findings: list[Finding] = []
        if teacher_models:
            findings.append(
                (
                    "IAM5",
                    "A cross-Region inference profile routes to its model in Regions that depend on the model: the "
                    "teacher model is granted in every Region, only through this job's inference profile.",
                    wildcard_resources(self._stack, teacher_models),
                )
            )
        if vpc_finding is not None:
            findings.append(vpc_finding)
        if prefixes:
            findings.append(
                (
                    "IAM5",
                    "Bedrock reads every object under a data prefix and writes its output under the output "
                    "prefix: the grant covers exactly those prefixes.",
                    wildcard_resources(self._stack, prefixes),
                )
            )
        if findings:
            acknowledge(role.resource, *findings)
        return role


def _training_data(scope: Construct, training_data: S3Data | InvocationLogs) -> dict[str, Any]:
    if isinstance(training_data, S3Data):
        return _requests.s3_data(training_data.uri)
    filters = training_data.request_metadata_filters
    return _requests.invocation_logs(
        training_data.source.uri,
        training_data.use_prompt_response,
        _metadata_keys_resolved(scope, filters.render()) if filters else None,
    )


def _metadata_keys_resolved(scope: Construct, rendered: Mapping[str, Any]) -> dict[str, Any]:
    """Request metadata filters with each key that is a token resolved, or refused naming the prop (the CDK's own
    error for a map key that is not a string at synth names neither)."""
    return {
        kind: [_metadata_keys_resolved(scope, base) for base in value]
        if isinstance(value, list)  # andAll, orAll
        else with_names_resolved(scope, value, "request_metadata_filters")
        for kind, value in rendered.items()
    }


def _model_key(model: str | bedrock.IModel | CustomModelBase) -> kms.IKey | None:
    """The key that encrypts a model this app made (None: an AWS owned key, or a model it did not make)."""
    return model.kms_key if isinstance(model, CustomModelBase) else None


def _use_keys(
    model: CustomModel,
    use: StackUse,
    role: iam.IRole | None,
    removal_policy: cdk.RemovalPolicy,
    base_key: kms.IKey | None,
) -> None:
    """The handler, and a role given, may use the model's key, and read the model it trains further with that
    model's key, as a copy reads its source (SOURCE_MODEL_KEY_ACTIONS). Bedrock checks a given role's access as the
    job starts, so the job waits for its grants (a role made here has its grants inline)."""
    grantee = key_grantee(model, role) if model.kms_key or base_key else None
    principals = [use.handler, *([] if grantee is None else [grantee])]
    use_model_key(model, model.kms_key, removal_policy, *principals)
    if base_key is not None:
        grant_key(base_key, SOURCE_MODEL_KEY_ACTIONS, *principals)
    if grantee is not None:
        model.resource.node.add_dependency(grantee)


def _refuse_models_bedrock_would_not_take(
    scope: Construct, base_model: str, customization: Customization, given: object = None
) -> None:
    """A job customizes a model, named by its id or ARN (given as it was), of its own Region, distilled from a teacher
    of that Region, graded by a function of its partition."""
    teacher = customization.teacher
    if customization.grader is not None:
        grader_arn = str(attribute(customization.grader, "function_arn"))
        refuse_another_partition(scope, "customization", grader_arn, "a grader function")
    if not is_unresolved(base_model) and not _requests.names_a_model(base_model):
        raise ValueError(
            f"base_model: {base_model!r} is neither a foundation model id (such as amazon.nova-micro-v1:0:128k) "
            "nor a model ARN; give a custom model as CustomModel.from_custom_model_arn(...) or a CustomModel"
        )
    remedy = "Bedrock customizes a model in its own Region; copy a custom model here (CopiedCustomModel)"
    refuse_another_region(scope, "base_model", base_model, "a model", remedy, given)
    if teacher is not None:
        remedy = "a distillation job invokes its teacher in its own Region; give a model or profile of this Region"
        refuse_another_region(scope, "teacher_model", teacher, "a model", remedy)


# Models the user guide lists as fine-tunable (custom-model-supported.html) whose datasets (images, embeddings) have
# no rules here: their ids are known all the same.
FINE_TUNED_WITHOUT_DATASET_RULES = ("amazon.nova-canvas-", "amazon.titan-image-generator-", "amazon.titan-embed-image-")


def _warn_of_a_base_model_not_known(model: Construct, base_model: str, customization_type: str) -> None:
    """A warning when a model id is of no family the dataset rules know for the customization type: a typo, or a
    model Bedrock does not customize so, which only the deploy would tell. A newer model may be missing from the
    rules, so this is no refusal (a local dataset, which needs the rules, is refused by them)."""
    if is_unresolved(base_model) or base_model.startswith("arn:"):
        return  # not a plain id: a token, or an ARN (a custom model's: its own job took its base model)
    if customization_type == "FINE_TUNING" and base_model.startswith(FINE_TUNED_WITHOUT_DATASET_RULES):
        return
    try:
        format_rule(base_model, customization_type)
    except DatasetError:
        cdk.Annotations.of(model).add_warning_v2(
            BASE_MODEL_WARNING_ID,
            f"base_model: {base_model!r} is not a model this library knows Bedrock to customize with "
            f"{customization_type} ({SUPPORTED_URL}): the id may be wrong, or newer than this library. If Bedrock "
            "does not customize it so, it refuses the job when the stack deploys.",
        )


def _warn_of_what_bedrock_may_refuse(
    model: CustomModel, base_model: str, request: Mapping[str, Any], hyper_parameters: Mapping[str, Any]
) -> None:
    """Warnings of what the user guide does not document: the base model for the customization, the hyperparameters
    (as given, and as the request sends them) for the base model."""
    _warn_of_a_base_model_not_known(model, base_model, request["customizationType"])
    _warn_of_undocumented_hyper_parameters(model, request, hyper_parameters)
    teacher = request.get("customizationConfig", {}).get("distillationConfig", {}).get("teacherModelConfig", {})
    if "teacherModelIdentifier" in teacher:
        _warn_of_an_undocumented_distillation(model, base_model, teacher["teacherModelIdentifier"])


def _warn_of_an_undocumented_distillation(model: Construct, student: str, teacher: str) -> None:
    """A warning when the user guide's table of distillation models has no such teacher, does not pair it with the
    student (the base model), runs it in another Region than the stack's, or has it named otherwise (by profile or by
    model id only). Only what names a model id is looked at: a foundation model's id or ARN, a cross-Region profile's
    (its model's); not a token or an application profile."""
    named = _foundation_model_id(teacher)
    if named is None or is_unresolved(student) or student.startswith("arn:"):
        return
    teacher_id, by_profile = named
    pair = next((pair for name, pair in DISTILLATION_PAIRS.items() if teacher_id.startswith(name)), None)
    region = cdk.Stack.of(model).region
    if pair is None:
        problem = f"teacher_model: {teacher_id} is no teacher of the user guide's table of distillation models"
    elif not student.startswith(pair[0]):
        problem = f"base_model: {student} is not among the students the user guide pairs with the teacher {teacher_id}"
    elif not is_unresolved(region) and region != pair[1]:
        problem = f"the user guide's table runs distillation from {teacher_id} in {pair[1]}, not {region}"
    elif pair[2] == (BY_MODEL_ID if by_profile else BY_PROFILE):
        given = "a cross-Region inference profile" if by_profile else "its model id"
        problem = f"teacher_model: {teacher} names {teacher_id} by {given}; the user guide's table has it {pair[2]!r}"
    else:
        return
    cdk.Annotations.of(model).add_warning_v2(
        DISTILLATION_WARNING_ID,
        f"{problem} ({DISTILLATION_PAIRS_URL}): Bedrock may refuse the job when the stack deploys.",
    )


def _foundation_model_id(identifier: str) -> tuple[str, bool] | None:
    """The foundation model id a model identifier names, and whether through a cross-Region profile; or None. An id,
    a foundation model's ARN (aws_bedrock's FoundationModel too, whose ARN has tokens but ends in the id), a
    cross-Region profile's id or ARN."""
    for resource in ("foundation-model/", "inference-profile/"):
        if resource in identifier:
            identifier = identifier.rsplit(resource, 1)[1]
    if identifier.startswith("arn:") or is_unresolved(identifier):
        return None
    profile = _PROFILE_ID.fullmatch(identifier)
    return (profile["model"], True) if profile else (identifier, False)


MAX_HYPER_PARAMETER_WARNINGS = 20  # one by one; any more in one warning


def _warn_of_undocumented_hyper_parameters(
    model: CustomModel, request: Mapping[str, Any], hyper_parameters: Mapping[str, Any]
) -> None:
    """A warning for each hyperparameter of the job's request that the user guide's table for the foundation model
    does not take (a typo, a value out of range), which Bedrock would refuse when the stack deploys. No refusal: the
    pages can disagree or lag behind Bedrock, and some quotas can be raised."""
    sent = {
        name: text
        for name, text in (request.get("hyperParameters") or {}).items()
        if not is_unresolved(hyper_parameters.get(name))  # a number token's text reads as a number
    }
    warnings = list(hyper_parameter_warnings(model.foundation_model, request["customizationType"], sent, is_unresolved))
    for name, message in warnings[:MAX_HYPER_PARAMETER_WARNINGS]:
        where = "hyper_parameters" if name is None else f"hyper_parameters[{_show(name)}]"
        cdk.Annotations.of(model).add_warning_v2(
            HYPER_PARAMETER_WARNING_ID, f"{where}: {message}. Bedrock may refuse the job when the stack deploys."
        )
    # Each warning costs a scan of the construct's earlier ones (aws-cdk-lib's Annotations): the rest go into one.
    rest = warnings[MAX_HYPER_PARAMETER_WARNINGS:]
    if rest:
        names = ", ".join(_show(name) for name, _ in rest[:MAX_HYPER_PARAMETER_WARNINGS] if name is not None)
        cdk.Annotations.of(model).add_warning_v2(
            HYPER_PARAMETER_WARNING_ID,
            f"hyper_parameters: {len(rest)} more warnings like these, of {names}"
            f"{', ...' if len(rest) > MAX_HYPER_PARAMETER_WARNINGS else ''}.",
        )
