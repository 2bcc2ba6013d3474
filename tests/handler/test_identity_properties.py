"""Property-based tests (hypothesis) of a resource's identity, for every resource type that creates something.

Four properties, each for Custom::BedrockModelCustomizationJob, Custom::BedrockCustomModel,
Custom::BedrockCustomModelDeployment, Custom::BedrockProvisionedModelThroughput, Custom::BedrockImportedModel
(model import jobs), Custom::BedrockCopiedCustomModel (model copy jobs) and Custom::BedrockModelEvaluationJob:

1. The rollback of a failed Update changes nothing. CloudFormation rolls a failed update back with another
   Update whose ResourceProperties are the previous properties and whose OldResourceProperties are the refused
   ones (DESIGN.md, fact 10). The refused properties are generated: the deployed ones with a member of the
   wrong type, an unknown or a missing member, a bad enum value, an S3 URI that is not one, malformed tags,
   deep nesting, odd numbers and strings; or a valid change that Bedrock refuses (a quota, a name or a model).
2. The rollback of a successful replacement returns to the earlier resource, and creates nothing.
3. A Create retried or replayed (the same event again, a new request, a redeploy of the stack's name, a lost
   response) creates one resource, and every Create answers its physical id.
4. Tags are made what the stack says, whatever was done to them outside the stack.

Every example runs against a Bedrock stand-in of its own (moto started inside the example), so that examples
never see each other's resources. Expected values are never computed with the handler's code: the tests
compare physical ids returned earlier, resource counts, recorded calls, and tags that they chose themselves,
read where each kind says its tags are (ResourceKind.tagged: a job's model, a copy job's copied model).
What the tests know of Bedrock's rules (required members, enums, lengths, bounds) is written here by hand,
from the API reference.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from bedrock_custom_resource import aws, index
from bedrock_custom_resource.contract import InvalidProperties
from botocore.exceptions import ClientError
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from . import resource_kinds
from .conftest import (
    ACCOUNT,
    BASE_MODEL,
    OPERATION_STARTED,
    REGION,
    ROLE_ARN,
    CloudFormationEvents,
    active_model,
    distillation_properties,
    fine_tuning_properties,
    is_complete_input,
    rft_properties,
)
from .resource_kinds import ResourceKind, Stack, trained_model, writes
from .serving_helpers import deployment_properties, throughput_properties
from .test_imported_model import import_properties
from .test_model_copy_job import copy_properties
from .test_model_import_job import import_properties as import_job_properties

FINGERPRINT = "cdk-bedrock-customization:configuration"
STACK_TAG = "cdk-bedrock-customization:stack"
LOGICAL_ID_TAG = "cdk-bedrock-customization:logical-id"
ORIGIN_TAG = "cdk-bedrock-customization:origin"
WHAT_IT_MAKES_TAG = "cdk-bedrock-customization:what-it-makes"
RESERVED = (FINGERPRINT, STACK_TAG, LOGICAL_ID_TAG, ORIGIN_TAG, WHAT_IT_MAKES_TAG)
Path = tuple[str | int, ...]
Properties = dict[str, Any]

# The bedrock stand-in is set up inside each example; the only fixture is the fake AWS environment, which is
# the same for every example.
per_example = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@contextmanager
def fresh_bedrock() -> Iterator[BedrockStandIn]:
    """What the `bedrock` fixture sets up, for one example: moto, the stand-in, the handler's client. For speed
    only, the handler gets the same client (built as it builds its own) for the whole example, and so do the
    test's own calls (bedrock.client(), as in active_model and completed_job): a client per call adds up over an
    example's calls, and the stand-in keeps its state in moto, not in the client. So does the CloudFormation client
    that reads the stack's status (index.stack_status), made by the handler's own aws.cloudformation_client."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        bedrock = BedrockStandIn(patch, region=REGION, account_id=ACCOUNT)
        client = bedrock.client()
        for handler in index.HANDLERS.values():
            patch.setattr(handler, "bedrock_client", lambda: client)
        cloudformation = aws.cloudformation_client()
        patch.setattr(index, "cloudformation_client", lambda: cloudformation)
        patch.setattr(index, "operation_started", lambda stack_id: OPERATION_STARTED)
        build = bedrock.client

        def shared_unless_other(**options: Any) -> Any:
            # completed_job passes region=None: the stand-in's own Region, the shared client's.
            other = {name: value for name, value in options.items() if value not in (None, True)}
            return build(**options) if other else client

        patch.setattr(bedrock, "client", shared_unless_other)
        yield bedrock


# --- generated values (valid ones, per the API reference) -----------------------------------------------------

# Valid for every Bedrock name pattern (jobs, custom models, deployments, provisioned models).
GIVEN_NAMES = st.from_regex(r"[a-z][a-z0-9]{2,20}", fullmatch=True)
TAKEN_NAME = "taken-name"  # has a hyphen, so no GIVEN_NAMES value is ever it
# CloudFormation: stack names are letters, digits and hyphens, starting with a letter, at most 128 characters;
# logical ids are alphanumeric.
STACK_NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,127}", fullmatch=True)
LOGICAL_IDS = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,80}", fullmatch=True)
S3_URIS = st.builds(
    lambda bucket, keys, slash: f"s3://{bucket}" + "".join(f"/{key}" for key in keys) + slash,
    st.from_regex(r"[a-z0-9][a-z0-9-]{1,30}[a-z0-9]", fullmatch=True),
    st.lists(st.from_regex(r"[A-Za-z0-9_.()!*'-]{1,16}", fullmatch=True), max_size=4),
    st.sampled_from(["", "/"]),
)
# CustomModelDeploymentDescription: 1 to 2048 characters of `.*` (no line feed); no surrogates (not UTF-8).
DESCRIPTIONS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), min_size=1, max_size=80)
# TagKey and TagValue: [a-zA-Z0-9\s._:/=+@-]*, keys 1-128 characters, values 0-256. Keys starting with aws:
# are AWS's own.
TAG_KEYS = st.one_of(
    st.sampled_from(["team", "stage", "owner", "cost-center", "project"]),
    st.from_regex(r"[A-Za-z0-9._:/=+@-]{1,128}", fullmatch=True),
).filter(lambda key: not key.lower().startswith("aws:") and key not in RESERVED)
TAG_VALUES = st.one_of(
    st.sampled_from(["ml", "dev", "prod", ""]), st.from_regex(r"[A-Za-z0-9 ._:/=+@-]{0,256}", fullmatch=True)
)
TAG_MAPS = st.dictionaries(TAG_KEYS, TAG_VALUES, max_size=6)
# KmsKeyId: a key id, or a key's ARN (nothing checks that the key exists).
KMS_KEYS = st.one_of(st.uuids().map(str), st.uuids().map(lambda key: f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key}"))


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in tags.items()]


