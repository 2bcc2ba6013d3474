"""The contract between resource properties and Bedrock requests.

Pure: no CDK and no network. The construct calls it at synth time for early errors (skipping
unresolved tokens); the handler calls it at deploy time, for templates written by hand.
Every rule about types, required members, enums, patterns, lengths and tagged unions comes from
the Bedrock service model shipped in botocore_data/, the same file the deployed handler's boto3 uses.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from botocore.loaders import Loader
from botocore.model import ServiceModel, Shape

from . import cr_types, evaluation_scores, patterns

SERVICE_DATA_PATH = Path(__file__).parent / "botocore_data"

CUSTOMIZATION_JOB = "Custom::BedrockModelCustomizationJob"
CUSTOM_MODEL = "Custom::BedrockCustomModel"
MODEL_DEPLOYMENT = "Custom::BedrockCustomModelDeployment"
PROVISIONED_THROUGHPUT = "Custom::BedrockProvisionedModelThroughput"
JOB_RESULT = "Custom::BedrockModelCustomizationJobResult"
MODEL_IMPORT = "Custom::BedrockImportedModel"
IMPORT_RESULT = "Custom::BedrockModelImportJobResult"
MODEL_COPY = "Custom::BedrockCopiedCustomModel"
COPY_RESULT = "Custom::BedrockModelCopyJobResult"
MODEL_EVALUATION = "Custom::BedrockModelEvaluationJob"
EVALUATION_GATE = "Custom::BedrockModelEvaluationGate"

# The handler's own tags, on the resource's own tags (a type's first tag member).
# The configuration a resource was created with (configuration_fingerprint).
FINGERPRINT_TAG = "cdk-bedrock-customization:configuration"
# The stack (its id) whose resource this is: the stack's notifier may read only its jobs.
STACK_TAG = "cdk-bedrock-customization:stack"
# The resource of that stack (its logical id) whose resource this is: a name is adopted only by the resource that
# holds it, or by the same logical id of a later stack of the same name (after RETAIN).
LOGICAL_ID_TAG = "cdk-bedrock-customization:logical-id"
# Where the resource came from: the request that created it ("request:" and its RequestId), or ADOPTED once a
# later request took it (a model retained by an earlier stack, the resource an update's rollback returns to). A
# rollback must not delete what existed before the operation it undoes; a retry of the creating request (the same
# RequestId) is not an adoption.
ORIGIN_TAG = "cdk-bedrock-customization:origin"
ADOPTED = "adopted"
# For a type with members it uses only while running (ResourceContract.used_while_running): the configuration
# without them, which a job keeps whatever role, network or grader it is later given or adopted with. A stack of
# the same name made again (its roles drawn anew) takes the job by it, however many times it is made again.
WHAT_IT_MAKES_TAG = "cdk-bedrock-customization:what-it-makes"
RESERVED_TAGS = (FINGERPRINT_TAG, STACK_TAG, LOGICAL_ID_TAG, ORIGIN_TAG, WHAT_IT_MAKES_TAG)
# A request's TagList holds 200 tags (botocore's model), but Bedrock keeps at most 50 on a resource, those it has
# and those a request adds (the service model's TooManyTagsException: "50 tags per resource"; both checked in
# tests). The resource's own tags leave room for the handler's (ResourceContract.handler_tags).
MAX_TAGS = 200
MAX_TAGS_PER_RESOURCE = 50


class WaitUntil(enum.StrEnum):
    """How far a job resource waits (its handler member waitUntil)."""

    COMPLETED = "Completed"  # until the job completes: polling
    ACCEPTED = "Accepted"  # until Bedrock has accepted it: an event-driven wait follows
    VALIDATED = "Validated"  # until it has passed validation: no wait


WAIT_UNTIL = tuple(value.value for value in WaitUntil)
# Import and copy jobs have no validation step to wait for.
EVENTLESS_WAIT_UNTIL = (WaitUntil.COMPLETED.value, WaitUntil.ACCEPTED.value)
DEFAULT_CUSTOMIZATION_TYPE = "FINE_TUNING"
# The handler member telling the handler the resource's UpdateReplacePolicy, which CloudFormation does not pass: on a
# rollback after CloudFormation cancelled an update in flight, what that update made (whose id CloudFormation never
# learned, so never sends a Delete for) is deleted when it is Delete, as CloudFormation deletes what a failed update
# made; kept otherwise. Every type whose resources the handler names has it.
REPLACE_POLICY = "updateReplacePolicy"
REPLACE_POLICIES = ("Delete", "Retain", "Snapshot")
DEFAULT_REPLACE_POLICY = "Retain"
# A deployment's or throughput's (billed by the hour, and made again by the next update): as CloudFormation's own
# default UpdateReplacePolicy, Delete, so that a template that does not say leaves no second one billed.
SERVING_REPLACE_POLICY = "Delete"
# The handler member marking a DeletionPolicy of RetainExceptOnCreate (RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE), which
# CloudFormation does not pass either: such a resource is kept when replaced, but what a failed operation made of it
# goes, so the rollback of a cancelled update deletes what that update made, as for Delete. Written only then; the
# other values are accepted and change nothing.
DELETION_POLICY = "deletionPolicy"
DELETION_POLICIES = ("Delete", "Retain", "RetainExceptOnCreate", "Snapshot")
DEFAULT_DELETION_POLICY = "Retain"
RETAIN_EXCEPT_ON_CREATE = "RetainExceptOnCreate"
# The handler member of a job that a wait condition waits for (event-driven completion): that wait condition's
# key, which changes with the job's properties as the template gives them. A wait condition waits only when it is
# created, so a replacement of the job under the same key (a value known only at deploy changed) is refused: the
# deployment would not wait for the new job. Empty: no wait condition.
WAIT_CONDITION_KEY = "waitConditionKey"
# Handler members that do not identify what a resource is: a change of one changes nothing that it was made of.
NOT_IDENTIFYING = frozenset({"waitUntil", REPLACE_POLICY, DELETION_POLICY, WAIT_CONDITION_KEY})
# The customizationConfig member that each job type needs (None: it takes none).
CONFIG_MEMBER_FOR_TYPE: dict[str, str | None] = {
    "FINE_TUNING": None,
    "CONTINUED_PRE_TRAINING": None,
    "DISTILLATION": "distillationConfig",
    "REINFORCEMENT_FINE_TUNING": "rftConfig",
}
# CreateCustomModel's two sources: each is a union in the service model, but only one may be given.
MODEL_SOURCES = ("modelSourceConfig", "customModelDataSource")
NAME_MAX_LENGTH = 63
# Values that the user guide's own requests use and the service model's enum lacks (botocore checks no enums, so
# Bedrock decides): its model-as-judge evaluation examples ("model-evaluation-judge-create", "Use built-in metrics")
# send "taskType": "General".
ENUM_EXTENSIONS: dict[str, tuple[str, ...]] = {"EvaluationTaskType": ("General",)}
# Matched in linear time: with re, _DECIMAL takes quadratic time on a long run of digits.
_INTEGER = patterns.compile(r"[+-]?[0-9]+")
_DECIMAL = patterns.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_LONG_PATTERN = 80
_LONG_VALUE = 120
# How deep a shown value's nesting is written out, and how long a property name is shown as it is.
_SHOWN_DEPTH = 4
_LONG_NAME = 64
# An integer of more digits is beyond every bound of the model, and may be beyond what int() and str() convert
# (Python's limit is 4300 digits by default, and may be set as low as 640).
_MAX_DIGITS = 600
_MAX_BITS = 1990  # 2**1990 < 10**600
# InvalidProperties' message in UTF-8, whatever the number of problems: it is logged in full (a CloudWatch log
# event takes 256 KB), and the response's Reason is its beginning (responses.bounded_reason).
MAX_MESSAGE_BYTES = 128 * 1024

IsUnresolved = Callable[[Any], bool]
HandlerMemberCheck = Callable[[Any, IsUnresolved], list[str]]


def _never_unresolved(_value: Any) -> bool:
    return False


def as_cloudformation_sends(value: Any) -> Any:
    """A template's value as CloudFormation passes it to a custom resource: every scalar a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [as_cloudformation_sends(item) for item in value]
    if isinstance(value, dict):
        return {key: as_cloudformation_sends(item) for key, item in value.items()}
    return value


