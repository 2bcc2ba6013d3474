"""What the constructs render into their requests, checked against botocore's bedrock service model (member names,
enums, list limits) and aws-cdk-lib's contract, never against the library's own tables."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cdk_bedrock_customization import Commitment, Customization, InvocationLogs, RequestMetadataFilter, S3Data

from .conftest import custom_model, resources_of_type, role_statements

JOB = "Custom::BedrockModelCustomizationJob"
BEDROCK = botocore.session.get_session().get_service_model("bedrock")


def job_properties(stack: cdk.Stack) -> dict[str, Any]:
    (job,) = resources_of_type(Template.from_stack(stack), JOB).values()
    properties: dict[str, Any] = job["Properties"]
    return properties


def test_every_validation_dataset_becomes_a_validator(stack, bucket):
    """validationDataConfig.validators: a list of Validator {s3Uri}, up to 10."""
    assert BEDROCK.shape_for("Validators").metadata["max"] >= 2
    keys = ["validation/a.jsonl", "validation/b.jsonl"]
    custom_model(stack, bucket, validation_data=[S3Data.from_bucket(bucket, key) for key in keys])
    validators = job_properties(stack)["validationDataConfig"]["validators"]
    assert [set(validator) for validator in validators] == [{"s3Uri"}, {"s3Uri"}]
    for key, validator in zip(keys, validators, strict=True):
        assert json.dumps(validator["s3Uri"]).endswith(f'/{key}"]]}}')


def test_or_all_renders_the_apis_or_all_member(stack, bucket):
    """RequestMetadataFilters is a union of equals, notEquals, andAll and orAll: records any filter matches is orAll
    (andAll would train on fewer records than declared)."""
    assert {"andAll", "orAll"} <= set(BEDROCK.shape_for("RequestMetadataFilters").members)
    custom_model(
        stack,
        bucket,
        customization=Customization.distillation("us.amazon.nova-premier-v1:0"),
        training_data=InvocationLogs(
            source=S3Data.from_uri("s3://logs-bucket/invocations/"),
            request_metadata_filters=RequestMetadataFilter.or_all(
                RequestMetadataFilter.equals("project", "router"), RequestMetadataFilter.equals("project", "chat")
            ),
        ),
    )
    logs = job_properties(stack)["trainingDataConfig"]["invocationLogsConfig"]
    assert logs["requestMetadataFilters"] == {
        "orAll": [{"equals": {"project": "router"}}, {"equals": {"project": "chat"}}]
    }


def test_output_to_a_kms_encrypted_bucket_may_generate_data_keys(stack):
    """An object written with SSE-KMS needs kms:GenerateDataKey on the bucket's key (the S3 user guide, "Protecting
    data with server-side encryption with AWS KMS keys", Permissions); Bedrock writes the job's output there."""
    encrypted = s3.Bucket(stack, "Encrypted", encryption=s3.BucketEncryption.KMS)
    custom_model(stack, encrypted)
    template = Template.from_stack(stack)
    (key_id,) = resources_of_type(template, "AWS::KMS::Key")
    on_the_key: set[str] = set()
    for statement in role_statements(template, "Model"):
        if key_id in json.dumps(statement["Resource"]):
            actions = statement["Action"]
            on_the_key |= {actions} if isinstance(actions, str) else set(actions)
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= on_the_key


def test_a_key_the_s3_uri_pattern_refuses_is_refused_at_synth_naming_the_key(bucket):
    """S3Uri's pattern takes no space in a key."""
    assert re.fullmatch(BEDROCK.shape_for("S3Uri").metadata["pattern"], "s3://my-bucket/train data.jsonl") is None
    with pytest.raises(ValueError, match=r"S3Data\.from_bucket.*train data\.jsonl"):
        S3Data.from_bucket(bucket, "train data.jsonl")


def test_apply_removal_policy_without_a_policy_retains_as_a_cfn_resources_does(stack, bucket):
    """aws-cdk-lib's CfnResource.applyRemovalPolicy: "policy || options.default || RemovalPolicy.RETAIN"."""
    model = custom_model(stack, bucket, removal_policy=cdk.RemovalPolicy.DESTROY)
    model.resource.apply_removal_policy()
    (job,) = resources_of_type(Template.from_stack(stack), JOB).values()
    assert (job["DeletionPolicy"], job["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_a_one_month_commitment_is_the_apis_one_month(stack, bucket):
    """CommitmentDuration is OneMonth or SixMonths: ONE_MONTH buys one month."""
    assert BEDROCK.shape_for("CommitmentDuration").enum == ["OneMonth", "SixMonths"]
    custom_model(stack, bucket).add_provisioned_throughput("PT", model_units=1, commitment=Commitment.ONE_MONTH)
    (throughput,) = resources_of_type(Template.from_stack(stack), "Custom::BedrockProvisionedModelThroughput").values()
    assert throughput["Properties"]["commitmentDuration"] == "OneMonth"