def ints(low: int, high: int) -> st.SearchStrategy[str]:
    """Integers as CloudFormation sends them: strings."""
    return st.integers(low, high).map(str)


# --- what each resource type is -------------------------------------------------------------------------------


# The service's CustomizationType enum. IMPORTED is in it though no job can have it: never generated as a bad value.
JOB_TYPES = ("FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION", "REINFORCEMENT_FINE_TUNING", "IMPORTED")
RFT_HYPER = ("customizationConfig", "rftConfig", "hyperParameters")
TEACHER = ("customizationConfig", "distillationConfig", "teacherModelConfig")


# Valid values of a member: a strategy, or (for values that must exist in Bedrock) one made from the stand-in.
Values = st.SearchStrategy[str] | Callable[[BedrockStandIn], st.SearchStrategy[str]]


@dataclass(frozen=True, kw_only=True)
class Kind(ResourceKind):
    """A resource type, and what these tests need to know of its properties (written from the API reference)."""

    name: str
    draw_properties: Callable[[BedrockStandIn, st.DataObject, bool], Properties]  # (.., commitment allowed)
    # Members whose change needs a new resource, with valid values for them.
    replacing: Mapping[Path, Values]
    # Members the API requires (or a union, or a rule between members, needs); removed when present.
    required: tuple[Path, ...] = ()
    # Enum members: the allowed values. Set whether present or not, as long as their parent is present.
    enums: Mapping[Path, tuple[str, ...]] = field(default_factory=dict)
    # Number members, with values the API refuses (out of bounds, or not numbers).
    numbers: Mapping[Path, st.SearchStrategy[str]] = field(default_factory=dict)
    # Maps (any key is valid): no unknown key is added to these.
    maps: tuple[Path, ...] = ()
    # Members whose value must start with "arn:".
    arns: tuple[str, ...] = ()
    # Members' longest values, by member name.
    max_lengths: Mapping[str, int] = field(default_factory=dict)


def _job_properties(bedrock: BedrockStandIn, data: st.DataObject, commitment: bool) -> Properties:
    properties: Properties = data.draw(
        st.sampled_from([fine_tuning_properties, distillation_properties, rft_properties]), label="job type"
    )()
    return _maybe_named(properties, data, "jobName")


def _import_properties(bedrock: BedrockStandIn, data: st.DataObject, commitment: bool) -> Properties:
    return _maybe_named(import_properties(), data, "modelName")


def _deployment_properties(bedrock: BedrockStandIn, data: st.DataObject, commitment: bool) -> Properties:
    tags = tag_list(data.draw(TAG_MAPS, label="tags"))
    properties = deployment_properties(active_model(bedrock, "served"), tags=tags)
    del properties["description"]  # optional
    if data.draw(st.booleans(), label="described"):
        properties["description"] = data.draw(DESCRIPTIONS, label="description")
    return _maybe_named(properties, data, "modelDeploymentName")


def _throughput_properties(bedrock: BedrockStandIn, data: st.DataObject, commitment: bool) -> Properties:
    units = data.draw(ints(1, 3), label="modelUnits")
    properties = throughput_properties(
        active_model(bedrock, "served"), modelUnits=units, tags=tag_list(data.draw(TAG_MAPS, label="tags"))
    )
    if commitment and data.draw(st.booleans(), label="committed"):
        properties["commitmentDuration"] = data.draw(st.sampled_from(["OneMonth", "SixMonths"]))
    return _maybe_named(properties, data, "provisionedModelName")


def _import_job_properties(bedrock: BedrockStandIn, data: st.DataObject, commitment: bool) -> Properties:
    properties = import_job_properties(
        jobTags=tag_list(data.draw(TAG_MAPS, label="jobTags")),
        importedModelTags=tag_list(data.draw(TAG_MAPS, label="importedModelTags")),
    )
    return _maybe_named(_maybe_named(properties, data, "jobName"), data, "importedModelName")


# The custom models a copy may copy, trained for each example (a change of source needs a second one). Valid model
# names that no GIVEN_NAMES value is (they have a hyphen).
SOURCE_MODELS = ("source-a", "source-b")


def source_models(bedrock: BedrockStandIn) -> st.SearchStrategy[str]:
    arns = {model["modelName"]: model["modelArn"] for model in bedrock.models()}
    return st.sampled_from([arns[name] for name in SOURCE_MODELS])


def _copy_properties(bedrock: BedrockStandIn, data: st.DataObject, commitment: bool) -> Properties:
    for name in SOURCE_MODELS:
        trained_model(bedrock, name)
    source = data.draw(source_models(bedrock), label="sourceModelArn")
    properties = copy_properties(source, targetModelTags=tag_list(data.draw(TAG_MAPS, label="targetModelTags")))
    return _maybe_named(properties, data, "targetModelName")


def _maybe_named(properties: Properties, data: st.DataObject, name_member: str) -> Properties:
    if data.draw(st.booleans(), label="given name"):
        properties[name_member] = data.draw(GIVEN_NAMES, label=name_member)
    return properties


