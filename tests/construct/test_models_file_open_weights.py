"""Open-weight models in the models file (the open_weight_models section): checked like every other section, and
built into ImportedModel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from cdk_bedrock_customization import ModelsFromFile
from cdk_bedrock_customization.models_file import ModelsFileError

from .test_models_file import problems, write
from .test_weights import make_model, write_sparse_weights

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


def test_weights_that_are_neither_in_s3_nor_a_local_folder_are_reported_at_their_line(tmp_path: Path) -> None:
    path = write(tmp_path, OPEN_WEIGHTS.format(model_data="./weights/llama", name="llama-support"))
    (problem,) = problems(path)
    assert problem == (
        f"{path}:10:17: open_weight_models.llama.model_data: './weights/llama' is neither an s3:// URI nor a folder"
    )


def test_a_local_folder_of_weights_is_checked_as_validate_weights_checks_it(tmp_path: Path) -> None:
    make_model(tmp_path / "weights" / "llama", config={"architectures": ["NotAModelForCausalLM"]})
    path = write(tmp_path, OPEN_WEIGHTS.format(model_data="./weights/llama", name="llama-support"))
    (problem,) = problems(path)
    # The weights check's own message (tests/construct/test_weights.py), with the folder as the file wrote it.
    assert problem.startswith(f"{path}:10:17: open_weight_models.llama.model_data: ./weights/llama/config.json: ")
    assert "NotAModelForCausalLM" in problem


def test_a_local_folder_too_large_to_upload_is_refused_before_anything_is_uploaded(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "weights" / "llama")
    # Sparse: 5 GiB of weights written without the disk space. 2 x 5 GiB + 512 MiB is more than Lambda's 10,240 MiB.
    write_sparse_weights(folder / "model-00002-of-00002.safetensors", 5 << 30)
    path = write(tmp_path, OPEN_WEIGHTS.format(model_data="./weights/llama", name="llama-support"))
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:10:17: open_weight_models.llama.model_data: ./weights/llama holds 5.0 GiB, ")
    assert "more than the 4.8 GiB that aws-cdk-lib's BucketDeployment can upload" in problem
    assert "aws s3 sync" in problem


def test_a_local_folder_of_weights_is_uploaded_unzipped_before_the_import_starts(tmp_path: Path) -> None:
    make_model(tmp_path / "weights" / "llama")
    path = write(tmp_path, OPEN_WEIGHTS.format(model_data="./weights/llama", name="llama-support"))
    assert problems(path) == []
    stack = cdk.Stack(cdk.App(), "S")
    built = ModelsFromFile(stack, "Models", path=path)
    template = Template.from_stack(stack)
    ((upload_id, upload),) = template.find_resources("Custom::CDKBucketDeployment").items()
    bucket_id = stack.get_logical_id(built.weights_bucket.node.default_child)
    assert upload["Properties"]["DestinationBucketName"] == {"Ref": bucket_id}
    assert upload["Properties"]["DestinationBucketKeyPrefix"] == "llama/"
    assert upload["Properties"]["Prune"] is True and upload["Properties"]["RetainOnDelete"] is True
    ((_, resource),) = template.find_resources("Custom::BedrockImportedModel").items()
    assert resource["Properties"]["modelDataSource"] == {
        "s3DataSource": {"s3Uri": {"Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/llama/"]]}}
    }
    assert upload_id in resource["DependsOn"]
    # The function's storage holds the zip and its files: the folder is tiny, so the margin (512 MiB) and 2 x 1 MiB.
    ((_, function),) = [
        item
        for item in template.find_resources("AWS::Lambda::Function").items()
        if "EphemeralStorage" in item[1]["Properties"]
    ]
    assert function["Properties"]["EphemeralStorage"] == {"Size": 514}


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


# --- keys and the ids of what stands for an entry's inputs ------------------------------------------------------
# Entry keys are construct ids in the ModelsFromFile's scope. What stands for an entry's inputs (an imported role or
# model, a shipped dataset) is in a scope of its own, so no key clashes with it; the upload of local weights and
# their bucket are resources, kept in the ModelsFromFile's scope, so a key that is their id is refused.

MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
CLASHING_WITH_INPUTS = {
    "role": """\
        version: 1
        models:
          a: {base_model: amazon.nova-micro-v1:0:128k, training_data: s3://my-bucket/t.jsonl, output_data: s3://my-bucket/o/,
              role: "arn:aws:iam::123456789012:role/r"}
          aRole: {base_model: amazon.nova-micro-v1:0:128k, training_data: s3://my-bucket/t.jsonl, output_data: s3://my-bucket/o2/}
        """,
    "model-arn": f"""\
        version: 1
        deployments:
          d: {{model: "{MODEL_ARN}"}}
          dModel: {{model: "{MODEL_ARN}"}}
        """,
    "local-dataset": f"""\
        version: 1
        models:
          a: {{base_model: amazon.nova-micro-v1:0:128k, training_data: data/train.jsonl, output_data: s3://my-bucket/o/}}
        deployments:
          aTrainingData: {{model: "{MODEL_ARN}"}}
        """,
}


@pytest.mark.parametrize("case", CLASHING_WITH_INPUTS)
def test_a_key_like_the_id_of_another_entrys_input_is_built(tmp_path: Path, case: str) -> None:
    (tmp_path / "data").mkdir()
    record = (
        '{"schemaVersion": "bedrock-conversation-2024", "messages": [{"role": "user", "content": [{"text": "q"}]}, '
    )
    record += '{"role": "assistant", "content": [{"text": "a"}]}]}\n'
    (tmp_path / "data" / "train.jsonl").write_text(record * 8)
    path = write(tmp_path, CLASHING_WITH_INPUTS[case])
    assert problems(path) == []
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="123456789012", region="us-east-1"))
    built = ModelsFromFile(stack, "Models", path=path)
    keys = {*built.models, *built.deployments}
    assert keys == {key for key in ("a", "aRole", "d", "dModel", "aTrainingData") if f"  {key}:" in path.read_text()}


@pytest.mark.parametrize(
    ("key", "what"),
    [
        ("Weights", "the bucket of the file's local weights"),
        ("llamaWeights", "the upload of open_weight_models.llama's local weights"),
    ],
)
def test_a_key_that_is_the_id_of_local_weights_or_their_bucket_is_refused(tmp_path: Path, key: str, what: str) -> None:
    make_model(tmp_path / "weights" / "llama")
    text = OPEN_WEIGHTS.format(model_data="./weights/llama", name="llama-support")
    path = write(tmp_path, text + f"deployments:\n  {key}:\n    model: {MODEL_ARN}\n")
    (problem,) = problems(path)
    assert problem == (
        f"{path}:15:3: deployments.{key}: '{key}' is the id of {what}, in the same scope: give the entry another key"
    )
    with pytest.raises(ModelsFileError):
        ModelsFromFile(cdk.Stack(cdk.App(), "S"), "Models", path=path)
    # Weights in S3 are not uploaded: the key is free.
    path = write(
        tmp_path,
        OPEN_WEIGHTS.format(model_data="s3://weights/llama/", name="llama-support")
        + f"deployments:\n  {key}:\n    model: {MODEL_ARN}\n",
    )
    assert problems(path) == []


def test_a_renamed_key_moves_the_prefix_and_the_role_and_keeps_the_digest_of_the_weights(tmp_path: Path) -> None:
    """What the handler's refusal to import the same weights again relies on (tests/handler/test_moved_or_renamed.py):
    a key renamed gives the import a new logical id, a new prefix and a role of its own, and the same digest."""
    make_model(tmp_path / "weights" / "llama")

    def imported(key: str) -> tuple[str, dict[str, Any]]:
        text = f"version: 1\nopen_weight_models:\n  {key}:\n    model_data: ./weights/llama\n"
        path = write(tmp_path, text)
        stack = cdk.Stack(cdk.App(), "S")
        ModelsFromFile(stack, "Models", path=path)
        ((logical_id, resource),) = Template.from_stack(stack).find_resources("Custom::BedrockImportedModel").items()
        return logical_id, resource["Properties"]

    (old_id, old), (new_id, new) = imported("llama"), imported("llama_v2")
    assert new_id != old_id
    assert old["modelDataSource"]["s3DataSource"]["s3Uri"]["Fn::Join"][1][-1] == "/llama/"
    assert new["modelDataSource"]["s3DataSource"]["s3Uri"]["Fn::Join"][1][-1] == "/llama_v2/"
    assert old["roleArn"] != new["roleArn"]
    assert len(old["modelDataDigest"]) == 64 and new["modelDataDigest"] == old["modelDataDigest"]
    # And the key of its wait condition, which the handler does not count as what it is (contract.NOT_IDENTIFYING).
    moved = ("modelDataSource", "roleArn", "waitConditionKey")
    unmoved = {key: value for key, value in old.items() if key not in moved}
    assert {key: value for key, value in new.items() if key not in moved} == unmoved
