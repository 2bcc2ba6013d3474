"""The models file: a team's models, imports, deployments, throughput and evaluations as data, validated offline.

Pure: no CDK. One table of fields (FIELDS) is the source of the file's JSON Schema, of its translation into
Bedrock requests, and of the names that errors use. Requests are checked by the same contract module as the
construct and the handler, so the file obeys the same rules from botocore's service model. Every problem is
reported as one line, ``file:line:column: path.to.field: message``, whatever the file holds: the file is
scanned before anything is built from it (syntax, nesting, aliases), and values that no models file holds
(keys that are not strings, numbers Python cannot print) are problems like any other.
"""

from __future__ import annotations

import difflib
import math
import re
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from bedrock_custom_resource import contract, patterns
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedKeyMap, CommentedKeySeq, CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    NodeEvent,
)
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

from .entry_props import COMMITMENTS

# Bounds on what a models file may hold. No real file comes near them: a file of a hundred entries has a
# few thousand values, nested six levels deep.
MAX_VALUES = 100_000  # values (scalars, mappings, lists, keys) once aliases are expanded: checked before expanding
MAX_DEPTH = 32  # mappings and lists nested in each other, aliases expanded
MAX_INTEGER_DIGITS = 4300  # Python's default limit for converting an int to and from text
# Numbers go into the template as JSON numbers, which jsii and CloudFormation carry as doubles: a larger
# integer would change, or (beyond a double's range) silently vanish from the template. A float is a double already;
# hyper-parameters go into the template as strings (the Python API's str(value)), so neither is bounded.
MAX_NUMBER = 2**53 - 1
# Bounds on what a problem shows: one line, `file:line:column: path: message`, where path and message are
# printable (other characters escaped) and cut to these lengths, and any value it echoes is cut shorter.
SHOWN_VALUE = 80  # characters of a value echoed by this module (the contract's own messages cut at 120)
MAX_PATH = 100
MAX_MESSAGE = 360
SECTIONS = (
    "models",
    "imported_models",
    "open_weight_models",
    "copied_models",
    "deployments",
    "provisioned_throughput",
    "evaluations",
)
KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,62}$"
CUSTOMIZATIONS = {
    "fine_tuning": "FINE_TUNING",
    "continued_pre_training": "CONTINUED_PRE_TRAINING",
    "distillation": "DISTILLATION",
    "reinforcement_fine_tuning": "REINFORCEMENT_FINE_TUNING",
}
COMPLETIONS = ("event_driven", "polling", "no_wait")
REMOVAL_POLICIES = ("retain", "destroy", "retain_on_update_or_delete")
_SCALAR_MAP = {"type": "object", "additionalProperties": {"type": ["string", "number", "integer"]}}


@dataclass(frozen=True)
class Field:
    """One field of an entry: its JSON Schema, and the request member it becomes (None: for the construct)."""

    name: str
    schema: Mapping[str, Any]
    member: str | None = None
    required: bool = False
    # May name a key of the file instead of a Bedrock identifier (so its schema has no pattern).
    reference: bool = False
    description: str = ""
    # A list field's items, when each is a mapping of fields whose members are relative to the item (so that the
    # contract's problem at member[2].name is reported at field.2.name).
    items: tuple[Field, ...] = ()


def _shape(operation: str, member: str) -> Any:
    """The service model's shape of a request member (a list's own shape: member[] for its items')."""
    shape: Any = contract.service_model().operation_model(operation).input_shape
    for part in member.split("."):
        items = part.count("[]")
        shape = shape.members[part.replace("[]", "")]
        for _ in range(items):
            shape = shape.member
    return shape


# A service model's pattern matches a whole value; JSON Schema's searches, so the schema anchors it.
_ANCHORS = ("^(?:", ")$")


def _member_schema(operation: str, member: str, **extra: Any) -> dict[str, Any]:
    """A string field's JSON Schema, from the service model's shape of the request member it becomes."""
    shape: Any = contract.service_model().operation_model(operation).input_shape
    for part in member.replace("[]", "").split("."):
        shape = shape.members[part]
        while shape.type_name == "list":
            shape = shape.member
    schema: dict[str, Any] = {"type": "string"}
    for key, name in (("min", "minLength"), ("max", "maxLength")):
        if key in shape.metadata:
            schema[name] = shape.metadata[key]
    if "pattern" in shape.metadata and not extra.pop("no_pattern", False):
        schema["pattern"] = "{}{}{}".format(_ANCHORS[0], shape.metadata["pattern"], _ANCHORS[1])
    return schema | extra


_NUMBER_TYPES = {"integer": "integer", "long": "integer", "float": "number", "double": "number"}