# Not numbers as the API reads them (a fullwidth and an Arabic-Indic digit among them, which int() accepts).
NOT_NUMBERS = ["", " ", "NaN", "inf", "-inf", "1e400", "1_0", "0x1F", "\uff11", "\u0663", "1,5", "two", "1e"]
NOT_INTEGERS = st.sampled_from([*NOT_NUMBERS, "1.5"])


def refused_integers(low: int | None, high: int | None) -> st.SearchStrategy[str]:
    out_of_bounds = []
    if low is not None:
        out_of_bounds.append(st.integers(max_value=low - 1).map(str))
    if high is not None:
        out_of_bounds.append(st.integers(min_value=high + 1).map(str))
    return st.one_of(NOT_INTEGERS, *out_of_bounds)


def refused_floats(low: float, high: float) -> st.SearchStrategy[str]:
    out_of_bounds = st.one_of(
        st.floats(max_value=low, exclude_max=True, allow_nan=False, allow_infinity=False),
        st.floats(min_value=high, exclude_min=True, allow_nan=False, allow_infinity=False),
    ).map(repr)
    return st.one_of(st.sampled_from(NOT_NUMBERS), out_of_bounds)


JOB = Kind(
    **resource_kinds.JOB.fields(),
    name="CustomizationJob",
    draw_properties=_job_properties,
    # Not its role: a new role alone replaces a job that has not completed only (test_customization_job_update.py).
    replacing={
        ("hyperParameters", "epochCount"): ints(1, 20),
        ("hyperParameters", "learningRate"): st.sampled_from(["0.0001", "0.00002", "0.000005"]),
        ("trainingDataConfig", "s3Uri"): S3_URIS,
        ("validationDataConfig", "validators", 0, "s3Uri"): S3_URIS,
        ("outputDataConfig", "s3Uri"): S3_URIS,
        ("trainingDataConfig", "invocationLogsConfig", "invocationLogSource", "s3Uri"): S3_URIS,
        (*TEACHER, "maxResponseLengthForInference"): ints(1, 10000),
        (*RFT_HYPER, "epochCount"): ints(1, 50),
        (*RFT_HYPER, "evalInterval"): ints(1, 100),
    },
    required=(
        ("baseModelIdentifier",),
        ("roleArn",),
        ("trainingDataConfig",),
        ("outputDataConfig",),
        ("outputDataConfig", "s3Uri"),
        ("validationDataConfig", "validators"),
        ("validationDataConfig", "validators", 0, "s3Uri"),
        ("trainingDataConfig", "invocationLogsConfig", "invocationLogSource"),
        ("trainingDataConfig", "invocationLogsConfig", "invocationLogSource", "s3Uri"),
        ("customizationConfig",),  # DISTILLATION and REINFORCEMENT_FINE_TUNING need theirs
        ("customizationConfig", "distillationConfig"),
        TEACHER,
        (*TEACHER, "teacherModelIdentifier"),
        ("customizationConfig", "rftConfig"),
        ("customizationConfig", "rftConfig", "graderConfig", "lambdaGrader"),
        ("customizationConfig", "rftConfig", "graderConfig", "lambdaGrader", "lambdaArn"),
    ),
    enums={
        ("customizationType",): JOB_TYPES,
        ("waitUntil",): ("Completed", "Accepted", "Validated"),
        (*RFT_HYPER, "reasoningEffort"): ("low", "medium", "high"),
    },
    numbers={
        (*TEACHER, "maxResponseLengthForInference"): refused_integers(None, None),
        (*RFT_HYPER, "epochCount"): refused_integers(1, 50),
        (*RFT_HYPER, "batchSize"): refused_integers(16, 512),
        (*RFT_HYPER, "trainingSamplePerPrompt"): refused_integers(2, 16),
        (*RFT_HYPER, "evalInterval"): refused_integers(1, 100),
        (*RFT_HYPER, "learningRate"): refused_floats(1e-7, 1e-3),
    },
    maps=(("hyperParameters",), ("trainingDataConfig", "invocationLogsConfig", "requestMetadataFilters", "equals")),
    arns=("roleArn", "lambdaArn"),
    max_lengths={"roleArn": 2048, "s3Uri": 1024, "baseModelIdentifier": 2048, "lambdaArn": 512},
)

IMPORT = Kind(
    **resource_kinds.IMPORT.fields(),
    name="CustomModel",
    draw_properties=_import_properties,
    replacing={("modelSourceConfig", "s3DataSource", "s3Uri"): S3_URIS},  # not its role (see JOB's)
    required=(
        ("modelSourceConfig",),  # exactly one model source
        ("modelSourceConfig", "s3DataSource"),
        ("modelSourceConfig", "s3DataSource", "s3Uri"),
    ),
    arns=("roleArn",),
    max_lengths={"roleArn": 2048, "s3Uri": 1024},
)

DEPLOYMENT = Kind(
    **resource_kinds.DEPLOYMENT.fields(),
    name="CustomModelDeployment",
    draw_properties=_deployment_properties,
    replacing={("description",): DESCRIPTIONS},
    required=(("modelArn",),),
    arns=("modelArn",),
    max_lengths={"modelArn": 1011, "description": 2048},
)

THROUGHPUT = Kind(
    **resource_kinds.THROUGHPUT.fields(),
    name="ProvisionedModelThroughput",
    draw_properties=_throughput_properties,
    replacing={("modelUnits",): ints(1, 100)},  # without a commitment
    required=(("modelId",), ("modelUnits",)),
    enums={("commitmentDuration",): ("OneMonth", "SixMonths")},
    numbers={("modelUnits",): refused_integers(1, None)},
    max_lengths={"modelId": 2048},
)

