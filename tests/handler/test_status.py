"""cdk-bedrock-customization status: a deployed stack's model resources, read from CloudFormation and Bedrock.

Bedrock is the stand-in (moto plus what moto lacks); every resource is created through the handler's own entry point
(index.on_event), so that its physical id is what the handler answers CloudFormation, and is then moved with the
stand-in's drivers. CloudFormation's ListStackResources is answered by a botocore Stubber on a real CloudFormation
client, which checks the request and every page of the answer against CloudFormation's service model: moto's
CloudFormation cannot hold these resources (its custom resources invoke a Lambda function, which needs Docker, and
its physical id for them is a name it makes up, not the id the provider answers). Expected values come from what the
tests set (statuses, losses, messages), the requests the handler made (names) and the API reference (which read takes
which member), never from the code under test.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from bedrock_custom_resource import contract, index
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.model import StringShape
from botocore.stub import Stubber
from cdk_bedrock_customization import cli, status
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn

from tests.support.closed_pipe import with_reader_gone

from . import resource_kinds as kinds
from .conftest import REGION, SERVICE_TOKEN, CloudFormationEvents
from .serving_helpers import throughput_properties

STACK = "my-stack"
STACK_ID = f"arn:aws:cloudformation:{REGION}:123456789012:stack/my-stack/0f3b2a10-7e3c-11f0-9c3a-0a1b2c3d4e5f"
JOB_RESULT = "Custom::BedrockModelCustomizationJobResult"
# Each read, written by hand from the API reference: the member that takes the resource's ARN.
READ_MEMBER = {
    "GetModelCustomizationJob": "jobIdentifier",
    "GetCustomModel": "modelIdentifier",
    "GetModelImportJob": "jobIdentifier",
    "GetModelCopyJob": "jobArn",
    "GetEvaluationJob": "jobIdentifier",
    "GetCustomModelDeployment": "customModelDeploymentIdentifier",
    "GetProvisionedModelThroughput": "provisionedModelId",
}
# The statuses that are neither moving nor failed, written by hand from the API reference's enums.
SETTLED = {"Completed", "Stopped", "Active", "InService", "UpdateCompleted", "NotStarted"}
NOW = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Resource:
    """A resource of the stack, as ListStackResources lists it."""

    logical_id: str
    resource_type: str
    physical_id: str | None
    status: str = "CREATE_COMPLETE"
    reason: str = ""

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "LogicalResourceId": self.logical_id,
            "ResourceType": self.resource_type,
            "LastUpdatedTimestamp": NOW,
            "ResourceStatus": self.status,
            "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
        }
        if self.physical_id is not None:
            summary["PhysicalResourceId"] = self.physical_id
        if self.reason:
            summary["ResourceStatusReason"] = self.reason
        return summary


class CloudFormation:
    """A real CloudFormation client whose ListStackResources answers come from a Stubber (validated against the
    service model), page by page."""

    def __init__(self) -> None:
        self.client = boto3.client("cloudformation", region_name=REGION)
        self.stubber = Stubber(self.client)
        self.stubber.activate()
        self.described = False

    def expect_read(self, resources: list[Resource], stack_status: str = "CREATE_COMPLETE", reason: str = "") -> None:
        """The command's read of the stack: DescribeStacks (by its name the first time, by its id after), then
        ListStackResources by the stack's id."""
        stack: dict[str, Any] = {
            "StackId": STACK_ID,
            "StackName": STACK,
            "CreationTime": NOW,
            "StackStatus": stack_status,
        }
        if reason:
            stack["StackStatusReason"] = reason
        asked = STACK_ID if self.described else STACK
        self.stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": asked})
        self.described = True
        self.expect_listing(resources, stack=STACK_ID)

    def expect_listing(self, resources: list[Resource], page_size: int = 100, stack: str = STACK) -> None:
        pages = [resources[start : start + page_size] for start in range(0, len(resources), page_size)] or [[]]
        for number, page in enumerate(pages):
            response: dict[str, Any] = {"StackResourceSummaries": [resource.summary() for resource in page]}
            expected: dict[str, Any] = {"StackName": stack}
            if number + 1 < len(pages):
                response["NextToken"] = f"page-{number + 1}"
            if number:
                expected["NextToken"] = f"page-{number}"
            self.stubber.add_response("list_stack_resources", response, expected)

    def expect_missing_stack(self, stack: str) -> None:
        self.stubber.add_client_error(
            "describe_stacks",
            service_error_code="ValidationError",
            service_message=f"Stack with id {stack} does not exist",
            http_status_code=400,
            expected_params={"StackName": stack},
        )


@pytest.fixture
def cloudformation(bedrock: BedrockStandIn) -> Iterator[CloudFormation]:
    stubbed = CloudFormation()
    yield stubbed
    stubbed.stubber.deactivate()


@pytest.fixture
def clients(bedrock: BedrockStandIn, cloudformation: CloudFormation) -> status.Clients:
    return status.Clients(cloudformation.client, bedrock.client(), boto3.client("s3", region_name=REGION))


def created(
    bedrock: BedrockStandIn, kind: kinds.ResourceKind, logical_id: str, properties: dict[str, Any] | None = None
) -> str:
    """A Create through the handler's onEvent (the resource is made, not yet ready): its physical id."""
    given = properties if properties is not None else kind.properties(bedrock)
    event = CloudFormationEvents(STACK, kind.resource_type).create(given, logical_id)
    return str(index.on_event(event)["PhysicalResourceId"])


def requested_name(bedrock: BedrockStandIn, operation: str, member: str) -> str:
    """The name the handler's last create request of operation gave."""
    return str(bedrock.calls_to(operation)[-1][member])


def parsed(timestamp: Any) -> datetime:
    return timestamp if isinstance(timestamp, datetime) else datetime.fromisoformat(str(timestamp))


@dataclass
class World:
    resources: list[Resource]
    names: dict[str, str]  # by logical id
    arns: dict[str, str]


