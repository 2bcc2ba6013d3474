"""The job completion notifier: Bedrock's state change events and the backstop signal the stack's wait conditions.

Bedrock is moto plus the stand-in (jobs started through the job resource's handler, driven with
set_job_status); CloudFormation's ListStackResources is answered by a botocore Stubber on the handler's own
CloudFormation client; the wait condition handles are a local HTTP server that records each PUT
(tests/handler/notifier_helpers.py).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from bedrock_custom_resource import index, notifier
from botocore.exceptions import ClientError
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn
from hypothesis import given
from hypothesis import strategies as st

from .conftest import (
    CREATE_FAILED,
    CloudFormationEvents,
    Notify,
    completed_job,
    fine_tuning_properties,
    is_complete_input,
    start,
)
from .notifier_helpers import (
    JobWait,
    SignalServer,
    Stack,
    request_target,
    state_change_event,
    wait_started_event,
)

GET = "GetModelCustomizationJob"
CREATE = "CreateModelCustomizationJob"
BACKSTOP = {"backstop": True}  # what the schedule rule's RuleTargetInput.fromObject({backstop: true}) delivers


def start_waited_job(events: CloudFormationEvents, stack: Stack, logical_id: str = "Model") -> tuple[str, JobWait]:
    """An event-driven job: the job resource starts it (waitUntil Accepted) and a wait condition waits."""
    job_arn = start(events, fine_tuning_properties(waitUntil="Accepted"), logical_id).physical_id
    wait = stack.add_job(logical_id, job_arn)
    assert wait is not None
    return job_arn, wait


def gets_since(bedrock: BedrockStandIn, mark: int) -> list[str]:
    """The jobs that GetModelCustomizationJob read since bedrock.calls had mark entries."""
    return [call.params["jobIdentifier"] for call in bedrock.calls[mark:] if call.operation == GET]


def assert_signal_shape(signal: dict[str, Any]) -> None:
    assert set(signal) == {"Status", "Reason", "UniqueId", "Data"}
    assert all(isinstance(value, str) for value in signal.values())
    # CloudFormation's SignalResource documents UniqueId as 1 to 64 characters; ministack enforces it on handle URLs.
    assert 1 <= len(signal["UniqueId"]) <= 64


def job_id(job_arn: str) -> str:
    """The job's id: the last part of its ARN (model-customization-job/<base model>/<id>)."""
    return job_arn.rsplit("/", 1)[-1]


# --- state change events ---------------------------------------------------------------------------------


def test_a_unique_id_fits_cloudformations_64_characters_for_any_job_id():
    """Bedrock's job ids are 12 characters; should one ever be longer, the UniqueId is still within 64, and
    still the same for both forms of the job's ARN."""
    prefix = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/"
    long_id = "x" * 100
    ids = {notifier.unique_id(f"{prefix}amazon.nova-micro-v1:0:128k/{long_id}"), notifier.unique_id(prefix + long_id)}
    (unique,) = ids
    assert 1 <= len(unique) <= 64
    assert notifier.unique_id(f"{prefix}amazon.nova-micro-v1:0:128k/abcdef012345") == "abcdef012345"


def test_an_event_naming_the_job_by_its_short_arn_is_matched(bedrock, events, stack, signal_server, notify):
    """The documentation's sample event names a job model-customization-job/<id>, without the base model
    that CreateModelCustomizationJob's ARN has: both forms name the same job."""
    job_arn, wait = start_waited_job(events, stack)
    bedrock.set_job_status(job_arn, "Completed")
    event = state_change_event(bedrock.job(job_arn))
    prefix, _, rest = job_arn.partition("model-customization-job/")
    event["detail"]["jobArn"] = f"{prefix}model-customization-job/{rest.rsplit('/', 1)[-1]}"
    stack.expect_listing()

    assert notify(event) == {"signalled": [job_arn]}
    (signal,) = signal_server.signals_to(wait.handle_url)
    assert_signal_shape(signal)
    assert signal["UniqueId"] == job_id(job_arn) == job_id(event["detail"]["jobArn"])


def test_a_completed_event_signals_success_to_that_jobs_handle(bedrock, events, stack, signal_server, notify):
    job_arn, wait = start_waited_job(events, stack)
    bedrock.set_job_status(job_arn, "Completed")
    job = bedrock.job(job_arn)
    (model,) = bedrock.models()
    assert job["outputModelArn"] == model["modelArn"]
    stack.expect_listing()
    mark = len(bedrock.calls)

    assert notify(state_change_event(job)) == {"signalled": [job_arn]}

    (put,) = signal_server.puts
    assert put.path == request_target(wait.handle_url)  # the presigned query string is sent as it is
    assert put.headers.get("content-type", "") == ""  # signed without a content type; none added
    assert int(put.headers["content-length"]) == len(put.raw)
    assert_signal_shape(put.signal)
    assert put.signal["Status"] == "SUCCESS"
    assert put.signal["UniqueId"] == job_id(job_arn)
    assert put.signal["Data"] == model["modelArn"]
    assert job["jobName"] in put.signal["Reason"]
    assert [call.operation for call in bedrock.calls[mark:]] == [GET]
    assert gets_since(bedrock, mark) == [job_arn]
    assert stack.calls == [
        ("ListStackResources", {"StackName": stack.stack_id}),
        ("DescribeStackResource", {"StackName": stack.stack_id, "LogicalResourceId": wait.condition_id}),
    ]
    assert signal_server.other_requests == []


