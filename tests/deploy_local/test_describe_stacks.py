"""DescribeStacks, as the handler reads a stack's status (index.stack_status, by the request's StackId): answered as
the CloudFormation API reference says of StackName, "Running stacks: You can specify either the stack's name or its
unique stack ID. Deleted stacks: You must specify the unique stack ID." A deleted stack is kept, DELETE_COMPLETE,
under its id: a late request to a deleted stack reads that status, also once a stack of its name was created again."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import botocore.session
import pytest
from bedrock_custom_resource import index
from botocore.exceptions import ClientError
from cdk_bedrock_customization.rehearsal.bedrock_world import Timings
from cdk_bedrock_customization.rehearsal.cloud import LocalCloud
from cdk_bedrock_customization.rehearsal.cloudformation_reads import local_cloudformation_client

STACK = "described"
TEMPLATE = {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}


def described(client, name: str) -> tuple[str, str, str]:
    (stack,) = client.describe_stacks(StackName=name)["Stacks"]
    return stack["StackId"], stack["StackName"], stack["StackStatus"]


def refusal(client, name: str) -> tuple[str, str]:
    with pytest.raises(ClientError) as refused:
        client.describe_stacks(StackName=name)
    return refused.value.response["Error"]["Code"], refused.value.response["Error"]["Message"]


def test_a_deleted_stack_is_described_by_its_id_only(tmp_path):
    path = tmp_path / "described.json"
    path.write_text(json.dumps(TEMPLATE))
    with LocalCloud(write=lambda _line: None) as local:
        client = index.cloudformation_client()  # the handler's own client, as the rehearsal patches it
        assert local.deploy_template(path, STACK).succeeded
        first = local.stacks[STACK].env.stack_id
        assert described(client, STACK) == described(client, first) == (first, STACK, "CREATE_COMPLETE")

        assert local.delete()[STACK].succeeded

        assert described(client, first) == (first, STACK, "DELETE_COMPLETE")
        assert refusal(client, STACK) == ("ValidationError", f"Stack with id {STACK} does not exist")
        with pytest.raises(ClientError, match="does not exist"):
            client.list_stack_resources(StackName=STACK)

        assert local.deploy_template(path, STACK).succeeded  # a new stack of the same name, with a new id
        second = local.stacks[STACK].env.stack_id

        assert second != first
        assert described(client, STACK) == described(client, second) == (second, STACK, "CREATE_COMPLETE")
        assert described(client, first) == (first, STACK, "DELETE_COMPLETE")
        assert index.stack_status(first) == "DELETE_COMPLETE"
        unknown = first.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
        assert refusal(client, unknown) == ("ValidationError", f"Stack with id {unknown} does not exist")


def test_the_stacks_events_tell_when_its_latest_operation_began(tmp_path):
    """DescribeStackEvents answers the stack's events and its resources', newest first, on the simulated clock: the
    handler reads the start of the latest create or update from them (index.operation_started), and whether a
    rollback has updated a resource back (index.rolled_back_already)."""
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps(TEMPLATE))
    changed = {"Resources": {**TEMPLATE["Resources"], "Other": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    second.write_text(json.dumps(changed))
    with LocalCloud(write=lambda _line: None) as local:
        client = index.cloudformation_client()
        assert local.deploy_template(first, STACK).succeeded
        stack_id = local.stacks[STACK].env.stack_id
        created = index.operation_started(stack_id)
        local.clock.sleep(3600)
        assert local.deploy_template(second, STACK).succeeded

        events = client.describe_stack_events(StackName=STACK)["StackEvents"]

        assert [(event["LogicalResourceId"], event["ResourceStatus"]) for event in events] == [
            (STACK, "UPDATE_COMPLETE"),
            (STACK, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            ("Other", "CREATE_COMPLETE"),
            ("Other", "CREATE_IN_PROGRESS"),
            (STACK, "UPDATE_IN_PROGRESS"),
            (STACK, "CREATE_COMPLETE"),
            ("Handle", "CREATE_COMPLETE"),
            ("Handle", "CREATE_IN_PROGRESS"),
            (STACK, "CREATE_IN_PROGRESS"),
        ]
        own = [event for event in events if event["LogicalResourceId"] == STACK]
        resources = [event for event in events if event["LogicalResourceId"] != STACK]
        model = botocore.session.get_session().get_service_model("cloudformation")
        # a create has no clean-up status
        assert {event["ResourceStatus"] for event in own} <= set(model.shape_for("StackStatus").enum)
        assert {event["ResourceStatus"] for event in resources} <= set(model.shape_for("ResourceStatus").enum)
        assert {(event["StackId"], event["PhysicalResourceId"]) for event in own} == {(stack_id, stack_id)}
        assert stack_id not in {event["PhysicalResourceId"] for event in resources}
        assert {event["ResourceType"] for event in resources} == {"AWS::CloudFormation::WaitConditionHandle"}
        assert index.operation_started(stack_id) - created == timedelta(hours=1)
        with pytest.raises(ClientError, match=r"Stack \[unknown\] does not exist"):
            client.describe_stack_events(StackName="unknown")


def test_a_replaced_resources_events_name_the_resource_each_is_about(assemblies):
    """A retrain replaces the job: its UPDATE_IN_PROGRESS names the job the stack held, its UPDATE_COMPLETE the new
    one, and the cleanup's DELETE events the old one, which is the one deleted (as CloudFormation's events do)."""
    with LocalCloud(write=lambda _line: None, timings=Timings(job_minutes=1, validation_minutes=0)) as local:
        (first,) = local.deploy(assemblies["polling"]).values()
        assert first.succeeded, first.reason
        (old_job,) = [job["jobArn"] for job in local.bedrock.jobs()]
        (second,) = local.deploy(assemblies["polling-retrained"]).values()
        assert second.succeeded, second.reason
        (new_job,) = [job["jobArn"] for job in local.bedrock.jobs() if job["jobArn"] != old_job]
        stack_name = next(iter(local.stacks))

        events = index.cloudformation_client().describe_stack_events(StackName=stack_name)["StackEvents"]

        of_the_job = [
            (event["ResourceStatus"], event["PhysicalResourceId"])
            for event in events[::-1]
            if event["ResourceType"] == "Custom::BedrockModelCustomizationJob"
        ]
        assert of_the_job == [
            ("CREATE_IN_PROGRESS", ""),
            ("CREATE_COMPLETE", old_job),
            ("UPDATE_IN_PROGRESS", old_job),
            ("UPDATE_COMPLETE", new_job),
            ("DELETE_IN_PROGRESS", old_job),
            ("DELETE_COMPLETE", old_job),
        ]


def handles(count: int, first: int = 0) -> dict[str, Any]:
    return {
        "Resources": {f"Handle{n}": {"Type": "AWS::CloudFormation::WaitConditionHandle"} for n in range(first, count)}
    }


def test_the_stacks_events_come_in_pages_that_events_between_reads_do_not_shift(tmp_path):
    """DescribeStackEvents answers pages of at most 100 events with a NextToken, as CloudFormation does: 60 handles
    make 122 events (2 each and the stack's 2), read in two pages. Events that happen between the reads of two pages
    are newer, so the next page neither repeats an event of the first nor skips one; and the handler, which reads
    through its paginator, finds an operation's start on the second page."""
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps(handles(60)))
    second.write_text(json.dumps(handles(120)))
    with LocalCloud(write=lambda _line: None) as local:
        client = index.cloudformation_client()
        assert local.deploy_template(first, STACK).succeeded
        stack_id = local.stacks[STACK].env.stack_id

        page = client.describe_stack_events(StackName=STACK)
        assert len(page["StackEvents"]) == 100
        local.clock.sleep(3600)
        update_began = local.clock.moment()
        assert local.deploy_template(second, STACK).succeeded  # 123 events more, all newer
        rest = client.describe_stack_events(StackName=STACK, NextToken=page["NextToken"])

        created = [
            (event["LogicalResourceId"], event["ResourceStatus"]) for event in page["StackEvents"] + rest["StackEvents"]
        ]
        assert "NextToken" not in rest
        assert len(created) == 122 == len({event["EventId"] for event in page["StackEvents"] + rest["StackEvents"]})
        assert created[0] == (STACK, "CREATE_COMPLETE") and created[-1] == (STACK, "CREATE_IN_PROGRESS")
        assert sorted(created[1:-1]) == sorted(
            (f"Handle{n}", status) for n in range(60) for status in ("CREATE_IN_PROGRESS", "CREATE_COMPLETE")
        )

        pages = client.get_paginator("describe_stack_events").paginate(StackName=stack_id)
        every = [event for page in pages for event in page["StackEvents"]]
        assert len(every) == 122 + 123
        (updating,) = [event for event in every if event["ResourceStatus"] == "UPDATE_IN_PROGRESS"]
        assert every.index(updating) == 2 + 120  # the update's COMPLETE and cleanup, then the new handles': page 2
        (creating,) = [
            event
            for event in every
            if event["ResourceStatus"] == "CREATE_IN_PROGRESS" and event["LogicalResourceId"] == STACK
        ]
        assert index.operation_started(stack_id) == updating["Timestamp"] >= update_began
        assert update_began - creating["Timestamp"] >= timedelta(hours=1)