@pytest.fixture
def world(bedrock: BedrockStandIn) -> World:
    """A stack with one resource of each kind, in every state that matters, and resources that are not models."""
    arns: dict[str, str] = {}
    names: dict[str, str] = {}
    for logical_id in ("Training", "Broken", "Trained"):
        arns[logical_id] = created(bedrock, kinds.JOB, logical_id)
        names[logical_id] = requested_name(bedrock, "CreateModelCustomizationJob", "jobName")
    bedrock.set_job_status(
        arns["Training"],
        "InProgress",
        status_details={"dataProcessingDetails": "Completed", "validationDetails": "Completed"},
        training_loss=0.8125,
    )
    bedrock.set_job_status(
        arns["Broken"], "Failed", failure_message="Validation failed:\nline 3 of train.jsonl is not JSON"
    )
    bedrock.set_job_status(arns["Trained"], "Completed", training_loss=0.25, validation_loss=0.5)
    reader_event = CloudFormationEvents(STACK, JOB_RESULT).create(
        {"ServiceToken": SERVICE_TOKEN, "jobIdentifier": arns["Trained"]}, "TrainedResult"
    )
    arns["TrainedResult"] = index.on_event(reader_event)["PhysicalResourceId"]
    for logical_id, kind, operation, member in (
        ("Imported", kinds.IMPORT, "CreateCustomModel", "modelName"),
        ("OpenWeights", kinds.IMPORT_JOB, "CreateModelImportJob", "jobName"),
        ("Copy", kinds.COPY_JOB, "CreateModelCopyJob", "targetModelName"),
        ("Evaluation", kinds.EVALUATION_JOB, "CreateEvaluationJob", "jobName"),
        ("Deployment", kinds.DEPLOYMENT, "CreateCustomModelDeployment", "modelDeploymentName"),
    ):
        arns[logical_id] = created(bedrock, kind, logical_id)
        names[logical_id] = requested_name(bedrock, operation, member)
    served = bedrock.deployments()[0]["modelArn"]
    for logical_id, kind, operation, member in (
        ("Throughput", kinds.THROUGHPUT, "CreateProvisionedModelThroughput", "provisionedModelName"),
    ):
        arns[logical_id] = created(bedrock, kind, logical_id, throughput_properties(served))
        names[logical_id] = requested_name(bedrock, operation, member)
    bedrock.set_import_job_status(arns["OpenWeights"], "Completed")
    bedrock.set_deployment_status(arns["Deployment"], "Active")
    bedrock.set_throughput_status(arns["Throughput"], "Failed", "Insufficient capacity for 1 model unit")
    resources = [
        Resource("Role", "AWS::IAM::Role", "my-stack-Role-1A2B3C"),
        Resource("Training", kinds.JOB.resource_type, arns["Training"], "CREATE_IN_PROGRESS"),
        Resource(
            "Broken",
            kinds.JOB.resource_type,
            arns["Broken"],
            "CREATE_FAILED",
            f"Model customization job {names['Broken']} Failed",
        ),
        Resource("Trained", kinds.JOB.resource_type, arns["Trained"]),
        Resource("TrainedResult", JOB_RESULT, arns["TrainedResult"]),
        Resource("Imported", kinds.IMPORT.resource_type, arns["Imported"], "CREATE_IN_PROGRESS"),
        Resource("OpenWeights", kinds.IMPORT_JOB.resource_type, arns["OpenWeights"]),
        Resource("Copy", kinds.COPY_JOB.resource_type, arns["Copy"], "CREATE_IN_PROGRESS"),
        Resource("Evaluation", kinds.EVALUATION_JOB.resource_type, arns["Evaluation"], "CREATE_IN_PROGRESS"),
        Resource("Deployment", kinds.DEPLOYMENT.resource_type, arns["Deployment"]),
        Resource("Throughput", kinds.THROUGHPUT.resource_type, arns["Throughput"], "CREATE_IN_PROGRESS"),
        Resource("Waiting", kinds.JOB.resource_type, None, "CREATE_IN_PROGRESS"),
        Resource(
            "Refused",
            kinds.JOB.resource_type,
            "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED",
            "CREATE_FAILED",
            "Invalid properties for Custom::BedrockModelCustomizationJob: roleArn: required",
        ),
        Resource("Condition", "AWS::CloudFormation::WaitCondition", "arn:aws:cloudformation:wait", "CREATE_COMPLETE"),
    ]
    return World(resources, names, arns)


def test_every_model_resource_is_read_with_its_own_read(bedrock, cloudformation, clients, world):
    cloudformation.expect_listing(world.resources, page_size=4)  # four pages
    since = len(bedrock.calls)

    snapshot = status.read_stack(clients, STACK, now=lambda: NOW)

    cloudformation.stubber.assert_no_pending_responses()
    rows = {row.logical_id: row for row in snapshot.rows}
    # Only the model resources, in the stack's order.
    assert list(rows) == [
        "Training",
        "Broken",
        "Trained",
        "TrainedResult",
        "Imported",
        "OpenWeights",
        "Copy",
        "Evaluation",
        "Deployment",
        "Throughput",
        "Waiting",
        "Refused",
    ]
    # Each ARN is read once (the result reader names its job again), with the member the API reference gives it.
    reads = [(call.operation, call.params) for call in bedrock.calls[since:]]
    expected_reads = {
        "Training": "GetModelCustomizationJob",
        "Broken": "GetModelCustomizationJob",
        "Trained": "GetModelCustomizationJob",
        "Imported": "GetCustomModel",
        "OpenWeights": "GetModelImportJob",
        "Copy": "GetModelCopyJob",
        "Evaluation": "GetEvaluationJob",
        "Deployment": "GetCustomModelDeployment",
        "Throughput": "GetProvisionedModelThroughput",
    }
    assert reads == [
        (operation, {READ_MEMBER[operation]: world.arns[logical_id]})
        for logical_id, operation in expected_reads.items()
    ]
    for logical_id, name in world.names.items():
        assert rows[logical_id].name == name
    assert rows["TrainedResult"].name == world.names["Trained"]
    assert {logical_id: row.status for logical_id, row in rows.items()} == {
        "Training": "InProgress",
        "Broken": "Failed",
        "Trained": "Completed",
        "TrainedResult": "Completed",
        "Imported": "Creating",
        "OpenWeights": "Completed",
        "Copy": "InProgress",
        "Evaluation": "InProgress",
        "Deployment": "Active",
        "Throughput": "Failed",
        "Waiting": "",
        "Refused": "",
    }


def test_a_job_row_has_its_sub_tasks_elapsed_time_and_losses(bedrock, cloudformation, clients, world):
    cloudformation.expect_listing(world.resources)
    started = parsed(bedrock.job(world.arns["Training"])["creationTime"])

    snapshot = status.read_stack(clients, STACK, now=lambda: started + timedelta(hours=1, minutes=2, seconds=3))

    rows = {row.logical_id: row for row in snapshot.rows}
    training, trained, broken = rows["Training"], rows["Trained"], rows["Broken"]
    assert training.sub_tasks == (
        ("validationDetails", "Completed"),
        ("dataProcessingDetails", "Completed"),
        ("trainingDetails", "NotStarted"),
    )
    assert training.elapsed == timedelta(hours=1, minutes=2, seconds=3)
    assert training.training_loss == 0.8125
    assert training.validation_losses == ()
    assert training.output_s3_uri == "s3://my-data-bucket/output/"
    assert (trained.training_loss, trained.validation_losses) == (0.25, (0.5,))
    ended = parsed(bedrock.job(world.arns["Trained"])["endTime"])
    assert trained.elapsed == ended - parsed(bedrock.job(world.arns["Trained"])["creationTime"])
    # A failure message is one line: its line breaks would break the table.
    assert broken.failure == "Validation failed: line 3 of train.jsonl is not JSON"
    assert broken.failed and not broken.in_progress


