"""Copied models in the models file (the copied_models section): checked like every other section, built into
CopiedCustomModel, and served by key like the file's other models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from cdk_bedrock_customization import (
    CopiedCustomModel,
    CustomModelDeployment,
    JobCompletionNotifier,
    ModelsFromFile,
    ProvisionedThroughput,
)
from cdk_bedrock_customization._entry_checks import EntryChecks
from cdk_bedrock_customization.models_file import ModelsFile, ModelsFileError

from constructs import Construct

from .conftest import ENV
from .test_models_file import construct_lines, problems, validate, write

SOURCE = "arn:aws:bedrock:us-west-2:111122223333:custom-model/amazon.nova-micro-v1:0:128k/0f1e2d3c4b5a"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MODELS = """\
models:
  support:
    base_model: amazon.nova-micro-v1:0:128k
    training_data: s3://my-bucket/train.jsonl
    output_data: s3://my-bucket/output/
    custom_model_name: support-model
"""
COPIES = f"""\
version: 1
{MODELS}copied_models:
  support-copy:
    source_model: {SOURCE}
    target_model_name: support-copy
    kms_key: {KEY}
    target_model_tags:
      team: ml
    removal_policy: destroy
deployments:
  copy-on-demand:
    model: support-copy
provisioned_throughput:
  copy-pt:
    model: support-copy
    model_units: 1
