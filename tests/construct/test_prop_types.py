"""The public constructs' parameters of the library's own types, and their collections, are checked against the
constructs' type hints before anything is made: a value of another type is a TypeError that names the parameter and
shows the value, and the scope has no new child."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from cdk_bedrock_customization import (
    Commitment,
    Completion,
    CopiedCustomModel,
    Customization,
    CustomizationProvider,
    CustomModel,
    CustomModelBase,
    CustomModelDeployment,
    EvaluationDataset,
    ImportedCustomModel,
    ImportedModel,
    InvocationLogs,
    ModelEvaluation,
    ModelsFromFile,
    ModelSource,
    ProvisionedThroughput,
    S3Data,
)
from cdk_bedrock_customization._prop_types import check_prop_types, checked_parameters
from hypothesis import given, settings
from hypothesis import strategies as st

from constructs import Construct

from .conftest import BASE_MODEL, ENV

NONE = type(None)
CUSTOM_MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
TRAIN = S3Data.from_uri("s3://my-bucket/train.jsonl")
OUTPUT = S3Data.from_uri("s3://my-bucket/output/")
WEIGHTS = S3Data.from_uri("s3://my-bucket/llama/")
SOURCE = ModelSource.from_model_package_arn("arn:aws:sagemaker:us-east-1:123456789012:model-package/nova/1")
BOOLQ = EvaluationDataset.builtin("Builtin.BoolQ", task_type="QuestionAndAnswer", metric_names=["Builtin.Accuracy"])
# Objects of the library's own types, each the wrong one somewhere.
LIBRARY_OBJECTS = [
    TRAIN,
    SOURCE,
    BOOLQ,
    Completion.polling(),
    Customization.fine_tuning(),
    Commitment.ONE_MONTH,
    InvocationLogs(source=TRAIN),
]
# Values of other types: plain values, None, collections, and the library's objects.
OTHER_VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
    st.lists(st.integers(), max_size=3),
    st.sampled_from(LIBRARY_OBJECTS),
)


def construct(
    name: str, scope: Construct, served: CustomModelBase | None, construct_id: str, /, **props: Any
) -> Construct:
    """The construct name, with valid values of its required parameters (served: the custom model to serve); props
    add to them or replace them."""
    if name == "CustomModel":
        defaults: dict[str, Any] = {"base_model": BASE_MODEL, "training_data": TRAIN, "output_data": OUTPUT}
        return CustomModel(scope, construct_id, **(defaults | props))
    if name == "ImportedModel":
        return ImportedModel(scope, construct_id, **({"model_data": WEIGHTS} | props))
    if name == "ImportedCustomModel":
        return ImportedCustomModel(scope, construct_id, **({"source": SOURCE} | props))
    if name == "CopiedCustomModel":
        return CopiedCustomModel(scope, construct_id, **({"source_model": CUSTOM_MODEL_ARN} | props))
    if name == "CustomModelDeployment":
        return CustomModelDeployment(scope, construct_id, **({"model": served} | props))
    if name == "ProvisionedThroughput":
        return ProvisionedThroughput(scope, construct_id, **({"model": served, "model_units": 1} | props))
    if name == "ModelEvaluation":
        defaults = {"model": "amazon.nova-micro-v1:0", "datasets": [BOOLQ], "output_data": OUTPUT}
        return ModelEvaluation(scope, construct_id, **(defaults | props))
    assert name == "ModelsFromFile"
    return ModelsFromFile(scope, construct_id, **({"path": "models.yaml"} | props))


# construct, parameter, the types named in the message, the types a value may be.
CASES: list[tuple[str, str, str, tuple[type, ...]]] = [
    ("CustomModel", "training_data", "S3Data or InvocationLogs", (S3Data, InvocationLogs)),
    ("CustomModel", "output_data", "S3Data", (S3Data,)),
    ("CustomModel", "customization", "Customization", (Customization, NONE)),
    ("CustomModel", "completion", "Completion", (Completion, NONE)),
    ("CustomModel", "validation_data", "list or tuple", (list, tuple, NONE)),
    ("CustomModel", "hyper_parameters", "Mapping", (Mapping, NONE)),
    ("CustomModel", "security_groups", "list or tuple", (list, tuple, NONE)),
    ("CustomModel", "job_tags", "Mapping", (Mapping, NONE)),
    ("CustomModel", "custom_model_tags", "Mapping", (Mapping, NONE)),
    ("CustomModel", "provider", "CustomizationProvider", (CustomizationProvider, NONE)),
    ("ImportedModel", "model_data", "S3Data", (S3Data,)),
    ("ImportedModel", "security_groups", "list or tuple", (list, tuple, NONE)),
    ("ImportedModel", "completion", "Completion", (Completion, NONE)),
    ("ImportedModel", "job_tags", "Mapping", (Mapping, NONE)),
    ("ImportedModel", "imported_model_tags", "Mapping", (Mapping, NONE)),
    ("ImportedModel", "provider", "CustomizationProvider", (CustomizationProvider, NONE)),
    ("ImportedCustomModel", "source", "ModelSource", (ModelSource,)),
    ("ImportedCustomModel", "model_tags", "Mapping", (Mapping, NONE)),
    ("ImportedCustomModel", "provider", "CustomizationProvider", (CustomizationProvider, NONE)),
    ("CopiedCustomModel", "source_model", "str or CustomModelBase", (str, CustomModelBase)),
    ("CopiedCustomModel", "target_model_tags", "Mapping", (Mapping, NONE)),
    ("CopiedCustomModel", "completion", "Completion", (Completion, NONE)),
    ("CopiedCustomModel", "provider", "CustomizationProvider", (CustomizationProvider, NONE)),
    ("CustomModelDeployment", "model", "CustomModelBase", (CustomModelBase,)),
    ("CustomModelDeployment", "tags", "Mapping", (Mapping, NONE)),
    ("CustomModelDeployment", "provider", "CustomizationProvider", (CustomizationProvider, NONE)),
    ("ProvisionedThroughput", "commitment", "Commitment", (Commitment, NONE)),
    ("ProvisionedThroughput", "tags", "Mapping", (Mapping, NONE)),
    ("ProvisionedThroughput", "provider", "CustomizationProvider", (CustomizationProvider, NONE)),
    ("ModelEvaluation", "datasets", "list or tuple", (list, tuple)),
    ("ModelEvaluation", "output_data", "S3Data", (S3Data,)),
    ("ModelEvaluation", "job_tags", "Mapping", (Mapping, NONE)),
    ("ModelEvaluation", "completion", "Completion", (Completion, NONE)),
    ("ModelEvaluation", "provider", "CustomizationProvider", (CustomizationProvider, NONE)),
    ("ModelsFromFile", "provider", "CustomizationProvider", (CustomizationProvider, NONE)),
]


@pytest.fixture(scope="module")
def world() -> tuple[cdk.Stack, CustomModelBase]:
    """A stack with a custom model to serve and copy, shared: a refused construct leaves it as it was."""
    stack = cdk.Stack(cdk.App(), "TestStack", env=ENV)
    return stack, CustomModel.from_custom_model_arn(stack, "Existing", CUSTOM_MODEL_ARN)


def refused(world: tuple[cdk.Stack, CustomModelBase], name: str, message: str, **props: Any) -> None:
    """Making the construct name with props is a TypeError whose message matches message, and makes nothing."""
    stack, model = world
    children = len(stack.node.children)
    with pytest.raises(TypeError, match=message):
        construct(name, stack, model, "Refused", **props)
    assert stack.node.try_find_child("Refused") is None
    assert len(stack.node.children) == children


@pytest.mark.parametrize(
    ("name", "parameter", "wanted", "allowed"), CASES, ids=[f"{name}.{parameter}" for name, parameter, *_ in CASES]
)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_a_value_of_another_type_is_a_type_error_naming_the_parameter(world, name, parameter, wanted, allowed, data):
    value = data.draw(OTHER_VALUES.filter(lambda value: not isinstance(value, allowed)), label=parameter)
    message = f"^{re.escape(f'{parameter}: expected {wanted}, got {type(value).__name__} ')}"
    refused(world, name, message, **{parameter: value})


@pytest.mark.parametrize(
    ("name", "parameter", "valid", "wanted"),
    [
        ("CustomModel", "validation_data", TRAIN, "S3Data"),
        ("ModelEvaluation", "datasets", BOOLQ, "EvaluationDataset"),
    ],
)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_an_element_of_another_type_is_a_type_error_naming_its_index(world, name, parameter, valid, wanted, data):
    index = data.draw(st.integers(min_value=0, max_value=3), label="index")
    element = data.draw(OTHER_VALUES.filter(lambda value: type(value).__name__ != wanted), label="element")
    container = data.draw(st.sampled_from([list, tuple]), label="container")
    value = container([valid] * index + [element, valid])
    message = f"^{re.escape(f'{parameter}[{index}]: expected {wanted}, got {type(element).__name__} ')}"
    refused(world, name, message, **{parameter: value})


@pytest.mark.parametrize(
    ("name", "props", "message"),
    [
        (
            "CustomModel",
            {"training_data": "s3://my-bucket/train.jsonl"},
            "training_data: expected S3Data or InvocationLogs, got str 's3://my-bucket/train.jsonl'",
        ),
        ("CustomModel", {"security_groups": "sg-0123"}, "security_groups: expected list or tuple, got str 'sg-0123'"),
        (
            "CustomModel",
            {"provider": cdk.Duration.minutes(1)},
            "provider: expected CustomizationProvider, got Duration <aws_cdk.Duration object",
        ),
        (
            "ImportedModel",
            {"model_data": "s3://my-bucket/llama/"},
            "model_data: expected S3Data, got str 's3://my-bucket/llama/'",
        ),
        ("ImportedModel", {"completion": "polling"}, "completion: expected Completion, got str 'polling'"),
        ("ImportedModel", {"imported_model_tags": [("team", "ml")]}, "imported_model_tags: expected Mapping, got list"),
        (
            "ImportedCustomModel",
            {"source": "s3://escrow/nova/"},
            "source: expected ModelSource, got str 's3://escrow/nova/'",
        ),
        ("ImportedCustomModel", {"source": WEIGHTS}, "source: expected ModelSource, got S3Data S3Data("),
        ("ImportedCustomModel", {"model_tags": "team=ml"}, "model_tags: expected Mapping, got str 'team=ml'"),
        ("CopiedCustomModel", {"source_model": 42}, "source_model: expected str or CustomModelBase, got int 42"),
        ("CopiedCustomModel", {"target_model_tags": "team=ml"}, "target_model_tags: expected Mapping, got str"),
        ("CustomModelDeployment", {"model": CUSTOM_MODEL_ARN}, "model: expected CustomModelBase, got str 'arn:aws:"),
        ("CustomModelDeployment", {"tags": ["team"]}, "tags: expected Mapping, got list ['team']"),
        ("ProvisionedThroughput", {"commitment": "OneMonth"}, "commitment: expected Commitment, got str 'OneMonth'"),
        ("ProvisionedThroughput", {"tags": "team=ml"}, "tags: expected Mapping, got str 'team=ml'"),
        ("ModelEvaluation", {"datasets": BOOLQ}, "datasets: expected list or tuple, got EvaluationDataset"),
        ("ModelEvaluation", {"datasets": ["Builtin.BoolQ"]}, "datasets[0]: expected EvaluationDataset, got str"),
        (
            "ModelEvaluation",
            {"output_data": "s3://my-bucket/evaluations/"},
            "output_data: expected S3Data, got str 's3://my-bucket/evaluations/'",
        ),
        ("ModelEvaluation", {"completion": None, "job_tags": 1}, "job_tags: expected Mapping, got int 1"),
        ("ModelsFromFile", {"provider": "BedrockCustomizationProvider"}, "provider: expected CustomizationProvider"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " not in value else None,
)
def test_each_construct_names_the_parameter_and_shows_the_value(world, name, props, message):
    refused(world, name, f"^{re.escape(message)}", **props)


def test_a_long_value_is_cut_to_120_characters(world):
    uri = "s3://my-bucket/" + "a" * 200
    with pytest.raises(TypeError) as raised:
        construct("ImportedModel", world[0], world[1], "Refused", model_data=uri)
    assert str(raised.value) == f"model_data: expected S3Data, got str {repr(uri)[:120]}"


# Which parameters each construct checks, written out: the library's own types and collections, not jsii types
# (ProvisionedThroughput's model may be an aws_bedrock.IModel, CustomModel's base_model too) nor Any
# (ModelEvaluation's model and baseline_model).
CHECKED = {
    CustomModel: (
        "training_data",
        "output_data",
        "customization",
        "completion",
        "validation_data",
        "hyper_parameters",
        "security_groups",
        "job_tags",
        "custom_model_tags",
        "provider",
    ),
    ImportedModel: ("model_data", "security_groups", "completion", "job_tags", "imported_model_tags", "provider"),
    ImportedCustomModel: ("source", "model_tags", "provider"),
    CopiedCustomModel: ("source_model", "target_model_tags", "completion", "provider"),
    CustomModelDeployment: ("model", "tags", "provider"),
    ProvisionedThroughput: ("commitment", "tags", "provider"),
    ModelEvaluation: ("datasets", "output_data", "job_tags", "completion", "provider"),
    ModelsFromFile: ("provider",),
}


@pytest.mark.parametrize("cls", list(CHECKED), ids=lambda cls: cls.__name__)
def test_the_parameters_checked_are_those_of_the_librarys_types_and_collections(cls):
    assert checked_parameters(cls.__init__) == CHECKED[cls]


def test_every_construct_of_the_table_is_fuzzed():
    assert {name for name, *_ in CASES} == {cls.__name__ for cls in CHECKED}
    assert sorted((name, parameter) for name, parameter, *_ in CASES) == sorted(
        (cls.__name__, parameter) for cls, parameters in CHECKED.items() for parameter in parameters
    )


def test_a_name_imported_only_for_type_checking_resolves_to_the_packages_export():
    """Hints are strings (``from __future__ import annotations``): one whose module imports its name only under
    TYPE_CHECKING is resolved among the package's exports."""
    namespace: dict[str, Any] = {"__name__": "cdk_bedrock_customization.elsewhere"}
    source = """\
        from __future__ import annotations
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from cdk_bedrock_customization import S3Data

        def init(self, scope, construct_id, *, data: S3Data | None = None, tags: dict[str, str] | None = None) -> None:
            pass
    """
    exec(textwrap.dedent(source), namespace)
    assert checked_parameters(namespace["init"]) == ("data", "tags")
    check_prop_types(namespace["init"], {"data": TRAIN, "tags": None})
    with pytest.raises(TypeError, match=r"^data: expected S3Data, got str 's3://b/k'$"):
        check_prop_types(namespace["init"], {"data": "s3://b/k", "tags": None})


