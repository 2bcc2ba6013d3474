"""A construct that refuses its input leaves nothing behind: not itself (a retry may take its id), not the stack's
provider or notifier if it made them, not a grant on the shared roles. The reference for "nothing" is the same stack
built without the refused call."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cdk_bedrock_customization import (
    Completion,
    CopiedCustomModel,
    CustomizationProvider,
    CustomizationProviderStack,
    CustomModel,
    CustomModelDeployment,
    EvaluationDataset,
    ImportedModel,
    JobCompletionNotifier,
    ModelEvaluation,
    ModelsFromFile,
    ModelSource,
    ProvisionedThroughput,
    RequestMetadataFilter,
    S3Data,
)

from .conftest import ENV, custom_model

EAST_MODEL = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abcdefabcdef"
WEST_MODEL = EAST_MODEL.replace("us-east-1", "us-west-2")
THROUGHPUT = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/a1b2c3d4e5f6"
BOOLQ = EvaluationDataset.builtin("Builtin.BoolQ", task_type="QuestionAndAnswer", metric_names=["Builtin.Accuracy"])
# Scores of 5 datasets x 25 metrics: far over CloudFormation's 4096-byte response (refused after the datasets pass).
TOO_MANY_SCORES = [
    EvaluationDataset.builtin(
        f"Builtin.dataset-{index}", task_type="Generation", metric_names=[f"Custom.metric-{m:02d}" for m in range(25)]
    )
    for index in range(5)
]

Build = Callable[[cdk.Stack, s3.IBucket], Any]


def evaluation(stack: cdk.Stack, bucket: s3.IBucket, construct_id: str = "Evaluation", **props: Any) -> Any:
    output = S3Data.from_bucket(bucket, f"{construct_id}/")
    return ModelEvaluation(
        stack, construct_id, **({"model": THROUGHPUT, "datasets": [BOOLQ], "output_data": output} | props)
    )


def given_model(stack: cdk.Stack) -> Any:
    """A model of the stack's Region, by ARN (one per stack: the refused call and its retry share it)."""
    return stack.node.try_find_child("Given") or CustomModel.from_custom_model_arn(stack, "Given", EAST_MODEL)


def nothing(stack: cdk.Stack, bucket: s3.IBucket) -> None:
    pass


def a_model_and_an_evaluation(stack: cdk.Stack, bucket: s3.IBucket) -> None:
    custom_model(stack, bucket, "Existing")
    evaluation(stack, bucket, "ExistingEvaluation")


def write_models_file(directory: Path, deployed_model: str, base_model: str = "amazon.nova-micro-v1:0:128k") -> Path:
    directory.mkdir()
    path = directory / "models.yaml"
    path.write_text(
        "version: 1\n"
        "models:\n"
        "  m1:\n"
        "    customization: fine_tuning\n"
        f"    base_model: '{base_model}'\n"
        "    training_data: s3://my-bucket-123/train.jsonl\n"
        "    output_data: s3://my-bucket-123/output/\n"
        "deployments:\n"
        f"  d1: {{model: '{deployed_model}'}}\n"
    )
    return path