class InvalidProperties(ValueError):
    """Properties that Bedrock would reject; raised before anything is created."""

    def __init__(self, resource_type: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(_listed(f"Invalid properties for {resource_type}: ", problems))


def _listed(heading: str, problems: list[str]) -> str:
    """heading and the problems, as many as fit in MAX_MESSAGE_BYTES, then how many more there are."""
    lines, size = [heading], _size(heading)
    for index, problem in enumerate(problems):
        line = ("; " if index else "") + problem
        left = len(problems) - index - 1
        room = MAX_MESSAGE_BYTES - size - (len(f"; ... and {left} more") if left else 0)
        if _size(line) > room:
            if index:
                return "".join(lines) + f"; ... and {left + 1} more"
            # The first problem alone is too long (never, with the model's names): its beginning.
            line = line.encode(errors="surrogatepass")[: room - 3].decode(errors="ignore") + "..."
        lines.append(line)
        size += _size(line)
    return "".join(lines)


def _size(text: str) -> int:
    return len(text.encode(errors="surrogatepass"))


@functools.cache
def service_model() -> ServiceModel:
    loader = Loader(extra_search_paths=[str(SERVICE_DATA_PATH)], include_default_search_paths=False)
    return ServiceModel(loader.load_service_model("bedrock", "service-2"), "bedrock")


def shape(name: str) -> Shape:
    return service_model().shape_for(name)


@dataclass(frozen=True)
class Managed:
    """What a resource is once created: the resource type its ARN names
    (``arn:<partition>:bedrock:<region>:<account>:<arn_type>/<id>``) and the Bedrock operations that read,
    update and delete (or stop) it. The handler role's grants and the Bedrock stand-in's bookkeeping follow."""

    arn_type: str
    read: str
    # The create request's members that name and tag it (None: it has no name, or cannot be tagged, of its own).
    name_member: str | None = None
    tag_member: str | None = None
    delete: str | None = None
    update: str | None = None
    # What a job of this type makes, managed apart from the job (a customization job's custom model; an import
    # job's imported model). None: it makes nothing but itself.
    made: Managed | None = None


@dataclass(frozen=True)
class ResourceContract:
    """One custom resource type, declared once: how its properties become its Bedrock create request, which
    handler module serves it, what it answers, and where the models file declares it. The handler's dispatch
    (index.HANDLERS), the models file's sections and name fields follow from it."""

    resource_type: str  # its CloudFormation type
    operation: str  # the Bedrock operation that creates it (or, for a reader, reads it)
    managed: Managed
    handler: str  # the module of this package whose on_event and is_complete serve it
    attributes: type  # the TypedDict of its Data (cr_types), what Fn::GetAtt may read
    # Name members the handler generates when a template leaves them out (see generated_name).
    generated_names: tuple[str, ...]
    # Members that name the resource's tags; changing only these is done in place.
    tag_members: tuple[str, ...]
    # The models file's section of entries of this type (None: the file does not declare it).
    file_section: str | None = None
    # Members that an Update changes in place; every other member forces a replacement.
    in_place_members: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    # Properties for the handler itself, not sent to Bedrock, with their allowed values.
    # A handler member's allowed values, or what checks its value (the problems, each as 'path: problem').
    handler_members: Mapping[str, tuple[str, ...] | HandlerMemberCheck] = field(default_factory=dict)
    # The request member naming the model the resource is made from or serves: the handler's create (and an
    # update that changes the model) is granted on that model. None: the create operation has no resource type.
    made_from: str | None = None
    # The operation that lists resources of this type (it has no resource type): the handler lists running jobs to
    # explain a quota refusal, copy jobs to find one by its model's name, and a logical id's resources under its
    # generated names of any configuration (lifecycle.listed_by_name).
    listing: str | None = None
    # Its generated names are lowercase: the name pattern admits no capitals (an evaluation job's).
    lowercase_names: bool = False
    # Handler members that identify its configuration with the request: a change of one replaces the resource.
    fingerprinted_members: tuple[str, ...] = ()
    # The request members it uses only while it runs (a job's role, its network, an RFT job's grader), as dotted
    # paths: once it has made what it makes, a change of those alone is made in place, since a new job would train
    # again; and a create takes this logical id's job that differs only in those (WHAT_IT_MAKES_TAG).
    used_while_running: frozenset[str] = frozenset()
    # Rules that span members, which the service model cannot express.
    cross_member_problems: Callable[[Mapping[str, Any], IsUnresolved], list[str]] = lambda request, is_unresolved: []

    @property
    def handler_tags(self) -> tuple[str, ...]:
        """The tags the handler puts on a resource of this type, among its own tags."""
        return tuple(key for key in RESERVED_TAGS if key != WHAT_IT_MAKES_TAG or self.used_while_running)


# AWS reserves tag keys that start with "aws:", in any case, for its own tags ("Tagging your AWS resources").
RESERVED_TAG_KEY_PATTERN = "^[aA][wW][sS]:"


def reserved_tag_key_problem(key: str) -> str:
    return f"the tag key {key!r} starts with {key[:4]!r}, which AWS reserves for its own tags"


def _reserved_tag_problems(
    resource: ResourceContract, request: Mapping[str, Any], is_unresolved: IsUnresolved, new: bool = True
) -> tuple[list[str], set[str]]:
    """Tags that claim the handler's keys or AWS's, and more tags than a resource keeps (its own tags: with the
    handler's; not new, one more, in the room of WHAT_IT_MAKES_TAG, as before that tag); and the service model's count
    problem that the latter replaces (it names Bedrock's limit too)."""
    problems, superseded = [], set()
    for member in resource.tag_members:
        tags = request.get(member)
        if not isinstance(tags, list):
            continue  # absent, a token, or already reported
        for tag in tags:
            key = tag.get("key") if isinstance(tag, Mapping) else None
            if not isinstance(key, str) or is_unresolved(key):
                continue
            if key in RESERVED_TAGS:
                problems.append(f"{member}: the tag key {key!r} is reserved for cdk-bedrock-customization")
            elif re.match(RESERVED_TAG_KEY_PATTERN, key):
                problems.append(f"{member}: {reserved_tag_key_problem(key)}")
        handler_tags = resource.handler_tags if member == resource.tag_members[0] else ()
        most = MAX_TAGS_PER_RESOURCE - len(handler_tags)
        made_before_what_it_makes = not new and WHAT_IT_MAKES_TAG in handler_tags and len(tags) == most + 1
        if len(tags) > most and not made_before_what_it_makes:
            theirs = (
                f", and {', '.join(map(repr, handler_tags))} are cdk-bedrock-customization's" if handler_tags else ""
            )
            kept = f"Bedrock keeps {MAX_TAGS_PER_RESOURCE} on a resource{theirs}"
            problems.append(f"{member}: {len(tags)} tags; at most {most} ({kept})")
            superseded.add(_count_problem(member, len(tags), "most", MAX_TAGS))
    return problems, superseded


def _customization_config_problems(request: Mapping[str, Any], is_unresolved: IsUnresolved) -> list[str]:
    job_type = request.get("customizationType")
    config = request.get("customizationConfig")
    if is_unresolved(job_type) or is_unresolved(config) or not isinstance(job_type, str):
        return []  # not a string: already reported
    if job_type not in CONFIG_MEMBER_FOR_TYPE:
        allowed = sorted(CONFIG_MEMBER_FOR_TYPE)
        return [f"customizationType: {_show(job_type)} is not a customization job type; use one of {allowed}"]
    needed = CONFIG_MEMBER_FOR_TYPE[job_type]
    given = _sorted_keys(config) if isinstance(config, Mapping) else []
    if needed is None and given:
        return [f"customizationConfig: {job_type} takes no customizationConfig, got {_show(given)}"]
    if needed is not None and given != [needed]:
        return [f"customizationConfig.{needed}: required for {job_type}, got {_show(given) if given else 'none'}"]
    return []


def _one_model_source(request: Mapping[str, Any], _is_unresolved: IsUnresolved) -> list[str]:
    given = [name for name in MODEL_SOURCES if name in request]
    if len(given) != 1:
        return [
            f"modelSourceConfig.s3DataSource.s3Uri or customModelDataSource.modelPackageArnDataSource.modelPackageArn: "
            f"give exactly one model source, got {given or 'none'}"
        ]
    if given == ["modelSourceConfig"] and "roleArn" not in request:
        # The service model's CreateCustomModel.roleArn: "required when you use modelSourceConfig with an Amazon S3
        # data source" (Bedrock reads the artifacts as that role).
        return ["roleArn: required with modelSourceConfig (Bedrock reads the model's S3 artifacts as that role)"]
    return []


def _copyable_source(request: Mapping[str, Any], is_unresolved: IsUnresolved) -> list[str]:
    """Bedrock copies custom models and models shared with the account (copy-model.html), never a foundation model,
    though the service model's pattern takes its ARN."""
    source = request.get("sourceModelArn")
    if isinstance(source, str) and not is_unresolved(source) and ":foundation-model/" in source:
        return [
            f"sourceModelArn: {_show(source)} is a foundation model's ARN; Bedrock copies only custom models (of "
            "another Region, or shared with the account)"
        ]
    return []


# The metric names CreateEvaluationJob takes (EvaluationDatasetMetricConfig.metricNames, as botocore's service model
# documents it): an automatic job's, and a model-as-judge job's built-in ones (this library configures no custom
# metrics).
AUTOMATIC_METRICS = ("Builtin.Accuracy", "Builtin.Robustness", "Builtin.Toxicity")
JUDGE_METRICS = (
    "Builtin.Correctness",
    "Builtin.Completeness",
    "Builtin.Faithfulness",
    "Builtin.Helpfulness",
    "Builtin.Coherence",
    "Builtin.Relevance",
    "Builtin.FollowingInstructions",
    "Builtin.ProfessionalStyleAndTone",
    "Builtin.Harmfulness",
    "Builtin.Stereotyping",
    "Builtin.Refusal",
)


def _evaluation_metric_problems(request: Mapping[str, Any], is_unresolved: IsUnresolved) -> list[str]:
    """Each built-in metric is one of its job's kind: a model-as-judge job (with an evaluator model) or an automatic
    one. A model evaluation's only: a knowledge base evaluation (ragConfigs) has metrics of its own; and with
    customMetricConfig, a name that is not Builtin.* is a custom metric's, which Bedrock checks."""
    config = request.get("evaluationConfig")
    automated = config.get("automated") if isinstance(config, Mapping) else None
    inference = request.get("inferenceConfig")
    if not isinstance(automated, Mapping) or not isinstance(inference, Mapping) or "ragConfigs" in inference:
        return []
    judged = "evaluatorModelConfig" in automated
    allowed, kind = (JUDGE_METRICS, "a model-as-judge job") if judged else (AUTOMATIC_METRICS, "an automatic job")
    problems = []
    configs = automated.get("datasetMetricConfigs")
    for index, metric_config in enumerate(configs if isinstance(configs, list) else []):
        names = metric_config.get("metricNames") if isinstance(metric_config, Mapping) else None
        for position, name in enumerate(names if isinstance(names, list) else []):
            if not isinstance(name, str) or is_unresolved(name):
                continue
            if name not in allowed and (name.startswith("Builtin.") or "customMetricConfig" not in automated):
                problems.append(
                    f"evaluationConfig.automated.datasetMetricConfigs[{index}].metricNames[{position}]: {_show(name)} "
                    f"is not a metric of {kind} ({'with' if judged else 'without'} an evaluator model); use one of "
                    f"{list(allowed)}"
                )
    return problems


def gate_requirement_problems(value: Any, is_unresolved: IsUnresolved = _never_unresolved) -> list[str]:
    """What is wrong with an evaluation gate's requirements: a list of objects, each a metricName (and optionally a
    datasetName), as the service model names them, with exactly one comparison and its finite number."""
    if is_unresolved(value):
        return []
    if not isinstance(value, list):
        return [f"requirements: expected a list, got {_show(value)}"]
    if len(value) > evaluation_scores.MAX_REQUIREMENTS:
        return [f"requirements: {len(value)} requirements; at most {evaluation_scores.MAX_REQUIREMENTS}"]
    problems: list[str] = []
    for index, item in enumerate(value):
        path = f"requirements[{index}]"
        if is_unresolved(item):
            continue
        if not isinstance(item, Mapping):
            problems.append(f"{path}: expected an object, got {_show(item)}")
            continue
        comparisons = evaluation_scores.COMPARISONS
        known = ("metricName", "datasetName", *comparisons)
        for key in item:
            if key not in known:
                problems.append(f"{_join(path, key)}: unknown property; expected one of {sorted(known)}")
        for name, shape_name in (("metricName", "EvaluationMetricName"), ("datasetName", "EvaluationDatasetName")):
            if name in item:
                problems.extend(value_problems(shape_name, item[name], _join(path, name), is_unresolved=is_unresolved))
            elif name == "metricName":
                problems.append(f"{path}.metricName: required")
        given = [name for name in comparisons if name in item]
        if len(given) != 1:
            problems.append(f"{path}: give exactly one of {list(comparisons)}, got {given or 'none'}")
        for name in given:
            if not is_unresolved(item[name]) and _parse_number(item[name], integral=False) is None:
                problems.append(f"{path}.{name}: expected a finite number, got {_show(item[name])}")
    return problems


def _string_problems(name: str, value: Any, is_unresolved: IsUnresolved) -> list[str]:
    if is_unresolved(value) or isinstance(value, str):
        return []
    return [f"{name}: expected a string, got {_show(value)}"]


def _baseline_problems(value: Any, is_unresolved: IsUnresolved) -> list[str]:
    """An evaluation gate's baselineJobIdentifier: empty (no baseline), or an evaluation job's ARN."""
    if value == "":
        return []
    return value_problems("EvaluationJobIdentifier", value, "baselineJobIdentifier", is_unresolved=is_unresolved)


_DECLARED = (
    ResourceContract(
        resource_type=CUSTOMIZATION_JOB,
        operation="CreateModelCustomizationJob",
        managed=Managed(
            "model-customization-job",
            read="GetModelCustomizationJob",
            name_member="jobName",
            tag_member="jobTags",
            delete="StopModelCustomizationJob",
            made=Managed(
                "custom-model",
                read="GetCustomModel",
                name_member="customModelName",
                tag_member="customModelTags",
                delete="DeleteCustomModel",
            ),
        ),
        handler="customization_job",
        attributes=cr_types.JobAttributes,
        generated_names=("jobName", "customModelName"),
        tag_members=("jobTags", "customModelTags"),
        file_section="models",
        defaults={"customizationType": DEFAULT_CUSTOMIZATION_TYPE, "waitUntil": WaitUntil.COMPLETED.value},
        handler_members={"waitUntil": WAIT_UNTIL},
        cross_member_problems=_customization_config_problems,
        made_from="baseModelIdentifier",
        listing="ListModelCustomizationJobs",
        # An RFT job's grader is called while it trains: a grader function of the stack gets a name drawn anew too.
        used_while_running=frozenset(
            {"roleArn", "vpcConfig", "customizationConfig.rftConfig.graderConfig.lambdaGrader.lambdaArn"}
        ),
    ),
    ResourceContract(
        resource_type=CUSTOM_MODEL,
        operation="CreateCustomModel",
        managed=Managed(
            "custom-model",
            read="GetCustomModel",
            name_member="modelName",
            tag_member="modelTags",
            delete="DeleteCustomModel",
        ),
        handler="imported_model",
        attributes=cr_types.ImportedModelAttributes,
        generated_names=("modelName",),
        tag_members=("modelTags",),
        file_section="imported_models",
        cross_member_problems=_one_model_source,
        listing="ListCustomModels",
        used_while_running=frozenset({"roleArn"}),  # the role reads the artifacts while the model is created
    ),
    ResourceContract(
        resource_type=MODEL_DEPLOYMENT,
        operation="CreateCustomModelDeployment",
        managed=Managed(
            "custom-model-deployment",
            read="GetCustomModelDeployment",
            name_member="modelDeploymentName",
            tag_member="tags",
            delete="DeleteCustomModelDeployment",
            update="UpdateCustomModelDeployment",
        ),
        handler="model_deployment",
        attributes=cr_types.DeploymentAttributes,
        generated_names=("modelDeploymentName",),
        tag_members=("tags",),
        file_section="deployments",
        in_place_members=("modelArn",),  # UpdateCustomModelDeployment
        made_from="modelArn",
        defaults={REPLACE_POLICY: SERVING_REPLACE_POLICY},
        listing="ListCustomModelDeployments",
    ),
    ResourceContract(
        resource_type=PROVISIONED_THROUGHPUT,
        operation="CreateProvisionedModelThroughput",
        managed=Managed(
            "provisioned-model",
            read="GetProvisionedModelThroughput",
            name_member="provisionedModelName",
            tag_member="tags",
            delete="DeleteProvisionedModelThroughput",
            update="UpdateProvisionedModelThroughput",
        ),
        handler="provisioned_throughput",
        attributes=cr_types.ThroughputAttributes,
        generated_names=("provisionedModelName",),
        tag_members=("tags",),
        file_section="provisioned_throughput",
        in_place_members=("provisionedModelName", "modelId"),  # UpdateProvisionedModelThroughput
        made_from="modelId",
        defaults={REPLACE_POLICY: SERVING_REPLACE_POLICY},
        # A name changes in place: one kept under another name than a create asks for is found in the list.
        listing="ListProvisionedModelThroughputs",
    ),
    ResourceContract(
        resource_type=MODEL_IMPORT,
        operation="CreateModelImportJob",
        # Import jobs cannot be stopped: a Delete waits for a running one, then deletes what it imported.
        managed=Managed(
            "model-import-job",
            read="GetModelImportJob",
            name_member="jobName",
            tag_member="jobTags",
            made=Managed(
                "imported-model",
                read="GetImportedModel",
                name_member="importedModelName",
                tag_member="importedModelTags",
                delete="DeleteImportedModel",
            ),
        ),
        handler="model_import_job",
        attributes=cr_types.ModelImportAttributes,
        generated_names=("jobName", "importedModelName"),
        tag_members=("jobTags", "importedModelTags"),
        file_section="open_weight_models",
        defaults={"waitUntil": WaitUntil.COMPLETED.value, "modelDataDigest": ""},
        # modelDataDigest: a digest of the weights' content where the stack uploads them (the prefix stays the same
        # while its content changes): new weights are imported by a new job.
        handler_members={
            "waitUntil": EVENTLESS_WAIT_UNTIL,
            "modelDataDigest": lambda value, is_unresolved: _string_problems("modelDataDigest", value, is_unresolved),
        },
        fingerprinted_members=("modelDataDigest",),
        listing="ListModelImportJobs",
        used_while_running=frozenset({"roleArn", "vpcConfig"}),
    ),
    ResourceContract(
        resource_type=MODEL_COPY,
        operation="CreateModelCopyJob",
        # A copy job has no name and no tags of its own, and cannot be stopped: the request names and tags the
        # copied model (its targetModelTags are also on the job's record), and a Delete waits for a running job.
        managed=Managed(
            "model-copy-job",
            read="GetModelCopyJob",
            made=Managed(
                "custom-model",
                read="GetCustomModel",
                name_member="targetModelName",
                tag_member="targetModelTags",
                delete="DeleteCustomModel",
            ),
        ),
        handler="model_copy_job",
        attributes=cr_types.ModelCopyAttributes,
        generated_names=("targetModelName",),
        tag_members=("targetModelTags",),
        file_section="copied_models",
        defaults={"waitUntil": WaitUntil.COMPLETED.value},
        handler_members={"waitUntil": EVENTLESS_WAIT_UNTIL},
        made_from="sourceModelArn",
        listing="ListModelCopyJobs",
        cross_member_problems=_copyable_source,
    ),
    ResourceContract(
        resource_type=MODEL_EVALUATION,
        operation="CreateEvaluationJob",
        # Found by name with ListEvaluationJobs (GetEvaluationJob takes an ARN only); a Delete stops a running job.
        # A job's record and its results stay: a redeploy of the same configuration adopts the completed job.
        managed=Managed(
            "evaluation-job",
            read="GetEvaluationJob",
            name_member="jobName",
            tag_member="jobTags",
            delete="StopEvaluationJob",
        ),
        handler="model_evaluation",
        attributes=cr_types.EvaluationAttributes,
        generated_names=("jobName",),
        tag_members=("jobTags",),
        file_section="evaluations",
        defaults={"waitUntil": WaitUntil.COMPLETED.value, "evaluatedModelArn": ""},
        # evaluatedModelArn: the model that the evaluated identifier serves (a provisioned throughput's, which can
        # change in place): a new one is evaluated by a new job.
        handler_members={
            "waitUntil": EVENTLESS_WAIT_UNTIL,
            "evaluatedModelArn": lambda value, is_unresolved: _string_problems(
                "evaluatedModelArn", value, is_unresolved
            ),
        },
        fingerprinted_members=("evaluatedModelArn",),
        # A stack made again draws its service role anew: its evaluation is the one that ran with the role before.
        used_while_running=frozenset({"roleArn"}),
        cross_member_problems=_evaluation_metric_problems,
        listing="ListEvaluationJobs",
        lowercase_names=True,
    ),
    ResourceContract(
        resource_type=JOB_RESULT,
        operation="GetModelCustomizationJob",
        managed=Managed("model-customization-job", read="GetModelCustomizationJob"),
        handler="job_result",
        attributes=cr_types.JobAttributes,
        generated_names=(),
        tag_members=(),
    ),
    ResourceContract(
        resource_type=IMPORT_RESULT,
        operation="GetModelImportJob",
        managed=Managed("model-import-job", read="GetModelImportJob"),
        handler="job_result",
        attributes=cr_types.ModelImportAttributes,
        generated_names=(),
        tag_members=(),
    ),
    ResourceContract(
        resource_type=COPY_RESULT,
        operation="GetModelCopyJob",
        managed=Managed("model-copy-job", read="GetModelCopyJob"),
        handler="job_result",
        attributes=cr_types.ModelCopyAttributes,
        generated_names=(),
        tag_members=(),
    ),
    ResourceContract(
        resource_type=EVALUATION_GATE,
        operation="GetEvaluationJob",
        managed=Managed("evaluation-job", read="GetEvaluationJob"),
        handler="evaluation_gate",
        attributes=cr_types.GateAttributes,
        generated_names=(),
        tag_members=(),
        defaults={"baselineJobIdentifier": "", "requirements": []},
        handler_members={
            "baselineJobIdentifier": lambda value, is_unresolved: _baseline_problems(value, is_unresolved),
            "requirements": lambda value, is_unresolved: gate_requirement_problems(value, is_unresolved),
        },
    ),
)


def _with_replace_policy(declared: ResourceContract) -> ResourceContract:
    """The declaration, with REPLACE_POLICY and DELETION_POLICY when the handler names its resources (it has
    generated names)."""
    if not declared.generated_names:
        return declared
    return replace(
        declared,
        defaults={
            REPLACE_POLICY: DEFAULT_REPLACE_POLICY,
            DELETION_POLICY: DEFAULT_DELETION_POLICY,
            **declared.defaults,
        },
        handler_members={
            **declared.handler_members,
            REPLACE_POLICY: REPLACE_POLICIES,
            DELETION_POLICY: DELETION_POLICIES,
        },
    )


def _with_wait_condition_key(declared: ResourceContract) -> ResourceContract:
    """The declaration, with WAIT_CONDITION_KEY when it is a job (it has waitUntil)."""
    if "waitUntil" not in declared.handler_members:
        return declared
    return replace(
        declared,
        defaults={**declared.defaults, WAIT_CONDITION_KEY: ""},
        handler_members={
            **declared.handler_members,
            WAIT_CONDITION_KEY: lambda value, is_unresolved: _string_problems(WAIT_CONDITION_KEY, value, is_unresolved),
        },
    )


CONTRACTS: dict[str, ResourceContract] = {
    declared.resource_type: _with_wait_condition_key(_with_replace_policy(declared)) for declared in _DECLARED
}


# CloudFormation's own properties of every custom resource, which it also passes to the provider.
CLOUDFORMATION_PROPERTIES = frozenset({"ServiceToken", "ServiceTimeout"})


def properties_with_defaults(resource_type: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """properties without CloudFormation's own, with the defaults that leaving a member out means."""
    given = {k: v for k, v in properties.items() if k not in CLOUDFORMATION_PROPERTIES}
    return {**CONTRACTS[resource_type].defaults, **given}


def create_request(
    resource_type: str,
    properties: Mapping[str, Any],
    *,
    is_unresolved: IsUnresolved = _never_unresolved,
    new: bool = True,
) -> dict[str, Any]:
    """The request for these properties of resource_type, typed as Bedrock expects.

    Generated names may be absent (see generated_name); clientRequestToken is always derived by the
    handler, so it may not be given. Handler members are checked, and left out of the request. Not new (of a
    resource that may exist): its own tags may fill the room of WHAT_IT_MAKES_TAG, as before that tag.
    """
    resource = CONTRACTS[resource_type]
    if not isinstance(properties, Mapping):
        raise InvalidProperties(resource_type, [f"properties: expected an object, got {_show(properties)}"])
    properties = properties_with_defaults(resource_type, properties)
    problems: list[str] = []
    if "clientRequestToken" in properties:
        problems.append("clientRequestToken: is derived from the request; remove it")
        del properties["clientRequestToken"]
    for name, allowed in resource.handler_members.items():
        value = properties.pop(name)
        if callable(allowed):
            problems.extend(allowed(value, is_unresolved))
        elif not is_unresolved(value) and value not in allowed:
            problems.append(f"{name}: {_show(value)} is not one of {list(allowed)}")
    request_shape = service_model().operation_model(resource.operation).input_shape
    assert request_shape is not None
    # The properties a template may give: the request's members but the derived token, and the handler's own.
    accepted = sorted((set(request_shape.members) - {"clientRequestToken"}) | set(resource.handler_members))
    for name in [name for name in properties if name not in request_shape.members]:
        meant = {known.lower(): known for known in accepted}.get(name.lower()) if isinstance(name, str) else None
        hint = f"did you mean {meant!r}?" if meant else f"expected one of {accepted}"
        problems.append(f"{_join('', name)}: unknown property; {hint}")
        del properties[name]
    request = _conform(request_shape, properties, "", problems, is_unresolved, optional=resource.generated_names)
    problems.extend(resource.cross_member_problems(request, is_unresolved))
    tag_problems, superseded = _reserved_tag_problems(resource, request, is_unresolved, new)
    problems = [problem for problem in problems if problem not in superseded] + tag_problems
    if problems:
        raise InvalidProperties(resource_type, problems)
    return dict(request)


def tag_list_problems(
    resource_type: str, member: str, tags: Any, *, is_unresolved: IsUnresolved = _never_unresolved
) -> list[str]:
    """What is wrong with tags as the tag list member of a resource_type's request, as create_request says it."""
    resource = CONTRACTS[resource_type]
    request_shape = service_model().operation_model(resource.operation).input_shape
    assert request_shape is not None
    problems: list[str] = []
    _conform(request_shape.members[member], tags, member, problems, is_unresolved)
    reserved, superseded = _reserved_tag_problems(resource, {member: tags}, is_unresolved)
    return [problem for problem in problems if problem not in superseded] + reserved


def value_problems(
    shape_name: str, value: Any, path: str, *, is_unresolved: IsUnresolved = _never_unresolved
) -> list[str]:
    """What is wrong with value as a value of the service model's shape_name, each as 'path: problem'."""
    problems: list[str] = []
    _conform(shape(shape_name), value, path, problems, is_unresolved)
    return problems


def identifying(
    resource_type: str, request: Mapping[str, Any], properties: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What identifies a resource's configuration: the members of its create request that force a replacement
    (not its tags, its idempotency token or the members changed in place), and the handler members of its
    properties that identify it too (fingerprinted_members)."""
    resource = CONTRACTS[resource_type]
    ignored = {"clientRequestToken", *resource.tag_members, *resource.in_place_members}
    forcing = {name: value for name, value in request.items() if name not in ignored}
    if resource.fingerprinted_members:
        given = properties_with_defaults(resource_type, properties or {})
        forcing |= {name: given[name] for name in resource.fingerprinted_members if given[name] != ""}
    return forcing


def configuration_fingerprint(
    resource_type: str, request: Mapping[str, Any], properties: Mapping[str, Any] | None = None
) -> str:
    """A digest of what identifies a resource's configuration (identifying)."""
    canonical = json.dumps(
        identifying(resource_type, request, properties), sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(f"{resource_type}|{canonical}".encode()).hexdigest()


def generated_name(
    stack_name: str, logical_id: str, fingerprint: str, attempt: int = 1, *, lowercase: bool = False
) -> str:
    """The attempt-th name of a resource's sequence: valid for every Bedrock name pattern (jobs, models,
    deployments, throughput) and the same for the same stack name, logical id and configuration.

    So a retried, replayed or redeployed create finds what an earlier one made; a replacement (another
    configuration) gets a new name; when a name cannot be used again (a failed job's), the next one is.
    """
    digest = hashlib.sha256(f"{stack_name}|{logical_id}|{fingerprint}|{attempt}".encode()).hexdigest()[:_DIGEST_LENGTH]
    stem = _name_stem(stack_name, logical_id)
    name = f"{stem}-{digest}" if stem else digest
    return name.lower() if lowercase else name


def generated_names(stack_name: str, logical_id: str, *, lowercase: bool = False) -> tuple[str, re.Pattern[str]]:
    """What every generated name of a resource contains (for a List request's nameContains), and their pattern:
    its names of any configuration."""
    stem = _name_stem(stack_name, logical_id)
    stem = stem.lower() if lowercase else stem
    return stem, re.compile(f"{re.escape(stem)}-{_DIGEST}" if stem else _DIGEST)


_DIGEST_LENGTH = 12
_DIGEST = f"[0-9a-f]{{{_DIGEST_LENGTH}}}"


def _name_stem(stack_name: str, logical_id: str) -> str:
    stem = re.sub(r"[^0-9a-zA-Z]+", "-", f"{stack_name}-{logical_id}").strip("-")
    return stem[: NAME_MAX_LENGTH - _DIGEST_LENGTH - 1].rstrip("-")


def stack_name(stack_id: str) -> str:
    """The stack's name in its id (arn:...:stack/<name>/<uuid>): the same when a deleted stack is deployed again."""
    return stack_id.split("/")[1] if stack_id.count("/") >= 2 else stack_id


def client_request_token(fingerprint: str, names: Mapping[str, str], origin: str) -> str:
    """The idempotency token of a create: one per configuration, name and CloudFormation request (origin), so that
    the next name of a sequence is not answered with the resource the previous name made, and a later request (whose
    create carries its own origin tag, so is another request to Bedrock) is not answered with what an earlier one
    made and deleted: Bedrock "ignores the request" of a token it has seen (botocore's model), for how long after the
    resource is gone it does not say. A retry within a request sends the same token and request."""
    canonical = json.dumps(dict(names), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{fingerprint}|{canonical}|{origin}".encode()).hexdigest()


# Far deeper than any request (a knowledge base's filter nests a few andAll or orAll levels), and far shallower than
# Python's recursion limit, which _conform's walk of a shape that recurses (RetrievalFilter) would reach.
MAX_NESTING = 100
# Characters of the start of a path too deep that its problem shows (and half as many of its end): with the problem,
# within the 200 characters a single-function provider's reason keeps.
_LONG_PATH = 60


def nested_too_deep(path: str) -> str:
    """The problem of a value at path nested more than MAX_NESTING levels deep, its path cut in its middle."""
    shown = path if len(path) <= 2 * _LONG_PATH else f"{path[:_LONG_PATH]}...{path[-_LONG_PATH // 2 :]}"
    return f"{shown}: nested more than {MAX_NESTING} levels deep in the request"


def _deeper_than_allowed(value: Any, depth: int) -> bool:
    """Whether a value at depth holds one deeper than MAX_NESTING, each list or mapping a level; walked without
    recursion, since botocore's validation of a deeper one would raise RecursionError."""
    pending = [(value, depth)]
    while pending:
        item, level = pending.pop()
        if level > MAX_NESTING:
            return True
        if isinstance(item, Mapping):
            pending.extend((inner, level + 1) for inner in item.values())
        elif isinstance(item, list):
            pending.extend((inner, level + 1) for inner in item)
    return False


def _join(path: str, member: Any) -> str:
    """The path of member (a property name, or a map's key) in path; a name that is not a short printable
    string is shown as _show shows values."""
    plain = isinstance(member, str) and 0 < len(member) <= _LONG_NAME and member.isprintable()
    name = member if plain else _show(member)
    return f"{path}.{name}" if path else name


def _show(value: Any) -> str:
    """repr(value), cut to _LONG_VALUE characters. It never fails (deep nesting, huge integers) and reads no
    more of value than it shows."""
    text = _repr(value, _SHOWN_DEPTH)
    return text if len(text) <= _LONG_VALUE else text[: _LONG_VALUE - 3] + "..."


def _repr(value: Any, depth: int) -> str:
    """repr(value) up to a little beyond _LONG_VALUE characters, and nesting down to depth."""
    if isinstance(value, str):
        return repr(value[: _LONG_VALUE + 1])
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _MAX_BITS:
        return f"<an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits>"
    if isinstance(value, (list, tuple, Mapping)):
        ends = "{}" if isinstance(value, Mapping) else "()" if isinstance(value, tuple) else "[]"
        if depth == 0 and value:
            return f"{ends[0]}...{ends[1]}"
        parts: list[str] = []
        items = value.items() if isinstance(value, Mapping) else ((item,) for item in value)
        for item in items:
            parts.append(": ".join(_repr(part, depth - 1) for part in item))
            if sum(map(len, parts)) > _LONG_VALUE:
                break
        single = "," if isinstance(value, tuple) and len(value) == 1 else ""
        return ends[0] + ", ".join(parts) + single + ends[1]
    try:
        return repr(value)
    except Exception:  # an object whose repr fails is shown by its type
        return f"<{type(value).__name__}>"


def _sorted_keys(mapping: Mapping[Any, Any]) -> list[Any]:
    """mapping's keys, sorted: the strings first (a template's keys are strings), then the others as given."""
    keys = list(mapping)
    return sorted(key for key in keys if isinstance(key, str)) + [key for key in keys if not isinstance(key, str)]


@functools.cache
def _pattern(expression: str) -> patterns.Pattern | None:
    """The member pattern, matched in linear time (re backtracks: DESIGN.md, fact 15)."""
    try:
        return patterns.compile(expression, ecma=True)
    except (re.error, patterns.PatternUnsupported):  # left to Bedrock to enforce; never backtracked here
        return None


def _conform(
    shape: Shape,
    value: Any,
    path: str,
    problems: list[str],
    is_unresolved: IsUnresolved,
    optional: tuple[str, ...] = (),
    depth: int = 0,
) -> Any:
    """Return value converted to the shape's type (CloudFormation sends every scalar as a string),
    appending a 'path: problem' line for each rule it breaks. depth: how deep in the request value is.

    botocore's own ParamValidator checks neither patterns, enums nor maximums, and cannot skip
    CDK tokens, hence this walk.
    """
    if is_unresolved(value):
        return value
    if shape.metadata.get("document"):  # a document holds any JSON value: only its depth is bounded, as at synth
        if _deeper_than_allowed(value, depth):
            problems.append(nested_too_deep(path))
        return value
    if depth > MAX_NESTING:
        problems.append(nested_too_deep(path))
        return value
    kind = shape.type_name
    if kind == "blob":
        return _conform_blob(shape, value, path, problems)
    if kind == "structure":
        return _conform_structure(shape, value, path, problems, is_unresolved, optional, depth)
    if kind in ("list", "map"):
        return _conform_collection(shape, value, path, problems, is_unresolved, depth)
    if kind == "string":
        return _conform_string(shape, value, path, problems)
    if kind in ("integer", "long", "float", "double"):
        return _conform_number(shape, value, path, problems)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        problems.append(f"{path}: expected true or false, got {_show(value)}")
        return value
    return value


def _conform_structure(
    shape: Any,
    value: Any,
    path: str,
    problems: list[str],
    is_unresolved: IsUnresolved,
    optional: tuple[str, ...],
    depth: int,
) -> Any:
    if not isinstance(value, Mapping):
        problems.append(f"{path or 'properties'}: expected an object, got {_show(value)}")
        return value
    members = shape.members
    result = {}
    for name, member_value in value.items():
        member_path = _join(path, name)
        if name not in members:
            problems.append(f"{member_path}: unknown property; expected one of {sorted(members)}")
            continue
        result[name] = _conform(members[name], member_value, member_path, problems, is_unresolved, depth=depth + 1)
    for name in shape.required_members:
        if name not in value and name not in optional:
            problems.append(f"{_join(path, name)}: required")
    if shape.is_tagged_union and len(value) != 1:
        given = _show(_sorted_keys(value)) if value else "none"
        problems.append(f"{path}: set exactly one of {sorted(members)}, got {given}")
    return result


def _conform_collection(
    shape: Any, value: Any, path: str, problems: list[str], is_unresolved: IsUnresolved, depth: int
) -> Any:
    if shape.type_name == "list":
        if not isinstance(value, (list, tuple)):
            problems.append(f"{path}: expected a list, got {_show(value)}")
            return value
        result: Any = [
            _conform(shape.member, item, f"{path}[{index}]", problems, is_unresolved, depth=depth + 1)
            for index, item in enumerate(value)
        ]
    else:
        if not isinstance(value, Mapping):
            problems.append(f"{path}: expected an object, got {_show(value)}")
            return value
        result = {
            _conform(shape.key, key, f"{path} key", problems, is_unresolved): _conform(
                shape.value, item, _join(path, key), problems, is_unresolved, depth=depth + 1
            )
            for key, item in value.items()
        }
    _check_bounds(shape, len(value), path, problems, "items", value)
    return result


def _text_problem(value: Any, path: str) -> str | None:
    """Why value is not a string a request can carry (None: it is one)."""
    if not isinstance(value, str):
        return f"{path}: expected a string, got {_show(value)}"
    if not _is_unicode(value):
        return f"{path}: {_show(value)} is not valid Unicode: it has a lone surrogate"
    return None


def _conform_blob(shape: Any, value: Any, path: str, problems: list[str]) -> Any:
    """A blob, which a template can only give as a string: botocore sends its UTF-8 bytes, which the bounds count."""
    problem = _text_problem(value, path)
    if problem is not None:
        problems.append(problem)
    else:
        _check_bounds(shape, len(value.encode()), path, problems, "bytes", value)
    return value


def _conform_string(shape: Any, value: Any, path: str, problems: list[str]) -> Any:
    problem = _text_problem(value, path)
    if problem is not None:
        problems.append(problem)
        return value
    allowed = [*shape.enum, *ENUM_EXTENSIONS.get(shape.name, ())] if shape.enum else []
    if allowed and value not in allowed:
        problems.append(f"{path}: {_show(value)} is not one of {allowed}")
        return value
    if not _check_bounds(shape, len(value), path, problems, "characters", value):
        return value
    expression = shape.metadata.get("pattern")
    pattern = _pattern(expression) if expression else None
    if pattern is not None and not pattern.fullmatch(value):
        rule = expression if len(expression) <= _LONG_PATTERN else f"the pattern of {shape.name}"
        reason = pattern_mismatch(expression, value)
        problems.append(f"{path}: {_show(value)} does not match {rule}{f': {reason}' if reason else ''}")
    return value


def pattern_mismatch(expression: str, value: str) -> str | None:
    """Why value does not match the member pattern expression, where a pattern's failures are told apart (S3
    URIs: the scheme, the bucket name, a character of the key); None: no more than that it does not match."""
    pattern = _pattern(expression)
    if pattern is None or not expression.startswith("s3://") or pattern.fullmatch(value):
        return None
    if not value.startswith("s3://"):
        return "an S3 URI starts with s3://"
    bucket, _, key = value.removeprefix("s3://").partition("/")

    def allows(path: str) -> bool:  # as a key, a folder, or a key in a folder
        return any(pattern.fullmatch(f"s3://{bucket}{suffix}") for suffix in (path, f"{path}/", f"/a{path}"))

    if not allows("") and not allows("/a"):
        return (
            "its bucket name is not valid (3 to 63 lowercase letters, digits, '.' and '-', beginning and ending with "
            "a letter or digit)"
        )
    refused = next((char for char in key if char != "/" and not allows(f"/{char}")), None)
    if refused is not None:
        return f"the key has {refused!r}, which this field does not allow"
    if "//" in f"/{key}":
        return "the key has an empty part ('//')"
    if not value.endswith("/") and pattern.fullmatch(f"{value}/"):
        return "a folder's URI ends with '/'"
    return None


# The service model's integer types, as Smithy defines them: signed, of this many bits.
INTEGER_BITS = {"integer": 32, "long": 64}


def _conform_number(shape: Any, value: Any, path: str, problems: list[str]) -> Any:
    integral = shape.type_name in ("integer", "long")
    number = _parse_number(value, integral)
    if number is None:
        problems.append(f"{path}: expected {'an integer' if integral else 'a finite number'}, got {_show(value)}")
        return value
    if not _check_bounds(shape, number, path, problems, "", value):
        return value
    bits = INTEGER_BITS.get(shape.type_name)
    if bits is not None and not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
        problems.append(f"{path}: {_show(value)} is out of range for a {bits}-bit integer")
        return value
    if isinstance(number, float) and math.isinf(number):  # more digits than any number takes, and no bound
        problems.append(f"{path}: {_show(value)} is out of range")
        return value
    return number


def _is_unicode(text: str) -> bool:
    """Whether text can be encoded (in UTF-8, as every request is): not if it has a lone surrogate."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _parse_number(value: Any, integral: bool) -> int | float | None:
    """The number value denotes, or None. Stricter than int() and float(): no '1_0', NaN or infinity. An
    integer of more than _MAX_DIGITS digits is given as an infinity of its sign: out of every range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or (integral and not value.is_integer()):
            return None
        return int(value) if integral else value
    if isinstance(value, int) and integral:
        return value if value.bit_length() <= _MAX_BITS else math.inf if value > 0 else -math.inf
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # beyond every float
            return None
    text = value.strip()
    if integral:
        if not _INTEGER.fullmatch(text):
            return None
        digits = text.lstrip("+-").lstrip("0") or "0"
        if len(digits) > _MAX_DIGITS:
            return -math.inf if text.startswith("-") else math.inf
        return -int(digits) if text.startswith("-") else int(digits)
    number = float(text) if _DECIMAL.fullmatch(text) else None
    return number if number is not None and math.isfinite(number) else None


def _count_problem(path: str, count: float, word: str, limit: int) -> str:
    return f"{path}: {count} items; it must have at {word} {limit}"


def _check_bounds(shape: Any, measure: float, path: str, problems: list[str], unit: str, value: Any) -> bool:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    for limit, broken, word in (
        (low, low is not None and measure < low, "least"),
        (high, high is not None and measure > high, "most"),
    ):
        if broken:
            if unit == "items":  # a list's or map's count says it all, and its items may be many
                problems.append(_count_problem(path, measure, word, limit))
            elif unit:
                problems.append(f"{path}: {_show(value)} has {measure} {unit}; it must have at {word} {limit}")
            else:
                problems.append(f"{path}: {_show(value)} must be at {word} {limit}")
            return False
    return True