# Bedrock runs one model import job at a time per account and Region (DESIGN.md, fact 16), and the stand-in keeps
# that quota of 1 in every example here. No property needs two imports running at once: a Stack's Creates and
# Updates run whole (each import completes before the next starts), as a stack's imports run one at a time, and
# one refusal (bedrock_refusals) has another import run meanwhile, which the quota must refuse. Raising the quota
# would hide that refusal, and let pass a sequence that Bedrock would refuse.
IMPORT_JOB = Kind(
    **resource_kinds.IMPORT_JOB.fields(),
    name="ModelImportJob",
    draw_properties=_import_job_properties,
    replacing={  # not its role (see JOB's)
        ("modelDataSource", "s3DataSource", "s3Uri"): S3_URIS,
        ("importedModelKmsKeyId",): KMS_KEYS,
    },
    required=(
        ("roleArn",),
        ("modelDataSource",),
        ("modelDataSource", "s3DataSource"),  # a union: exactly one member
        ("modelDataSource", "s3DataSource", "s3Uri"),
    ),
    enums={("waitUntil",): ("Completed", "Accepted")},  # the handler's: an import has no validation to wait for
    arns=("roleArn",),
    max_lengths={"roleArn": 2048, "s3Uri": 1024},
)

COPY_JOB = Kind(
    **resource_kinds.COPY_JOB.fields(),
    name="ModelCopyJob",
    draw_properties=_copy_properties,
    replacing={("sourceModelArn",): source_models, ("modelKmsKeyId",): KMS_KEYS},
    required=(("sourceModelArn",),),
    enums={("waitUntil",): ("Completed", "Accepted")},  # the handler's: a copy has no validation to wait for
    arns=("sourceModelArn",),
    max_lengths={"sourceModelArn": 1011},
)

# The evaluated model: foundation models, which the stand-in takes on trust (a throughput would need one per example).
EVALUATED_MODELS = st.sampled_from(["amazon.nova-micro-v1:0", "amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0"])
EVALUATED = ("inferenceConfig", "models", 0, "bedrockModel", "modelIdentifier")


def _evaluation_properties(bedrock: BedrockStandIn, data: st.DataObject, commitment: bool) -> Properties:
    properties = resource_kinds.evaluation_properties(bedrock)
    properties["inferenceConfig"]["models"][0]["bedrockModel"]["modelIdentifier"] = data.draw(
        EVALUATED_MODELS, label="modelIdentifier"
    )
    properties["jobTags"] = tag_list(data.draw(TAG_MAPS, label="jobTags"))
    return _maybe_named(properties, data, "jobName")


EVALUATION_JOB = Kind(
    **resource_kinds.EVALUATION_JOB.fields(),
    name="EvaluationJob",
    draw_properties=_evaluation_properties,
    replacing={  # not its role (see JOB's)
        EVALUATED: EVALUATED_MODELS,
        ("outputDataConfig", "s3Uri"): st.sampled_from(["s3://evaluation-results/a/", "s3://evaluation-results/b/"]),
    },
    required=(
        ("roleArn",),
        ("evaluationConfig",),  # a union: exactly one member
        ("inferenceConfig",),
        ("outputDataConfig",),
        ("outputDataConfig", "s3Uri"),
    ),
    enums={("waitUntil",): ("Completed", "Accepted")},  # the handler's: an evaluation has no validation to wait for
    arns=("roleArn",),
    max_lengths={"roleArn": 2048, "s3Uri": 1024},
)

KINDS = [JOB, IMPORT, DEPLOYMENT, THROUGHPUT, IMPORT_JOB, COPY_JOB, EVALUATION_JOB]
every_kind = pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])


def for_every_kind(test: Callable[..., None]) -> Callable[..., None]:
    """A property of every resource type: the test runs for each kind, on examples of its own drawing (data)."""
    return every_kind(per_example(given(data=st.data())(test)))


# --- a stack of one resource ----------------------------------------------------------------------------------


def new_stack(bedrock: BedrockStandIn, kind: Kind, data: st.DataObject) -> Stack:
    stack_name = data.draw(STACK_NAMES, label="stack name")
    return Stack.named(bedrock, kind, stack_name, data.draw(LOGICAL_IDS, label="logical id"))


def created_stack(
    bedrock: BedrockStandIn, kind: Kind, data: st.DataObject, commitment: bool = True
) -> tuple[Stack, Properties, str, dict[str, str]]:
    """A new stack and its resource of drawn properties, created: (the stack, the properties, the physical id,
    the Data)."""
    stack = new_stack(bedrock, kind, data)
    properties = kind.draw_properties(bedrock, data, commitment)
    return stack, properties, *stack.create(properties)


def state(bedrock: BedrockStandIn) -> dict[str, Any]:
    """Everything the stand-in holds, with every resource's tags."""
    resources = {
        "jobs": bedrock.jobs(),
        "models": bedrock.models(),  # trained, and copied
        "imported models": bedrock.imported_models(),
        "deployments": bedrock.deployments(),
        "throughputs": bedrock.throughputs(),
        "import jobs": bedrock.import_jobs(),
        "import job models": bedrock.import_job_models(),
        "copy jobs": bedrock.copy_jobs(),
    }
    # Every taggable resource's tags: not a copy job's, which cannot be tagged (its record, above, shows the tags
    # its request gave; its copied model is among the models).
    arn_members = ("jobArn", "modelArn", "customModelDeploymentArn", "provisionedModelArn")
    taggable = [listed for name, listed in resources.items() if name != "copy jobs"]
    arns = {r[m] for listed in taggable for r in listed for m in arn_members if m in r}
    return {**resources, "tags": {arn: bedrock.all_tags(arn) for arn in sorted(arns)}}


# --- tree surgery ---------------------------------------------------------------------------------------------