@pytest.mark.parametrize(
    ("status", "message", "reason_has"),
    [
        ("Failed", "Training data has 3 malformed lines", "Failed: Training data has 3 malformed lines"),
        ("Stopped", "Stopped by user alice", "Stopped: Stopped by user alice"),
        ("Stopped", None, "Stopped: Bedrock gave no failure message"),
    ],
)
def test_an_unsuccessful_job_signals_failure_with_bedrocks_message(
    bedrock, events, stack, signal_server, notify, status, message, reason_has
):
    job_arn, wait = start_waited_job(events, stack)
    bedrock.set_job_status(job_arn, status, failure_message=message)
    stack.expect_listing()

    assert notify(state_change_event(bedrock.job(job_arn))) == {"signalled": [job_arn]}

    (signal,) = signal_server.signals_to(wait.handle_url)
    assert len(signal_server.puts) == 1
    assert_signal_shape(signal)
    assert signal["Status"] == "FAILURE"
    assert reason_has in signal["Reason"]
    assert bedrock.job(job_arn)["jobName"] in signal["Reason"]
    assert signal["UniqueId"] == job_id(job_arn)
    assert signal["Data"] == ""
    assert bedrock.models() == []


@pytest.mark.parametrize(
    ("bedrock_says", "event_claims", "expected"),
    [("Failed", "Completed", "FAILURE"), ("Completed", "Failed", "SUCCESS"), ("Stopped", "Completed", "FAILURE")],
)
def test_the_outcome_is_bedrocks_not_the_events(
    bedrock, events, stack, signal_server, notify, bedrock_says, event_claims, expected
):
    job_arn, wait = start_waited_job(events, stack)
    bedrock.set_job_status(
        job_arn, bedrock_says, failure_message="Out of capacity" if bedrock_says != "Completed" else None
    )
    event = state_change_event(bedrock.job(job_arn), status=event_claims)
    assert event["detail"]["jobStatus"] == event_claims
    stack.expect_listing()

    assert notify(event) == {"signalled": [job_arn]}

    (signal,) = signal_server.signals_to(wait.handle_url)
    assert signal["Status"] == expected
    if expected == "FAILURE":
        assert "Out of capacity" in signal["Reason"]
    else:
        assert signal["Data"] == bedrock.job(job_arn)["outputModelArn"]


@pytest.mark.parametrize("settled_by", ["the event delivered again", "the backstop"])
def test_a_final_event_for_a_job_bedrock_still_reports_running_fails_so_that_lambda_delivers_it_again(
    bedrock, events, stack, signal_server, notify, settled_by
):
    """An error of an asynchronous invocation (EventBridge's of its target) makes Lambda retry the event twice, a
    minute or two later; the backstop remains for a read that lags longer."""
    job_arn, wait = start_waited_job(events, stack)
    early = state_change_event(bedrock.job(job_arn), status="Completed")  # GetModelCustomizationJob lags
    stack.expect_listing()
    with pytest.raises(RuntimeError, match=f"The event says {job_arn} is Completed, but Bedrock still reads it as"):
        notify(early)
    assert signal_server.puts == []
    assert stack.condition_status("Model") == "CREATE_IN_PROGRESS"

    bedrock.set_job_status(job_arn, "Completed")
    stack.expect_listing()
    assert notify(early if settled_by == "the event delivered again" else BACKSTOP) == {"signalled": [job_arn]}
    (signal,) = signal_server.signals_to(wait.handle_url)
    assert signal["Status"] == "SUCCESS"


def assert_the_event_of_the_job_is_ignored(
    job_arn: str, bedrock: BedrockStandIn, stack: Stack, signal_server: SignalServer, notify: Notify
) -> None:
    """The notifier lists the stack's resources, then signals nothing and calls Bedrock no more."""
    stack.expect_listing()
    mark = len(bedrock.calls)

    assert notify(state_change_event(bedrock.job(job_arn))) == {"signalled": []}

    assert signal_server.puts == []
    assert bedrock.calls[mark:] == []


def test_an_event_for_a_job_started_outside_the_stack_is_ignored(bedrock, events, stack, signal_server, notify):
    start_waited_job(events, stack)
    console_job = completed_job(bedrock, "console-experiment-1", "console-experiment-1-model")
    assert_the_event_of_the_job_is_ignored(console_job, bedrock, stack, signal_server, notify)
    assert stack.condition_status("Model") == "CREATE_IN_PROGRESS"


