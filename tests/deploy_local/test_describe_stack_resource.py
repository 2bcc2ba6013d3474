"""DescribeStackResource, as the notifier will read a stack's waits from its own resources: answered from the
local stack, shaped as botocore's cloudformation model has it, Metadata the resource's template Metadata as
JSON text."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from bedrock_custom_resource import notifier
from botocore.exceptions import ClientError
from cdk_bedrock_customization.rehearsal.clock import EPOCH
from cdk_bedrock_customization.rehearsal.cloud import LocalCloud

STACK = "described"
METADATA = {
    "cdk-bedrock-customization:jobWaits": {"Job": {"handle": "Handle", "condition": "Condition"}},
    "stack": {"Ref": "AWS::StackName"},
}
TEMPLATE = {
    "Resources": {
        "Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle", "Metadata": METADATA},
        "Plain": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
    }
}


def test_describe_stack_resource_answers_from_the_local_stack(tmp_path):
    path = tmp_path / "described.json"
    path.write_text(json.dumps(TEMPLATE))
    with LocalCloud(write=lambda _line: None) as local:
        assert local.deploy_template(path, STACK).succeeded
        stack_id = local.stacks[STACK].env.stack_id
        client = notifier.cloudformation_client()  # the notifier's own client, as the rehearsal patches it

        detail = client.describe_stack_resource(StackName=stack_id, LogicalResourceId="Handle")["StackResourceDetail"]
        by_name = client.describe_stack_resource(StackName=STACK, LogicalResourceId="Handle")["StackResourceDetail"]
        plain = client.describe_stack_resource(StackName=stack_id, LogicalResourceId="Plain")["StackResourceDetail"]
        (summary,) = [
            s
            for s in client.list_stack_resources(StackName=stack_id)["StackResourceSummaries"]
            if s["LogicalResourceId"] == "Handle"
        ]
        with pytest.raises(ClientError) as missing:
            client.describe_stack_resource(StackName=stack_id, LogicalResourceId="Nothing")

    # Metadata is JSON text, with its intrinsic functions resolved.
    assert json.loads(detail["Metadata"]) == {**METADATA, "stack": STACK}
    assert "Metadata" not in plain  # a resource without Metadata has none
    assert {key: value for key, value in detail.items() if key != "Metadata"} == {
        "StackName": STACK,
        "StackId": stack_id,
        "LogicalResourceId": "Handle",
        "PhysicalResourceId": summary["PhysicalResourceId"],
        "ResourceType": "AWS::CloudFormation::WaitConditionHandle",
        "LastUpdatedTimestamp": EPOCH,  # made at simulated second 0
        "ResourceStatus": "CREATE_COMPLETE",
    }
    assert by_name == detail
    # The shape of botocore's model: only its members, its required ones all there, timestamps as datetimes.
    shape = client.meta.service_model.operation_model("DescribeStackResource").output_shape
    detail_shape = shape.members["StackResourceDetail"]
    assert set(detail) <= set(detail_shape.members)
    assert set(detail_shape.required_members) <= set(detail)
    assert isinstance(detail["LastUpdatedTimestamp"], datetime)
    assert missing.value.response["Error"]["Code"] == "ValidationError"
    assert missing.value.response["Error"]["Message"] == f"Resource Nothing does not exist for stack {STACK}"


def test_a_resource_is_listed_and_described_with_the_status_of_its_latest_operation(tmp_path):
    """StackResourceSummary's ResourceStatus is the resource's current status (UPDATE_COMPLETE once updated), not the
    CREATE_COMPLETE of its creation; a wait condition's stays its own."""
    path = tmp_path / "updated.json"
    with LocalCloud(write=lambda _line: None) as local:
        for name in ("first", "second"):
            topic = {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": name}}
            path.write_text(json.dumps({"Resources": {"Topic": topic, **TEMPLATE["Resources"]}}))
            assert local.deploy_template(path, STACK).succeeded
        client = notifier.cloudformation_client()
        listed = {
            summary["LogicalResourceId"]: summary["ResourceStatus"]
            for summary in client.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        }
        described = client.describe_stack_resource(StackName=STACK, LogicalResourceId="Topic")["StackResourceDetail"]
    assert listed == {"Topic": "UPDATE_COMPLETE", "Handle": "CREATE_COMPLETE", "Plain": "CREATE_COMPLETE"}
    assert described["ResourceStatus"] == "UPDATE_COMPLETE"