def test_what_moves_and_what_failed(cloudformation, clients, world):
    cloudformation.expect_listing(world.resources)

    snapshot = status.read_stack(clients, STACK, now=lambda: NOW)

    assert [row.logical_id for row in snapshot.in_progress] == [
        "Training",
        "Imported",
        "Copy",
        "Evaluation",
        "Throughput",  # CloudFormation still waits on it, though Bedrock's throughput has failed
        "Waiting",
    ]
    assert [row.logical_id for row in snapshot.failed] == ["Broken", "Throughput", "Refused"]
    throughput = next(row for row in snapshot.rows if row.logical_id == "Throughput")
    assert throughput.failure == "Insufficient capacity for 1 model unit"


def test_the_rendered_table_shows_every_resource_and_each_failure_under_its_row(cloudformation, clients, world):
    cloudformation.expect_listing(world.resources)

    text = status.render(status.read_stack(clients, STACK, now=lambda: NOW))

    lines = text.splitlines()
    assert lines[0] == (
        "my-stack: [##########----------] 6/12 settled, 6 in progress, 3 failed (as of 2026-08-01 12:00:00 UTC)"
    )
    header = lines[2].split()
    assert header[:5] == ["RESOURCE", "KIND", "NAME", "CLOUDFORMATION", "STATUS"]
    assert " ".join(header[5:]) == "VALIDATION DATA PROCESSING TRAINING ELAPSED TRAINING LOSS VALIDATION LOSS"
    by_resource = {line.split()[0]: line for line in lines[3:] if not line.startswith(" ")}
    assert by_resource["Training"].split()[1:5] == [
        "ModelCustomizationJob",
        world.names["Training"],
        "CREATE_IN_PROGRESS",
        "InProgress",
    ]
    assert by_resource["Waiting"].split()[1:] == ["ModelCustomizationJob", "-", "CREATE_IN_PROGRESS"] + ["-"] * 7
    broken_at = lines.index(by_resource["Broken"])
    assert lines[broken_at + 1 : broken_at + 3] == [
        "    ! Validation failed: line 3 of train.jsonl is not JSON",
        f"    ! CloudFormation: Model customization job {world.names['Broken']} Failed",
    ]
    refused_at = lines.index(by_resource["Refused"])
    assert lines[refused_at + 1] == (
        "    ! CloudFormation: Invalid properties for Custom::BedrockModelCustomizationJob: roleArn: required"
    )


def test_render_is_a_function_of_the_rows_alone():
    """The exact text, from rows written by hand: columns as wide as their widest cell, '-' where a value does not
    apply, and the columns that no row has a value for left out."""
    rows = (
        status.Row(
            "Job",
            "Custom::BedrockModelCustomizationJob",
            "CREATE_COMPLETE",
            arn="arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro-v1:0:128k/abcdefabcdef",
            name="support-v1",
            status="InProgress",
            sub_tasks=(("validationDetails", "Completed"), ("dataProcessingDetails", "InProgress")),
            elapsed=timedelta(minutes=12, seconds=5),
            training_loss=1.234567,
        ),
        status.Row(
            "Serving",
            "Custom::BedrockCustomModelDeployment",
            "UPDATE_IN_PROGRESS",
            name="support",
            status="Active",
            update_status="Updating",
            elapsed=timedelta(days=2, hours=4, minutes=59),
        ),
    )

    text = status.render(status.Snapshot("support", NOW, rows))

    assert text == (
        "support: [--------------------] 0/2 settled, 2 in progress, 0 failed (as of 2026-08-01 12:00:00 UTC)\n"
        "\n"
        "RESOURCE  KIND                   NAME        CLOUDFORMATION      STATUS                    VALIDATION"
        "  DATA PROCESSING  ELAPSED  TRAINING LOSS\n"
        "Job       ModelCustomizationJob  support-v1  CREATE_COMPLETE     InProgress                Completed "
        "  InProgress       12m05s   1.235\n"
        "Serving   CustomModelDeployment  support     UPDATE_IN_PROGRESS  Active (update Updating)  -         "
        "  -                2d04h    -\n"
    )


def test_a_stack_without_model_resources_says_so():
    assert status.render(status.Snapshot("plain", NOW)) == "plain: no model resources (as of 2026-08-01 12:00:00 UTC)\n"


@pytest.mark.parametrize(
    ("elapsed", "shown"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=59), "59s"),
        (timedelta(minutes=1), "1m00s"),
        (timedelta(hours=1, seconds=59), "1h00m"),
        (timedelta(hours=23, minutes=59, seconds=59), "23h59m"),
        (timedelta(days=1, hours=4, minutes=9), "1d04h"),
        (timedelta(days=3, hours=1), "3d01h"),
    ],
)
def test_elapsed_time_is_shown_in_its_two_largest_units(elapsed, shown):
    assert status.format_elapsed(elapsed) == shown


def test_every_status_a_read_can_answer_is_classified():
    """Every value of the status enums of every declared read (and of a deployment's update and a job's sub-tasks)
    is moving, failed, or one that the API reference calls settled: none is unknown to the display."""
    model = contract.service_model()
    enums: set[str] = set()
    for declared in contract.CONTRACTS.values():
        output = model.operation_model(declared.managed.read).output_shape
        assert output is not None
        for name, member in output.members.items():
            if isinstance(member, StringShape) and member.enum and (name == "status" or name.endswith("Status")):
                enums.update(member.enum)
    for name in ("CustomModelDeploymentUpdateStatus", "JobStatusDetails"):
        shape = contract.shape(name)
        assert isinstance(shape, StringShape)
        enums.update(shape.enum)
    assert enums - status.IN_PROGRESS - status.FAILED == SETTLED - {"Deleting"}
    assert not status.IN_PROGRESS & status.FAILED
    assert status.unknown_statuses(enums) == []  # so none of them counts as failed for being unknown


def test_sub_task_columns_are_named_after_the_service_model_members():
    headings = [status.sub_task_heading(member) for member in contract.shape("StatusDetails").members]
    assert headings == ["VALIDATION", "DATA PROCESSING", "TRAINING"]


def test_a_resource_bedrock_no_longer_has_shows_why_it_cannot_be_read(bedrock, cloudformation, clients):
    gone = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghijkl"
    cloudformation.expect_listing([Resource("Throughput", kinds.THROUGHPUT.resource_type, gone, "DELETE_COMPLETE")])

    (row,) = status.read_stack(clients, STACK, now=lambda: NOW).rows

    assert row.status == ""
    assert row.failure.startswith("GetProvisionedModelThroughput: ResourceNotFoundException: ")