def test_an_event_for_a_job_of_the_stack_that_nothing_waits_for_is_ignored(
    bedrock, events, stack, signal_server, notify
):
    """A polling job of the same stack: its resource is in the stack, but no wait condition names it."""
    start_waited_job(events, stack)
    polled = start(events, fine_tuning_properties(), "PolledModel").physical_id
    assert stack.add_job("PolledModel", polled, waited=False) is None
    bedrock.set_job_status(polled, "Failed")
    assert_the_event_of_the_job_is_ignored(polled, bedrock, stack, signal_server, notify)


@pytest.mark.parametrize("status", ["InProgress", "Stopping"])
def test_an_event_for_a_running_job_is_logged_and_touches_nothing(
    bedrock, events, stack, signal_server, notify, caplog, status
):
    job_arn, _ = start_waited_job(events, stack)
    bedrock.set_job_status(job_arn, status, status_details={"validationDetails": "Completed"})
    job = bedrock.job(job_arn)
    mark = len(bedrock.calls)
    caplog.set_level(logging.INFO)

    assert notify(state_change_event(job)) == {"signalled": []}  # no listing queued: a call would fail

    assert stack.calls == []
    assert bedrock.calls[mark:] == []
    assert signal_server.puts == []
    (record,) = [r for r in caplog.records if r.name == "root" and job_arn in r.getMessage()]
    assert job["jobName"] in record.getMessage()
    assert record.getMessage().endswith(f"is {status}")


def test_a_duplicate_event_after_the_wait_condition_completed_signals_nothing(
    bedrock, events, stack, signal_server, notify
):
    job_arn, wait = start_waited_job(events, stack)
    bedrock.set_job_status(job_arn, "Completed")
    event = state_change_event(bedrock.job(job_arn))
    stack.expect_listing()
    assert notify(event) == {"signalled": [job_arn]}
    stack.apply_signals()
    assert stack.condition_status("Model") == "CREATE_COMPLETE"
    stack.expect_listing()
    mark = len(bedrock.calls)

    assert notify(event) == {"signalled": []}  # EventBridge delivers at least once: the same event again

    assert len(signal_server.signals_to(wait.handle_url)) == 1
    assert len(signal_server.puts) == 1
    assert bedrock.calls[mark:] == []


def test_an_event_after_the_backstop_signalled_signals_nothing(bedrock, events, stack, signal_server, notify):
    job_arn, wait = start_waited_job(events, stack)
    bedrock.set_job_status(job_arn, "Completed")
    stack.expect_listing()
    assert notify(BACKSTOP) == {"signalled": [job_arn]}
    stack.apply_signals()
    stack.expect_listing()
    mark = len(bedrock.calls)

    assert notify(state_change_event(bedrock.job(job_arn))) == {"signalled": []}  # the late event

    (signal,) = signal_server.signals_to(wait.handle_url)
    assert signal["Status"] == "SUCCESS"
    assert bedrock.calls[mark:] == []


@pytest.mark.parametrize("condition_status", ["CREATE_FAILED", "DELETE_IN_PROGRESS", "DELETE_COMPLETE"])
def test_a_wait_condition_no_longer_waiting_is_never_signalled(
    bedrock, events, stack, signal_server, notify, condition_status
):
    """A wait condition that timed out (CREATE_FAILED) or is being rolled back waits for nothing."""
    job_arn, wait = start_waited_job(events, stack)
    bedrock.set_job_status(job_arn, "Completed")
    stack.set_status(wait.condition_id, condition_status)
    event = state_change_event(bedrock.job(job_arn))

    stack.expect_listing()
    assert notify(event) == {"signalled": []}
    stack.expect_listing()
    assert notify(BACKSTOP) == {"signalled": []}

    assert signal_server.puts == []


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param(None, id="no-metadata"),
        pytest.param({"aws:cdk:path": "Stack/Deployment/Wait"}, id="other-metadata"),
        pytest.param({"cdk-bedrock-customization:waitsFor": "Model"}, id="not-an-object"),
        pytest.param({"cdk-bedrock-customization:waitsFor": {"job": "Model"}}, id="no-handle"),
        pytest.param({"cdk-bedrock-customization:waitsFor": {"job": ["Model"], "handle": "Handle"}}, id="a-list"),
    ],
)
def test_a_wait_condition_that_names_no_job_is_left_alone(bedrock, events, stack, signal_server, notify, metadata):
    """A stack's own wait conditions (a user's, or one whose Metadata is not the construct's) are not the
    notifier's: their handles are never signalled, and the job waited for is still settled."""
    job_arn, wait = start_waited_job(events, stack)
    bedrock.set_job_status(job_arn, "Completed")
    stack.add("UsersHandle", "AWS::CloudFormation::WaitConditionHandle", signal_server.handle_url(stack.stack_id, "U"))
    stack.add("UsersCondition", "AWS::CloudFormation::WaitCondition", "users-condition", "CREATE_IN_PROGRESS")
    if metadata is not None:
        stack.metadata["UsersCondition"] = metadata
    stack.expect_listing()

    assert notify(BACKSTOP) == {"signalled": [job_arn]}

    assert [put.path for put in signal_server.puts] == [request_target(wait.handle_url)]