def test_a_name_that_neither_the_module_nor_the_package_knows_is_a_name_error():
    namespace: dict[str, Any] = {}
    exec("from __future__ import annotations\ndef init(self, *, data: Unknown) -> None:\n    pass\n", namespace)
    with pytest.raises(NameError, match="Unknown"):
        checked_parameters(namespace["init"])


# --- a correct call still synthesizes ---------------------------------------------------------------------------

MODELS_FILE = """\
imported_models:
  nova:
    model_package_arn: arn:aws:sagemaker:us-east-1:123456789012:model-package/nova/1
"""


def correct_calls(tmp_path: Path) -> dict[str, tuple[dict[str, Any], str]]:
    """Each construct's correct props (tuples and read-only mappings where a collection is hinted), and the type of
    the custom resource it makes."""
    tags = MappingProxyType({"team": "ml"})
    models_file = tmp_path / "models.yaml"
    models_file.write_text(MODELS_FILE)
    return {
        "CustomModel": (
            {
                "validation_data": (S3Data.from_uri("s3://my-bucket/validation.jsonl"),),
                "hyper_parameters": MappingProxyType({"epochCount": 2}),
                "customization": Customization.fine_tuning(),
                "completion": Completion.polling(),
                "job_tags": tags,
            },
            "Custom::BedrockModelCustomizationJob",
        ),
        "ImportedModel": (
            {"imported_model_tags": tags, "completion": Completion.no_wait()},
            "Custom::BedrockImportedModel",
        ),
        "ImportedCustomModel": ({"model_tags": tags}, "Custom::BedrockCustomModel"),
        "CopiedCustomModel": ({"target_model_tags": tags}, "Custom::BedrockCopiedCustomModel"),
        "CustomModelDeployment": ({"tags": tags}, "Custom::BedrockCustomModelDeployment"),
        "ProvisionedThroughput": ({"tags": tags}, "Custom::BedrockProvisionedModelThroughput"),
        "ModelEvaluation": (
            {"datasets": (BOOLQ,), "job_tags": tags, "completion": Completion.polling()},
            "Custom::BedrockModelEvaluationJob",
        ),
        "ModelsFromFile": ({"path": models_file}, "Custom::BedrockCustomModel"),
    }