# (what exists first, the refused call, the same call with valid input and the same id)
CASES: dict[str, tuple[Build, Build, Build]] = {
    "the stack's first model, refused by the contract (the provider it made goes too)": (
        nothing,
        lambda stack, bucket: custom_model(stack, bucket, job_name="-bad"),
        lambda stack, bucket: custom_model(stack, bucket, job_name="good"),
    ),
    "a model whose base model is a bare name, which neither the models file nor the grants take": (
        nothing,
        lambda stack, bucket: custom_model(stack, bucket, base_model="nova-micro"),
        lambda stack, bucket: custom_model(stack, bucket, base_model="amazon.nova-micro-v1:0:128k"),
    ),
    "a model whose hyperparameter is named by a token": (
        nothing,
        lambda stack, bucket: custom_model(stack, bucket, hyper_parameters={cdk.Aws.REGION: "2"}),
        lambda stack, bucket: custom_model(stack, bucket, hyper_parameters={"epochCount": "2"}),
    ),
    "a model refused by its network": (
        nothing,
        lambda stack, bucket: custom_model(stack, bucket, vpc_subnets=ec2.SubnetSelection(subnets=[])),
        lambda stack, bucket: custom_model(stack, bucket),
    ),
    "an open-weight import with a bad job name": (
        nothing,
        lambda stack, bucket: ImportedModel(
            stack, "Import", model_data=S3Data.from_bucket(bucket, "w/"), job_name="bad name!"
        ),
        lambda stack, bucket: ImportedModel(stack, "Import", model_data=S3Data.from_bucket(bucket, "w/")),
    ),
    "a copy of no model ARN": (
        nothing,
        lambda stack, bucket: CopiedCustomModel(stack, "Copy", source_model="not-an-arn"),
        lambda stack, bucket: CopiedCustomModel(stack, "Copy", source_model=WEST_MODEL),
    ),
    "a deployment with a bad tag": (
        nothing,
        lambda stack, bucket: CustomModelDeployment(
            stack, "Deployment", model=given_model(stack), tags={"k" * 129: "v"}
        ),
        lambda stack, bucket: CustomModelDeployment(stack, "Deployment", model=given_model(stack)),
    ),
    "a throughput with a tag key AWS reserves": (
        nothing,
        lambda stack, bucket: ProvisionedThroughput(
            stack, "Throughput", model=given_model(stack), model_units=1, tags={"aws:team": "ml"}
        ),
        lambda stack, bucket: ProvisionedThroughput(stack, "Throughput", model=given_model(stack), model_units=1),
    ),
    "a throughput of no model unit": (
        nothing,
        lambda stack, bucket: ProvisionedThroughput(stack, "Throughput", model=given_model(stack), model_units=0),
        lambda stack, bucket: ProvisionedThroughput(stack, "Throughput", model=given_model(stack), model_units=1),
    ),
    "an evaluation whose scores would not fit the response, beside a provider and notifier": (
        a_model_and_an_evaluation,
        lambda stack, bucket: evaluation(stack, bucket, datasets=TOO_MANY_SCORES),
        lambda stack, bucket: evaluation(stack, bucket),
    ),
    "an evaluation whose baseline the contract refuses, beside a provider and notifier": (
        a_model_and_an_evaluation,
        lambda stack, bucket: evaluation(stack, bucket, baseline_model="bad model!"),
        lambda stack, bucket: evaluation(stack, bucket, baseline_model="amazon.nova-micro-v1:0"),
    ),
    "an evaluation with a job tag key AWS reserves, beside a provider and notifier": (
        a_model_and_an_evaluation,
        lambda stack, bucket: evaluation(stack, bucket, job_tags={"AWS:team": "ml"}),
        lambda stack, bucket: evaluation(stack, bucket, job_tags={"team": "ml"}),
    ),
    "a notifier schedule EventBridge refuses": (
        nothing,
        lambda stack, bucket: JobCompletionNotifier.of(stack, backstop_interval=cdk.Duration.seconds(30)),
        lambda stack, bucket: custom_model(stack, bucket),  # an event-driven model, on a whole notifier
    ),
    "a notifier backstop longer than any wait": (
        nothing,
        lambda stack, bucket: JobCompletionNotifier.of(stack, backstop_interval=cdk.Duration.minutes(721)),
        lambda stack, bucket: JobCompletionNotifier.of(stack, backstop_interval=cdk.Duration.hours(12)),
    ),
    "a provider setting out of range": (
        nothing,
        lambda stack, bucket: CustomizationProvider.of(stack, max_concurrent_jobs=0),
        lambda stack, bucket: custom_model(stack, bucket),
    ),
}