"""


def new_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Stack", env=ENV)


def of_type(stack: cdk.Stack, resource_type: str) -> list[tuple[str, dict[str, Any]]]:
    resources: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return [(logical_id, r) for logical_id, r in resources.items() if r["Type"] == resource_type]


def properties(resource: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in resource["Properties"].items() if name != "ServiceToken"}


def test_a_copy_is_valid_and_built_into_a_copied_custom_model(tmp_path: Path):
    path = write(tmp_path, COPIES)
    assert problems(path) == []
    stack = new_stack()
    built = ModelsFromFile(stack, "Models", path=path)
    assert isinstance(built.models["support-copy"], CopiedCustomModel)
    ((_, copy),) = of_type(stack, "Custom::BedrockCopiedCustomModel")
    sent = properties(copy)
    key = sent.pop("waitConditionKey")
    assert sent == {
        "sourceModelArn": SOURCE,
        "targetModelName": "support-copy",
        "modelKmsKeyId": KEY,
        "waitUntil": "Accepted",
        "targetModelTags": [{"key": "team", "value": "ml"}],
        "updateReplacePolicy": "Delete",  # DESTROY, told to the handler
    }
    assert copy["DeletionPolicy"] == "Delete"
    # The key of the wait condition that waits for it (the handler refuses to replace the job under the same key).
    conditions = [logical_id for logical_id, _ in of_type(stack, "AWS::CloudFormation::WaitCondition")]
    assert len([logical_id for logical_id in conditions if f"WaitingForJob{key}" in logical_id]) == 1


def test_deployments_and_throughput_serve_a_copy_by_its_key(tmp_path: Path):
    stack = new_stack()
    ModelsFromFile(stack, "Models", path=write(tmp_path, COPIES))
    ((result, _),) = of_type(stack, "Custom::BedrockModelCopyJobResult")
    ((_, deployment),) = of_type(stack, "Custom::BedrockCustomModelDeployment")
    ((_, throughput),) = of_type(stack, "Custom::BedrockProvisionedModelThroughput")
    # The completed copy's ARN, read once the copy job has ended.
    assert result.startswith("ModelssupportcopyCompletedJob")
    assert deployment["Properties"]["modelArn"] == {"Fn::GetAtt": [result, "targetModelArn"]}
    assert throughput["Properties"]["modelId"] == {"Fn::GetAtt": [result, "targetModelArn"]}


def test_a_copy_synthesizes_the_same_template_as_the_equivalent_python(tmp_path: Path):
    from_file = new_stack()
    ModelsFromFile(from_file, "Models", path=write(tmp_path, COPIES.replace(MODELS, "")))

    in_python = new_stack()
    scope = Construct(in_python, "Models")
    copy = CopiedCustomModel(
        scope,
        "support-copy",
        source_model=SOURCE,
        target_model_name="support-copy",
        kms_key=kms.Key.from_key_arn(scope, "support-copyKey", KEY),
        target_model_tags={"team": "ml"},
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    CustomModelDeployment(scope, "copy-on-demand", model=copy)
    ProvisionedThroughput(scope, "copy-pt", model=copy, model_units=1)
    assert Template.from_stack(from_file).to_json() == Template.from_stack(in_python).to_json()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (  # a key of the file is no source: a copy comes from another Region, and the file is one stack's
            f"source_model: {SOURCE}",
            "source_model: support-model-of-this-file",
            "10:19: copied_models.support-copy.source_model: 'support-model-of-this-file' does not match the pattern "
            "of this field",
        ),
        (
            f"source_model: {SOURCE}",
            "source_model: other",  # not a key of the file: both of the schema's problems
            "10:19: copied_models.support-copy.source_model: 'other' has 5 characters; it must have at least 20\n"
            "10:19: copied_models.support-copy.source_model: 'other' does not match the pattern of this field",
        ),
        (
            f"source_model: {SOURCE}",
            "source_model: arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-micro-v1:0",
            "10:19: copied_models.support-copy.source_model: 'arn:aws:bedrock:us-west-2::foundation-model/"
            "amazon.nova-micro-v1:0' is a foundation model's ARN; Bedrock copies only custom models (of another "
            "Region, or shared with the account)",
        ),
        (
            "target_model_name: support-copy",
            "target_model_name: support copy",
            "11:24: copied_models.support-copy.target_model_name: 'support copy' does not match "
            "^(?:([0-9a-zA-Z][_-]?){1,63})$",
        ),
        (
            f"kms_key: {KEY}",
            "kms_key: alias/my-key",
            "12:14: copied_models.support-copy.kms_key: 'alias/my-key' does not match "
            "^(?:arn:aws(-[^:]+)?:kms:[a-zA-Z0-9-]*:[0-9]{12}:key/[a-zA-Z0-9-]{36})$",
        ),
        (
            "team: ml",
            "team: 7",
            "14:13: copied_models.support-copy.target_model_tags.team: expected a string, got 7",
        ),
        (
            "removal_policy: destroy",
            "completion: sometimes",
            "15:17: copied_models.support-copy.completion: 'sometimes' is not one of "
            "['event_driven', 'polling', 'no_wait']",
        ),
        (
            "removal_policy: destroy",
            "completion_timeout_hours: 13",
            "15:31: copied_models.support-copy.completion_timeout_hours: 13 must be at most 12",
        ),
        (
            "removal_policy: destroy",
            "source_arn: x",
            "15:5: copied_models.support-copy.source_arn: unknown field; did you mean 'source_model'?",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_the_field_and_the_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, expected: str
):
    assert old in COPIES
    path = write(tmp_path, COPIES.replace(old, new))
    assert validate(capsys, path) == (1, expected.splitlines())
    assert construct_lines(path) == expected.splitlines()


@pytest.mark.parametrize("key", ["support", "copy-on-demand"])
def test_a_copy_of_a_key_of_the_file_is_told_what_a_source_model_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
):
    """Only a length and a pattern error said so (an outside review): the README says a source_model is always an
    ARN, never a key of the file, and why."""
    section = "models" if key == "support" else "deployments"
    path = write(tmp_path, COPIES.replace(f"source_model: {SOURCE}", f"source_model: {key}"))
    (code, (line,)) = validate(capsys, path)
    assert code == 1
    assert line.startswith(f"10:19: copied_models.support-copy.source_model: '{key}' is a key of {section}; ")
    assert "the ARN of a custom model of another Region" in line
    assert construct_lines(path) == [line]


def test_a_copy_needs_its_source_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = write(tmp_path, COPIES.replace(f"    source_model: {SOURCE}\n", ""))
    assert validate(capsys, path) == (1, ["10:5: copied_models.support-copy: 'source_model' is a required property"])


def test_a_stage_that_adds_a_copy_needs_its_source_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = write(tmp_path, COPIES + "stages:\n  prod:\n    copied_models:\n      prod-copy: {target_model_name: c}\n")
    assert validate(capsys, path) == (
        1,
        [
            "26:7: stages.prod.copied_models.prod-copy: copied_models has no entry 'prod-copy' to override; an entry "
            "that a stage adds needs source_model"
        ],
    )


def test_a_copys_name_is_unique_with_the_custom_models_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """A copy is a custom model: its name is unique with a job's model, and with another copy's."""
    same_as_the_job = COPIES.replace("target_model_name: support-copy", "target_model_name: support-model")
    assert validate(capsys, write(tmp_path, same_as_the_job)) == (
        1,
        [
            "11:24: copied_models.support-copy.target_model_name: 'support-model' is also the name of "
            "models.support.custom_model_name: Bedrock names are unique"
        ],
    )
    second_copy = f"  second-copy:\n    source_model: {SOURCE}\n    target_model_name: support-copy\n"
    two_copies = COPIES.replace("deployments:\n", second_copy + "deployments:\n")
    assert validate(capsys, write(tmp_path, two_copies)) == (
        1,
        [
            "18:24: copied_models.second-copy.target_model_name: 'support-copy' is also the name of "
            "copied_models.support-copy.target_model_name: Bedrock names are unique"
        ],
    )


def test_a_copy_name_is_unique_with_an_open_weight_models_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    weights = "open_weight_models:\n  llama:\n    model_data: s3://weights/llama/\n    imported_model_name: same\n"
    text = COPIES.replace("copied_models:\n", weights + "copied_models:\n").replace(
        "target_model_name: support-copy", "target_model_name: same"
    )
    assert validate(capsys, write(tmp_path, text)) == (
        1,
        [
            "15:24: copied_models.support-copy.target_model_name: 'same' is also the name of "
            "open_weight_models.llama.imported_model_name: Bedrock names are unique"
        ],
    )


def test_a_copys_key_is_unique_across_sections(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """Keys are the constructs' ids in one scope, and a deployment names a model by key: one entry per key."""
    path = write(
        tmp_path, COPIES.replace("  support-copy:", "  support:").replace("model: support-copy", "model: support")
    )
    assert validate(capsys, path) == (
        1,
        ["9:3: copied_models.support: 'support' is also a key of models: keys are unique across sections"],
    )