# --- watching -----------------------------------------------------------------------------------------------------


@pytest.fixture
def one_job(bedrock: BedrockStandIn) -> tuple[str, list[Resource]]:
    arn = created(bedrock, kinds.JOB, "Model")
    return arn, [Resource("Model", kinds.JOB.resource_type, arn, "CREATE_IN_PROGRESS")]


def test_watch_appends_each_refresh_and_stops_when_nothing_moves(bedrock, cloudformation, clients, one_job):
    arn, resources = one_job
    cloudformation.expect_listing(resources)
    cloudformation.expect_listing(resources)
    cloudformation.expect_listing([Resource("Model", kinds.JOB.resource_type, arn)])
    out = io.StringIO()
    slept: list[float] = []
    moves = iter(
        [
            lambda: bedrock.set_job_status(arn, "InProgress", status_details={"validationDetails": "Completed"}),
            lambda: bedrock.set_job_status(arn, "Completed", training_loss=0.125),
        ]
    )

    def sleep(seconds: float) -> None:  # Bedrock moves while the watch sleeps; no time passes
        slept.append(seconds)
        next(moves)()

    watch = status.Watch(lambda: status.read_stack(clients, STACK, lambda: NOW), out.write, 45, sleep, tty=False)
    final = watch.run()

    cloudformation.stubber.assert_no_pending_responses()
    assert slept == [45, 45]
    assert not final.in_progress
    text = out.getvalue()
    assert "\x1b" not in text  # not a terminal: plain text, appended
    assert text.endswith("nothing in progress\n\n")
    # Three drawings, each a summary line, a blank line, the table and a footer, then a blank line.
    drawings = re.split(r"\n\n(?=my-stack: )", text.removesuffix("\n\n"))
    assert len(drawings) == 3
    assert [drawing.splitlines()[-1] for drawing in drawings] == [
        "refreshing every 45 s; Ctrl-C to stop",
        "refreshing every 45 s; Ctrl-C to stop",
        "nothing in progress",
    ]
    assert ["0/1 settled" in drawings[0], "0/1 settled" in drawings[1], "1/1 settled" in drawings[2]] == [True] * 3
    statuses = [re.search(r"(InProgress|Completed)\s+(\S+)\s+(\S+)\s+(\S+)", d.splitlines()[3]) for d in drawings]
    assert [match.groups() if match else None for match in statuses] == [
        ("InProgress", "InProgress", "NotStarted", "NotStarted"),
        ("InProgress", "Completed", "NotStarted", "NotStarted"),
        ("Completed", "Completed", "Completed", "Completed"),
    ]