@pytest.mark.parametrize("name", sorted({name for name, *_ in CASES}))
def test_a_correct_call_still_synthesizes(tmp_path, name):
    props, resource_type = correct_calls(tmp_path)[name]
    stack = cdk.Stack(cdk.App(), "TestStack", env=ENV)
    model = CustomModel.from_custom_model_arn(stack, "Existing", CUSTOM_MODEL_ARN)
    made = construct(name, stack, model, "Made", provider=CustomizationProvider.of(stack), **props)
    assert stack.node.try_find_child("Made") is made
    assert Template.from_stack(stack).find_resources(resource_type)


def test_a_subclass_of_the_hinted_class_is_accepted():
    """A CustomModel of the stack is the CustomModelBase that a deployment and a throughput serve."""
    stack = cdk.Stack(cdk.App(), "TestStack", env=ENV)
    trained = construct("CustomModel", stack, None, "Trained")
    construct("CustomModelDeployment", stack, trained, "OnDemand")
    construct("ProvisionedThroughput", stack, trained, "Provisioned", commitment=None)
    template = Template.from_stack(stack)
    assert template.find_resources("Custom::BedrockCustomModelDeployment")
    assert template.find_resources("Custom::BedrockProvisionedModelThroughput")


# --- the other input surfaces: settings, static constructors, jsii interfaces (a hypothesis fuzz found each) -------