def test_a_wait_condition_gone_since_the_listing_is_skipped_and_the_others_are_settled(
    bedrock, events, stack, signal_server, notify
):
    """A rollback can delete a wait condition between ListStackResources and DescribeStackResource; CloudFormation
    then answers ValidationError ("Resource ... does not exist for stack ..."). The other waits are still settled."""
    gone_job, gone = start_waited_job(events, stack, "ModelA")
    job_arn, wait = start_waited_job(events, stack, "ModelB")
    for arn in (gone_job, job_arn):
        bedrock.set_job_status(arn, "Completed")
    listing = {"StackResourceSummaries": [dict(resource) for resource in stack.resources.values()]}
    stack.stubber.add_response("list_stack_resources", listing, {"StackName": stack.stack_id})
    stack.stubber.add_client_error(
        "describe_stack_resource",
        service_error_code="ValidationError",
        service_message=f"Resource {gone.condition_id} does not exist for stack {stack.stack_id}",
        http_status_code=400,
        expected_params={"StackName": stack.stack_id, "LogicalResourceId": gone.condition_id},
    )
    stack.stubber.add_response(
        "describe_stack_resource",
        {"StackResourceDetail": stack.description(wait.condition_id)},
        {"StackName": stack.stack_id, "LogicalResourceId": wait.condition_id},
    )

    assert notify(BACKSTOP) == {"signalled": [job_arn]}
    assert signal_server.signals_to(gone.handle_url) == []


def test_a_wait_for_a_job_bedrock_does_not_know_fails_at_once(bedrock, events, stack, signal_server, notify):
    """GetModelCustomizationJob answers ResourceNotFoundException: the wait fails now, naming the job, rather than
    every run failing until the wait times out (as an import job's wait already did)."""
    job_arn, _wait = start_waited_job(events, stack)
    unknown = job_arn.rsplit("/", 1)[0] + "/zzzzzzzzzzzz"
    wait = stack.add_job("Unknown", unknown)
    assert wait is not None
    stack.expect_listing()

    assert notify(BACKSTOP) == {"signalled": [unknown]}

    (signal,) = signal_server.signals_to(wait.handle_url)
    assert (signal["Status"], signal["Reason"]) == ("FAILURE", f"Model customization job {unknown} is not found")


def test_metadata_too_deep_to_read_is_not_a_jobs_and_the_others_are_settled(
    bedrock, events, stack, signal_server, notify
):
    """A wait condition of yours whose Metadata nests deeper than Python's json reads (RecursionError)."""
    job_arn, wait = start_waited_job(events, stack)
    bedrock.set_job_status(job_arn, "Completed")
    stack.add("UsersCondition", "AWS::CloudFormation::WaitCondition", "users-condition", "CREATE_IN_PROGRESS")
    listing = {"StackResourceSummaries": [dict(resource) for resource in stack.resources.values()]}
    stack.stubber.add_response("list_stack_resources", listing, {"StackName": stack.stack_id})
    for logical_id in stack.resources:
        if stack.resources[logical_id]["ResourceType"] == "AWS::CloudFormation::WaitCondition":
            detail = stack.description(logical_id)
            if logical_id == "UsersCondition":
                detail["Metadata"] = "[" * 100_000 + "]" * 100_000
            stack.stubber.add_response(
                "describe_stack_resource",
                {"StackResourceDetail": detail},
                {"StackName": stack.stack_id, "LogicalResourceId": logical_id},
            )

    assert notify(BACKSTOP) == {"signalled": [job_arn]}
    assert [put.path for put in signal_server.puts] == [request_target(wait.handle_url)]


def test_another_error_of_describe_stack_resource_fails_the_run(bedrock, events, stack, signal_server, notify):
    """Not a wait that is gone: the run fails, so the error shows, and the next event or backstop run retries."""
    start_waited_job(events, stack, "ModelA")
    listing = {"StackResourceSummaries": [dict(resource) for resource in stack.resources.values()]}
    stack.stubber.add_response("list_stack_resources", listing, {"StackName": stack.stack_id})
    stack.stubber.add_client_error("describe_stack_resource", service_error_code="AccessDenied", http_status_code=403)
    with pytest.raises(ClientError, match="AccessDenied"):
        notify(BACKSTOP)
    assert signal_server.puts == []


def test_only_wait_conditions_in_progress_are_described(bedrock, events, stack, signal_server, notify):
    """Finished waits cost no DescribeStackResource: only the one still waiting is read."""
    _, first_wait = start_waited_job(events, stack, "ModelA")
    _, second_wait = start_waited_job(events, stack, "ModelB")
    stack.set_status(first_wait.condition_id, "CREATE_COMPLETE")
    stack.expect_listing()

    assert notify(BACKSTOP) == {"signalled": []}

    described = [params["LogicalResourceId"] for name, params in stack.calls if name == "DescribeStackResource"]
    assert described == [second_wait.condition_id]


