"""snapshot_template: users' snapshots of stacks with this library do not change with its upgrades."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from cdk_bedrock_customization import Completion, S3Data
from cdk_bedrock_customization.testing import snapshot_template

from .conftest import ENV, custom_model

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"


def stack_with_a_model(epochs: int) -> cdk.Stack:
    stack = cdk.Stack(cdk.App(), "Users", env=ENV)
    custom_model(stack, s3.Bucket(stack, "Data"), hyper_parameters={"epochCount": epochs})
    return stack


def test_asset_hashes_and_wait_keys_are_masked_and_the_rest_kept():
    stack = stack_with_a_model(2)
    raw = json.dumps(cdk.assertions.Template.from_stack(stack).to_json())
    masked = snapshot_template(stack)
    text = json.dumps(masked)
    assert "<asset hash>" in text and "WaitingForJob<job hash>" in text and "JobWaitHandle<job hash>" in text
    assert "<asset hash>" not in raw
    assert '"epochCount": "2"' in text


def test_a_change_the_user_made_still_shows():
    # The wait condition's key changes with the job's properties; what the user changed stays visible.
    assert snapshot_template(stack_with_a_model(2)) != snapshot_template(stack_with_a_model(3))


def test_a_template_dict_is_accepted_too():
    code = {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"S3Key": "a" * 64 + ".zip"}}}
    masked = {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"S3Key": "<asset hash>.zip"}}}
    assert snapshot_template({"Resources": {"Fn": code}}) == {"Resources": {"Fn": masked}}


def test_a_nested_stacks_template_hash_is_masked():
    """It changes whenever the nested template does, with every release when the library's handler is in it."""
    url = "https://s3.us-east-1.amazonaws.com/cdk-assets/" + "b" * 64 + ".json"
    nested = {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": url}}
    masked = snapshot_template({"Resources": {"Nested": nested}})["Resources"]["Nested"]["Properties"]["TemplateURL"]
    assert masked == "https://s3.us-east-1.amazonaws.com/cdk-assets/<asset hash>.json"


def test_a_datasets_asset_hash_stays_so_that_swapped_training_files_show():
    """What a job trains on is the user's change: a polled model (no wait condition key to tell) whose training and
    validation files were swapped must not snapshot the same."""

    def snapshot_of(training: str, validation: str) -> dict:
        stack = cdk.Stack(cdk.App(), "Users", env=ENV)
        custom_model(
            stack,
            s3.Bucket(stack, "Data"),
            completion=Completion.polling(),
            training_data=S3Data.from_local_file(EXAMPLES / training),
            validation_data=[S3Data.from_local_file(EXAMPLES / validation)],
        )
        return snapshot_template(stack)

    train, validation = "support-train.jsonl", "support-validation.jsonl"
    assert snapshot_of(train, validation) != snapshot_of(validation, train)
