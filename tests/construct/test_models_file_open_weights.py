"""Open-weight models in the models file (the open_weight_models section): checked like every other section, and
built into ImportedModel."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from cdk_bedrock_customization import ModelsFromFile

from .test_models_file import problems, write

OPEN_WEIGHTS = """\
version: 1
models:
  support:
    base_model: amazon.nova-micro-v1:0:128k
    training_data: s3://my-bucket/train.jsonl
    output_data: s3://my-bucket/output/
    custom_model_name: support-model
open_weight_models:
  llama:
    model_data: {model_data}
    imported_model_name: {name}
    imported_model_tags:
      team: ml
"""


def test_an_open_weight_model_is_valid_and_built_into_an_imported_model(tmp_path: Path) -> None:
    path = write(tmp_path, OPEN_WEIGHTS.format(model_data="s3://weights/llama-3-8b/", name="llama-support"))
    assert problems(path) == []
    stack = cdk.Stack(cdk.App(), "S")
    built = ModelsFromFile(stack, "Models", path=path)
    resources = Template.from_stack(stack).find_resources("Custom::BedrockImportedModel")
    ((_, resource),) = resources.items()
    assert resource["Properties"]["modelDataSource"] == {"s3DataSource": {"s3Uri": "s3://weights/llama-3-8b/"}}
    assert resource["Properties"]["importedModelName"] == "llama-support"
    assert set(built.open_weight_models) == {"llama"}


def test_weights_outside_s3_are_reported_at_their_line(tmp_path: Path) -> None:
    path = write(tmp_path, OPEN_WEIGHTS.format(model_data="./weights/llama", name="llama-support"))
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:10:")
    assert "open_weight_models.llama.model_data" in problem


def test_an_imported_model_name_is_unique_with_the_custom_models_names(tmp_path: Path) -> None:
    path = write(tmp_path, OPEN_WEIGHTS.format(model_data="s3://weights/llama-3-8b/", name="support-model"))
    (problem,) = problems(path)
    assert "open_weight_models.llama.imported_model_name" in problem
    assert "is also the name of models.support.custom_model_name" in problem


# Each completion mode, as the import resource's waitUntil (None: left out, the handler's default of Completed).
WAIT_UNTIL = {
    "event_driven": "Accepted",
    "polling": None,
    "no_wait": "Accepted",  # an import job has no validation step to wait for
}


@pytest.mark.parametrize("completion", list(WAIT_UNTIL))
def test_each_completion_mode_is_the_imports_wait_until(tmp_path: Path, completion: str) -> None:
    text = OPEN_WEIGHTS.format(model_data="s3://weights/llama-3-8b/", name="llama-support")
    path = write(tmp_path, text + f"    completion: {completion}\n")
    assert problems(path) == []
    stack = cdk.Stack(cdk.App(), "S")
    ModelsFromFile(stack, "Models", path=path)
    ((_, resource),) = Template.from_stack(stack).find_resources("Custom::BedrockImportedModel").items()
    assert resource["Properties"].get("waitUntil") == WAIT_UNTIL[completion]
    waits = Template.from_stack(stack).find_resources("AWS::CloudFormation::WaitCondition")
    assert sorted(logical_id.startswith("ModelsllamaWaitingForJob") for logical_id in waits).count(True) == (
        1 if completion == "event_driven" else 0
    )


def test_the_completion_timeout_is_the_imports_wait(tmp_path: Path) -> None:
    text = OPEN_WEIGHTS.format(model_data="s3://weights/llama-3-8b/", name="llama-support")
    path = write(tmp_path, text + "    completion_timeout_hours: 2.5\n")
    stack = cdk.Stack(cdk.App(), "S")
    ModelsFromFile(stack, "Models", path=path)
    waits = Template.from_stack(stack).find_resources("AWS::CloudFormation::WaitCondition")
    (wait,) = [resource for logical_id, resource in waits.items() if logical_id.startswith("Modelsllama")]
    assert wait["Properties"]["Timeout"] == "9000"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "    completion: sometimes\n",
            "14:17: open_weight_models.llama.completion: 'sometimes' is not one of "
            "['event_driven', 'polling', 'no_wait']",
        ),
        (
            "    completion_timeout_hours: 0\n",
            "14:31: open_weight_models.llama.completion_timeout_hours: 0 must be greater than 0",
        ),
    ],
)
def test_a_bad_completion_is_reported_at_its_line(tmp_path: Path, line: str, expected: str) -> None:
    text = OPEN_WEIGHTS.format(model_data="s3://weights/llama-3-8b/", name="llama-support")
    path = write(tmp_path, text + line)
    assert problems(path) == [f"{path}:{expected}"]
