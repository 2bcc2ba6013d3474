"""Each public construct's scalar props, fuzzed at the limits the Bedrock service model documents: a value is refused
with a ValueError that names the prop and shows the value, or it synthesizes into a custom resource whose request
botocore's validation and the service model's constraints (length, pattern, enum, range) accept.

The oracle is the service model the library ships (lambda/bedrock_custom_resource/botocore_data), read with botocore's
own loader, and botocore.validate; not the library's contract. test_prop_types.py covers props of the library's
types, test_refusals.py what a refused construct leaves: these cover the strings and numbers in between.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from bedrock_custom_resource import contract
from botocore.loaders import Loader
from botocore.model import ServiceModel, Shape
from botocore.validate import ParamValidator
from cdk_bedrock_customization import (
    CopiedCustomModel,
    Customization,
    CustomModel,
    CustomModelDeployment,
    EvaluationDataset,
    ImportedCustomModel,
    ImportedModel,
    ModelEvaluation,
    ModelSource,
    ProvisionedThroughput,
    S3Data,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import BASE_MODEL, ENV

MODEL = ServiceModel(
    Loader(extra_search_paths=[str(contract.SERVICE_DATA_PATH)], include_default_search_paths=False).load_service_model(
        "bedrock", "service-2"
    ),
    "bedrock",
)
CUSTOM_MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
THROUGHPUT = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/a1b2c3d4e5f6"
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/nova/1"
TRAIN = S3Data.from_uri("s3://my-bucket/train.jsonl")
OUTPUT = S3Data.from_uri("s3://my-bucket/output/")
BOOLQ = ("Builtin.BoolQ", "QuestionAndAnswer", "Builtin.Accuracy")
# What stands for a value known only at deploy (a role's ARN), by the request member it is in.
DEPLOY_TIME = {"roleArn": "arn:aws:iam::123456789012:role/service-role"}
FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=6)


def custom_model(stack: cdk.Stack, **props: Any) -> None:
    CustomModel(stack, "Model", **({"base_model": BASE_MODEL, "training_data": TRAIN, "output_data": OUTPUT} | props))


def evaluation(stack: cdk.Stack, dataset: tuple[str, str, str] = BOOLQ, **props: Any) -> None:
    name, task_type, metric = dataset
    datasets = [EvaluationDataset.builtin(name, task_type=task_type, metric_names=[metric])]
    ModelEvaluation(stack, "Evaluation", **({"model": THROUGHPUT, "datasets": datasets, "output_data": OUTPUT} | props))


def served(stack: cdk.Stack) -> Any:
    return CustomModel.from_custom_model_arn(stack, "Served", CUSTOM_MODEL_ARN)


@dataclass(frozen=True)
class Prop:
    """A prop, how a stack is built with a value of it, and the request member (operation, path) it becomes."""

    name: str
    build: Callable[[cdk.Stack, Any], None]
    operation: str
    path: tuple[str, ...]
    valid: str | int
    # Whether the value is sent as it is: then a value the service model takes must not be refused.
    as_it_is: bool = True
    # How many of the valid value's last characters stay last when it is made longer.
    tail: int = 0

    def shape(self) -> Shape:
        shape: Shape = MODEL.operation_model(self.operation).input_shape
        for part in self.path:
            shape = {"[]": getattr(shape, "member", None), "<key>": getattr(shape, "key", None)}.get(part) or (
                shape.members[part]
            )
        return shape


JOB = "CreateModelCustomizationJob"
EVALUATION = "CreateEvaluationJob"
METRICS = ("evaluationConfig", "automated", "datasetMetricConfigs", "[]")
BEDROCK_MODEL = ("inferenceConfig", "models", "[]", "bedrockModel")
STRING_PROPS = [
    Prop("job_name", lambda s, v: custom_model(s, job_name=v), JOB, ("jobName",), "a"),
    Prop("custom_model_name", lambda s, v: custom_model(s, custom_model_name=v), JOB, ("customModelName",), "a"),
    Prop("job_tags", lambda s, v: custom_model(s, job_tags={v: "v"}), JOB, ("jobTags", "[]", "key"), "k", False),
    Prop("job_tags", lambda s, v: custom_model(s, job_tags={"k": v}), JOB, ("jobTags", "[]", "value"), "v", False),
    Prop(
        "custom_model_tags",
        lambda s, v: custom_model(s, custom_model_tags={v: "v"}),
        JOB,
        ("customModelTags", "[]", "key"),
        "k",
        False,
    ),
    Prop("base_model", lambda s, v: custom_model(s, base_model=v), JOB, ("baseModelIdentifier",), BASE_MODEL, False),
    Prop(
        "S3 URI",
        lambda s, v: custom_model(s, training_data=S3Data.from_uri(v)),
        JOB,
        ("trainingDataConfig", "s3Uri"),
        "s3://my-bucket/train.jsonl",
        False,
    ),
    Prop(
        "teacher_model",
        lambda s, v: custom_model(s, customization=Customization.distillation(v)),
        JOB,
        ("customizationConfig", "distillationConfig", "teacherModelConfig", "teacherModelIdentifier"),
        "us.amazon.nova-pro-v1:0",
        False,
    ),
    Prop(
        "job_name",
        lambda s, v: ImportedModel(s, "Import", model_data=S3Data.from_uri("s3://my-bucket/w/"), job_name=v),
        "CreateModelImportJob",
        ("jobName",),
        "a",
    ),
    Prop(
        "imported_model_name",
        lambda s, v: ImportedModel(s, "Import", model_data=S3Data.from_uri("s3://my-bucket/w/"), imported_model_name=v),
        "CreateModelImportJob",
        ("importedModelName",),
        "a",
    ),
    Prop(
        "model_name",
        lambda s, v: ImportedCustomModel(s, "Nova", source=ModelSource.from_model_package_arn(PACKAGE), model_name=v),
        "CreateCustomModel",
        ("modelName",),
        "a",
    ),
    Prop(
        "model_package_arn",
        lambda s, v: ImportedCustomModel(s, "Nova", source=ModelSource.from_model_package_arn(v)),
        "CreateCustomModel",
        ("customModelDataSource", "modelPackageArnDataSource", "modelPackageArn"),
        PACKAGE,
        False,
    ),
    Prop(
        "target_model_name",
        lambda s, v: CopiedCustomModel(
            s, "Copy", source_model=CUSTOM_MODEL_ARN.replace("us-east-1", "us-west-2"), target_model_name=v
        ),
        "CreateModelCopyJob",
        ("targetModelName",),
        "a",
    ),
    Prop(
        "source_model",
        lambda s, v: CopiedCustomModel(s, "Copy", source_model=v),
        "CreateModelCopyJob",
        ("sourceModelArn",),
        CUSTOM_MODEL_ARN.replace("us-east-1", "us-west-2"),
        False,
    ),
    Prop(
        "model_deployment_name",
        lambda s, v: CustomModelDeployment(s, "Deployment", model=served(s), model_deployment_name=v),
        "CreateCustomModelDeployment",
        ("modelDeploymentName",),
        "a",
    ),
    Prop(
        "description",
        lambda s, v: CustomModelDeployment(s, "Deployment", model=served(s), description=v),
        "CreateCustomModelDeployment",
        ("description",),
        "a",
    ),
    Prop(
        "provisioned_model_name",
        lambda s, v: ProvisionedThroughput(s, "Throughput", model=served(s), model_units=1, provisioned_model_name=v),
        "CreateProvisionedModelThroughput",
        ("provisionedModelName",),
        "a",
    ),
    Prop("job_name", lambda s, v: evaluation(s, job_name=v), EVALUATION, ("jobName",), "a"),
    Prop("job_description", lambda s, v: evaluation(s, job_description=v), EVALUATION, ("jobDescription",), "a"),
    Prop(
        "inference_params",
        lambda s, v: evaluation(s, inference_params=v),
        EVALUATION,
        (*BEDROCK_MODEL, "inferenceParams"),
        '{"temperature":"a"}',
        False,
        2,
    ),
    Prop(
        "model", lambda s, v: evaluation(s, model=v), EVALUATION, (*BEDROCK_MODEL, "modelIdentifier"), THROUGHPUT, False
    ),
    Prop(
        "name",
        lambda s, v: evaluation(s, (v, *BOOLQ[1:])),
        EVALUATION,
        (*METRICS, "dataset", "name"),
        "Builtin.BoolQ",
        False,
    ),
    Prop(
        "task_type",
        lambda s, v: evaluation(s, (BOOLQ[0], v, BOOLQ[2])),
        EVALUATION,
        (*METRICS, "taskType"),
        "Summarization",
        False,
    ),
    Prop(
        "metric_names",
        lambda s, v: evaluation(s, (*BOOLQ[:2], v)),
        EVALUATION,
        (*METRICS, "metricNames", "[]"),
        "Builtin.Accuracy",
        False,
    ),
]
INTEGER_PROPS = [
    Prop(
        "model_units",
        lambda s, v: ProvisionedThroughput(s, "Throughput", model=served(s), model_units=v),
        "CreateProvisionedModelThroughput",
        ("modelUnits",),
        1,
    ),
    Prop(
        "max_response_length_for_inference",
        lambda s, v: custom_model(
            s, customization=Customization.distillation("us.amazon.nova-pro-v1:0", max_response_length_for_inference=v)
        ),
        JOB,
        ("customizationConfig", "distillationConfig", "teacherModelConfig", "maxResponseLengthForInference"),
        1,
    ),
]


def length_limits(prop: Prop) -> list[str]:
    """The valid value padded to the shape's documented lengths, max and max + 1 (and min - 1 where min is over 1),
    with the character before its last prop.tail ones (a JSON object keeps its closing '"}')."""
    low, high = prop.shape().metadata.get("min", 1), prop.shape().metadata.get("max")
    valid, at = str(prop.valid), len(str(prop.valid)) - prop.tail
    lengths = [length for length in (low - 1, high, high and high + 1) if length and length > len(valid)]
    return [valid[:at] + valid[at - 1] * (length - len(valid)) + valid[at:] for length in lengths]


def pattern_edges(valid: str) -> list[str]:
    """The valid value with what a pattern may refuse before, in place of, or after its last character."""
    # Where Python's regular expressions and ECMAScript's (the service model's) differ, too: "\x1f", "\xa0", "\r".
    odd = ["", " ", "-", "_", "é", "\n", "/", ":", ".", "*", "\x1f", "\xa0", "\r"]
    return [*odd, *(valid + c for c in odd), *(c + valid for c in odd), valid[:-1] + "-", valid.upper()]


def integer_edges(shape: Shape) -> st.SearchStrategy[Any]:
    low, high = shape.metadata.get("min", -(2**31)), shape.metadata.get("max", 2**31 - 1)
    edges = [low - 1, low, high, high + 1, 0, -1, 2**31, 2**63]
    return st.sampled_from(edges) | st.integers(low, high) | st.sampled_from([1.5, float("nan"), True, "1"])


# ECMAScript's white space and line terminators (ECMA-262, WhiteSpace and LineTerminator), by code point.
SPACES = {*range(0x9, 0xE), 0x20, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF}
LINE_ENDS = "\n\r\u2028\u2029"


def class_ranges(codes: list[int]) -> str:
    """Sorted code points as the ranges of a character class: [9, 10, 11, 32] is "\t-\x0b "."""
    runs: list[list[int]] = []
    for code in codes:
        if runs and runs[-1][1] == code - 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return "".join(re.escape(chr(first)) + ("-" + re.escape(chr(last)) if last > first else "") for first, last in runs)


SPACE_CLASS = class_ranges(sorted(SPACES))
# The rest, as the gaps between them: Python's classes cannot subtract.
NOT_SPACE_CLASS = "".join(
    re.escape(chr(first)) + "-" + re.escape(chr(last))
    for first, last in zip(
        [0, *(code + 1 for code in sorted(SPACES))], [*(code - 1 for code in sorted(SPACES)), 0x10FFFF], strict=True
    )
    if first <= last
)


@functools.cache
def ecma_regex(pattern: str) -> re.Pattern[str]:
    r"""A Smithy pattern as ECMA-262 reads it (Smithy's pattern trait): \s is ECMAScript's white space (not Python's,
    which takes "\x1f" and not "\ufeff"), \d and \w are ASCII, "." takes no line terminator."""
    out, in_class, at = [], False, 0
    while at < len(pattern):
        piece = pattern[at : at + 2] if pattern[at] == "\\" else pattern[at]
        at += len(piece)
        if piece in ("\\s", "\\S"):
            ranges = SPACE_CLASS if piece == "\\s" else NOT_SPACE_CLASS
            piece = ranges if in_class else f"[{ranges}]"
        elif piece == "." and not in_class:
            piece = f"[^{LINE_ENDS}]"
        elif piece in "[]":
            in_class = piece == "["
        out.append(piece)
    return re.compile("".join(out), re.ASCII)


def is_deploy_time(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref"))


def shape_problems(shape: Shape, value: Any, path: str) -> list[str]:
    """What the service model's constraints refuse in value (botocore checks types and minimums, not these)."""
    kind, limits = shape.type_name, shape.metadata
    if kind == "structure":
        pairs = [(shape.members[name], item, f"{path}.{name}") for name, item in value.items() if name in shape.members]
    elif kind == "list":
        pairs = [(shape.member, item, f"{path}[{index}]") for index, item in enumerate(value)]
    elif kind == "map":
        pairs = [pair for key, item in value.items() for pair in ((shape.key, key, path), (shape.value, item, path))]
    else:
        pairs = []
    found = [problem for pair in pairs for problem in shape_problems(*pair)]
    size = len(value) if isinstance(value, str | list | dict) else None
    if size is not None and not limits.get("min", 0) <= size <= limits.get("max", size):
        found.append(f"{path}: {size} long, not within {limits.get('min', 0)}..{limits.get('max')}")
    if kind == "string" and shape.enum and value not in shape.enum:
        found.append(f"{path}: {value!r} is not one of the enum")
    if kind == "string" and "pattern" in limits and not ecma_regex(limits["pattern"]).fullmatch(value):
        found.append(f"{path}: {value!r} does not match {limits['pattern']}")
    # An integer is Smithy's, 32 bits, whatever the model's bounds (botocore does not check it).
    low, high = limits.get("min", -(2**31)), limits.get("max", 2**31 - 1) if kind == "integer" else 2**63 - 1
    if kind in ("integer", "long") and not low <= value <= high:
        found.append(f"{path}: {value} is out of {low}..{high}")
    return found


def as_botocore_takes(shape: Shape, value: Any, member: str = "") -> Any:
    """A template's value as the request botocore would get: strings of numbers and booleans parsed (CloudFormation
    sends every scalar as a string) and a value known only at deploy replaced by a valid one."""
    if is_deploy_time(value):
        assert member in DEPLOY_TIME, f"{member}: {value} known only at deploy; add what stands for it to DEPLOY_TIME"
        return DEPLOY_TIME[member]
    if shape.type_name == "structure" and isinstance(value, dict):
        members = shape.members
        return {
            name: as_botocore_takes(members[name], item, name) if name in members else item
            for name, item in value.items()
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [as_botocore_takes(shape.member, item, member) for item in value]
    if isinstance(value, str) and shape.type_name in ("integer", "long"):
        return int(value)
    if isinstance(value, str) and shape.type_name == "boolean":
        return {"true": True, "false": False}[value]
    return value


def requests(stack: cdk.Stack) -> list[tuple[str, dict[str, Any]]]:
    """(operation, request) of each Bedrock resource the stack creates: its properties that are the operation's
    members, and a name where the handler generates one."""
    found = []
    for resource in Template.from_stack(stack).to_json()["Resources"].values():
        declared = contract.CONTRACTS.get(resource["Type"])
        if declared is None or not declared.generated_names:  # not Bedrock's, or a reader of what another made
            continue
        shape = MODEL.operation_model(declared.operation).input_shape
        request = {name: v for name, v in resource["Properties"].items() if name in shape.members}
        request |= {name: "generated-name-1" for name in declared.generated_names if name not in request}
        found.append((declared.operation, as_botocore_takes(shape, request)))
    return found


def built(prop: Prop, value: Any) -> list[tuple[str, dict[str, Any]]] | None:
    """The requests of a stack built with value; None when it is refused as documented: a ValueError (or, for a
    value not of the prop's type, a TypeError) naming the prop and showing the value."""
    stack = cdk.Stack(cdk.App(context={"aws:cdk:bundling-stacks": []}), "Fuzzed", env=ENV)
    try:
        prop.build(stack, value)
    except (ValueError, TypeError) as error:
        message = str(error)
        assert isinstance(error, ValueError) or type(value) is not type(prop.valid), message
        # Named as the construct's parameter, or as the request member it becomes (refused by the contract at synth).
        member = next(part for part in reversed(prop.path) if part not in ("[]", "<key>"))
        assert prop.name in message or member in message, f"neither {prop.name} nor {member} is named: {message[:300]}"
        assert repr(value)[:20] in message or str(value)[:20] in message, f"{value!r} is not shown: {message[:300]}"
        return None
    return requests(stack)


def check(prop: Prop, value: Any) -> None:
    made = built(prop, value)
    of_its_type = type(value) is type(prop.valid)  # not isinstance: True is not a number of model units
    alone = shape_problems(prop.shape(), value, ".".join(prop.path)) if of_its_type else ["not of its type"]
    if made is None:
        assert not (prop.as_it_is and alone == []), f"{value!r} is refused, and the service model takes it"
        return
    for operation, request in made:
        input_shape = MODEL.operation_model(operation).input_shape
        report = ParamValidator().validate(request, input_shape)
        assert not report.has_errors(), f"{report.generate_report()} in {request}"
        problems = shape_problems(input_shape, request, "")
        assert problems == [], f"{problems} in {request}"


STRING_IDS = [f"{prop.operation}.{'.'.join(prop.path)}" for prop in STRING_PROPS]


@pytest.mark.parametrize("prop", STRING_PROPS, ids=STRING_IDS)
def test_a_string_prop_at_its_length_limits_is_refused_naming_it_or_sent_as_bedrock_takes_it(prop):
    for value in length_limits(prop):
        check(prop, value)


@pytest.mark.parametrize("prop", STRING_PROPS, ids=STRING_IDS)
@FUZZ
@given(data=st.data())
def test_a_string_prop_is_refused_naming_it_or_sent_as_bedrock_takes_it(prop, data):
    odd = st.sampled_from(pattern_edges(prop.valid)) | st.text(max_size=8).map(prop.valid.__add__)
    check(prop, data.draw(odd, label=prop.name))


@pytest.mark.parametrize("prop", INTEGER_PROPS, ids=lambda prop: prop.name)
@FUZZ
@given(data=st.data())
def test_a_number_prop_is_refused_naming_it_or_sent_as_bedrock_takes_it(prop, data):
    check(prop, data.draw(integer_edges(prop.shape()), label=prop.name))