def _number_bounds(shape: Any) -> dict[str, Any]:
    """A number's minimum and maximum in JSON Schema: its shape's, within its type's range (an integer is 32-bit, a
    long 64-bit: contract.INTEGER_BITS), as the contract checks them."""
    bounds = {
        key: shape.metadata[bound] for bound, key in (("min", "minimum"), ("max", "maximum")) if bound in shape.metadata
    }
    bits = contract.INTEGER_BITS.get(shape.type_name)
    if bits is not None:
        bounds["minimum"] = max(bounds.get("minimum", -(2 ** (bits - 1))), -(2 ** (bits - 1)))
        bounds["maximum"] = min(bounds.get("maximum", 2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1)
    return bounds


def _structure_schema(operation: str, member: str) -> dict[str, Any]:
    """The JSON Schema of a structure of scalars, from the service model: its members, their bounds and enums. A
    number may also be written as a string, which the contract reads (CloudFormation sends numbers as strings)."""
    properties: dict[str, Any] = {}
    for name, shape in _shape(operation, member).members.items():
        path = f"{member}.{name}"
        if shape.type_name in _NUMBER_TYPES:
            properties[name] = {"type": [_NUMBER_TYPES[shape.type_name], "string"], **_number_bounds(shape)}
        elif shape.type_name == "string":
            properties[name] = _member_schema(operation, path) | (
                {"enum": _enum(operation, path)} if shape.enum else {}
            )
        else:
            raise ValueError(f"{path}: a {shape.type_name} member, which a structure of scalars does not have")
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _enum(operation: str, member: str) -> list[str]:
    """A member's allowed values, as the contract allows them: the service model's enum and its extensions."""
    shape = _shape(operation, member)
    return [*shape.enum, *contract.ENUM_EXTENSIONS.get(shape.name, ())]


def _list_schema(operation: str, member: str, items: Mapping[str, Any]) -> dict[str, Any]:
    """A list field's JSON Schema: its items', and its bounds from the service model's shape of the list member."""
    shape = _shape(operation, member)
    schema: dict[str, Any] = {"type": "array", "items": dict(items)}
    for key, name in (("min", "minItems"), ("max", "maxItems")):
        if key in shape.metadata:
            schema[name] = shape.metadata[key]
    return schema


def _tags_schema(operation: str, member: str) -> dict[str, Any]:
    """A tags field's JSON Schema: a mapping of each tag's key to its value, bounded as the service model bounds the
    key and value of the request's list of {key, value}, and no key that AWS reserves. Not the list's length: the
    construct adds tags of its own, which the contract counts in its message."""
    return {
        "type": "object",
        "propertyNames": {
            **_member_schema(operation, f"{member}.key"),
            "not": {"pattern": contract.RESERVED_TAG_KEY_PATTERN},
        },
        "additionalProperties": _member_schema(operation, f"{member}.value"),
    }


def _object_schema(fields: Sequence[Field], *, partial: bool = False) -> dict[str, Any]:
    """The JSON Schema of a mapping of these fields (partial: none required, as a stage's override)."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            f.name: dict(f.schema) | ({"description": f.description} if f.description else {}) for f in fields
        },
        "additionalProperties": False,
    }
    required = [f.name for f in fields if f.required]
    if required and not partial:
        schema["required"] = required
    return schema


JOB, IMPORT, WEIGHTS_IMPORT, COPY, DEPLOY, PROVISION, EVALUATE = (
    "CreateModelCustomizationJob",
    "CreateCustomModel",
    "CreateModelImportJob",
    "CreateModelCopyJob",
    "CreateCustomModelDeployment",
    "CreateProvisionedModelThroughput",
    "CreateEvaluationJob",
)
_REMOVAL = Field("removal_policy", {"enum": list(REMOVAL_POLICIES)}, description="default: as the Python construct")
# How the deployment waits for a job (a customization, import or copy job), and for how long.
_COMPLETION = (
    Field("completion", {"enum": list(COMPLETIONS)}, description="default event_driven"),
    Field("completion_timeout_hours", {"type": "number", "exclusiveMinimum": 0, "maximum": 12}),
)
# A deployment's or a throughput's evaluations: it is created only once their gates have passed.
_AFTER = Field(
    "after",
    {"type": ["string", "array"], "minLength": 1, "items": {"type": "string", "minLength": 1}, "minItems": 1},
    reference=True,
    description="the key of an evaluation of this file, or a list of them: created only once their gates passed",
)
# An evaluation's datasets: members relative to one of CreateEvaluationJob's datasetMetricConfigs.
_DATASET_CONFIG = "evaluationConfig.automated.datasetMetricConfigs[]"
EVALUATION_DATASET_FIELDS = (
    Field("name", _member_schema(EVALUATE, f"{_DATASET_CONFIG}.dataset.name"), "dataset.name", required=True),
    Field("task_type", {"enum": _enum(EVALUATE, f"{_DATASET_CONFIG}.taskType")}, "taskType", required=True),
    Field(
        "metric_names",
        _list_schema(
            EVALUATE,
            f"{_DATASET_CONFIG}.metricNames",
            _member_schema(EVALUATE, f"{_DATASET_CONFIG}.metricNames[]"),
        ),
        "metricNames",
        required=True,
        description="Builtin.Accuracy, Builtin.Robustness, Builtin.Toxicity; with an evaluator_model, judge metrics "
        "such as Builtin.Correctness, Builtin.Helpfulness",
    ),
    Field(
        "data",
        {"type": "string", "minLength": 1},
        "dataset.datasetLocation.s3Uri",
        description="a prompt dataset of your own: an s3:// URI, or a local .jsonl path relative to this file "
        "(validated, then shipped as an asset); default: the built-in dataset that name names (Builtin.BoolQ...)",
    ),
)
# A number as the loader reads it: an integer beyond ±MAX_NUMBER is refused (_to_plain), so the schema says so.
_BOUNDED_NUMBER = {"type": "number", "minimum": -MAX_NUMBER, "maximum": MAX_NUMBER}
# A requirement on an evaluation's scores, which its gate checks (ModelEvaluation.require and
# require_better_than_baseline).
EVALUATION_REQUIREMENT_FIELDS = (
    Field(
        "metric",
        _member_schema(EVALUATE, f"{_DATASET_CONFIG}.metricNames[]"),
        required=True,
        description="one of the datasets' metric_names",
    ),
    Field("at_least", _BOUNDED_NUMBER),
    Field("at_most", _BOUNDED_NUMBER),
    Field(
        "better_than_baseline_by",
        _BOUNDED_NUMBER,
        description="the least margin by which the score beats baseline_model's",
    ),
    Field(
        "lower_is_better",
        {"type": "boolean"},
        description=(
            "for better_than_baseline_by; default: true for Builtin.Robustness, Builtin.Toxicity, Builtin.Harmfulness, "
            "Builtin.Stereotyping and Builtin.Refusal"
        ),
    ),
    Field(
        "dataset",
        _member_schema(EVALUATE, f"{_DATASET_CONFIG}.dataset.name"),
        description="the name of one of the datasets; default: each dataset that computes the metric",
    ),
)
_EVALUATED_MODEL = "inferenceConfig.models[0].bedrockModel"
_TEACHER = "customizationConfig.distillationConfig.teacherModelConfig"

FIELDS: dict[str, tuple[Field, ...]] = {
    "models": (
        Field("customization", {"enum": list(CUSTOMIZATIONS)}, "customizationType", description="default fine_tuning"),
        Field(
            "base_model",
            _member_schema(JOB, "baseModelIdentifier", no_pattern=True),
            "baseModelIdentifier",
            required=True,
            reference=True,
            description="a model id or ARN, or the key of another entry of models",
        ),
        Field(
            "training_data",
            {"type": "string", "minLength": 1},
            "trainingDataConfig.s3Uri",
            description="an s3:// URI, or a local .jsonl path relative to this file",
        ),
        Field(
            "invocation_logs",
            {
                "type": "object",
                "properties": {
                    "source": _member_schema(JOB, "trainingDataConfig.invocationLogsConfig.invocationLogSource.s3Uri"),
                    "use_prompt_response": {"type": "boolean"},
                },
                "required": ["source"],
                "additionalProperties": False,
            },
            "trainingDataConfig.invocationLogsConfig",
            description="training data from model invocation logs (distillation), instead of training_data",
        ),
        Field(
            "validation_data",
            _list_schema(JOB, "validationDataConfig.validators", {"type": "string", "minLength": 1}),
            "validationDataConfig.validators",
            description="s3:// URIs or local .jsonl paths",
        ),
        Field("output_data", _member_schema(JOB, "outputDataConfig.s3Uri"), "outputDataConfig.s3Uri", required=True),
        Field("hyper_parameters", _SCALAR_MAP, "hyperParameters"),
        Field("job_name", _member_schema(JOB, "jobName"), "jobName", description="default: generated"),
        Field("custom_model_name", _member_schema(JOB, "customModelName"), "customModelName"),
        Field("role", _member_schema(JOB, "roleArn"), "roleArn", description="default: a role the construct creates"),
        Field("kms_key", _member_schema(IMPORT, "modelKmsKeyArn"), "customModelKmsKeyId"),
        Field(
            "teacher_model",
            _member_schema(JOB, "customizationConfig.distillationConfig.teacherModelConfig.teacherModelIdentifier"),
            "customizationConfig.distillationConfig.teacherModelConfig.teacherModelIdentifier",
        ),
        Field(
            "max_response_length_for_inference",
            {
                "type": "integer",
                **_number_bounds(_shape(JOB, f"{_TEACHER}.maxResponseLengthForInference")),
            },
            "customizationConfig.distillationConfig.teacherModelConfig.maxResponseLengthForInference",
        ),
        Field(
            "grader",
            _member_schema(JOB, "customizationConfig.rftConfig.graderConfig.lambdaGrader.lambdaArn"),
            "customizationConfig.rftConfig.graderConfig.lambdaGrader.lambdaArn",
            description="the reward grader's Lambda ARN (reinforcement fine-tuning)",
        ),
        Field(
            "rft_hyper_parameters",
            _structure_schema(JOB, "customizationConfig.rftConfig.hyperParameters"),
            "customizationConfig.rftConfig.hyperParameters",
        ),
        Field("job_tags", _tags_schema(JOB, "jobTags"), "jobTags"),
        Field("custom_model_tags", _tags_schema(JOB, "customModelTags"), "customModelTags"),
        *_COMPLETION,
        _REMOVAL,
    ),
    "imported_models": (
        Field(
            "source_uri",
            _member_schema(IMPORT, "modelSourceConfig.s3DataSource.s3Uri"),
            "modelSourceConfig.s3DataSource.s3Uri",
            description="the Amazon-managed S3 location SageMaker AI wrote the model to",
        ),
        Field(
            "model_package_arn",
            _member_schema(IMPORT, "customModelDataSource.modelPackageArnDataSource.modelPackageArn"),
            "customModelDataSource.modelPackageArnDataSource.modelPackageArn",
        ),
        Field("model_name", _member_schema(IMPORT, "modelName"), "modelName"),
        Field("role", _member_schema(IMPORT, "roleArn"), "roleArn"),
        Field("kms_key", _member_schema(IMPORT, "modelKmsKeyArn"), "modelKmsKeyArn"),
        Field("model_tags", _tags_schema(IMPORT, "modelTags"), "modelTags"),
        _REMOVAL,
    ),
    "open_weight_models": (
        Field(
            "model_data",
            {"type": "string", "minLength": 1},
            "modelDataSource.s3DataSource.s3Uri",
            required=True,
            description="the weights' folder (Hugging Face layout): an s3:// URI ending in /, or a local folder "
            "(relative to this file), checked as validate-weights checks it and uploaded when the stack deploys",
        ),
        Field("job_name", _member_schema(WEIGHTS_IMPORT, "jobName"), "jobName", description="default: generated"),
        Field("imported_model_name", _member_schema(WEIGHTS_IMPORT, "importedModelName"), "importedModelName"),
        Field(
            "role",
            _member_schema(WEIGHTS_IMPORT, "roleArn"),
            "roleArn",
            description="default: a role the construct creates",
        ),
        Field("kms_key", _member_schema(IMPORT, "modelKmsKeyArn"), "importedModelKmsKeyId"),
        Field("job_tags", _tags_schema(WEIGHTS_IMPORT, "jobTags"), "jobTags"),
        Field("imported_model_tags", _tags_schema(WEIGHTS_IMPORT, "importedModelTags"), "importedModelTags"),
        *_COMPLETION,
        _REMOVAL,
    ),
    "copied_models": (
        Field(
            "source_model",
            _member_schema(COPY, "sourceModelArn"),
            "sourceModelArn",
            required=True,
            description="the ARN of the custom model to copy, from another Region (or shared from another account); "
            "not a key of this file, whose entries all go into one stack, in one Region",
        ),
        Field(
            "target_model_name",
            _member_schema(COPY, "targetModelName"),
            "targetModelName",
            description="default: generated",
        ),
        Field("kms_key", _member_schema(IMPORT, "modelKmsKeyArn"), "modelKmsKeyId"),
        Field("target_model_tags", _tags_schema(COPY, "targetModelTags"), "targetModelTags"),
        *_COMPLETION,
        _REMOVAL,
    ),
    "deployments": (
        Field(
            "model",
            {"type": "string", "minLength": 1},
            "modelArn",
            required=True,
            reference=True,
            description="the key of a model of this file (models, imported_models, copied_models), or a custom model "
            "ARN",
        ),
        Field("model_deployment_name", _member_schema(DEPLOY, "modelDeploymentName"), "modelDeploymentName"),
        Field("description", _member_schema(DEPLOY, "description"), "description"),
        Field("tags", _tags_schema(DEPLOY, "tags"), "tags"),
        _AFTER,
        _REMOVAL,
    ),
    "provisioned_throughput": (
        Field(
            "model",
            {"type": "string", "minLength": 1},
            "modelId",
            required=True,
            reference=True,
            description="the key of a model of this file (models, imported_models, copied_models), or a model id or "
            "ARN",
        ),
        Field(
            "model_units",
            {"type": "integer", **_number_bounds(_shape(PROVISION, "modelUnits"))},
            "modelUnits",
            required=True,
        ),
        Field(
            "provisioned_model_name",
            _member_schema(PROVISION, "provisionedModelName"),
            "provisionedModelName",
        ),
        Field("commitment", {"enum": list(COMMITMENTS)}, "commitmentDuration", description="default: none"),
        Field("tags", _tags_schema(PROVISION, "tags"), "tags"),
        _AFTER,
        _REMOVAL,
    ),
    "evaluations": (
        Field(
            "model",
            {"type": "string", "minLength": 1},
            f"{_EVALUATED_MODEL}.modelIdentifier",
            required=True,
            reference=True,
            description="the key of a provisioned_throughput or open_weight_models entry of this file (a custom "
            "model is evaluated through a provisioned throughput), or a foundation model or inference profile id or "
            "ARN",
        ),
        Field(
            "baseline_model",
            {"type": "string", "minLength": 1},
            reference=True,
            description="a model to compare with, evaluated by a second job of the same datasets: a key or an id or "
            "ARN, as model",
        ),
        Field(
            "evaluator_model",
            _member_schema(
                EVALUATE, "evaluationConfig.automated.evaluatorModelConfig.bedrockEvaluatorModels[].modelIdentifier"
            ),
            "evaluationConfig.automated.evaluatorModelConfig.bedrockEvaluatorModels[0].modelIdentifier",
            description="the judge of a model-as-judge evaluation (judge metrics); default: automatic metrics",
        ),
        Field(
            "datasets",
            _list_schema(EVALUATE, _DATASET_CONFIG.removesuffix("[]"), _object_schema(EVALUATION_DATASET_FIELDS)),
            _DATASET_CONFIG.removesuffix("[]"),
            required=True,
            items=EVALUATION_DATASET_FIELDS,
        ),
        Field(
            "output_data", _member_schema(EVALUATE, "outputDataConfig.s3Uri"), "outputDataConfig.s3Uri", required=True
        ),
        Field(
            "inference_params",
            _member_schema(EVALUATE, "inferenceConfig.models[].bedrockModel.inferenceParams"),
            f"{_EVALUATED_MODEL}.inferenceParams",
            description="the evaluated models' inference parameters, a JSON string",
        ),
        Field("job_name", _member_schema(EVALUATE, "jobName"), "jobName", description="default: generated"),
        Field("job_description", _member_schema(EVALUATE, "jobDescription"), "jobDescription"),
        Field(
            "role", _member_schema(EVALUATE, "roleArn"), "roleArn", description="default: a role the construct creates"
        ),
        Field("kms_key", _member_schema(IMPORT, "modelKmsKeyArn"), "customerEncryptionKeyId"),
        Field("job_tags", _tags_schema(EVALUATE, "jobTags"), "jobTags"),
        Field(
            "completion",
            {"enum": list(COMPLETIONS)},
            description="event_driven (default) or polling; no_wait cannot gate on the scores",
        ),
        _COMPLETION[1],
        Field(
            "require",
            {"type": "array", "items": _object_schema(EVALUATION_REQUIREMENT_FIELDS)},
            description="what the scores must reach, or the deployment fails: each a metric with at_least and/or "
            "at_most, or better_than_baseline_by",
        ),
    ),
}
# Each section's resource type, as the types declare it (contract.ResourceContract.file_section).
RESOURCE_TYPES = {
    declared.file_section: resource_type
    for resource_type, declared in contract.CONTRACTS.items()
    if declared.file_section is not None
}
# The fields that name a Bedrock resource, which must be unique per account and Region: those that become a
# member the handler would otherwise generate.
NAME_FIELDS = {
    section: tuple(
        spec.name
        for spec in FIELDS[section]
        if spec.member in contract.CONTRACTS[RESOURCE_TYPES[section]].generated_names
    )
    for section in FIELDS
}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    path: str
    message: str
    # The stage whose overrides the problem appears with (None: the file as written).
    stage: str | None = None

    def __str__(self) -> str:
        message = self.message if self.stage is None else f"{self.message} (stage {self.stage})"
        path = _one_line(self.path, MAX_PATH)
        return f"{self.file}:{self.line}:{self.column}: {path}: {_one_line(message, MAX_MESSAGE)}"


class ModelsFileError(ValueError):
    """The problems of a models file, one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


# The account's values of dataset quotas adjusted with Service Quotas, for every local dataset of the file.
DATASET_QUOTAS = "dataset_quotas"


def _dataset_quotas_schema() -> dict[str, Any]:
    from .datasets import QUOTA_NAMES

    return {
        "description": (
            "your account's values of dataset quotas adjusted with Service Quotas (null: skip the quota), for every "
            "local dataset of the file; default: the documented quotas"
        ),
        "type": "object",
        "properties": {
            # maximum: the loader refuses a larger integer (_to_plain)
            name: {"description": text, "type": ["integer", "null"], "minimum": 0, "maximum": MAX_NUMBER}
            for name, text in QUOTA_NAMES.items()
        },
        "additionalProperties": False,
    }


@cache
def json_schema() -> dict[str, Any]:
    """The models file's JSON Schema, made from FIELDS."""

    def section(fields: tuple[Field, ...], *, partial: bool) -> dict[str, Any]:
        entry = _object_schema(fields, partial=partial)
        return {"type": "object", "propertyNames": {"pattern": KEY_PATTERN}, "additionalProperties": entry}

    def sections(partial: bool) -> dict[str, Any]:
        return {name: section(fields, partial=partial) for name, fields in FIELDS.items()} | {
            DATASET_QUOTAS: _dataset_quotas_schema()
        }

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/cdk-bedrock-customization/models.schema.json",
        "title": "cdk-bedrock-customization models file",
        "type": "object",
        "properties": {
            "version": {"const": 1},
            **sections(partial=False),
            "stages": {
                "description": "per-stage overrides, merged into the entries above (mappings merge, lists replace)",
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": sections(partial=True),
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    }


def _linear_pattern(
    validator: jsonschema.Draft202012Validator, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    """jsonschema's "pattern" (a search), in linear time: Python's re backtracks exponentially on some of the
    service model's patterns (DESIGN.md, fact 15). $ holds only at the end, as in ECMA-262 (an editor's)."""
    if not validator.is_type(instance, "string"):
        return
    try:
        found = patterns.fullmatch(f"[\\s\\S]*(?:{pattern})[\\s\\S]*", instance, ecma=True)
    except (patterns.PatternUnsupported, re.error):  # left to Bedrock, as the contract does
        return
    if not found:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _validator() -> jsonschema.Draft202012Validator:
    linear = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft202012Validator, {"pattern": _linear_pattern}
    )
    return linear(json_schema())  # type: ignore[no-any-return]


# A problem found in the document before it is placed: the path to it, its message, and whether it is about
# the key at the end of the path (rather than the value).
_Found = tuple[list[Any], str, bool]


@dataclass
class DatasetFindings:
    """What checking a file found besides problems: warnings (a local record that may exceed the model's token
    limit, a hyperparameter the user guide does not document...), and each local dataset (its path, the job's base
    model and customization type) for exact counts."""

    warnings: list[Problem] = field(default_factory=list)
    datasets: list[tuple[Path, str, str]] = field(default_factory=list)


@dataclass
class ModelsFile:
    """A loaded models file, for one stage (None: the file as written).

    ``document`` is the file as ruamel.yaml read it, for the line and column of each value; ``data`` is the
    same content as plain JSON types (keys that are not strings and values no models file holds left out,
    and reported by ``schema_problems``), which everything else reads.
    """

    path: Path
    document: CommentedMap
    stage: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    found_while_reading: list[_Found] = field(default_factory=list, repr=False)
    merged_keys: _MergedKeys = field(default_factory=lambda: _MergedKeys(), repr=False, compare=False)

    @classmethod
    def load(cls, path: str | Path, stage: str | None = None) -> ModelsFile:
        """Load and validate the file with the stage's overrides; raises ModelsFileError with every problem."""
        models_file, problems = cls.check(path, [stage])
        if problems or models_file is None:
            raise ModelsFileError(problems)
        return models_file.for_stage(stage)

    @classmethod
    def check(
        cls, path: str | Path, stages: Sequence[str | None] | None = None, findings: DatasetFindings | None = None
    ) -> tuple[ModelsFile | None, list[Problem]]:
        """The file as read, and every problem of it: as written and with each stage's overrides (by default
        every stage of the file, or only those given; None is the file as written). Each problem once. findings
        collects what the local datasets' checks found besides problems."""
        try:
            models_file = cls.read(path)
        except ModelsFileError as error:
            return None, error.problems
        problems = models_file.schema_problems()
        if problems:
            return models_file, problems
        found: dict[tuple[int, int, str, str], Problem] = {}
        for name in [None, *models_file.stages()] if stages is None else stages:
            try:
                variant = models_file.for_stage(name)
            except ModelsFileError as error:
                return models_file, [*found.values(), *error.problems]
            for problem in variant.semantic_problems(findings):
                found.setdefault((problem.line, problem.column, problem.path, problem.message), problem)
        return models_file, list(found.values())

    @classmethod
    def read(cls, path: str | Path) -> ModelsFile:
        """Read the file; raises ModelsFileError if it cannot be read as a mapping within the bounds above."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeError, ValueError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise ModelsFileError([Problem(str(path), 1, 1, "(file)", f"cannot be read: {reason}")]) from None
        try:
            refused = _scan(text)
            document = None if refused else _load(text)
        except YAMLError as error:
            refused = _yaml_error(error, text)
        except Exception as error:  # whatever else the parser raises is a problem of the file
            refused = (None, f"cannot be read as YAML: {type(error).__name__}: {_one_line(str(error), 200)}")
        if refused:
            mark, message = refused
            line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
            raise ModelsFileError([Problem(str(path), line, column, "(file)", message)]) from None
        if not isinstance(document, CommentedMap):
            raise ModelsFileError([Problem(str(path), 1, 1, "(file)", "must be a mapping with models, deployments...")])
        found: list[_Found] = []
        data = _to_plain(document, [], found)
        return cls(path, document, None, data, found)

    def stages(self) -> list[str]:
        stages = self.data.get("stages")
        return list(stages) if isinstance(stages, dict) else []

    def schema_problems(self) -> list[Problem]:
        """What reading found, what the JSON Schema finds, and stage entries that add incomplete entries."""
        found = [*self.found_while_reading, *self._copied_key_problems()]
        # A value reading reported is None in data: the schema's problems at it or under it say it again.
        reported = {tuple(path) for path, _, at_key in found if not at_key}
        for error in _validator().iter_errors(self.data):
            for path, message, at_key in _schema_error(error):
                if at_key or not any(tuple(path[:end]) in reported for end in range(len(path) + 1)):
                    found.append((path, message, at_key))
        found.extend(self._added_entry_problems())
        problems: dict[tuple[int, int, str], Problem] = {}
        for path, message, at_key in found:
            problem = self.problem(path, message, at_key=at_key)
            problems.setdefault((problem.line, problem.column, problem.message), problem)
        return sorted(problems.values(), key=lambda problem: (problem.line, problem.column))

    def _copied_key_problems(self) -> Iterator[_Found]:
        """A copy's source_model that is a key of the file, which the schema would only call no ARN."""
        sections = {key: section for section in SECTIONS for key, _ in self.entries(section)}
        for key, entry in self.entries("copied_models"):
            source = entry.get("source_model")
            if isinstance(source, str) and source in sections:
                yield (
                    ["copied_models", key, "source_model"],
                    f"{_show(source)} is a key of {sections[source]}; a copy's source_model is the ARN of a custom "
                    "model of another Region (or shared from another account): a file's entries all go into one "
                    "stack, in one Region, where its models are served by their keys",
                    False,
                )

    def _added_entry_problems(self) -> Iterator[_Found]:
        """A stage's entry that is not in the file as written adds an entry, which needs the required fields."""
        stages = self.data.get("stages")
        for stage, overrides in (stages if isinstance(stages, dict) else {}).items():
            for section in SECTIONS if isinstance(overrides, dict) else ():
                base, added = self.data.get(section), overrides.get(section)
                if not isinstance(added, dict):
                    continue
                required = [spec.name for spec in FIELDS[section] if spec.required]
                for key, entry in added.items():
                    missing = [name for name in required if isinstance(entry, dict) and name not in entry]
                    if missing and not (isinstance(base, dict) and key in base):
                        yield (
                            ["stages", stage, section, key],
                            f"{section} has no entry {_show(key)} to override; an entry that a stage adds needs "
                            f"{' and '.join(missing)}",
                            True,
                        )

    def for_stage(self, stage: str | None) -> ModelsFile:
        """The file with the stage's overrides merged in."""
        if stage is None:
            return ModelsFile(self.path, self.document, None, self.data)
        stages = self.document.get("stages")
        if not isinstance(stages, CommentedMap) or stage not in stages:
            names = ", ".join(map(_show, self.stages())) or "none"
            raise ModelsFileError([self.problem(["stages"], f"no stage {_show(stage)}; the file has {names}")])
        merged = _merge(self.document, stages[stage], self.merged_keys)
        del merged["stages"]
        return ModelsFile(self.path, merged, stage, _to_plain(merged, [], []))

    def entries(self, section: str) -> Iterator[tuple[str, dict[str, Any]]]:
        entries = self.data.get(section)
        if isinstance(entries, dict):
            yield from ((key, entry) for key, entry in entries.items() if isinstance(entry, dict))

    def semantic_problems(self, findings: DatasetFindings | None = None) -> list[Problem]:
        """References, cycles, unique names, and each entry's request against the contract (of a file whose
        schema_problems are none)."""
        from ._entry_checks import EntryChecks  # it reads this module's tables

        return EntryChecks(self, findings).problems()

    def local_path(self, value: str) -> Path:
        return (self.path.parent / value).resolve()

    def local_folder(self, value: str) -> Path | None:
        """The local folder that value names (relative to this file), or None if it names none."""
        try:
            local = self.local_path(value)
            return local if local.is_dir() else None
        except (OSError, ValueError, RuntimeError):  # a name too long, a NUL character, a symlink loop
            return None

    def local_file(self, value: str) -> Path | None:
        """The local file that value names (relative to this file), or None if it names none."""
        try:
            local = self.local_path(value)
            return local if local.is_file() else None
        except (OSError, ValueError, RuntimeError):  # a name too long, a NUL character, a symlink loop
            return None

    def position(self, path: Sequence[Any], *, at_key: bool = False) -> tuple[int, int]:
        """1-based line and column of the value at path (of its key with at_key), or of the nearest enclosing
        node that exists."""
        return _position(self.document, path, self.merged_keys, at_key=at_key)

    def problem(self, path: list[Any], message: str, *, label: str | None = None, at_key: bool = False) -> Problem:
        line, column = self.position(path, at_key=at_key)
        return Problem(str(self.path), line, column, label or _label(path), message)

    def error(self, path: list[Any], message: str) -> ModelsFileError:
        """The error of one problem at path that only building the file's constructs finds, of this file's stage."""
        return ModelsFileError([replace(self.problem(path, message), stage=self.stage)])


# --- reading -------------------------------------------------------------------------------------------------


def _scan(text: str) -> tuple[Any, str] | None:
    """The mark and message of what stops the file from being read, from the parser's events alone, before
    anything is built: nesting deeper than MAX_DEPTH, more than MAX_VALUES values once aliases are expanded
    (an alias counts as every value of its anchor, however often it is used), and aliases that are undefined
    or inside their own anchor. Syntax errors raise YAMLError."""

    @dataclass
    class Node:  # a value with its anchor, or an open collection: its values (itself included) and height
        values: int = 1
        height: int = 0
        closed: bool = True

    anchors: dict[str, Node] = {}
    open_nodes: list[Node] = []
    total = 0
    for event in YAML(typ="safe", pure=True).parse(text):  # the same events as "rt", without comments: faster
        if isinstance(event, CollectionStartEvent):
            node = Node(height=1, closed=False)
            total += 1
            open_nodes.append(node)
            if len(open_nodes) > MAX_DEPTH:
                return event.start_mark, f"mappings and lists are nested more than {MAX_DEPTH} deep"
        elif isinstance(event, CollectionEndEvent):
            node = open_nodes.pop()
            node.closed = True
        elif isinstance(event, AliasEvent):
            anchored = anchors.get(event.anchor)
            if anchored is None:
                return event.start_mark, f"the alias *{_cut(event.anchor, 40)} has no anchor before it"
            if not anchored.closed:
                return event.start_mark, f"the alias *{_cut(event.anchor, 40)} is inside its own anchor"
            if len(open_nodes) + anchored.height > MAX_DEPTH:
                return event.start_mark, f"this alias nests mappings and lists more than {MAX_DEPTH} deep"
            node = anchored
            total += node.values
        elif isinstance(event, NodeEvent):  # a scalar
            node = Node()
            total += 1
        else:
            continue
        if isinstance(event, NodeEvent) and event.anchor is not None and not isinstance(event, AliasEvent):
            anchors[event.anchor] = node
        if total > MAX_VALUES:
            return event.start_mark, (
                f"the file holds more than {MAX_VALUES} values once its aliases are expanded; a models file "
                "needs far fewer"
            )
        if node.closed and open_nodes:  # a complete value: it counts in the collection that holds it
            parent = open_nodes[-1]
            parent.values += node.values
            parent.height = max(parent.height, node.height + 1)
    return None


class _Unreadable:
    """A scalar that no models file holds (an integer too long to print, a number YAML cannot read)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


@cache
def _digits_allowed() -> int:
    """The most digits an integer may have: MAX_INTEGER_DIGITS, or Python's own limit if it is lower."""
    return min(sys.get_int_max_str_digits() or MAX_INTEGER_DIGITS, MAX_INTEGER_DIGITS)


@cache
def _integer_bound() -> int:
    return int(10 ** _digits_allowed())


_TAG_NAMES = {"int": "integer", "float": "number", "bool": "boolean", "binary": "base64"}
_CORE_TAG = "tag:yaml.org,2002:"
# YAML 1.2.2's core schema (section 10.3.2, tag resolution): each scalar tag's forms, and how each form reads. A plain
# scalar is the first tag whose forms it matches, else a string; an explicit tag (!!int '2') needs one of its forms.
# ruamel.yaml also reads YAML 1.1's forms (1_000, 0b101, +0o7) as numbers, which an editor reads as strings.
_CORE_FORMS: dict[str, tuple[tuple[re.Pattern[str], Any], ...]] = {
    "null": ((re.compile(r"null|Null|NULL|~|"), lambda text: None),),
    "bool": ((re.compile(r"true|True|TRUE|false|False|FALSE"), lambda text: text.lower() == "true"),),
    "int": (
        (re.compile(r"[-+]?[0-9]+"), int),
        (re.compile(r"0o[0-7]+"), lambda text: int(text[2:], 8)),
        (re.compile(r"0x[0-9a-fA-F]+"), lambda text: int(text[2:], 16)),
    ),
    "float": (
        (re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"), float),
        (re.compile(r"[-+]?\.(inf|Inf|INF)"), lambda text: -math.inf if text[0] == "-" else math.inf),
        (re.compile(r"\.(nan|NaN|NAN)"), lambda text: math.nan),
    ),
}


def _read_core(kind: str, text: str) -> Any:
    """text read as the core schema's tag kind; ValueError if it is none of the tag's forms."""
    for form, read in _CORE_FORMS[kind]:
        if form.fullmatch(text):
            return read(text)
    raise ValueError(f"{text!r} is no form of the core schema's {kind}")


class _Resolver(VersionedResolver):
    """Plain scalars resolved by the core schema's forms (_CORE_FORMS); merge keys (<<) as ruamel.yaml resolves them."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0]:
            for name, forms in _CORE_FORMS.items():
                if any(form.fullmatch(value) for form, _ in forms):
                    return Tag(suffix=_CORE_TAG + name)
            if value != "<<":
                implicit = (False, implicit[1])  # a string: ruamel.yaml's other implicit tags (dates...) are not core
        return super().resolve(kind, value, implicit)


class _Mapping(CommentedMap):
    """A mapping as read. ruamel.yaml adds each mapping that merges this one (<<: *it) to a list of its referents,
    searched by value for each (quadratic in their number: 16,000 entries merging one anchor took minutes), which
    serves to update them when this one changes: nothing here changes a mapping once read."""

    def add_referent(self, cm: Any) -> None:
        pass


class _Constructor(RoundTripConstructor):
    """ruamel.yaml's round-trip constructor, with a scalar it cannot or should not build kept as _Unreadable
    (so that each such value is a problem at its own position) instead of an exception for the whole file, and
    mappings read as _Mapping."""

    def construct_yaml_map(self, node: Any) -> Iterator[CommentedMap]:  # RoundTripConstructor's, with _Mapping
        data = _Mapping()
        data._yaml_set_line_col(node.start_mark.line, node.start_mark.column)
        yield data
        self.construct_mapping(node, data, deep=True)
        self.set_collection_style(data, node)

    def construct_non_recursive_object(self, node: Any, tag: str | None = None) -> Any:
        if not isinstance(node, ScalarNode):
            return super().construct_non_recursive_object(node, tag)
        full_tag = str(tag or node.tag)
        kind = full_tag.rsplit(":", 1)[-1]
        core = full_tag in {_CORE_TAG + name for name in (*_CORE_FORMS, "str")}
        if kind == "timestamp":  # YAML 1.2's core schema, as editors read it, has no dates: the text as written
            return str(node.value)
        if core and kind == "str":  # !!str 12: the text as written, as a plain string is
            return str(node.value)
        try:
            value = _read_core(kind, str(node.value)) if core else super().construct_non_recursive_object(node, tag)
        except (ValueError, ArithmeticError, MarkedYAMLError):
            digits = sum(character.isdigit() for character in str(node.value))
            if kind == "int" and digits > _digits_allowed():
                return _Unreadable(f"an integer of more than {_digits_allowed()} digits")
            return _Unreadable(f"{_show(str(node.value))} is not a valid {_TAG_NAMES.get(kind, kind)}")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _integer_bound():
            return _Unreadable(f"an integer of more than {_digits_allowed()} digits")
        return value


_Constructor.add_constructor("tag:yaml.org,2002:map", _Constructor.construct_yaml_map)


def _load(text: str) -> Any:
    yaml = YAML(typ="rt")
    yaml.Resolver = _Resolver
    yaml.Constructor = _Constructor
    with warnings.catch_warnings():  # a reused anchor is valid YAML, of which ruamel.yaml warns on stderr
        warnings.simplefilter("ignore")
        return yaml.load(text)


@dataclass(frozen=True)
class _Mark:
    line: int  # 0-based, as ruamel.yaml's marks
    column: int


def _yaml_error(error: YAMLError, text: str) -> tuple[Any, str]:
    """The mark and a one-line message of a YAML error."""
    if isinstance(error, ReaderError) and isinstance(error.character, int):  # a character YAML does not allow
        before = text[: error.position]
        mark = _Mark(before.count("\n"), len(before) - before.rfind("\n") - 1)
        return mark, f"is not valid YAML or JSON: the character U+{error.character:04X} is not allowed in YAML"
    if not isinstance(error, MarkedYAMLError):
        return None, f"is not valid YAML or JSON: {type(error).__name__}"
    mark = error.problem_mark or error.context_mark
    if type(error).__name__ == "DuplicateKeyError":
        problem = "duplicate key; a mapping holds each key once"
    elif "another document" in str(error.problem):
        problem, error.context = "a second document; a models file is one YAML document", None
    else:
        problem = str(error.problem or error.context or type(error).__name__)
    context = error.context if error.problem else None
    if context and error.context_mark is not None and error.context_mark is not mark:
        where = error.context_mark
        problem += f" ({context}, at line {where.line + 1}, column {where.column + 1})"
    return mark, f"is not valid YAML or JSON: {problem}"


_KINDS = {
    bytes: "binary data",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    type(None): "null",
}


def _kind(value: Any) -> str:
    if isinstance(value, (CommentedKeySeq, list, tuple)):
        return "a list"
    if isinstance(value, (CommentedKeyMap, Mapping)):
        return "a mapping"
    if isinstance(value, AbstractSet):
        return "a set"
    if isinstance(value, TaggedScalar):
        return f"a value tagged {_cut(str(value.tag), 40)}"
    return next((name for kind, name in _KINDS.items() if isinstance(value, kind)), f"a {type(value).__name__}")


# How YAML writes the scalars that are not strings, for the advice to quote such a key.
_WRITTEN = ((True, "true"), (False, "false"), (None, "null"))


_SURROGATE = re.compile("[\ud800-\udfff]")
# Two keys that _paired makes one (JSON's "\\ud83d\\ude00" and "\U0001f600"), said as the parser says a duplicate.
_PAIRED_DUPLICATE = "duplicate key; a mapping holds each key once (an escaped surrogate pair is one character)"


def _paired(text: str) -> str:
    """text with each escaped surrogate pair (\\uD83D\\uDE00) as the one character it stands for, as JSON reads it
    (RFC 8259, section 7); YAML keeps the two halves. A lone surrogate stays, to be reported."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _unbounded(path: list[Any]) -> bool:
    """Whether the integer at path goes into no template as a number, so MAX_NUMBER is not its bound here: a model's
    hyper-parameter (models.key.hyper_parameters.name, a string in the template), or a dataset quota (checked at
    synth; the schema bounds it), or a stage's override of one."""
    relative = path[2:] if path[:1] == ["stages"] else path
    hyper_parameter = len(relative) == 4 and relative[0] == "models" and relative[2] == "hyper_parameters"
    return hyper_parameter or relative[:1] == [DATASET_QUOTAS]


def _to_plain(value: Any, path: list[Any], found: list[_Found]) -> Any:
    """value as plain JSON types, appending to found what no models file holds (the value is then None, or
    the key left out). Depth and size are bounded by _scan."""
    if isinstance(value, Mapping):
        plain: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, str):
                name = _paired(str(key))
                if name in plain:  # two keys to the parser, one once paired
                    found.append(([*path, key], _PAIRED_DUPLICATE, True))
                # The later value wins: in a stage's merge (whose problems are not reported), the override's.
                plain[name] = _to_plain(item, [*path, name], found)
            elif isinstance(key, _Unreadable):
                found.append(([*path, key], f"a key must be a string, and this one is {key.reason}", True))
            else:
                scalar = not isinstance(key, (CommentedKeySeq, CommentedKeyMap, tuple, Mapping))
                # By identity: 1 == True, and an integer key is written as itself.
                written = next((text for given, text in _WRITTEN if key is given), str(key)) if scalar else ""
                advice = f": quote it, as in {_show(written)}" if scalar else ""
                found.append(([*path, key], f"a key must be a string, and this one is {_kind(key)}{advice}", True))
        return plain
    if isinstance(value, (list, CommentedSeq)):
        return [_to_plain(item, [*path, index], found) for index, item in enumerate(value)]
    if isinstance(value, str) and not isinstance(value, TaggedScalar):
        return _paired(str(value))
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            found.append((path, f"{value} is not a finite number", False))
        elif isinstance(value, int) and abs(value) > MAX_NUMBER and not _unbounded(path):
            found.append((path, f"{_show(value)} is beyond ±{MAX_NUMBER}: a template cannot carry it exactly", False))
        else:
            return int(value) if isinstance(value, int) else float(value)
        return None
    reason = value.reason if isinstance(value, _Unreadable) else f"{_kind(value)}, which a models file does not hold"
    found.append((path, reason if isinstance(value, _Unreadable) else f"is {reason}", False))
    return None


# --- problems ------------------------------------------------------------------------------------------------

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
    "null": "null",
}
_BOUNDS = {
    "minimum": "at least",
    "maximum": "at most",
    "exclusiveMinimum": "greater than",
    "exclusiveMaximum": "less than",
}


def _schema_error(error: jsonschema.ValidationError) -> list[_Found]:
    """A JSON Schema error as problems, with this module's messages (values cut to SHOWN_VALUE)."""
    path, kind = list(error.absolute_path), error.validator
    instance: Any = error.instance
    rule: Any = error.validator_value
    schema: Any = error.schema
    if kind == "additionalProperties":
        known = sorted(schema.get("properties", {}))
        return [([*path, name], _unknown_field(name, known), True) for name in instance if name not in known]
    at_key = "propertyNames" in error.schema_path
    if at_key and rule == KEY_PATTERN:
        return [
            (
                [*path, instance],
                f"{_show(instance)} is not a valid key: a letter, then up to 62 letters, digits, '-' or '_'",
                True,
            )
        ]
    if at_key:  # a tag's key: at the key, which names itself
        path = [*path, instance]
        if kind == "not":
            return [(path, contract.reserved_tag_key_problem(instance), True)]
    shown = _show(instance)
    if kind == "required":
        message = error.message  # "'name' is a required property": a name of this module's schema
    elif kind == "type":
        expected = [rule] if isinstance(rule, str) else list(rule)
        message = f"expected {' or '.join(_TYPE_NAMES.get(name, name) for name in expected)}, got {shown}"
    elif kind == "enum":
        message = f"{shown} is not one of {rule}"
    elif kind == "const":
        message = f"must be {rule!r}, got {shown}"
    elif kind == "pattern":
        message = f"{shown} does not match {rule if len(rule) <= SHOWN_VALUE else 'the pattern of this field'}"
        reason = contract.pattern_mismatch(rule.removeprefix(_ANCHORS[0]).removesuffix(_ANCHORS[1]), instance)
        message += f": {reason}" if reason else ""
    elif kind in ("minLength", "maxLength"):
        word = "least" if kind == "minLength" else "most"
        message = f"{shown} has {len(instance)} characters; it must have at {word} {rule}"
    elif kind in ("minItems", "maxItems"):
        word = "least" if kind == "minItems" else "most"
        message = f"a list of {len(instance)} items; it must have at {word} {rule}"
    elif kind in _BOUNDS:
        message = f"{shown} must be {_BOUNDS[kind]} {rule}"
    else:
        message = f"{shown} breaks the schema's {kind} rule"
    return [(path, message, at_key)]


def _unknown_field(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"unknown field; did you mean {close[0]!r}?"
    listed = ", ".join(known)
    if len(listed) <= 160:
        return f"unknown field; expected one of {listed}"
    return "unknown field; `cdk-bedrock-customization schema` lists the fields"


def _show(value: Any, limit: int = SHOWN_VALUE) -> str:
    """A value as a message echoes it: its repr (so escaped), cut to limit characters."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        text = repr(value[: limit + 2] + ("x" if len(value) > limit + 2 else ""))
    elif isinstance(value, (bool, int, float)) or value is None:
        text = repr(value)
    else:
        return _kind(value)
    return _cut(text, limit)


def _cut(text: str, limit: int = SHOWN_VALUE) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _one_line(text: str, limit: int) -> str:
    """text as one printable line (other characters escaped: newlines, lone surrogates...), cut to limit."""
    text = text[: limit * 12]  # an escaped character takes at most 10: enough to fill the line
    printable = "".join(
        character if character.isprintable() else character.encode("unicode_escape").decode("ascii")
        for character in text
    )
    return _cut(printable, limit)


def _label(path: Sequence[Any]) -> str:
    """A path as a problem names it: section.key.field, each part shown as it is when it is a plain word."""
    return ".".join(map(_part_label, path)) or "(file)"


def _part_label(part: Any) -> str:
    if isinstance(part, int) and not isinstance(part, bool):
        return str(part)
    if isinstance(part, str) and 0 < len(part) <= 64 and part.isprintable() and not any(c in part for c in " .:"):
        return part
    if isinstance(part, str):
        return _show(part, 40)
    if isinstance(part, _Unreadable):
        return "(an integer)"
    if isinstance(part, (bool, int, float)):
        return _cut(str(part), 40)
    return f"({_kind(part)})"


class _MergedKeys:
    """Which mapping each key merged in with <<: comes from (the first of the merge list that holds it), found once
    per mapping: scanning a long merge list for every key would take time quadratic in the file."""

    def __init__(self) -> None:
        self._by_mapping: dict[int, tuple[CommentedMap, dict[Any, CommentedMap]]] = {}

    def source(self, node: CommentedMap, key: Any) -> CommentedMap | None:
        known = self._by_mapping.get(id(node))
        if known is None:  # the node is held in the entry, so its id is not another's meanwhile
            sources: dict[Any, CommentedMap] = {}
            for source in getattr(node, "merge", None) or []:
                source = source[1] if isinstance(source, tuple) else source
                if isinstance(source, CommentedMap):
                    for name in source:
                        sources.setdefault(name, source)
            known = self._by_mapping[id(node)] = (node, sources)
        return known[1].get(key)


def _key_position(node: CommentedMap, key: Any, merged_keys: _MergedKeys) -> list[int] | None:
    """[key line, key column, value line, value column] of key in node, 0-based, also for a key merged in
    with <<: (then where the mapping it comes from holds it)."""
    # ruamel.yaml leaves lc.data None on a mapping with no keys of its own (only <<: *anchor, or a !!omap)
    position = (node.lc.data or {}).get(key)
    if position is not None:
        return list(position)
    source = merged_keys.source(node, key)
    return None if source is None else _key_position(source, key, merged_keys)


def _position(document: Any, path: Sequence[Any], merged_keys: _MergedKeys, *, at_key: bool = False) -> tuple[int, int]:
    """1-based line and column of the value at path (of its key with at_key), or of the nearest enclosing
    node that exists."""
    node = document
    line, column = (node.lc.line + 1, node.lc.col + 1) if isinstance(node, (CommentedMap, CommentedSeq)) else (1, 1)
    for index, part in enumerate(path):
        position: Any = None
        try:
            if isinstance(node, CommentedMap) and part in node:
                position = _key_position(node, part, merged_keys)
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                position = (node.lc.data or {}).get(part)
        except TypeError:  # an unhashable part
            position = None
        if position is None:
            break
        last = index == len(path) - 1
        line, column = (position[0] + 1, position[1] + 1) if at_key and last else (position[-2] + 1, position[-1] + 1)
        node = node[part]
    return line, column


def _merge(base: Any, override: Any, merged_keys: _MergedKeys) -> Any:
    """override merged into base: mappings merge key by key (keeping each value's position), the rest replaces."""
    if not (isinstance(base, CommentedMap) and isinstance(override, CommentedMap)):
        return override
    merged = CommentedMap()
    for source in (base, override):
        for key in source:
            if key in merged and source is override:
                merged[key] = _merge(merged[key], source[key], merged_keys)
            else:
                merged[key] = source[key]
            position = _key_position(source, key, merged_keys)
            if position is not None:
                merged.lc.add_kv_line_col(key, position)
    merged.lc.line, merged.lc.col = base.lc.line, base.lc.col
    return merged
