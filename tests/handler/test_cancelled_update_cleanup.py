"""An update that replaces a deployment or a throughput is cancelled by CloudFormation (another resource failed) while
Bedrock still creates what it made. CloudFormation never learned that ARN, so sends no Delete for it: the rollback's
Update (the old properties, the old physical id) is the one request that can remove it, and Bedrock refuses to delete
it until it is created (ConflictException). The rollback's polls ask again, within the provider's total timeout less
two query intervals (CLEANUP_WAIT_VARIABLE), and then leave it, logged, rather than fail the stack's rollback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from bedrock_custom_resource import index
from bedrock_custom_resource.environment import CLEANUP_WAIT_VARIABLE
from bedrock_single_function import provider as adapter
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn

from .conftest import CloudFormationEvents
from .serving_helpers import deployment_properties, throughput_properties
from .single_function_helpers import (
    POLLING_INTERVAL_MINUTES,
    TOTAL_TIMEOUT_SECONDS,
    Driver,
    FrameworkDriver,
    SingleFunctionDriver,
    single_function_fixture,  # noqa: F401 (a fixture)
)
from .test_imported_model import import_properties


class Kind:
    def __init__(
        self,
        resource_type: str,
        properties: Callable[..., dict[str, Any]],
        replacing: dict[str, str],
        ready: str,
        set_status: str,
        listing: str,
        arn: str,
        delete: str,
    ) -> None:
        self.resource_type, self.properties, self.replacing = resource_type, properties, replacing
        self.ready, self.set_status, self.listing, self.arn, self.delete = ready, set_status, listing, arn, delete

    def live(self, bedrock: BedrockStandIn, served: str) -> list[str]:
        """What Bedrock has of this kind, but the model that deployments and throughputs serve."""
        return sorted(item[self.arn] for item in getattr(bedrock, self.listing)() if item[self.arn] != served)


KINDS = {
    "throughput": Kind(
        "Custom::BedrockProvisionedModelThroughput",
        throughput_properties,
        {"modelUnits": "2"},  # Bedrock cannot change it: a replacement
        "InService",
        "set_throughput_status",
        "throughputs",
        "provisionedModelArn",
        "DeleteProvisionedModelThroughput",
    ),
    "deployment": Kind(
        "Custom::BedrockCustomModelDeployment",
        deployment_properties,
        {"description": "support bot v2"},  # a replacement
        "Active",
        "set_deployment_status",
        "deployments",
        "customModelDeploymentArn",
        "DeleteCustomModelDeployment",
    ),
    "imported model": Kind(
        "Custom::BedrockCustomModel",
        lambda _model_arn: import_properties(),
        {"modelSourceConfig": {"s3DataSource": {"s3Uri": "s3://customer-escrow/nova-support/model-v2/"}}},
        "Active",
        "set_model_status",
        "imported_models",
        "modelArn",
        "DeleteCustomModel",
    ),
}


@pytest.fixture(params=["framework", "single-function"])
def driver(request: pytest.FixtureRequest, bedrock: BedrockStandIn) -> Driver:
    if request.param == "framework":
        return FrameworkDriver()
    return SingleFunctionDriver(request.getfixturevalue("single_function"))


class Clock:
    """index.now and the single function's, moved by hand: the rollback's polls read it."""

    def __init__(self) -> None:
        self.seconds = 1_800_000_000.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(index, "now", clock)
    monkeypatch.setattr(adapter, "now", clock)  # the single function's deadline, on the same clock
    return clock


def cancelled_replacement(
    kind: Kind, driver: Driver, bedrock: BedrockStandIn, model_arn: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[CloudFormationEvents, dict[str, Any], dict[str, Any], str, str]:
    """A resource created, then replaced by an update that CloudFormation cancels while Bedrock still creates the
    replacement: (events, the old properties, the new, the old ARN, the replacement's ARN)."""
    events = CloudFormationEvents(resource_type=kind.resource_type)
    before = kind.properties(model_arn) | {"updateReplacePolicy": "Delete"}

    def ready(poll: int) -> None:
        (only,) = kind.live(bedrock, model_arn)
        getattr(bedrock, kind.set_status)(only, kind.ready)

    monkeypatch.setattr(index, "stack_status", lambda stack_id: "CREATE_IN_PROGRESS")
    created = driver.send(events.create(before), ready)
    assert created.status == "SUCCESS", created
    after = before | kind.replacing
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_IN_PROGRESS")
    # Only its onEvent runs: CloudFormation cancels the request before its polls answer.
    made = index.on_event(events.update(created.physical_id, after, before))["PhysicalResourceId"]
    assert made != created.physical_id
    assert kind.live(bedrock, model_arn) == sorted([created.physical_id, made])
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    return events, before, after, created.physical_id, made


@pytest.mark.parametrize("kind", KINDS.values(), ids=list(KINDS))
def test_the_rollback_polls_until_bedrock_lets_it_delete_what_the_cancelled_update_made(
    kind, driver, bedrock, model_arn, monkeypatch, clock
):
    monkeypatch.setenv(CLEANUP_WAIT_VARIABLE, "3480")
    events, before, after, old, made = cancelled_replacement(kind, driver, bedrock, model_arn, monkeypatch)
    deletes = len(bedrock.calls_to(kind.delete))

    def created_at_the_third_poll(poll: int) -> None:
        clock.seconds += 60
        if poll == 3:
            getattr(bedrock, kind.set_status)(made, kind.ready)

    response = driver.send(events.update(old, before, after), created_at_the_third_poll)

    assert (response.status, response.physical_id) == ("SUCCESS", old)
    assert kind.live(bedrock, model_arn) == [old]
    assert driver.ticks >= 2  # the rollback waited for Bedrock, rather than leaving it at once
    refused_then_deleted = bedrock.calls_to(kind.delete)[deletes:]
    assert refused_then_deleted and all(made in str(call) for call in refused_then_deleted)


@pytest.mark.parametrize("kind", KINDS.values(), ids=list(KINDS))
@pytest.mark.parametrize("created_at_poll", [None, 3], ids=["never created", "created at the wait's last poll"])
def test_the_rollback_ends_its_wait_before_the_provider_would_time_out_and_logs_only_what_stays(
    kind, created_at_poll, bedrock, model_arn, monkeypatch, clock, caplog
):
    """120 seconds, a minute a poll: the poll two minutes on is the wait's last. What Bedrock never let it delete is
    left, and logged as billed; what it let that last poll delete is not."""
    monkeypatch.setenv(CLEANUP_WAIT_VARIABLE, "120")
    driver = FrameworkDriver()
    events, before, after, old, made = cancelled_replacement(kind, driver, bedrock, model_arn, monkeypatch)

    def a_minute_a_poll(poll: int) -> None:
        clock.seconds += 60
        if poll == created_at_poll:
            getattr(bedrock, kind.set_status)(made, kind.ready)

    response = driver.send(events.update(old, before, after), a_minute_a_poll)

    assert (response.status, response.physical_id) == ("SUCCESS", old)
    assert driver.ticks == 2
    if created_at_poll is None:  # never created, so never deletable: left, and billed
        assert kind.live(bedrock, model_arn) == sorted([old, made])
        assert f"{made} is still being created or changed" in caplog.text
        assert "within the provider's total timeout" in caplog.text
    else:
        assert kind.live(bedrock, model_arn) == [old]
        assert "is billed" not in caplog.text


@pytest.mark.parametrize("wait", [None, "0"], ids=["unset", "no-time"])
def test_without_time_to_wait_the_rollback_answers_at_once_and_logs_what_stays(
    wait, bedrock, model_arn, monkeypatch, clock, caplog
):
    if wait is not None:
        monkeypatch.setenv(CLEANUP_WAIT_VARIABLE, wait)
    kind = KINDS["throughput"]
    driver = FrameworkDriver()
    events, before, after, old, made = cancelled_replacement(kind, driver, bedrock, model_arn, monkeypatch)

    answer = index.on_event(events.update(old, before, after))

    assert answer == {"PhysicalResourceId": old}
    assert kind.live(bedrock, model_arn) == sorted([old, made])
    assert f"{made} is still being created or changed" in caplog.text
    assert "leaves no time to wait for it" in caplog.text


def test_a_forged_mark_outside_a_rollback_update_is_not_acted_on(bedrock, model_arn, monkeypatch, clock):
    """The marks are read only in a poll of an Update: a Create's poll with them polls its own resource."""
    kind = KINDS["throughput"]
    events = CloudFormationEvents(resource_type=kind.resource_type)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "CREATE_IN_PROGRESS")
    create = events.create(kind.properties(model_arn))
    made = index.on_event(create)["PhysicalResourceId"]
    getattr(bedrock, kind.set_status)(made, kind.ready)
    marks = {index.DELETING_MARK: made, index.DELETING_UNTIL_MARK: str(clock.seconds + 600)}

    assert index.is_complete({**create, "PhysicalResourceId": made, "Data": marks})["IsComplete"] is True
    assert kind.live(bedrock, model_arn) == [made]