def _stack() -> tuple[cdk.Stack, Any]:
    from aws_cdk import aws_s3 as s3

    stack = cdk.Stack(cdk.App(), "Inputs", env=cdk.Environment(account="123456789012", region="us-east-1"))
    return stack, s3.Bucket(stack, "Data")


def _grader(stack: cdk.Stack) -> Any:
    from aws_cdk import aws_lambda as lambda_

    return lambda_.Function.from_function_arn(stack, "Grader", "arn:aws:lambda:us-east-1:123456789012:function:g")


INPUT_REFUSALS: dict[str, tuple[Any, type[Exception], str]] = {
    # JSON has no NaN or Infinity: given to the kernel, it would crash it (and every later jsii call).
    "provider max_concurrent_jobs NaN": (
        lambda stack, _bucket: CustomizationProvider.of(stack, max_concurrent_jobs=float("nan")),
        ValueError,
        "max_concurrent_jobs: nan is not a whole number of at least 1",
    ),
    "provider query_interval 0, not a Duration": (
        lambda stack, _bucket: CustomizationProvider.of(stack, query_interval=0),
        TypeError,
        "query_interval: expected Duration, got int 0",
    ),
    "provider log_retention 5": (
        lambda stack, _bucket: CustomizationProvider.of(stack, log_retention=5),
        TypeError,
        "log_retention: expected RetentionDays, got int 5",
    ),
    "notifier backstop_interval 0": (
        lambda stack, _bucket: _notifier(stack, backstop_interval=0),
        TypeError,
        "backstop_interval: expected Duration, got int 0",
    ),
    "notifier check_interval of a millisecond": (
        lambda stack, _bucket: _notifier(stack, check_interval=cdk.Duration.millis(1)),
        ValueError,
        "check_interval: 1 milli is not a whole number of minutes",
    ),
    "a base model given as a FoundationModelIdentifier (an IModel is needed)": (
        lambda stack, bucket: CustomModel(
            stack,
            "Model",
            base_model=_identifier(),
            training_data=S3Data.from_bucket(bucket, "train.jsonl"),
            output_data=S3Data.from_bucket(bucket, "out/"),
        ),
        TypeError,
        "base_model: expected str or IModel or CustomModelBase, got FoundationModelIdentifier",
    ),
    "a bucket key whose URI Bedrock refuses": (
        lambda _stack, bucket: S3Data.from_bucket(bucket, "my data.jsonl"),
        ValueError,
        "S3Data.from_bucket: key: 's3://abc/my data.jsonl' does not match the pattern of S3Uri: the key has ' '",
    ),
    "a bucket that is a string": (
        lambda _stack, _bucket: S3Data.from_bucket("my-bucket", "train.jsonl"),
        TypeError,
        "bucket: expected IBucket, got str 'my-bucket'",
    ),
    "invocation logs from a URI string": (
        lambda _stack, _bucket: InvocationLogs(source="s3://my-logs/logs/"),
        TypeError,
        "source: expected S3Data, got str 's3://my-logs/logs/'",
    ),
    "a local file path of 2**70": (
        lambda _stack, _bucket: S3Data.from_local_file(2**70),
        TypeError,
        "path: expected str or PathLike, got int",
    ),
    "RFT hyper_parameters 0": (
        lambda stack, _bucket: Customization.reinforcement_fine_tuning(_grader(stack), hyper_parameters=0),
        TypeError,
        "hyper_parameters: expected Mapping, got int 0",
    ),
    "a wait timeout known only at deploy": (
        lambda stack, _bucket: Completion.event_driven(
            cdk.Duration.seconds(cdk.CfnParameter(stack, "Timeout", type="Number").value_as_number)
        ),
        ValueError,
        "completion timeout: a value known only at deploy (a token)",
    ),
}