# Each completion mode, as the copy resource's waitUntil (None: left out, the handler's default of Completed).
WAIT_UNTIL = {
    "event_driven": "Accepted",
    "polling": None,
    "no_wait": "Accepted",  # a copy job has no validation step to wait for
}


@pytest.mark.parametrize("completion", list(WAIT_UNTIL))
def test_each_completion_mode_is_the_copys_wait_until(tmp_path: Path, completion: str):
    unserved = COPIES.split("deployments:\n", 1)[0]  # no_wait: nothing in the stack can serve the copy
    path = write(tmp_path, unserved.replace("removal_policy: destroy", f"completion: {completion}"))
    loaded = ModelsFile.load(path)
    entry = dict(loaded.entries("copied_models"))["support-copy"]
    checked = EntryChecks(loaded).request_properties("copied_models", "support-copy", entry)
    assert checked.get("waitUntil") == WAIT_UNTIL[completion]
    stack = new_stack()
    ModelsFromFile(stack, "Models", path=path)
    ((_, copy),) = of_type(stack, "Custom::BedrockCopiedCustomModel")
    assert copy["Properties"].get("waitUntil") == WAIT_UNTIL[completion]
    waits = of_type(stack, "AWS::CloudFormation::WaitCondition")
    assert [logical_id.startswith("ModelssupportcopyWaitingForJob") for logical_id, _ in waits].count(True) == (
        1 if completion == "event_driven" else 0
    )


def test_a_copy_that_the_stack_does_not_wait_for_cannot_be_served(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = write(tmp_path, COPIES.replace("removal_policy: destroy", "completion: no_wait"))
    expected = [
        f"{line}: 'support-copy' is a model of copied_models whose completion is no_wait: the stack does not wait "
        "for its job, so has no model to use; use event_driven or polling"
        for line in ("18:12: deployments.copy-on-demand.model", "21:12: provisioned_throughput.copy-pt.model")
    ]
    assert validate(capsys, path) == (1, expected)
    assert construct_lines(path) == expected


def test_the_completion_timeout_is_the_copys_wait(tmp_path: Path):
    path = write(tmp_path, COPIES.replace("removal_policy: destroy", "completion_timeout_hours: 6"))
    stack = new_stack()
    ModelsFromFile(stack, "Models", path=path)
    (wait,) = [r for k, r in of_type(stack, "AWS::CloudFormation::WaitCondition") if k.startswith("Modelssupportcopy")]
    assert wait["Properties"]["Timeout"] == "21600"


def test_a_copys_wait_that_the_notifiers_checks_may_miss_is_a_problem_of_its_entry(tmp_path: Path):
    """A copy job emits no events: the notifier sees it end only when it checks, every check_interval (5 minutes by
    default, set in code). A wait of 3 minutes (0.05 hours) is refused before any entry is made, at its line."""
    policy = "    removal_policy: destroy\n"
    path = write(tmp_path, COPIES.replace(policy, policy + "    completion_timeout_hours: 0.05\n"))
    stack = new_stack()
    with pytest.raises(ModelsFileError) as refused:
        ModelsFromFile(stack, "Models", path=path)
    assert str(refused.value) == (
        f"{path}:16:31: copied_models.support-copy.completion_timeout_hours: a timeout of 3 minutes is not longer than "
        "the notifier's check_interval (5 minutes): import, copy and evaluation jobs emit no events, so the notifier "
        "sees one ended only when it checks; give a longer timeout, or JobCompletionNotifier.of(stack, "
        "check_interval=...) a shorter interval"
    )
    assert stack.node.try_find_child("Models") is None

    JobCompletionNotifier.of(stack, check_interval=cdk.Duration.minutes(2))
    ModelsFromFile(stack, "Models", path=path)