def built(first: Build, *then: Build, refused: Build | None = None) -> dict[str, Any]:
    stack = cdk.Stack(cdk.App(), "TestStack", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    first(stack, bucket)
    if refused is not None:
        with pytest.raises((ValueError, TypeError)):
            refused(stack, bucket)
    for build in then:
        build(stack, bucket)
    return Template.from_stack(stack).to_json()


@pytest.mark.parametrize("case", list(CASES))
def test_a_refused_construct_leaves_nothing_and_its_id_may_be_taken_again(case: str) -> None:
    first, refused, valid = CASES[case]
    assert built(first, refused=refused) == built(first)
    assert built(first, valid, refused=refused) == built(first, valid)


def test_a_models_file_refused_for_a_models_region_makes_none_of_its_models(tmp_path: Path) -> None:
    refused, valid = (
        write_models_file(tmp_path / "refused", WEST_MODEL),
        write_models_file(tmp_path / "valid", EAST_MODEL),
    )

    def from_file(path: Path) -> Build:
        return lambda stack, bucket: ModelsFromFile(stack, "Models", path=str(path))

    assert built(nothing, refused=from_file(refused)) == built(nothing)
    assert built(nothing, from_file(valid), refused=from_file(refused)) == built(nothing, from_file(valid))


def test_a_models_file_whose_base_model_is_of_another_region_is_refused_at_its_line(tmp_path: Path) -> None:
    west_base = "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-micro-v1:0:128k"
    path = write_models_file(tmp_path / "refused", EAST_MODEL, base_model=west_base)

    def refused(stack: cdk.Stack, bucket: s3.IBucket) -> None:
        with pytest.raises(ValueError, match=r"models\.yaml:5:\d+: models\.m1\.base_model: .* is a model of us-west-2"):
            ModelsFromFile(stack, "Models", path=str(path))
        raise ValueError("refused")

    assert built(nothing, refused=refused) == built(nothing)


# JSON has no NaN or infinity (RFC 8259), and the jsii kernel speaks JSON: such a value reaching it crashed the kernel,
# failing every later call of the process. bytes and a plain object are no template value either, nor a tuple, which
# the kernel cannot pass (an AttributeError: type object 'tuple' has no attribute '__jsii_type__').
NOT_TEMPLATE_VALUES = [float("nan"), float("inf"), float("-inf"), b"model", object(), ("my-job",)]


@pytest.mark.parametrize("value", NOT_TEMPLATE_VALUES, ids=["nan", "inf", "-inf", "bytes", "object", "tuple"])
@pytest.mark.parametrize("completion", [None, Completion.polling()], ids=["event-driven", "polled"])
@pytest.mark.parametrize("parameter, member", [("job_name", "jobName"), ("custom_model_name", "customModelName")])
def test_a_value_no_template_can_hold_is_refused_naming_it_and_the_kernel_goes_on(
    stack, bucket, value, completion, parameter, member
):
    with pytest.raises(ValueError, match=rf"{member}: .*{re.escape(repr(value)[:12])}"):
        custom_model(stack, bucket, "Refused", completion=completion, **{parameter: value})
    assert stack.node.try_find_child("Refused") is None
    custom_model(stack, bucket, "Refused")  # the kernel still answers, and the id is free
    assert Template.from_stack(stack).to_json()["Resources"]


def test_none_for_a_required_parameter_of_a_jsii_type_is_refused_naming_it(stack, bucket):
    """It was dereferenced before jsii saw it: an AttributeError ('NoneType' object has no attribute 'model_arn')."""
    with pytest.raises(TypeError, match=r"^base_model: expected str or IModel .*, got NoneType None$"):
        custom_model(stack, bucket, "Refused", base_model=None)
    with pytest.raises(TypeError, match=r"^model: expected .*IModel.*, got NoneType None$"):
        ProvisionedThroughput(stack, "Serving", model=None, model_units=1)
    assert stack.node.try_find_child("Refused") is None and stack.node.try_find_child("Serving") is None


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda stack: S3Data.from_uri(None), "uri"),
        (lambda stack: ModelSource.from_uri(5), "uri"),
        (lambda stack: ModelSource.from_model_package_arn(None), "model_package_arn"),
        (lambda stack: Completion.event_driven(None), "timeout"),
        (lambda stack: Completion.event_driven(3600), "timeout"),
        (lambda stack: CustomizationProvider.of(stack, query_interval=60), "query_interval"),
        (lambda stack: CustomizationProvider.of(stack, total_timeout=3600), "total_timeout"),
        (lambda stack: RequestMetadataFilter.equals([], "v"), "key"),
        (lambda stack: RequestMetadataFilter.not_equals("k", b"v"), "value"),
        (lambda stack: RequestMetadataFilter.and_all(None), r"and_all\[0\]"),
        (lambda stack: RequestMetadataFilter.or_all(RequestMetadataFilter.equals("k", "v"), "x"), r"or_all\[1\]"),
        (lambda stack: ModelsFromFile(stack, "Models", path=None), "path"),
        (
            lambda stack: CustomizationProviderStack(stack.node.root, "Provider", passable_role_path=5),
            "passable_role_path",
        ),
    ],
)
def test_a_factory_given_a_value_of_another_type_names_the_parameter(stack, call, named):
    """Found by a hypothesis fuzz of the public API: these raised AttributeError, or a TypeError of re or os naming
    neither the parameter nor the value."""
    with pytest.raises(TypeError, match=rf"^{named}: expected "):
        call(stack)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"kms_key": {}}, "kms_key: expected IKey, got dict {}"),
        ({"vpc": []}, "vpc: expected IVpc, got list []"),
        (
            {"role": "arn:aws:iam::123456789012:role/r"},
            "role: expected IRole, got str 'arn:aws:iam::123456789012:role/r'",
        ),
        ({"removal_policy": "RETAIN"}, "removal_policy: expected RemovalPolicy, got str 'RETAIN'"),
        ({"base_model": 5}, "base_model: expected str or IModel or CustomModelBase, got int 5"),
    ],
)
def test_a_value_of_another_type_for_a_jsii_typed_parameter_names_it(stack, bucket, given, message):
    """Found by the outside fuzz: these were dereferenced before jsii saw them (AttributeError), or refused by jsii
    naming its own argument (policy)."""
    with pytest.raises(TypeError) as raised:
        custom_model(stack, bucket, "Refused", **given)
    assert str(raised.value) == message
    assert stack.node.try_find_child("Refused") is None