def test_the_event_signals_only_its_own_job(bedrock, events, stack, signal_server, notify):
    first, first_wait = start_waited_job(events, stack, "ModelA")
    second, second_wait = start_waited_job(events, stack, "ModelB")
    bedrock.set_job_status(first, "Completed")
    bedrock.set_job_status(second, "Completed")  # its event is still on its way
    stack.expect_listing()
    mark = len(bedrock.calls)

    assert notify(state_change_event(bedrock.job(second))) == {"signalled": [second]}

    assert signal_server.signals_to(first_wait.handle_url) == []
    (signal,) = signal_server.signals_to(second_wait.handle_url)
    assert signal["UniqueId"] == job_id(second)
    assert signal["Data"] == bedrock.job(second)["outputModelArn"] != bedrock.job(first)["outputModelArn"]
    assert len(signal_server.puts) == 1
    assert gets_since(bedrock, mark) == [second]


def test_the_listing_is_read_to_its_last_page(bedrock, events, stack, signal_server, notify):
    """The job is on the first page, its handle and wait condition on the second."""
    job_arn, wait = start_waited_job(events, stack)
    bedrock.set_job_status(job_arn, "Completed")
    later = {wait.handle_id, wait.condition_id}
    first_page = [logical_id for logical_id in stack.resources if logical_id not in later]
    assert "Model" in first_page
    stack.expect_listing([first_page, sorted(later)])

    assert notify(state_change_event(bedrock.job(job_arn))) == {"signalled": [job_arn]}

    (first_call, second_call, description) = stack.calls
    assert first_call == ("ListStackResources", {"StackName": stack.stack_id})
    assert second_call[1]["StackName"] == stack.stack_id
    assert second_call[1]["NextToken"].startswith("page-2-")
    assert description == (
        "DescribeStackResource",
        {"StackName": stack.stack_id, "LogicalResourceId": wait.condition_id},
    )
    (signal,) = signal_server.signals_to(wait.handle_url)
    assert signal["Status"] == "SUCCESS"


def test_a_wait_for_a_job_a_rollback_made_nothing_of_fails_at_once_saying_what_to_do(
    bedrock, events, stack, signal_server, notify
):
    """A rollback that found the job it returned to gone left the job resource an id of nothing; a later wait for it
    (its timeout changed, say) fails now, naming the job resource and what to do, rather than waiting unsignalled
    until its Timeout (up to 12 hours) and failing in CloudFormation's words."""
    job_arn, _wait = start_waited_job(events, stack)
    bedrock.set_job_status(job_arn, "Completed")
    nothing = stack.add_job("Model0301700E", "nothing-made:Model0301700E")
    assert nothing is not None
    stack.expect_listing()

    assert sorted(notify(BACKSTOP)["signalled"]) == sorted([job_arn, "nothing-made:Model0301700E"])

    (signal,) = signal_server.signals_to(nothing.handle_url)
    assert signal["Status"] == "FAILURE"
    assert signal["Reason"].startswith("Model0301700E holds no job: a rollback of this stack made nothing for it")
    assert "a property other than its tags" in signal["Reason"]


def test_a_job_resource_whose_create_failed_is_skipped(bedrock, events, stack, signal_server, notify):
    """A job resource whose physical id is the Provider framework's CREATE_FAILED marker has no job to read."""
    job_arn, wait = start_waited_job(events, stack)
    bedrock.set_job_status(job_arn, "Completed")
    broken = stack.add_job("BrokenModel", CREATE_FAILED)
    assert broken is not None
    stack.expect_listing()
    mark = len(bedrock.calls)

    assert notify(BACKSTOP) == {"signalled": [job_arn]}

    assert gets_since(bedrock, mark) == [job_arn]
    assert signal_server.signals_to(broken.handle_url) == []
    assert [put.path for put in signal_server.puts] == [request_target(wait.handle_url)]


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({}, id="empty"),
        pytest.param({"backstop": False}, id="backstop-false"),
        pytest.param(
            {
                "version": "0",
                "id": "0b5c4b8e-6a4f-4ba5-9a36-1e2b3c4d5e6f",
                "detail-type": "Batch Inference Job State Change",
                "source": "aws.bedrock",
                "account": "123456789012",
                "time": "2025-01-01T00:00:00Z",
                "region": "us-east-1",
                "resources": ["arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefghwxyz"],
                "detail": {"status": "Completed"},
            },
            id="batch-inference",
        ),
        pytest.param(
            {
                "version": "0",
                "id": "844e2571-85d4-695f-b930-0153b71dcb42",
                "detail-type": "Model Customization Job State Change",
                "source": "aws.sagemaker",
                "account": "123456789012",
                "time": "2025-01-01T00:00:00Z",
                "region": "us-east-1",
                "resources": [],
                "detail": {"jobStatus": "Completed"},
            },
            id="other-source",
        ),
    ],
)
def test_an_unknown_event_is_an_error(stack, bedrock, notify, signal_server, event):
    with pytest.raises(ValueError, match=r"Not a job state change, a wait condition's status change or a backstop run"):
        notify(event)
    assert stack.calls == []
    assert bedrock.calls == []
    assert signal_server.puts == []