def test_watch_redraws_in_place_on_a_terminal(bedrock, cloudformation, clients, one_job):
    arn, resources = one_job
    cloudformation.expect_listing(resources)
    cloudformation.expect_listing([Resource("Model", kinds.JOB.resource_type, arn)])
    writes: list[str] = []

    def sleep(_seconds: float) -> None:
        bedrock.set_job_status(arn, "Completed")

    watch = status.Watch(
        lambda: status.read_stack(clients, STACK, lambda: NOW), writes.append, 30, sleep, tty=True, width=lambda: 60
    )
    watch.run()

    first, second = writes
    first_lines = first.splitlines()
    assert "\x1b" not in first
    # The second drawing moves the cursor up to the first one's first row, and clears the screen below it: as many
    # rows as the first drawing's lines take, wrapped at 60 columns.
    rows = sum((len(line) + 59) // 60 or 1 for line in first_lines)
    assert rows > len(first_lines)  # the table's lines are wider than 60 columns
    erase = f"\x1b[{rows}F\x1b[J"
    assert second.startswith(erase)
    assert "\x1b" not in second.removeprefix(erase)
    assert second.endswith("nothing in progress\n")
    assert second.removeprefix(erase).splitlines()[0] == (
        "my-stack: [####################] 1/1 settled, 0 in progress, 0 failed (as of 2026-08-01 12:00:00 UTC)"
    )


def test_watch_goes_on_while_a_wait_condition_still_waits_for_a_job_that_has_ended(
    bedrock, cloudformation, clients, one_job
):
    """The job has completed but its wait is not yet signalled (a lost event, until the backstop): the deployment
    goes on, and so does the watch, saying what the stack waits for."""
    arn, _ = one_job
    bedrock.set_job_status(arn, "Completed")
    wait = Resource("ModelWaitingForJobABCD1234", "AWS::CloudFormation::WaitCondition", "", "CREATE_IN_PROGRESS")
    cloudformation.expect_listing([Resource("Model", kinds.JOB.resource_type, arn), wait])
    cloudformation.expect_listing([Resource("Model", kinds.JOB.resource_type, arn)])
    out = io.StringIO()
    slept: list[float] = []

    final = status.Watch(lambda: status.read_stack(clients, STACK, lambda: NOW), out.write, 30, slept.append).run()

    assert slept == [30]
    assert final.waiting == ()
    first, second = out.getvalue().removesuffix("\n\n").split("\n\nmy-stack: ")
    assert first.splitlines()[-2:] == [
        "the stack still waits: ModelWaitingForJobABCD1234",
        "refreshing every 30 s; Ctrl-C to stop",
    ]
    assert second.splitlines()[-1] == "nothing in progress"


@pytest.mark.parametrize(
    ("line", "width", "rows"),
    [("", 10, 1), ("x" * 10, 10, 1), ("x" * 11, 10, 2), ("x" * 25, 10, 3), ("\u5931\u6557" * 3, 10, 2)],
)
def test_a_line_takes_the_rows_it_wraps_to(line, width, rows):
    assert status.terminal_rows(line, width) == rows


def test_a_watch_of_a_settled_stack_draws_once_and_never_sleeps(cloudformation, clients, world):
    settled = [resource for resource in world.resources if resource.logical_id in ("Trained", "Deployment")]
    cloudformation.expect_listing(settled)
    out = io.StringIO()

    def sleep(_seconds: float) -> None:
        raise AssertionError("nothing is in progress: no refresh")

    final = status.Watch(lambda: status.read_stack(clients, STACK, lambda: NOW), out.write, 30, sleep).run()

    assert [row.logical_id for row in final.rows] == ["Trained", "Deployment"]
    assert out.getvalue().endswith("nothing in progress\n\n")


# --- the command --------------------------------------------------------------------------------------------------


@pytest.fixture
def command_clients(clients: status.Clients, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    """status.make_clients, answering the stand-in's and the stubbed clients; what it was asked for."""
    asked: list[tuple[Any, Any]] = []

    def make(region: Any = None, profile: Any = None) -> status.Clients:
        asked.append((region, profile))
        return clients

    monkeypatch.setattr(status, "make_clients", make)
    return asked


def test_the_command_prints_the_table_and_exits_1_when_a_resource_failed(
    cloudformation, world, command_clients, capsys
):
    cloudformation.expect_read(world.resources)

    code = cli.main(["status", STACK, "--region", "eu-west-1", "--profile", "ops"])

    out = capsys.readouterr().out
    assert code == 1
    assert command_clients == [("eu-west-1", "ops")]
    assert out.startswith("my-stack: [")
    (broken,) = [line.split()[:5] for line in out.splitlines() if line.startswith("Broken ")]
    assert broken == ["Broken", "ModelCustomizationJob", world.names["Broken"], "CREATE_FAILED", "Failed"]


def test_the_command_exits_0_for_a_stack_whose_models_are_fine(cloudformation, world, command_clients, capsys):
    cloudformation.expect_read([r for r in world.resources if r.logical_id in ("Trained", "Deployment", "Role")])

    assert cli.main(["status", STACK]) == 0
    assert "2/2 settled, 0 in progress, 0 failed" in capsys.readouterr().out


def test_the_command_names_a_stack_that_does_not_exist(cloudformation, command_clients, capsys):
    cloudformation.expect_missing_stack("nope")

    assert cli.main(["status", "nope"]) == 2
    assert capsys.readouterr().err == (
        "cdk-bedrock-customization status: nope: ValidationError: Stack with id nope does not exist\n"
    )


def test_the_watching_command_stops_on_ctrl_c(bedrock, cloudformation, one_job, command_clients, capsys):
    _, resources = one_job
    cloudformation.expect_read(resources)

    def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    code = cli.status_command(STACK, True, 30, None, None, None, sleep=interrupted)

    assert code == 130
    assert "refreshing every 30 s; Ctrl-C to stop" in capsys.readouterr().out


def test_the_command_line_passes_its_options_on(monkeypatch, tmp_path):
    called: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(cli, "status_command", lambda *args: called.append(("status", args)) or 0)
    monkeypatch.setattr(cli, "plot_command", lambda *args: called.append(("plot", args)) or 0)

    cli.main(["status", STACK, "--watch", "--interval", "7", "--plot", str(tmp_path), "--region", "eu-west-1"])
    cli.main(["plot", JOB_ARN, "--out", str(tmp_path), "--region", "eu-west-1", "--profile", "ops"])

    assert called == [
        ("status", (STACK, True, 7.0, str(tmp_path), "eu-west-1", None)),
        ("plot", (JOB_ARN, str(tmp_path), "eu-west-1", "ops")),
    ]


@pytest.mark.parametrize("interval", ["0", "-5", "3601", "soon"])
def test_an_interval_out_of_range_is_bad_usage(interval, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["status", STACK, "--watch", "--interval", interval])
    assert exit_.value.code == 2
    assert "give a number of seconds from 1 to 3600" in capsys.readouterr().err


def test_make_clients_reads_bedrock_with_the_shipped_service_model(aws_environment):
    clients = status.make_clients(region="eu-central-1")
    assert clients.bedrock.meta.region_name == "eu-central-1"
    # The bundled model (newer than some botocore releases) is the one the client speaks.
    assert (
        clients.bedrock.meta.service_model.operation_model("GetModelCustomizationJob")
        .output_shape.members["customizationConfig"]
        .members.keys()
        == contract.shape("CustomizationConfig").members.keys()
    )
    assert {clients.cloudformation.meta.region_name, clients.s3.meta.region_name} == {"eu-central-1"}


def test_without_a_region_the_command_says_how_to_give_one(aws_environment, monkeypatch, capsys):
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    assert cli.main(["status", STACK]) == 2
    assert capsys.readouterr().err == (
        "cdk-bedrock-customization status: You must specify a region. (--region, --profile)\n"
    )


def test_a_job_that_cannot_be_read_is_not_settled_and_the_command_exits_1(
    bedrock, cloudformation, one_job, command_clients, capsys
):
    """The job may still run (a read refused: AccessDenied, or not found): the documented exit 1, never "settled"."""
    arn, _ = one_job
    bedrock.set_job_status(arn, "Completed")
    cloudformation.expect_read([Resource("Model", kinds.JOB.resource_type, arn)])
    bedrock.not_seen_yet("GetModelCustomizationJob", times=1)

    assert cli.main(["status", STACK]) == 1
    out = capsys.readouterr().out
    assert "0/1 settled" not in out and "1 failed" in out
    assert "    ! GetModelCustomizationJob: ResourceNotFoundException: " in out


@pytest.mark.parametrize("resource_status", ["CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"])
@pytest.mark.parametrize("resource_type", ["AWS::CloudFormation::Stack", "AWS::Lambda::Function"])
def test_watch_goes_on_while_another_resource_of_the_stack_is_in_progress(
    bedrock, cloudformation, clients, one_job, resource_type, resource_status
):
    """A nested stack that holds models (ListStackResources lists its own resources only), or the provider's function
    that the models are made after, being made or updated: the deployment goes on, and so does the watch."""
    arn, _ = one_job
    bedrock.set_job_status(arn, "Completed")
    deploying = Resource("Models", resource_type, "", resource_status)
    cloudformation.expect_listing([Resource("Model", kinds.JOB.resource_type, arn), deploying])
    cloudformation.expect_listing([Resource("Model", kinds.JOB.resource_type, arn)])
    slept: list[float] = []

    status.Watch(lambda: status.read_stack(clients, STACK, lambda: NOW), io.StringIO().write, 30, slept.append).run()

    assert slept == [30]


def test_a_resource_the_stack_is_deleting_is_neither_failed_nor_waited_for(bedrock, cloudformation, clients):
    """Bedrock no longer has what the handler's Delete removed while CloudFormation still deletes it; the provider's
    function is deleted after the models: a watch of `cdk destroy` ends once the models are gone, exit 0."""
    gone = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghijkl"
    cloudformation.expect_listing(
        [
            Resource("Throughput", kinds.THROUGHPUT.resource_type, gone, "DELETE_IN_PROGRESS"),
            Resource("Function", "AWS::Lambda::Function", "fn", "DELETE_IN_PROGRESS"),
        ]
    )

    snapshot = status.read_stack(clients, STACK, now=lambda: NOW)

    (row,) = snapshot.rows
    assert not row.failed and row.in_progress
    assert snapshot.waiting == ()


def test_output_to_a_reader_that_has_gone_ends_quietly():
    """`status --watch | head`: every table and redraw goes through cli._write, which a reader gone (EPIPE) must not
    turn into a traceback and exit 1 (exit 1 means a resource has failed)."""
    write_a_table = "from cdk_bedrock_customization import cli; cli._write('table\\n' * 10000)"
    assert with_reader_gone(write_a_table) == (0, "")


# --- nested stacks, other resources' failures, reads that may pass, deleted stacks --------------------------------

NESTED_ID = (
    f"arn:aws:cloudformation:{REGION}:123456789012:stack/my-stack-Models-1ABC/5e1d7c20-7e3c-11f0-8d2b-0a1b2c3d4e5f"
)
INNER_ID = f"arn:aws:cloudformation:{REGION}:123456789012:stack/my-stack-Models-Inner-2DEF/6a2e8d30-7e3c-11f0-9e4c-0a1b"
NESTED = "AWS::CloudFormation::Stack"
WAIT_FAILED = "WaitCondition received failed message: 'Model customization job my-job Stopped' for uniqueId: Model"


def test_models_of_nested_stacks_are_read_and_labelled_with_their_path(bedrock, cloudformation, clients, one_job):
    """ListStackResources lists a stack's own resources only (API reference): a nested stack's are listed by its id,
    its PhysicalResourceId."""
    arn, _ = one_job
    bedrock.set_job_status(arn, "Completed")
    cloudformation.expect_listing([Resource("Role", "AWS::IAM::Role", "r"), Resource("Models", NESTED, NESTED_ID)])
    cloudformation.expect_listing([Resource("Inner", NESTED, INNER_ID)], stack=NESTED_ID)
    cloudformation.expect_listing([Resource("Model", kinds.JOB.resource_type, arn)], stack=INNER_ID)

    snapshot = status.read_stack(clients, STACK, now=lambda: NOW)

    cloudformation.stubber.assert_no_pending_responses()
    assert [(row.logical_id, row.status) for row in snapshot.rows] == [("Models/Inner/Model", "Completed")]


def test_a_failed_nested_stack_and_its_failed_wait_condition_are_shown_and_exit_1(
    bedrock, cloudformation, one_job, command_clients, capsys
):
    """Any resource of the stack that failed is a failure (README: status "exits 1 when a resource has failed"), its
    reason printed under it, though it is not a model."""
    arn, _ = one_job
    bedrock.set_job_status(arn, "Completed")
    nested_reason = f"Embedded stack {NESTED_ID} was not successfully created: [ModelWait]"
    cloudformation.expect_read([Resource("Models", NESTED, NESTED_ID, "CREATE_FAILED", nested_reason)])
    cloudformation.expect_listing(
        [
            Resource("Model", kinds.JOB.resource_type, arn),
            Resource("ModelWait", "AWS::CloudFormation::WaitCondition", "w", "CREATE_FAILED", WAIT_FAILED),
        ],
        stack=NESTED_ID,
    )

    assert cli.main(["status", STACK]) == 1
    out = capsys.readouterr().out
    assert "3/3 settled, 0 in progress, 2 failed" in out
    assert f"    ! CloudFormation: {nested_reason}\n" in out
    assert f"    ! CloudFormation: {WAIT_FAILED}\n" in out
    assert [line.split()[:2] for line in out.splitlines() if line.startswith("Models")] == [
        ["Models", NESTED],
        ["Models/Model", "ModelCustomizationJob"],
        ["Models/ModelWait", "AWS::CloudFormation::WaitCondition"],
    ]


def test_a_stopped_customization_job_has_failed(bedrock, cloudformation, clients, one_job):
    """A job that Stopped made no model: the handler fails its resource (README, "Waiting for the job"); so does a
    job not waited for (its resource made) that was stopped since."""
    arn, _ = one_job
    bedrock.set_job_status(arn, "Stopped")
    cloudformation.expect_listing([Resource("Model", kinds.JOB.resource_type, arn, "CREATE_COMPLETE")])

    snapshot = status.read_stack(clients, STACK, now=lambda: NOW)

    (row,) = snapshot.rows
    assert (row.status, row.failed, row.in_progress) == ("Stopped", True, False)


def test_a_stack_that_rolled_back_exits_1_and_says_why(bedrock, cloudformation, one_job, command_clients, capsys):
    """The failed resource was deleted by the rollback (DELETE_COMPLETE): the stack's own status says it failed."""
    arn, _ = one_job
    bedrock.set_job_status(arn, "Completed")
    why = "The following resource(s) failed to create: [ModelWait]. Rollback requested by user."
    cloudformation.expect_read(
        [
            Resource("Model", kinds.JOB.resource_type, arn, "DELETE_SKIPPED"),
            Resource("ModelWait", "AWS::CloudFormation::WaitCondition", "w", "DELETE_COMPLETE"),
        ],
        "ROLLBACK_COMPLETE",
        why,
    )

    assert cli.main(["status", STACK]) == 1
    assert capsys.readouterr().out.endswith(f"! the stack is ROLLBACK_COMPLETE: {why}\n")


def test_a_watched_delete_ends_exit_0_once_the_stack_is_deleted(bedrock, cloudformation, command_clients, capsys):
    """A deleted stack is found by its unique id only (ListStackResources, DescribeStacks: "Deleted stacks: You must
    specify the unique stack ID"): the stack is described by its name once, then read by its id."""
    gone = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghijkl"
    throughput = kinds.THROUGHPUT.resource_type
    cloudformation.expect_read(
        [Resource("Throughput", throughput, gone, "DELETE_IN_PROGRESS"), Resource("Fn", "AWS::Lambda::Function", "f")],
        "DELETE_IN_PROGRESS",
    )
    cloudformation.expect_read(
        [
            Resource("Throughput", throughput, gone, "DELETE_COMPLETE"),
            Resource("Fn", "AWS::Lambda::Function", "f", "DELETE_COMPLETE"),
        ],
        "DELETE_COMPLETE",
    )
    slept: list[float] = []

    assert cli.status_command(STACK, True, 30, None, None, None, sleep=slept.append) == 0
    cloudformation.stubber.assert_no_pending_responses()
    assert slept == [30]
    assert capsys.readouterr().out.endswith("nothing in progress\n\n")


@pytest.mark.parametrize(("job_status", "kept_as"), [("Stopped", "DELETE_COMPLETE"), ("InProgress", "DELETE_SKIPPED")])
def test_a_watched_delete_ends_exit_0_whatever_bedrock_says_of_what_left_the_stack(
    bedrock, cloudformation, one_job, command_clients, capsys, job_status, kept_as
):
    """With DESTROY the job's Delete stops it (Stopped, yet the delete succeeded); with RETAIN it runs on outside the
    stack (DELETE_SKIPPED): neither fails nor holds up the stack's delete."""
    arn, _ = one_job
    bedrock.set_job_status(arn, job_status)
    cloudformation.expect_read([Resource("Model", kinds.JOB.resource_type, arn, kept_as)], "DELETE_COMPLETE")

    assert cli.status_command(STACK, True, 30, None, None, None, sleep=pytest.fail) == 0
    assert "0 in progress, 0 failed" in capsys.readouterr().out


@pytest.mark.parametrize("kept_as", ["DELETE_COMPLETE", "DELETE_SKIPPED"])
def test_a_watched_delete_ends_exit_0_though_a_read_of_what_left_the_stack_was_throttled(
    cloudformation, monkeypatch, capsys, kept_as
):
    """A throttled read may pass (botocore's standard retry checkers), and of what left the stack it no longer
    counts: the stack is DELETE_COMPLETE."""
    bedrock = boto3.client("bedrock", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubbed = Stubber(bedrock)
    stubbed.add_client_error("get_model_customization_job", "ThrottlingException", "Rate exceeded", 429)
    cloudformation.expect_read([Resource("Model", kinds.JOB.resource_type, JOB_ARN, kept_as)], "DELETE_COMPLETE")
    clients = status.Clients(cloudformation.client, bedrock, None)
    monkeypatch.setattr(status, "make_clients", lambda region=None, profile=None: clients)

    with stubbed:
        assert cli.status_command(STACK, True, 30, None, None, None, sleep=pytest.fail) == 0
    assert "0 in progress, 0 failed" in capsys.readouterr().out


def test_a_watch_of_a_stack_whose_change_set_is_not_executed_ends(cloudformation, command_clients, capsys):
    """REVIEW_IN_PROGRESS: a stack "with an expected StackId but without any templates or resources" (CloudFormation's
    stack status codes) stays so until its change set is executed: nothing to wait for."""
    cloudformation.expect_read([], "REVIEW_IN_PROGRESS")

    assert cli.status_command(STACK, True, 30, None, None, None, sleep=pytest.fail) == 0
    assert capsys.readouterr().out.endswith("nothing in progress\n\n")


def stubbed_job(job_status: str) -> dict[str, Any]:
    """A GetModelCustomizationJob answer with the members the API reference requires."""
    return {
        "jobArn": JOB_ARN,
        "jobName": "my-job",
        "outputModelName": "my-model",
        "roleArn": "arn:aws:iam::123456789012:role/r",
        "creationTime": NOW,
        "baseModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k",
        "trainingDataConfig": {"s3Uri": "s3://b/train.jsonl"},
        "outputDataConfig": {"s3Uri": "s3://b/out/"},
        "hyperParameters": {},
        "validationDataConfig": {"validators": []},
        "status": job_status,
    }


JOB_ARN = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro-v1:0:128k/abc123def456"


@pytest.mark.parametrize(
    ("members", "read_at", "elapsed"),
    [
        # The API reference: endTime is when the job ended, lastModifiedTime when it was last modified (later, here).
        (
            {"status": "Completed", "endTime": NOW + timedelta(hours=2), "lastModifiedTime": NOW + timedelta(hours=5)},
            NOW + timedelta(days=1),
            timedelta(hours=2),
        ),
        # Read by a clock a little behind Bedrock's: no time has passed, not a negative time.
        ({"status": "InProgress"}, NOW - timedelta(seconds=3), timedelta(0)),
    ],
    ids=["ended", "just-created"],
)
def test_a_jobs_elapsed_time_runs_from_its_creation_to_its_end(cloudformation, members, read_at, elapsed):
    bedrock = boto3.client("bedrock", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubbed = Stubber(bedrock)
    stubbed.add_response("get_model_customization_job", stubbed_job("InProgress") | members, {"jobIdentifier": JOB_ARN})
    cloudformation.expect_listing([Resource("Model", kinds.JOB.resource_type, JOB_ARN)])
    with stubbed:
        (row,) = status.read_stack(status.Clients(cloudformation.client, bedrock, None), STACK, lambda: read_at).rows
    assert row.elapsed == elapsed


@pytest.mark.parametrize(
    ("code", "http_status"),
    [("ThrottlingException", 429), ("InternalServerException", 500), ("ServiceUnavailableException", 503)],
)
def test_a_watch_reads_again_a_resource_whose_read_was_throttled_or_failed_on_the_server(
    cloudformation, code, http_status
):
    """Throttling and 5xx may pass (the SDKs' retry guide): the row is not known for now, neither failed nor
    settled, and the watch goes on."""
    bedrock = boto3.client("bedrock", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubbed = Stubber(bedrock)
    asked = {"jobIdentifier": JOB_ARN}
    stubbed.add_response("get_model_customization_job", stubbed_job("InProgress"), asked)
    stubbed.add_client_error("get_model_customization_job", code, "Please wait", http_status, expected_params=asked)
    stubbed.add_response("get_model_customization_job", stubbed_job("Completed"), asked)
    for _ in range(3):
        cloudformation.expect_listing([Resource("Model", kinds.JOB.resource_type, JOB_ARN)])
    clients = status.Clients(cloudformation.client, bedrock, None)
    out = io.StringIO()
    slept: list[float] = []

    with stubbed:
        final = status.Watch(lambda: status.read_stack(clients, STACK, lambda: NOW), out.write, 30, slept.append).run()

    assert slept == [30, 30]
    assert [row.status for row in final.rows] == ["Completed"]
    second = out.getvalue().split("\n\nmy-stack: ")[1]
    assert "0/1 settled, 1 in progress, 0 failed" in second
    assert f"    ! GetModelCustomizationJob: {code}: Please wait\n" in second


def test_a_watch_goes_on_through_a_connection_error_of_cloudformation(bedrock, cloudformation, clients, one_job):
    """A connection dropped (botocore's EndpointConnectionError, after the client's retries) may pass: the watch says
    so and reads again after its interval, rather than end with exit 2."""
    arn, resources = one_job
    cloudformation.expect_listing(resources)
    cloudformation.expect_listing([Resource("Model", kinds.JOB.resource_type, arn)])
    calls: list[str] = []

    def drop_the_second(**_kwargs: Any) -> None:  # before the Stubber answers
        calls.append("ListStackResources")
        if len(calls) == 2:
            raise EndpointConnectionError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com/")

    listing = "before-parameter-build.cloudformation.ListStackResources"
    cloudformation.client.meta.events.register(listing, drop_the_second)
    out = io.StringIO()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        bedrock.set_job_status(arn, "Completed")

    final = status.Watch(lambda: status.read_stack(clients, STACK, lambda: NOW), out.write, 30, sleep).run()

    assert slept == [30, 30]
    assert [row.status for row in final.rows] == ["Completed"]
    assert (
        "Ctrl-C to stop\n\n! my-stack: Could not connect to the endpoint URL: "
        '"https://cloudformation.us-east-1.amazonaws.com/"; reading again in 30 s\nmy-stack: '
    ) in out.getvalue()


@pytest.mark.parametrize(
    ("error", "may_pass"),
    [
        (ClientError({"Error": {"Code": "Throttling"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "Op"), True),
        (
            ClientError(
                {"Error": {"Code": "TooManyRequestsException"}, "ResponseMetadata": {"HTTPStatusCode": 429}}, "Op"
            ),
            True,
        ),
        (
            ClientError({"Error": {"Code": "RequestLimitExceeded"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "Op"),
            True,
        ),
        (ClientError({"Error": {"Code": "InternalFailure"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "Op"), True),
        (ClientError({"Error": {"Code": "Unknown"}, "ResponseMetadata": {"HTTPStatusCode": 502}}, "Op"), True),
        (ConnectionClosedError(endpoint_url="https://bedrock.us-east-1.amazonaws.com/"), True),
        (ReadTimeoutError(endpoint_url="https://bedrock.us-east-1.amazonaws.com/"), True),
        (
            ClientError(
                {"Error": {"Code": "AccessDeniedException"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "Op"
            ),
            False,
        ),
        (
            ClientError(
                {"Error": {"Code": "ResourceNotFoundException"}, "ResponseMetadata": {"HTTPStatusCode": 404}}, "Op"
            ),
            False,
        ),
        (ClientError({"Error": {"Code": "ValidationError"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "Op"), False),
        (NoCredentialsError(), False),
    ],
)
def test_what_may_pass_is_what_the_sdk_retry_guide_calls_throttling_or_transient(error, may_pass):
    """The boto3 retries guide: throttling errors (Throttling, TooManyRequestsException, RequestLimitExceeded...),
    transient ones (5xx: 500, 502, 503, 504; connection and read timeout errors)."""
    assert status.temporary(error) is may_pass


def command_with(monkeypatch: pytest.MonkeyPatch, bedrock: Any, s3: Any = None) -> None:
    """The status command, reading one job of the stack through these clients."""
    cloudformation = CloudFormation()
    cloudformation.expect_read([Resource("Model", kinds.JOB.resource_type, JOB_ARN)])
    clients = status.Clients(cloudformation.client, bedrock, s3)
    monkeypatch.setattr(status, "make_clients", lambda region=None, profile=None: clients)


@pytest.mark.parametrize("plot", [False, True], ids=["table", "plot"])
def test_the_command_exits_1_when_a_jobs_read_was_throttled(monkeypatch, capsys, tmp_path, plot):
    """Throttled (ThrottlingException, botocore.retries.standard's throttling code): the job's state is not known, which
    the command's documented exit 1 covers (a CI step must not pass on it); --plot says the job is not plotted."""
    bedrock = boto3.client("bedrock", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubbed = Stubber(bedrock)
    stubbed.add_client_error(
        "get_model_customization_job", "ThrottlingException", "Rate exceeded", 429, {"jobIdentifier": JOB_ARN}
    )
    command_with(monkeypatch, bedrock)
    with stubbed:
        assert cli.main(["status", STACK, *(["--plot", str(tmp_path)] if plot else [])]) == 1
    out = capsys.readouterr().out
    assert "    ! GetModelCustomizationJob: ThrottlingException: Rate exceeded\n" in out
    assert (f"{STACK}: Model: not plotted, its job could not be read: " in out) is plot


def test_the_command_exits_1_when_a_jobs_metrics_cannot_be_read_for_its_plot(monkeypatch, capsys, tmp_path):
    bedrock = boto3.client("bedrock", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    s3 = boto3.client("s3", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    bedrock_stub, s3_stub = Stubber(bedrock), Stubber(s3)
    bedrock_stub.add_response("get_model_customization_job", stubbed_job("Completed"), {"jobIdentifier": JOB_ARN})
    s3_stub.add_client_error("list_objects_v2", "AccessDenied", "Access Denied", 403)
    command_with(monkeypatch, bedrock, s3)
    with bedrock_stub, s3_stub:
        assert cli.main(["status", STACK, "--plot", str(tmp_path)]) == 1
    assert "s3://b/out/model-customization-job-abc123def456/: AccessDenied: Access Denied" in capsys.readouterr().out


def test_a_failed_evaluation_job_shows_each_of_its_failure_messages():
    """GetEvaluationJob answers failureMessages, a list ("why the evaluation job failed", botocore's service model),
    where the other reads answer one failureMessage."""
    arn = "arn:aws:bedrock:us-east-1:123456789012:evaluation-job/abcdef123456"
    bedrock = boto3.client("bedrock", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubbed = Stubber(bedrock)  # checks the answer against the service model
    answer = {
        "jobName": "my-eval",
        "status": "Failed",
        "jobArn": arn,
        "roleArn": "arn:aws:iam::123456789012:role/r",
        "jobType": "Automated",
        "evaluationConfig": {
            "automated": {
                "datasetMetricConfigs": [
                    {"taskType": "Generation", "dataset": {"name": "Builtin.Bold"}, "metricNames": ["Builtin.Toxicity"]}
                ]
            }
        },
        "inferenceConfig": {"models": [{"bedrockModel": {"modelIdentifier": "m", "inferenceParams": "{}"}}]},
        "outputDataConfig": {"s3Uri": "s3://b/eval/"},
        "creationTime": NOW,
        "failureMessages": ["The role cannot read s3://b/data.jsonl", "Quota exceeded"],
    }
    stubbed.add_response("get_evaluation_job", answer, {"jobIdentifier": arn})
    cloudformation = CloudFormation()
    cloudformation.expect_listing([Resource("Eval", "Custom::BedrockModelEvaluationJob", arn, "CREATE_FAILED")])
    with stubbed:
        snapshot = status.read_stack(status.Clients(cloudformation.client, bedrock, None), STACK, lambda: NOW)
    (row,) = snapshot.rows
    assert (row.status, row.failed) == ("Failed", True)
    assert "The role cannot read s3://b/data.jsonl" in row.failure and "Quota exceeded" in row.failure


@pytest.mark.parametrize(("cloudformation_status", "failed"), [("CREATE_COMPLETE", True), ("DELETE_COMPLETE", False)])
def test_a_status_this_version_does_not_know_counts_as_failed_and_says_so(cloudformation_status, failed):
    """GetCustomModel's modelStatus is Creating, Active or Failed today: a value Bedrock adds is neither settled nor
    moving for the command, so a gate on its exit code does not pass on it (unless the model has left the stack)."""
    arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdef123456"
    bedrock = boto3.client("bedrock", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubbed = Stubber(bedrock)  # checks the answer against the service model
    answer = {"modelArn": arn, "modelName": "support-bot", "creationTime": NOW, "modelStatus": "Validating"}
    stubbed.add_response("get_custom_model", answer, {"modelIdentifier": arn})
    cloudformation = CloudFormation()
    cloudformation.expect_listing([Resource("Imported", "Custom::BedrockCustomModel", arn, cloudformation_status)])
    with stubbed:
        snapshot = status.read_stack(status.Clients(cloudformation.client, bedrock, None), STACK, lambda: NOW)
    (row,) = snapshot.rows
    assert (row.status, row.failed, row.in_progress) == ("Validating", failed, False)
    assert "status 'Validating' is not one this version of cdk-bedrock-customization knows" in row.failure