def _notifier(stack: cdk.Stack, **settings_given: Any) -> Any:
    from cdk_bedrock_customization import JobCompletionNotifier

    return JobCompletionNotifier.of(stack, **settings_given)


def _identifier() -> Any:
    from aws_cdk import aws_bedrock as bedrock

    return bedrock.FoundationModelIdentifier.AMAZON_NOVA_MICRO_V1_0


def test_a_bucket_key_is_refused_only_when_no_bucket_name_would_fit_it() -> None:
    """botocore's S3Uri: at most 1024 characters; a bucket's name has at least 3 (s3://abc/ is 9 characters)."""
    _unused, bucket = _stack()
    assert S3Data.from_bucket(bucket, "k" * 1015).key == "k" * 1015
    with pytest.raises(ValueError, match="has 1025 characters; it must have at most 1024"):
        S3Data.from_bucket(bucket, "k" * 1016)


@pytest.mark.parametrize("case", list(INPUT_REFUSALS))
def test_other_input_surfaces_refuse_with_the_parameter_and_the_value(case: str) -> None:
    build, error, message = INPUT_REFUSALS[case]
    stack, bucket = _stack()
    with pytest.raises(error) as refused:
        build(stack, bucket)
    assert str(refused.value).startswith(message), str(refused.value)