ALIAS_ARN = "arn:aws:kms:us-east-1:123456789012:alias/support-models"
KEYED: dict[str, Callable[[cdk.Stack, s3.IBucket, Any], Any]] = {
    "CustomModel": lambda stack, bucket, key: custom_model(stack, bucket, kms_key=key),
    "ImportedModel": lambda stack, bucket, key: ImportedModel(
        stack, "Import", model_data=S3Data.from_bucket(bucket, "w/"), kms_key=key
    ),
    "CopiedCustomModel": lambda stack, bucket, key: CopiedCustomModel(
        stack, "Copy", source_model=WEST_MODEL, kms_key=key
    ),
}


@pytest.mark.parametrize("construct", list(KEYED))
def test_a_key_given_by_its_alias_arn_is_refused_naming_it(construct: str) -> None:
    """AWS KMS developer guide, cmks-in-iam-policies.html: "You cannot use a key id, alias name, or alias ARN to
    identify a KMS key in an IAM policy statement": a grant on an alias ARN matches no key, so the job would be
    denied at deploy. (The API's KmsKeyId pattern takes an alias ARN: the contract alone lets it through.)"""

    def refused(stack: cdk.Stack, bucket: s3.IBucket) -> None:
        KEYED[construct](stack, bucket, kms.Key.from_key_arn(stack, "Key", ALIAS_ARN))

    stack = cdk.Stack(cdk.App(), "TestStack", env=ENV)
    with pytest.raises(ValueError, match=re.escape(f"kms_key: {ALIAS_ARN!r} is an alias ARN")):
        refused(stack, s3.Bucket(stack, "Data"))
    assert built(nothing, refused=refused) == built(nothing)