def members(tree: Any, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every (path, value) below tree, depth first."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    for key, value in items:
        path = (*prefix, key)
        yield path, value
        if isinstance(value, dict | list):
            yield from members(value, path)


def has(tree: Any, path: Path) -> bool:
    for key in path:
        found = key in tree if isinstance(tree, dict) else isinstance(key, int) and key < len(tree)
        if not found:
            return False
        tree = tree[key]
    return True


def value_at(tree: Any, path: Path) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def with_value(tree: Properties, path: Path, value: Any) -> Properties:
    changed = copy.deepcopy(tree)
    value_at(changed, path[:-1])[path[-1]] = value
    return changed


def without(tree: Properties, path: Path) -> Properties:
    changed = copy.deepcopy(tree)
    del value_at(changed, path[:-1])[path[-1]]
    return changed


def numeric_or_boolean(value: Any) -> bool:
    """Whether a string may be a number or a boolean member as CloudFormation sends it."""
    if not isinstance(value, str):
        return True
    try:
        float(value)
    except ValueError:
        return value.lower() in ("true", "false")
    return True


def own_members(properties: Properties) -> list[tuple[Path, Any]]:
    """Every member below the properties but CloudFormation's own (ServiceToken)."""
    return [(path, value) for path, value in members(properties) if path[0] != "ServiceToken"]


# --- refused updates ------------------------------------------------------------------------------------------


def _nothing(bedrock: BedrockStandIn, stack: Stack) -> None:
    return None


@dataclass(frozen=True)
class Refusal:
    """A failing Update's desired properties, what (if anything) must happen first, and who refuses it."""

    what: str
    properties: Properties
    prepare: Callable[[BedrockStandIn, Stack], None] = _nothing
    # The write call Bedrock refuses; None when the handler refuses the update before any write.
    refused_call: str | None = None
    # The member the handler's refusal must name.
    names: str | None = None


def refusal(what: str, properties: Properties, path: Path) -> Refusal:
    return Refusal(what, properties, names=str(path[0]))


def nested(depth: int, as_lists: list[bool]) -> Any:
    """A value nested depth levels deep; the keys are never a member's (no member name has an underscore)."""
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if as_lists[level % len(as_lists)] else {"nested_": value}
    return value


SCALARS = st.one_of(st.text(max_size=8), st.integers(), st.booleans())
REFUSED_CHARACTERS = st.sampled_from([*"!#$%&*(){}[]<>?,;'\"\\|`~^\u00e9\u4e2d\U0001f642", "\x00", "\u202e"])


@st.composite
def wrong_types(draw: st.DrawFn, properties: Properties) -> Refusal:
    """A list or a map where a scalar is expected; a number or boolean where a string is; a scalar, a string of
    JSON or the other kind of collection where a list or a map is."""
    path, value = draw(st.sampled_from(own_members(properties)))
    if isinstance(value, dict | list):
        swapped = list(value.values()) if isinstance(value, dict) else {str(i): v for i, v in enumerate(value)}
        wrong = draw(st.one_of(st.just(swapped), st.just(json.dumps(value)), SCALARS), label="instead of a collection")
    else:
        collections = st.one_of(
            st.lists(SCALARS, max_size=3), st.dictionaries(st.text(max_size=5), SCALARS, max_size=3)
        )
        not_strings = st.one_of(st.integers(), st.floats(), st.booleans())
        wrong = draw(collections if numeric_or_boolean(value) else st.one_of(collections, not_strings), label="wrong")
    return refusal(
        f"{path}: {type(value).__name__} -> {type(wrong).__name__}", with_value(properties, path, wrong), path
    )


@st.composite
def unknown_members(draw: st.DrawFn, kind: Kind, properties: Properties) -> Refusal:
    structures = [()] + [
        path for path, value in own_members(properties) if isinstance(value, dict) and path not in kind.maps
    ]
    path = draw(st.sampled_from(structures), label="in")
    name = draw(st.from_regex(r"[a-zA-Z][A-Za-z0-9]{0,12}_[A-Za-z0-9]{0,6}", fullmatch=True), label="unknown")
    return refusal(f"unknown member {name} in {path}", with_value(properties, (*path, name), "x"), (*path, name))


def missing_members(kind: Kind, properties: Properties) -> st.SearchStrategy[Refusal] | None:
    required = [path for path in kind.required if has(properties, path)]
    for member in kind.tag_members:
        for index_, _ in enumerate(properties.get(member) or []):
            required += [(member, index_, "key"), (member, index_, "value")]
    if not required:
        return None
    return st.sampled_from(required).map(lambda path: refusal(f"{path} missing", without(properties, path), path))


@st.composite
def bad_enums(draw: st.DrawFn, kind: Kind, properties: Properties) -> Refusal:
    path, allowed = draw(st.sampled_from([(p, a) for p, a in kind.enums.items() if has(properties, p[:-1])]))
    value = draw(
        st.one_of(st.sampled_from([a.lower() if a.lower() != a else a.upper() for a in allowed]), st.text()).filter(
            lambda v: v not in allowed
        ),
        label=f"{path} not in {allowed}",
    )
    return refusal(f"{path} = {value!r}", with_value(properties, path, value), path)


@st.composite
def bad_s3_uris(draw: st.DrawFn, properties: Properties) -> Refusal:
    path = draw(st.sampled_from([p for p, v in own_members(properties) if p[-1] == "s3Uri" and isinstance(v, str)]))
    value = draw(
        st.one_of(
            st.sampled_from(
                [
                    "https://my-data-bucket/train/data.jsonl",
                    "S3://my-data-bucket/train/",
                    "my-data-bucket/train/data.jsonl",
                    "s3:/my-data-bucket/train/",
                    "file:///tmp/data.jsonl",
                    "",
                    "s3://",
                    "s3://ab",  # a bucket name has at least 3 characters
                    "s3://My-Data-Bucket/train/",  # and no capitals
                    "s3://my-data-bucket/train data.jsonl",
                ]
            ),
            st.text().filter(lambda text: not text.startswith("s3://")),
        ),
        label="s3Uri",
    )
    return refusal(f"{path} = {value!r}", with_value(properties, path, value), path)


@st.composite
def bad_tags(draw: st.DrawFn, kind: Kind, properties: Properties) -> Refusal:
    member = draw(st.sampled_from(kind.tag_members), label="tag member")
    tags = list(properties.get(member) or [{"key": "team", "value": "ml"}])
    key = draw(TAG_KEYS)
    malformed = draw(
        st.sampled_from(
            [
                ("as a map", {tag["key"]: tag["value"] for tag in tags}),
                ("as a string", "team=ml"),
                ("a tag without value", [*tags, {"key": key}]),
                ("a tag without key", [*tags, {"value": "ml"}]),
                ("a tag as a string", [*tags, "team=ml"]),
                ("a tag key that is a number", [*tags, {"key": 7, "value": "ml"}]),
                ("a tag value that is a number", [*tags, {"key": key, "value": 7}]),
                ("an empty tag key", [*tags, {"key": "", "value": "ml"}]),
                ("a tag key too long", [*tags, {"key": "k" * 129, "value": "ml"}]),
                ("a tag value too long", [*tags, {"key": key, "value": "v" * 257}]),
                ("a tag of three members", [*tags, {"key": key, "value": "ml", "team": "ml"}]),
                ("more than 200 tags", [{"key": f"tag{i}", "value": "v"} for i in range(201)]),
                ("the fingerprint's key", [*tags, {"key": FINGERPRINT, "value": "0" * 64}]),
                ("the stack tag's key", [*tags, {"key": STACK_TAG, "value": "arn:aws:cloudformation:x"}]),
                ("the logical id tag's key", [*tags, {"key": LOGICAL_ID_TAG, "value": "Model"}]),
                ("a refused character", "refused character"),
            ]
        ),
        label="malformed tags",
    )
    what, value = malformed
    if value == "refused character":
        character = draw(REFUSED_CHARACTERS)
        position = draw(st.sampled_from(["key", "value"]))
        bad = {"key": key, "value": "ml"} | {position: f"{key}{character}"}
        what, value = f"a tag {position} with {character!r}", [*tags, bad]
    return refusal(f"{member}: {what}", properties | {member: value}, (member,))


@st.composite
def deeply_nested(draw: st.DrawFn, properties: Properties) -> Refusal:
    """Any member replaced by lists and maps nested up to 150 deep: always refused at its first level (a
    collection where a scalar is expected, an unknown member, a list where a structure is, or the reverse)."""
    path = draw(st.sampled_from([p for p, _ in own_members(properties)]))
    depth = draw(st.integers(2, 150), label="depth")
    as_lists = draw(st.lists(st.booleans(), min_size=1, max_size=8))
    return refusal(f"{path} nested {depth} deep", with_value(properties, path, nested(depth, as_lists)), path)


@st.composite
def odd_numbers(draw: st.DrawFn, kind: Kind, properties: Properties) -> Refusal:
    path = draw(st.sampled_from([p for p in kind.numbers if has(properties, p)]))
    value = draw(kind.numbers[path], label=str(path))
    return refusal(f"{path} = {value!r}", with_value(properties, path, value), path)


@st.composite
def odd_strings(draw: st.DrawFn, kind: Kind, properties: Properties) -> Refusal:
    """ARNs that are not ARNs, and strings longer than their member allows."""
    candidates = [
        (path, value)
        for path, value in own_members(properties)
        if isinstance(value, str) and (path[-1] in kind.arns or path[-1] in kind.max_lengths)
    ]
    if "description" in kind.max_lengths:
        candidates.append((("description",), properties.get("description", "")))
    path, value = draw(st.sampled_from(candidates))
    choices = []
    if path[-1] in kind.arns:
        choices.append(st.text().filter(lambda text: not text.startswith("arn:")))
    if path[-1] in kind.max_lengths:
        longest = kind.max_lengths[str(path[-1])]
        choices.append(st.integers(1, 3000).map(lambda extra: value + "a" * (longest + extra - len(value))))
    odd = draw(st.one_of(choices), label=str(path))
    return refusal(f"{path}: {len(odd)} characters", with_value(properties, path, odd), path)


@st.composite
def replacing_changes(draw: st.DrawFn, kind: Kind, bedrock: BedrockStandIn, properties: Properties) -> Properties:
    """The properties with one or two valid changes that need a new resource."""
    paths = [path for path in kind.replacing if has(properties, path[:-1])]
    chosen = draw(st.lists(st.sampled_from(paths), min_size=1, max_size=2, unique=True), label="replacing")
    changed = properties
    for path in chosen:
        current = value_at(properties, path) if has(properties, path) else None
        values = kind.replacing[path]
        if not isinstance(values, st.SearchStrategy):
            values = values(bedrock)
        changed = with_value(changed, path, draw(values.filter(lambda v, c=current: v != c), label=str(path)))
    for member in kind.name_members:  # a replacement cannot reuse a given name: it is given a new one
        if member in properties:
            name = draw(GIVEN_NAMES.filter(lambda name, old=properties[member]: name != old), label=f"new {member}")
            changed = changed | {member: name}
    return changed


def _sibling(properties: Properties) -> Callable[[BedrockStandIn, Stack], None]:
    """Another resource of the stack, of these properties (that give it a taken name), made first."""

    def prepare(bedrock: BedrockStandIn, stack: Stack) -> None:
        stack.create(properties, logical_id=stack.logical_id + "Sibling")

    return prepare


def _quota_full(bedrock: BedrockStandIn, stack: Stack) -> None:
    bedrock.limit_concurrent_jobs(0)


def _another_import_runs(bedrock: BedrockStandIn, stack: Stack) -> None:
    """An import job started outside the stack runs: it holds the account's one concurrent import."""
    bedrock.client().create_model_import_job(
        jobName="imported-elsewhere",
        importedModelName="imported-elsewhere",
        roleArn=ROLE_ARN,
        modelDataSource={"s3DataSource": {"s3Uri": "s3://another-bucket/weights/"}},
    )


@st.composite
def bedrock_refusals(draw: st.DrawFn, kind: Kind, bedrock: BedrockStandIn, properties: Properties) -> Refusal:
    """Valid changes that cannot be made: Bedrock's refusals, and the handler's for names and commitments."""
    other = draw(replacing_changes(kind, bedrock, properties), label="another configuration")
    named = properties | {kind.name_member: TAKEN_NAME}
    choices: list[Refusal] = []
    if kind is THROUGHPUT:
        # a rename to a name another throughput holds (in place: UpdateProvisionedModelThroughput)
        choices.append(Refusal("renamed to a taken name", named, _sibling(named), kind.update_operation))
        foundation = "amazon.titan-text-express-v1:0:8k"  # not the base model of the served model
        # Refused by the handler before any call: Bedrock moves a throughput only within its base model.
        choices.append(Refusal("another base model", properties | {"modelId": foundation}, names="modelId"))
        if "commitmentDuration" in properties:
            choices.append(Refusal("more units, committed", other, names="modelUnits"))
    else:
        # a replacement under a given name that another resource, of another configuration, holds
        sibling = other | {kind.name_member: TAKEN_NAME}
        choices.append(Refusal("a replacement under a taken name", named, _sibling(sibling), names=kind.name_member))
    if kind is JOB:
        choices.append(Refusal("a replacement, the job quota full", other, _quota_full, kind.create_operation))
    if kind is IMPORT_JOB:
        choices.append(
            Refusal("a replacement while another import runs", other, _another_import_runs, kind.create_operation)
        )
        # a replacement whose given model name another import's model holds (its job name is generated)
        model_named = {k: v for k, v in properties.items() if k != "jobName"} | {"importedModelName": TAKEN_NAME}
        sibling = other | {"importedModelName": TAKEN_NAME}
        choices.append(
            Refusal("a model name another model holds", model_named, _sibling(sibling), names="importedModelName")
        )
    if kind is COPY_JOB:
        # a copy under the name of a custom model that exists (a source model), which no copy job made
        in_use = properties | {"targetModelName": SOURCE_MODELS[0]}
        choices.append(Refusal("the name of a trained model", in_use, names="targetModelName"))
        # another source is a replacement: under a new name, as any (a given name cannot be reused)
        missing = draw(st.from_regex(r"[a-z0-9]{12}", fullmatch=True))
        absent_model = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/{BASE_MODEL}/{missing}"
        new_names = {member: other[member] for member in kind.name_members if member in properties}
        choices.append(
            Refusal(
                "a source model that does not exist",
                properties | new_names | {"sourceModelArn": absent_model},
                refused_call=kind.create_operation,
            )
        )
    if kind is DEPLOYMENT:
        missing = draw(st.from_regex(r"[a-z0-9]{12}", fullmatch=True))
        absent_model = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/imported/{missing}"
        choices.append(
            Refusal(
                "a model that does not exist",
                properties | {"modelArn": absent_model},
                refused_call=kind.update_operation,
            )
        )
    return draw(st.sampled_from(choices))


def refused_updates(
    kind: Kind, bedrock: BedrockStandIn, properties: Properties, *, by_bedrock: bool = True
) -> st.SearchStrategy[Refusal]:
    """Properties that the handler refuses (and, by_bedrock, valid changes that cannot be made)."""
    families: list[st.SearchStrategy[Refusal] | None] = [
        wrong_types(properties),
        unknown_members(kind, properties),
        missing_members(kind, properties),
        bad_enums(kind, properties) if any(has(properties, p[:-1]) for p in kind.enums) else None,
        bad_s3_uris(properties) if any(p[-1] == "s3Uri" for p, _ in own_members(properties)) else None,
        bad_tags(kind, properties),
        deeply_nested(properties),
        odd_numbers(kind, properties) if any(has(properties, p) for p in kind.numbers) else None,
        odd_strings(kind, properties),
        bedrock_refusals(kind, bedrock, properties) if by_bedrock else None,
    ]
    return st.one_of([family for family in families if family is not None])


# --- the properties -------------------------------------------------------------------------------------------

# What a refusal may raise: the contract's and the handler's errors (ValueError, RuntimeError) or Bedrock's
# (ClientError). Anything else (TypeError, KeyError, RecursionError, the stand-in's AssertionError) is a crash.
REFUSAL_ERRORS = (ValueError, RuntimeError, ClientError)


@for_every_kind
def test_the_rollback_of_a_failed_update_changes_nothing(aws_environment, kind, data):
    with fresh_bedrock() as bedrock:
        stack, properties, physical_id, created = created_stack(bedrock, kind, data)
        refused = data.draw(refused_updates(kind, bedrock, properties), label="refused update")
        refused.prepare(bedrock, stack)
        before = state(bedrock)
        mark = len(bedrock.calls)

        with pytest.raises(Exception) as raised:
            index.on_event(stack.events.update(physical_id, refused.properties, properties, stack.logical_id))
        assert not isinstance(raised.value, AssertionError), raised.value  # the stand-in's: a request it refused
        assert writes(bedrock, mark) == ([refused.refused_call] if refused.refused_call else [])
        assert state(bedrock) == before

        mark = len(bedrock.calls)
        rollback = stack.events.update(physical_id, properties, refused.properties, stack.logical_id)
        assert index.on_event(rollback) == {"PhysicalResourceId": physical_id}
        complete = index.is_complete(is_complete_input(rollback, {"PhysicalResourceId": physical_id}))
        assert complete == {"IsComplete": True, "Data": created}
        assert writes(bedrock, mark) == []
        assert state(bedrock) == before


@for_every_kind
def test_refused_properties_are_refused_naming_the_property(aws_environment, kind, data):
    """Bad input names the property path and creates nothing (DESIGN.md, principles): a refusal, not a crash."""
    with fresh_bedrock() as bedrock:
        properties = kind.draw_properties(bedrock, data, True)
        refused = data.draw(refused_updates(kind, bedrock, properties, by_bedrock=False), label="refused properties")
        mark = len(bedrock.calls)
        with pytest.raises(Exception) as raised:
            index.on_event(CloudFormationEvents(resource_type=kind.resource_type).create(refused.properties))
        error = raised.value
        assert isinstance(error, REFUSAL_ERRORS) and not isinstance(error, RecursionError), repr(error)
        assert refused.names is not None and refused.names in str(error)
        assert bedrock.calls[mark:] == []


@for_every_kind
def test_the_rollback_of_a_successful_replacement_returns_to_the_earlier_resource(aws_environment, kind, data):
    with fresh_bedrock() as bedrock:
        # a committed throughput is never replaced
        stack, properties, first_id, first_data = created_stack(bedrock, kind, data, commitment=False)
        replacing = data.draw(replacing_changes(kind, bedrock, properties), label="replacing")
        second_id, _ = stack.update(first_id, replacing, properties)
        assert second_id != first_id
        mark = len(bedrock.calls)

        rollback = stack.events.update(second_id, properties, replacing, stack.logical_id)
        assert index.on_event(rollback) == {"PhysicalResourceId": first_id}
        complete = index.is_complete(is_complete_input(rollback, {"PhysicalResourceId": first_id}))
        assert complete == {"IsComplete": True, "Data": first_data}
        assert [op for op in writes(bedrock, mark) if op.startswith(("Create", "Stop", "Delete"))] == []
        assert len(kind.existing(bedrock)) == 2


# How a Create reaches the handler again: the same event (a retry), a new request of the same stack, or the
# stack's name deployed again (a new stack id: a redeploy after RETAIN); whether its response is lost on the
# way back (the resource is made, the Create fails); whether the resource moves to its ready status after it.
CREATE_STEPS = st.lists(
    st.tuples(st.sampled_from(["retried", "new request", "redeployed"]), st.booleans(), st.booleans()),
    min_size=1,
    max_size=4,
)


@for_every_kind
def test_a_create_retried_or_replayed_creates_one_resource(aws_environment, kind, data):
    with fresh_bedrock() as bedrock:
        stack = new_stack(bedrock, kind, data)
        properties = kind.draw_properties(bedrock, data, True)
        events = stack.events
        event: dict[str, Any] | None = None
        answered = []
        for how, response_lost, moves_on in data.draw(CREATE_STEPS, label="creates"):
            if event is None or how != "retried":
                if how == "redeployed":
                    events = CloudFormationEvents(stack.events.stack_name, kind.resource_type)
                event = events.create(properties, stack.logical_id)
            if response_lost and not kind.existing(bedrock):
                # Served, then the answer lost: the handler sends the same request again, answered by its token.
                bedrock.lose_next_response_of(kind.create_operation)
            answered.append(index.on_event(event)["PhysicalResourceId"])
            if moves_on:
                for resource in kind.existing(bedrock):
                    stack.make_ready(resource[kind.arn_member])

        (resource,) = kind.existing(bedrock)
        assert answered == [resource[kind.arn_member]] * len(answered)


@for_every_kind
def test_tags_are_made_what_the_stack_says_whatever_they_are_now(aws_environment, kind, data):
    with fresh_bedrock() as bedrock:
        stack, properties, physical_id, _ = created_stack(bedrock, kind, data)
        member = data.draw(st.sampled_from(kind.tag_members), label="tag member")
        # where the kind says they are: the resource, a job's model, a copy job's copied model
        tagged = kind.tagged(bedrock, physical_id, member)
        assert tagged is not None, f"{member} tags nothing once {physical_id} is {kind.ready}"
        others = [arn for m in kind.tag_members if (arn := kind.tagged(bedrock, physical_id, m)) not in (None, tagged)]

        # done outside the stack: tags removed, changed and added; AWS's own tags added
        declared = sorted(tag["key"] for tag in properties.get(member) or [])
        removed = data.draw(st.lists(st.sampled_from(declared), unique=True) if declared else st.just([]))
        kept_keys = [key for key in declared if key not in removed]
        changed = data.draw(st.dictionaries(st.sampled_from(kept_keys), TAG_VALUES) if kept_keys else st.just({}))
        added = data.draw(st.dictionaries(TAG_KEYS.filter(lambda key: key not in declared), TAG_VALUES, max_size=4))
        aws_own = data.draw(
            st.dictionaries(st.from_regex(r"aws:[a-z:-]{1,30}", fullmatch=True), TAG_VALUES, max_size=2)
        )
        client = bedrock.client()
        if removed:
            client.untag_resource(resourceARN=tagged, tagKeys=removed)
        if changed | added:
            client.tag_resource(resourceARN=tagged, tags=tag_list(changed | added))
        if aws_own:
            bedrock.backend.tag_resource(tagged, tag_list(aws_own))
        before = bedrock.all_tags(tagged)
        others_before = {arn: bedrock.all_tags(arn) for arn in others}

        desired = data.draw(TAG_MAPS, label="desired tags")
        if desired or data.draw(st.booleans(), label="an empty list rather than none"):
            retagged = properties | {member: tag_list(desired)}
        else:
            retagged = {name: value for name, value in properties.items() if name != member}
        mark = len(bedrock.calls)

        assert stack.update(physical_id, retagged, properties)[0] == physical_id

        after = bedrock.all_tags(tagged)
        assert {k: v for k, v in after.items() if k.startswith("aws:")} == aws_own
        assert {key: after.get(key) for key in RESERVED} == {key: before.get(key) for key in RESERVED}
        assert {k: v for k, v in after.items() if not k.startswith("aws:") and k not in RESERVED} == desired
        assert {arn: bedrock.all_tags(arn) for arn in others} == others_before
        assert [op for op in writes(bedrock, mark) if op.startswith("Create")] == []
        assert len(kind.existing(bedrock)) == 1


# --- what these properties found -----------------------------------------------------------------------------


def test_a_customization_type_that_is_not_a_string_is_refused_naming_the_property(bedrock, events):
    """Found by wrong_types and deeply_nested: at c20c839, contract._customization_config_problems looked
    customizationType up in a dict, so a list or a map raised TypeError("unhashable type: 'list'"), and the stack
    event said only that. Bad input names the property, as for every other member."""
    for wrong in ([], ["FINE_TUNING"], {"FINE_TUNING": ""}):
        with pytest.raises(InvalidProperties, match="customizationType"):
            index.on_event(events.create(fine_tuning_properties(customizationType=wrong)))
    assert bedrock.calls == []