# --- a wait condition starting -----------------------------------------------------------------------------


def test_a_wait_started_for_a_job_that_already_completed_is_signalled_at_once(
    bedrock, events, stack, signal_server, notify
):
    """A job adopted after it completed (a stack deleted with RETAIN and deployed again) emits no further event:
    CloudFormation's event for its wait condition starting settles it, rather than the backstop an hour later."""
    job_arn, wait = start_waited_job(events, stack)
    other_arn, other = start_waited_job(events, stack, "Other")
    bedrock.set_job_status(job_arn, "Completed")
    bedrock.set_job_status(other_arn, "Completed")
    stack.expect_listing()
    mark = len(bedrock.calls)

    assert notify(wait_started_event(stack, wait.condition_id)) == {"signalled": [job_arn]}

    (signal,) = signal_server.signals_to(wait.handle_url)
    assert (signal["Status"], signal["UniqueId"], signal["Data"]) == (
        "SUCCESS",
        job_id(job_arn),  # the same UniqueId as any other signal for the job
        bedrock.job(job_arn)["outputModelArn"],
    )
    assert signal_server.signals_to(other.handle_url) == []  # its own wait's event settles it
    assert gets_since(bedrock, mark) == [job_arn]


def test_a_wait_started_for_a_running_job_signals_nothing(bedrock, events, stack, signal_server, notify):
    job_arn, wait = start_waited_job(events, stack)
    stack.expect_listing()
    mark = len(bedrock.calls)

    assert notify(wait_started_event(stack, wait.condition_id)) == {"signalled": []}

    assert signal_server.puts == []
    assert gets_since(bedrock, mark) == [job_arn]


def test_an_event_for_a_resource_that_waits_for_no_job_reads_no_job(bedrock, events, stack, signal_server, notify):
    job_arn, _wait = start_waited_job(events, stack)
    bedrock.set_job_status(job_arn, "Completed")
    stack.expect_listing()
    mark = len(bedrock.calls)

    assert notify(wait_started_event(stack, "SomeoneElsesWaitCondition")) == {"signalled": []}

    assert signal_server.puts == []
    assert gets_since(bedrock, mark) == []


# --- the backstop ----------------------------------------------------------------------------------------


def test_the_backstop_signals_a_job_whose_event_was_lost(bedrock, events, stack, signal_server, notify):
    job_arn, wait = start_waited_job(events, stack)
    bedrock.set_job_status(job_arn, "Completed")
    stack.expect_listing()

    assert notify(BACKSTOP) == {"signalled": [job_arn]}

    (signal,) = signal_server.signals_to(wait.handle_url)
    assert_signal_shape(signal)
    assert (signal["Status"], signal["UniqueId"], signal["Data"]) == (
        "SUCCESS",
        job_id(job_arn),  # the same UniqueId as the event's signal: CloudFormation counts one
        bedrock.job(job_arn)["outputModelArn"],
    )


def test_the_backstop_logs_a_running_jobs_progress_and_signals_nothing(
    bedrock, events, stack, signal_server, notify, caplog
):
    job_arn, _ = start_waited_job(events, stack)
    bedrock.set_job_status(
        job_arn,
        "InProgress",
        status_details={"validationDetails": "Completed", "dataProcessingDetails": "Completed"},
    )
    stack.expect_listing()
    mark = len(bedrock.calls)
    caplog.set_level(logging.INFO)

    assert notify(BACKSTOP) == {"signalled": []}

    assert signal_server.puts == []
    assert gets_since(bedrock, mark) == [job_arn]
    messages = [r.getMessage() for r in caplog.records if r.name == "root"]
    job_name = bedrock.job(job_arn)["jobName"]
    assert "Backstop: 1 wait condition(s) waiting" in messages
    assert (
        f"Model customization job {job_name} InProgress: validation Completed, data processing Completed, "
        "training NotStarted" in messages
    )


def test_the_backstop_signals_only_the_jobs_that_ended(bedrock, events, stack, signal_server, notify):
    ended, ended_wait = start_waited_job(events, stack, "ModelA")
    running, running_wait = start_waited_job(events, stack, "ModelB")
    bedrock.set_job_status(ended, "Failed", failure_message="Validation data is empty")
    stack.expect_listing()
    mark = len(bedrock.calls)

    assert notify(BACKSTOP) == {"signalled": [ended]}

    assert sorted(gets_since(bedrock, mark)) == sorted([ended, running])
    (signal,) = signal_server.signals_to(ended_wait.handle_url)
    assert signal["Status"] == "FAILURE"
    assert "Validation data is empty" in signal["Reason"]
    assert signal_server.signals_to(running_wait.handle_url) == []
    assert len(signal_server.puts) == 1


