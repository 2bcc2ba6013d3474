"""Each resource type's attributes are declared once (its contract names its cr_types TypedDict): what the
handler answers is declared, and what the constructs read with Fn::GetAtt is declared for the type of the resource
they read it from."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aws_cdk as cdk
import pytest
from bedrock_custom_resource import contract, cr_types, customization_job
from cdk_bedrock_customization import (
    Commitment,
    Completion,
    CustomModel,
    CustomModelDeployment,
    ImportedCustomModel,
    ModelSource,
    ProvisionedThroughput,
    S3Data,
)

JOB_ARN = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"


def test_a_job_answers_only_declared_attributes_all_strings() -> None:
    # Every member of GetModelCustomizationJob's response that the handler reads, as boto3 gives them.
    job: dict[str, Any] = {
        "jobArn": JOB_ARN,
        "jobName": "support-assistant-1",
        "status": "Completed",
        "outputModelArn": MODEL_ARN,
        "outputModelName": "support-assistant",
        "baseModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k",
        "outputModelKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "creationTime": datetime(2026, 12, 1, 6, 0, tzinfo=UTC),
        "endTime": datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        "trainingMetrics": {"trainingLoss": 0.25},
        "validationMetrics": [{"validationLoss": 0.5}],
    }
    data = customization_job.attributes(job)
    assert set(data) == set(cr_types.JobAttributes.__annotations__)
    assert all(isinstance(value, str) for value in data.values())
    assert data["endTime"] == "2026-12-01T09:30:00+00:00"
    assert data["validationLoss"] == "0.5"


def _read(stack: cdk.Stack, token: str) -> tuple[str, str]:
    """The CloudFormation type of the resource a token reads, and the attribute it reads."""
    resolved = stack.resolve(token)
    logical_id, attribute = resolved["Fn::GetAtt"]
    resource = stack.node.find_all()
    (cfn,) = [c for c in resource if isinstance(c, cdk.CfnResource) and stack.get_logical_id(c) == logical_id]
    return cfn.cfn_resource_type, attribute


def _attributes_read() -> list[tuple[str, str, str]]:
    stack = cdk.Stack(cdk.App(), "Attributes")
    data = {
        "training_data": S3Data.from_uri("s3://training-data/train.jsonl"),
        "output_data": S3Data.from_uri("s3://training-data/output/"),
        "base_model": "amazon.nova-micro-v1:0:128k",
    }
    waited = CustomModel(stack, "Waited", **data)
    polled = CustomModel(stack, "Polled", completion=Completion.polling(), **data)
    imported = ImportedCustomModel(stack, "Imported", source=ModelSource.from_uri("s3://escrow/model/"))
    deployment = CustomModelDeployment(stack, "Deployment", model=waited)
    throughput = ProvisionedThroughput(
        stack, "Throughput", model=polled, model_units=1, commitment=Commitment.ONE_MONTH
    )
    tokens = {
        "event-driven output_model_arn": waited.output_model_arn,
        "event-driven output_model_name": waited.output_model_name,
        "event-driven job_arn": waited.job_arn,
        "event-driven job_name": waited.job_name,
        "polled output_model_arn": polled.output_model_arn,
        "polled output_model_name": polled.output_model_name,
        "imported model_arn": imported.model_arn,
        "imported model_name": imported.model_name,
        "deployment custom_model_deployment_arn": deployment.custom_model_deployment_arn,
        "deployment model_deployment_name": deployment.model_deployment_name,
        "throughput provisioned_model_arn": throughput.provisioned_model_arn,
        "throughput provisioned_model_name": throughput.provisioned_model_name,
    }
    return [(label, *_read(stack, token)) for label, token in tokens.items()]


@pytest.mark.parametrize(("label", "resource_type", "attribute"), _attributes_read())
def test_what_a_construct_reads_is_an_attribute_of_that_resource_type(label, resource_type, attribute) -> None:
    assert resource_type in contract.CONTRACTS, label
    assert attribute in contract.CONTRACTS[resource_type].attributes.__annotations__, label