def test_events_that_fill_two_pages_exactly_are_all_read_and_no_empty_page_follows(tmp_path):
    """99 handles make 200 events (2 each and the stack's 2): botocore's paginator (NextToken in, NextToken out)
    reads two pages of 100, the second without a NextToken."""
    template = tmp_path / "template.json"
    template.write_text(json.dumps(handles(99)))
    with LocalCloud(write=lambda _line: None) as local:
        client = index.cloudformation_client()
        assert local.deploy_template(template, STACK).succeeded
        pages = list(client.get_paginator("describe_stack_events").paginate(StackName=STACK))
    assert [len(page["StackEvents"]) for page in pages] == [100, 100]
    assert "NextToken" not in pages[-1]
    assert len({event["EventId"] for page in pages for event in page["StackEvents"]}) == 200


def test_the_local_cloudformation_client_leaves_boto3s_default_session_unmade(monkeypatch):
    """Made for each handler invocation: boto3's default session would be made once for the whole process, with the
    rehearsal's credentials (issue 16: no process-wide state changes per invocation)."""
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    local_cloudformation_client("us-east-1", lambda: [])
    assert boto3.DEFAULT_SESSION is None


def test_get_template_answers_the_template_the_operation_goes_to(tmp_path):
    """GetTemplate answers the template an update goes to while it rolls forward (the rename test reads it then), and
    the one it returns to once it rolls back (aws-cdk's docs/CLOUDFORMATION.md), as JSON text that botocore
    decodes; a YAML template as its text."""
    first, failing, third = (tmp_path / f"{name}.json" for name in ("first", "failing", "third"))
    first.write_text(json.dumps(TEMPLATE))
    never_signalled = {
        "Handle2": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
        "Wait": {
            "Type": "AWS::CloudFormation::WaitCondition",
            "Properties": {"Handle": {"Ref": "Handle2"}, "Timeout": "60", "Count": 1},
        },
    }
    failing.write_text(json.dumps({"Resources": {**TEMPLATE["Resources"], **never_signalled}}))
    added = {"Resources": {**TEMPLATE["Resources"], "Other": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    third.write_text(json.dumps(added))
    with LocalCloud(write=lambda _line: None) as local:
        client = index.cloudformation_client()
        assert local.deploy_template(first, STACK).succeeded
        assert client.get_template(StackName=STACK)["TemplateBody"] == TEMPLATE
        rolled_back = local.deploy_template(failing, STACK)
        assert (rolled_back.succeeded, rolled_back.status) == (False, "UPDATE_ROLLBACK_COMPLETE")
        assert client.get_template(StackName=STACK)["TemplateBody"] == TEMPLATE
        assert local.deploy_template(third, STACK).succeeded
        assert client.get_template(StackName=STACK)["TemplateBody"] == added
        # A YAML template is answered as its text, which botocore leaves as it is.
        yaml = tmp_path / "fourth.yaml"
        yaml.write_text("Resources:\n  Other:\n    Type: AWS::CloudFormation::WaitConditionHandle\n")
        assert local.deploy_template(yaml, STACK).succeeded
        assert client.get_template(StackName=STACK)["TemplateBody"] == yaml.read_text()
        with pytest.raises(ClientError, match="does not exist"):
            client.get_template(StackName="unknown")