def test_the_backstop_reads_no_job_once_nothing_waits(bedrock, events, stack, signal_server, notify):
    job_arn, _ = start_waited_job(events, stack)
    bedrock.set_job_status(job_arn, "Completed")
    stack.expect_listing()
    notify(BACKSTOP)
    stack.apply_signals()
    stack.expect_listing()
    mark = len(bedrock.calls)

    assert notify(BACKSTOP) == {"signalled": []}

    assert bedrock.calls[mark:] == []
    assert len(signal_server.puts) == 1


def test_signals_for_one_job_never_disagree(bedrock, events, stack, signal_server, notify):
    """Event, backstop and the re-delivered event all run before CloudFormation has processed the first signal
    (the wait condition still reads CREATE_IN_PROGRESS): each signals, and every signal is the same."""
    job_arn, wait = start_waited_job(events, stack)
    bedrock.set_job_status(job_arn, "Failed", failure_message="Role cannot read s3://my-data-bucket/train/")
    event = state_change_event(bedrock.job(job_arn))

    for run in (event, BACKSTOP, event):
        stack.expect_listing()
        assert notify(run) == {"signalled": [job_arn]}

    signals = signal_server.signals_to(wait.handle_url)
    assert len(signals) == 3
    assert all(signal == signals[0] for signal in signals)
    assert signals[0]["Status"] == "FAILURE"
    assert signals[0]["UniqueId"] == job_id(job_arn)
    assert "Role cannot read s3://my-data-bucket/train/" in signals[0]["Reason"]

    stack.apply_signals()
    assert stack.condition_status("Model") == "CREATE_FAILED"
    stack.expect_listing()
    assert notify(BACKSTOP) == {"signalled": []}
    assert len(signal_server.puts) == 3


def test_one_refused_signal_does_not_keep_the_backstop_from_the_other_jobs(
    bedrock, events, stack, signal_server, notify
):
    first, first_wait = start_waited_job(events, stack, "ModelA")
    second, second_wait = start_waited_job(events, stack, "ModelB")
    bedrock.set_job_status(first, "Completed")
    bedrock.set_job_status(second, "Completed")
    signal_server.refuse(first_wait.handle_url, 503)
    stack.expect_listing()

    with pytest.raises(RuntimeError, match="1 wait\\(s\\) not settled"):  # the run fails, so that the error shows
        notify(BACKSTOP)

    assert len(signal_server.puts_to(first_wait.handle_url)) == 1
    (signal,) = signal_server.signals_to(second_wait.handle_url)
    assert signal["UniqueId"] == job_id(second)


# --- Bedrock API calls -----------------------------------------------------------------------------------

HOURS = 10
BACKSTOP_RUNS = HOURS  # the backstop runs hourly (its default interval)
POLLS_PER_HOUR = 60  # the Provider framework's default 1-minute query interval
MEASURED_POLLS = POLLS_PER_HOUR  # one hour: the most a polling job may wait


def test_event_driven_completion_costs_a_few_calls_per_job_and_one_per_backstop_run(
    bedrock, events, stack, signal_server, notify
):
    """A 10-hour job, waited for event-driven: 16 Bedrock calls in all. The job resource makes 5
    (GetModelCustomizationJob by name, ListModelCustomizationJobs of this logical id's other names, and GetCustomModel
    by name, finding no job or model of this configuration; CreateModelCustomizationJob; then one
    GetModelCustomizationJob: with waitUntil Accepted, isComplete
    returns at once), the hourly backstop 10 (one GetModelCustomizationJob per run while the job runs), the
    Completed event 1; the event's cost does not depend on how long the job ran, and once the wait condition
    is signalled the backstop reads no job at all.

    Polling makes one GetModelCustomizationJob per isComplete (measured over 60 polls, the 1 hour that polling
    may wait): at the default 1-minute query interval the same 10 hours take 600 of them, 46 times the 13
    GetModelCustomizationJob calls (16 calls in all against 604: 37 times) of the event-driven path.
    """
    # The job resource: Create, then one isComplete that returns at once.
    deployed = start(events, fine_tuning_properties(waitUntil="Accepted"), "Model")
    job_arn = deployed.physical_id
    result = index.is_complete(is_complete_input(deployed.event, {"PhysicalResourceId": job_arn}))
    assert result["IsComplete"] is True
    job_resource_calls = bedrock.operations()
    assert job_resource_calls == [GET, "ListModelCustomizationJobs", "GetCustomModel", CREATE, GET]
    wait = stack.add_job("Model", job_arn)
    assert wait is not None

    # Ten hours of backstop runs while the job trains.
    per_run = []
    for _ in range(BACKSTOP_RUNS):
        stack.expect_listing()
        mark = len(bedrock.calls)
        assert notify(BACKSTOP) == {"signalled": []}
        per_run.append(len(bedrock.calls) - mark)
    assert per_run == [1] * BACKSTOP_RUNS
    assert signal_server.puts == []

    # The Completed event.
    bedrock.set_job_status(job_arn, "Completed")
    stack.expect_listing()
    mark = len(bedrock.calls)
    assert notify(state_change_event(bedrock.job(job_arn))) == {"signalled": [job_arn]}
    event_calls = len(bedrock.calls) - mark
    assert event_calls == 1

    event_driven_total = len(bedrock.calls)
    assert event_driven_total == len(job_resource_calls) + BACKSTOP_RUNS + event_calls == 16
    job_name = bedrock.job(job_arn)["jobName"]
    assert {call.params["jobIdentifier"] for call in bedrock.calls if call.operation == GET} == {job_name, job_arn}
    event_driven_gets = len(bedrock.calls_to(GET))
    assert event_driven_gets == 2 + BACKSTOP_RUNS + 1 == 13
    (signal,) = signal_server.signals_to(wait.handle_url)
    assert signal["Status"] == "SUCCESS"

    # Once signalled, the backstop costs no Bedrock call.
    stack.apply_signals()
    stack.expect_listing()
    assert notify(BACKSTOP) == {"signalled": []}
    assert len(bedrock.calls) == event_driven_total

    # Polling: one GetModelCustomizationJob per isComplete, for as long as the job runs.
    polled = start(events, fine_tuning_properties(), "PolledModel")
    per_poll = []
    for _ in range(MEASURED_POLLS):
        mark = len(bedrock.calls)
        poll = index.is_complete(is_complete_input(polled.event, {"PhysicalResourceId": polled.physical_id}))
        assert poll == {"IsComplete": False}
        per_poll.append([call.operation for call in bedrock.calls[mark:]])
    assert per_poll == [[GET]] * MEASURED_POLLS
    polling_gets = POLLS_PER_HOUR * HOURS * len(per_poll[0])
    assert polling_gets == 600
    assert polling_gets // event_driven_gets == 46
    assert (4 + polling_gets) // event_driven_total == 37  # its create's 4 calls, as the event-driven one's