@pytest.mark.parametrize("kind", ["throughput", "deployment"])
def test_a_throttled_poll_does_not_end_the_wait(kind, bedrock, model_arn, monkeypatch, clock):
    """A delete that meets a transient error (throttled past botocore's retries) is asked again next poll, as a
    poll's own read that failed so is."""
    monkeypatch.setenv(CLEANUP_WAIT_VARIABLE, "3240")
    chosen = KINDS[kind]
    driver = FrameworkDriver()
    events, before, after, old, made = cancelled_replacement(chosen, driver, bedrock, model_arn, monkeypatch)
    attempts = bedrock.client().meta.config.retries["total_max_attempts"]

    def poll(number: int) -> None:
        clock.seconds += 60
        if number == 2:
            bedrock.throttle(attempts)
        if number == 4:  # created: Bedrock lets it be deleted now
            getattr(bedrock, chosen.set_status)(made, chosen.ready)

    response = driver.send(events.update(old, before, after), poll)

    assert (response.status, response.physical_id) == ("SUCCESS", old)
    assert chosen.live(bedrock, model_arn) == [old]


@pytest.mark.parametrize("kind", ["throughput", "deployment"])
@pytest.mark.parametrize("again_after", [90, 210, 300])
def test_a_rollback_update_delivered_again_ends_its_wait_within_the_single_functions_deadline(
    kind, again_after, bedrock, model_arn, monkeypatch, clock, single_function
):
    """The single function keeps a request's deadline from its first invocation when Lambda delivers the event
    again (a retry, a duplicate); the wait's end is counted from there too, or a delivery two or more intervals
    later would push it past the deadline and fail the rollback (UPDATE_ROLLBACK_FAILED). Bedrock creates the
    replacement throughout: the wait ends, and the rollback completes."""
    interval = POLLING_INTERVAL_MINUTES * 60
    monkeypatch.setenv(CLEANUP_WAIT_VARIABLE, str(TOTAL_TIMEOUT_SECONDS - 2 * interval))  # as the construct sets it
    chosen = KINDS[kind]
    driver = SingleFunctionDriver(single_function)
    events, before, after, old, _made = cancelled_replacement(chosen, driver, bedrock, model_arn, monkeypatch)
    rollback = single_function.addressed(events.update(old, before, after))

    single_function.invoke(rollback)
    clock.seconds += again_after
    single_function.invoke(rollback)
    for _ in range(TOTAL_TIMEOUT_SECONDS // interval + 5):
        if single_function.responses(rollback):
            break
        clock.seconds += interval
        single_function.play_schedule()

    (body,) = single_function.responses(rollback)
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", old), body["Reason"]