# CloudFormation's quota on a wait condition signal (user guide, CloudFormation quotas: "cfn-signal wait condition
# data", 4,096 bytes): a longer one shows as "Unparsable WaitCondition data", not its reason.
SIGNAL_QUOTA_BYTES = 4096


def test_a_failure_message_that_json_escapes_long_is_cut_to_fit_the_signal(
    bedrock, events, stack, signal_server, notify
):
    """Bedrock's failureMessage quoting user data: emoji and quotes, each escaped to several bytes in the JSON."""
    job_arn, wait = start_waited_job(events, stack)
    message = 'Record 12 of s3://my-data-bucket/train/ is invalid: "text": "' + '🙂"' * 1500 + '"'
    bedrock.set_job_status(job_arn, "Failed", failure_message=message)
    stack.expect_listing()

    assert notify(state_change_event(bedrock.job(job_arn))) == {"signalled": [job_arn]}

    (put,) = signal_server.puts_to(wait.handle_url)
    assert len(put.raw) <= SIGNAL_QUOTA_BYTES
    assert put.signal["Status"] == "FAILURE"
    assert "Record 12 of s3://my-data-bucket/train/ is invalid" in put.signal["Reason"]
    assert put.signal["Reason"].endswith("(truncated; the handler's log has the full message)")


@given(reason=st.text(max_size=5000), data=st.text(max_size=300))
def test_any_signal_fits_the_quota_and_a_reason_that_fits_is_sent_whole(reason, data):
    body = notifier.signal_body("FAILURE", reason, "abcdefgh1234", data)
    assert len(body) <= SIGNAL_QUOTA_BYTES
    signal = json.loads(body)
    assert (signal["Status"], signal["UniqueId"], signal["Data"]) == ("FAILURE", "abcdefgh1234", data)
    if len(json.dumps(reason)) + len(json.dumps(data)) < 2000 and len(reason.encode()) <= 2048:
        assert signal["Reason"] == reason


def test_a_signal_of_exactly_the_quota_is_sent_whole():
    """A body of exactly 4,096 bytes fits: its reason (2,048 bytes as JSON.stringify writes it, the reason's own
    bound: "é" 2, '"' 2) is not cut. 494 "é" (6 bytes as this body escapes it), one '"' (2) and 1,058 "a": 4,096
    bytes once written as JSON."""
    reason = "é" * 494 + '"' + "a" * 1058
    assert len(json.dumps(reason, ensure_ascii=False).encode()) - 2 == 2048
    whole = json.dumps({"Status": "FAILURE", "Reason": reason, "UniqueId": "abcdefgh1", "Data": ""}).encode()
    assert len(whole) == SIGNAL_QUOTA_BYTES
    assert notifier.signal_body("FAILURE", reason, "abcdefgh1", "") == whole


def test_a_reason_that_escapes_long_keeps_as_much_of_it_as_fits():
    """Each "é" is 6 bytes escaped: of 4,096 bytes, about 100 go to the other fields and the truncation marker, so
    about (4096 - 100) / 6 = 666 of them fit; at least 600 are kept, not the marker alone."""
    body = notifier.signal_body("FAILURE", "é" * 1100, "abcdefgh1234", "")
    assert len(body) <= SIGNAL_QUOTA_BYTES
    assert json.loads(body)["Reason"].startswith("é" * 600)
