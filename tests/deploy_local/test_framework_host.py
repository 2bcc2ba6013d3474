"""The real CDK Provider framework runtime (framework.js from a freshly synthesized assembly), run by
FrameworkHost, with Python user functions and the Waiter playing the waiter state machine."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from cdk_bedrock_customization.rehearsal.clock import VirtualClock
from cdk_bedrock_customization.rehearsal.framework_host import (
    CallResult,
    Execution,
    FrameworkHost,
    FrameworkHostError,
    InvokeResult,
    Waiter,
)

ACCOUNT_REGION = "us-east-1:111122223333"
STACK_ID = f"arn:aws:cloudformation:{ACCOUNT_REGION}:stack/FrameworkHostTest/{uuid.uuid4()}"
CREATE_FAILED = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
Handler = Callable[[dict[str, Any]], Any]
# A real-time bound on waits for another thread, only so that a broken host fails instead of hanging.
HANG = 60.0


class Assembly:
    """A tiny synthesized app: Provider "Polling" (onEvent + isComplete, polls every 30 s for 2 minutes) and
    Provider "Direct" (onEvent only), with the template's references resolved to plausible ARNs."""

    def __init__(self, outdir: Path) -> None:
        app = cdk.App(outdir=str(outdir))
        stack = cdk.Stack(app, "FrameworkHostTest")
        code = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")

        def function(construct_id: str) -> lambda_.Function:
            return lambda_.Function(
                stack, construct_id, runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler", code=code
            )

        cr.Provider(
            stack,
            "Polling",
            on_event_handler=function("OnEvent"),
            is_complete_handler=function("IsComplete"),
            query_interval=cdk.Duration.seconds(30),
            total_timeout=cdk.Duration.minutes(2),
        )
        cr.Provider(stack, "Direct", on_event_handler=function("DirectOnEvent"))
        app.synth()
        self.dir = outdir
        self.resources: dict[str, Any] = json.loads((outdir / "FrameworkHostTest.template.json").read_text())[
            "Resources"
        ]

    def arn(self, logical_id: str) -> str:
        if self.resources[logical_id]["Type"] == "AWS::StepFunctions::StateMachine":
            return f"arn:aws:states:{ACCOUNT_REGION}:stateMachine:{logical_id}"
        return f"arn:aws:lambda:{ACCOUNT_REGION}:function:{logical_id}"

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            (key, argument), *_ = value.items()
            if key == "Ref" or (key == "Fn::GetAtt" and argument[1] == "Arn"):
                return self.arn(argument if key == "Ref" else argument[0])
            if key == "Fn::Join":
                return argument[0].join(str(self.resolve(part)) for part in argument[1])
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value

    def logical_id(self, prefix: str, handler: str | None = None) -> str:
        """The one resource whose logical id starts with prefix (and has this Handler)."""
        (found,) = [
            lid
            for lid, resource in self.resources.items()
            if lid.startswith(prefix) and (handler is None or resource["Properties"].get("Handler") == handler)
        ]
        return found

    def framework_function(self, provider: str, entry: str) -> tuple[Path, str, dict[str, str]]:
        """(asset dir, entry, environment) of a Provider's framework function, as the template has them."""
        properties = self.resources[self.logical_id(f"{provider}framework", f"framework.{entry}")]["Properties"]
        asset = self.dir / f"asset.{properties['Code']['S3Key'].removesuffix('.zip')}"
        assert (asset / "framework.js").is_file()
        return asset, entry, self.resolve(properties.get("Environment", {}).get("Variables", {}))


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    return Assembly(tmp_path_factory.mktemp("framework-host"))


class World:
    """Lambda, Step Functions and CloudFormation around a FrameworkHost, with Python user functions."""

    def __init__(self, assembly: Assembly) -> None:
        self.assembly = assembly
        self.handlers: dict[str, Handler] = {}  # by logical id of the user function
        self.invocations: list[tuple[str, dict[str, Any]]] = []  # (logical id, payload)
        self.invoke_attempts = 0
        self.responses: dict[str, bytes] = {}  # by ResponseURL path (and query)
        self.started: list[tuple[str, str]] = []
        self.executions: list[Execution] = []
        self.logs: list[str] = []
        # The waiters' time: the tests' own thread is not one of its actors, so only the waiters move it.
        self.clock = VirtualClock()
        self._arrived = threading.Condition()
        self.host = FrameworkHost(
            self.invoke_function, self.start_execution, self.deliver_response, log=self.logs.append
        )

    # the callbacks
    def invoke_function(self, function_arn: str, payload: dict[str, Any]) -> InvokeResult:
        self.invoke_attempts += 1
        logical_id = function_arn.rsplit(":", 1)[1]
        handler = self.handlers[logical_id]  # KeyError: as Lambda's ResourceNotFoundException
        self.invocations.append((logical_id, payload))
        try:
            return InvokeResult(handler(payload))
        except Exception as error:
            return InvokeResult.from_exception(error)

    def start_execution(self, state_machine_arn: str, execution_input: str) -> None:
        self.started.append((state_machine_arn, execution_input))
        machine = self.assembly.resources[state_machine_arn.rsplit(":", 1)[1]]
        waiter = Waiter(self.assembly.resolve(machine["Properties"]["DefinitionString"]), self.run_function, self.clock)

        def run() -> None:
            execution = waiter.run(execution_input)
            with self._arrived:
                self.executions.append(execution)
                self._arrived.notify_all()

        self.clock.spawn(run)

    def deliver_response(self, path: str, body: bytes) -> None:
        with self._arrived:
            self.responses[path] = body
            self._arrived.notify_all()

    def run_function(self, function_arn: str, event: dict[str, Any]) -> CallResult:
        resource = self.assembly.resources[function_arn.rsplit(":", 1)[1]]["Properties"]
        env = self.assembly.resolve(resource["Environment"]["Variables"])
        asset = self.assembly.dir / f"asset.{resource['Code']['S3Key'].removesuffix('.zip')}"
        return self.host.call(asset, resource["Handler"].split(".")[1], env, event)

    # CloudFormation's side
    def on_event(self, provider: str, event: dict[str, Any]) -> CallResult:
        return self.host.call(*self.assembly.framework_function(provider, "onEvent"), event)

    def response(self, event: dict[str, Any], timeout: float = HANG) -> dict[str, Any]:
        path = response_path(event)
        with self._arrived:
            assert self._arrived.wait_for(lambda: path in self.responses, timeout), "no response arrived"
            return dict(json.loads(self.responses[path]))

    def execution(self, count: int = 1, timeout: float = HANG) -> Execution:
        with self._arrived:
            assert self._arrived.wait_for(lambda: len(self.executions) >= count, timeout), "no execution ended"
            return self.executions[count - 1]

    def invoked(self, logical_prefix: str) -> list[dict[str, Any]]:
        user_function = self.assembly.logical_id(logical_prefix, "index.handler")
        return [payload for logical_id, payload in self.invocations if logical_id == user_function]


@pytest.fixture
def world(assembly: Assembly) -> Iterator[World]:
    world = World(assembly)
    with world.host:
        yield world


def cfn_event(
    world: World, request_type: str = "Create", physical_id: str | None = None, **properties: str
) -> dict[str, Any]:
    request_id = str(uuid.uuid4())
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:111122223333:function:framework-onEvent",
        "ResponseURL": (
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/"
            f"arn%3Aaws%3Acloudformation%3Aus-east-1%3A111122223333%3Astack/FrameworkHostTest/x%7CThing%7C{request_id}"
            f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=secret{request_id.replace('-', '')}"
        ),
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": "Thing",
        "ResourceType": "Custom::Thing",
        "ResourceProperties": {"ServiceToken": "token", **properties},
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    return event


def response_path(event: dict[str, Any]) -> str:
    return "/" + str(event["ResponseURL"]).split("/", 3)[3]


def handler_for(world: World, prefix: str, handler: Handler) -> None:
    world.handlers[world.assembly.logical_id(prefix, "index.handler")] = handler


def test_create_without_is_complete_submits_success_with_data_and_physical_id(world: World) -> None:
    handler_for(world, "DirectOnEvent", lambda event: {"PhysicalResourceId": "thing-1", "Data": {"Arn": "arn:t"}})
    event = cfn_event(world, Size="3")

    result = world.on_event("Direct", event)

    assert result.ok and result.result is None
    assert world.response(event) == {
        "Status": "SUCCESS",
        "Reason": "SUCCESS",
        "StackId": STACK_ID,
        "RequestId": event["RequestId"],
        "PhysicalResourceId": "thing-1",
        "LogicalResourceId": "Thing",
        "Data": {"Arn": "arn:t"},
    }
    assert world.started == []
    # The user function gets the real ResponseURL; the framework's logs only ever show it redacted.
    (payload,) = world.invoked("DirectOnEvent")
    assert payload["ResponseURL"] == event["ResponseURL"]
    assert payload["ResourceProperties"] == {"ServiceToken": "token", "Size": "3"}
    secret = event["ResponseURL"].split("?")[1]
    assert any("[provider-framework] submit response to cloudformation" in line for line in result.logs)
    assert not any(secret in line for line in result.logs + tuple(world.logs))


def test_create_whose_on_event_returns_nothing_gets_the_request_id_as_physical_id(world: World) -> None:
    handler_for(world, "DirectOnEvent", lambda event: None)
    event = cfn_event(world)
    assert world.on_event("Direct", event).ok
    response = world.response(event)
    assert response["Status"] == "SUCCESS" and response["PhysicalResourceId"] == event["RequestId"]
    assert "Data" not in response  # undefined in the framework's JSON


def test_is_complete_is_polled_by_the_waiter_until_complete(world: World) -> None:
    polls: list[tuple[dict[str, Any], int]] = []

    def is_complete(event: dict[str, Any]) -> dict[str, Any]:
        polls.append((event, len(world.responses)))
        return {"IsComplete": True, "Data": {"B": "2"}} if len(polls) == 3 else {"IsComplete": False}

    handler_for(world, "OnEvent", lambda event: {"PhysicalResourceId": "job-1", "Data": {"A": "1"}})
    handler_for(world, "IsComplete", is_complete)
    event = cfn_event(world)

    assert world.on_event("Polling", event).ok
    (state_machine, execution_input), *_ = world.started
    assert state_machine == world.assembly.framework_function("Polling", "onEvent")[2]["WAITER_STATE_MACHINE_ARN"]
    assert json.loads(execution_input)["ResponseURL"] == event["ResponseURL"]

    response = world.response(event)
    assert (response["Status"], response["PhysicalResourceId"]) == ("SUCCESS", "job-1")
    assert response["Data"] == {"A": "1", "B": "2"}  # onEvent's Data overlaid by isComplete's
    assert [responses_before for _, responses_before in polls] == [0, 0, 0]
    # Every poll gets the same input: the CloudFormation event merged with onEvent's result.
    assert all(poll == polls[0][0] for poll, _ in polls)
    assert polls[0][0]["PhysicalResourceId"] == "job-1" and polls[0][0]["Data"] == {"A": "1"}
    assert polls[0][0]["ResponseURL"] == event["ResponseURL"]
    execution = world.execution()
    assert execution.status == "SUCCEEDED"
    assert len(execution.invocations) == 3 and execution.waited_seconds == 60  # 2 retries, 30 s apart
    assert world.clock.now() == 60  # on the virtual clock, exactly


def test_is_complete_returning_data_while_incomplete_is_a_failure(world: World) -> None:
    handler_for(world, "OnEvent", lambda event: {"PhysicalResourceId": "job-2"})
    handler_for(world, "IsComplete", lambda event: {"IsComplete": False, "Data": {"Early": "x"}})
    event = cfn_event(world)
    assert world.on_event("Polling", event).ok
    response = world.response(event)
    assert (response["Status"], response["PhysicalResourceId"]) == ("FAILED", "job-2")
    assert response["Reason"].startswith('Error: "Data" is not allowed if "IsComplete" is "False"\n')
    assert world.execution().invocations == ("framework-isComplete-task",)  # the FAILED was submitted: no retry


def test_is_complete_retry_is_told_apart_from_errors(world: World, assembly: Assembly) -> None:
    handler_for(world, "IsComplete", lambda event: {"IsComplete": False})
    event = {**cfn_event(world), "PhysicalResourceId": "job-3"}
    result = world.host.call(*assembly.framework_function("Polling", "isComplete"), event)
    assert not result.ok and result.is_retry
    assert result.error_type == "Error"  # what Lambda reports for `class Retry extends Error {}`
    assert json.loads(result.error_message or "") == event
    assert world.responses == {}


def test_user_error_fails_with_its_message_and_logs_and_the_following_delete_is_skipped(world: World) -> None:
    def on_event(event: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("bad hyperparameters")

    handler_for(world, "DirectOnEvent", on_event)
    create = cfn_event(world)
    assert world.on_event("Direct", create).ok
    response = world.response(create)
    function_name = world.assembly.logical_id("DirectOnEvent", "index.handler")
    assert (response["Status"], response["PhysicalResourceId"]) == ("FAILED", CREATE_FAILED)
    assert response["Reason"].startswith(f"Error: bad hyperparameters\n\nLogs: /aws/lambda/{function_name}\n")

    delete = cfn_event(world, "Delete", physical_id=CREATE_FAILED)
    assert world.on_event("Direct", delete).ok
    response = world.response(delete)
    assert (response["Status"], response["PhysicalResourceId"]) == ("SUCCESS", CREATE_FAILED)
    assert len(world.invoked("DirectOnEvent")) == 1  # the Delete never reached the user function


def test_waiter_times_out_into_on_timeout(world: World, assembly: Assembly) -> None:
    handler_for(world, "OnEvent", lambda event: {"PhysicalResourceId": "job-4", "Data": {"A": "1"}})
    handler_for(world, "IsComplete", lambda event: {"IsComplete": False})
    event = cfn_event(world)
    assert world.on_event("Polling", event).ok

    response = world.response(event)
    assert (response["Status"], response["Reason"]) == ("FAILED", "Operation timed out")
    assert response["PhysicalResourceId"] == "job-4" and response["Data"] == {"A": "1"}
    execution = world.execution()
    assert execution.status == "SUCCEEDED"
    # total_timeout / query_interval = 4 retries after the first poll, then the Catch.
    assert execution.invocations == ("framework-isComplete-task",) * 5 + ("framework-onTimeout-task",)
    assert len(world.invoked("IsComplete")) == 5 and execution.waited_seconds == 120
    assert world.clock.now() == 120


def test_lambda_api_errors_are_retried_once_after_waiting_for_the_function(world: World, assembly: Assembly) -> None:
    asset, entry, env = assembly.framework_function("Direct", "onEvent")
    event = cfn_event(world)
    env = {**env, "USER_ON_EVENT_FUNCTION_ARN": f"arn:aws:lambda:{ACCOUNT_REGION}:function:Missing"}
    assert world.host.call(asset, entry, env, event).ok
    response = world.response(event)
    assert world.invoke_attempts == 2 and world.invocations == []
    assert response["Status"] == "FAILED" and response["Reason"].startswith("KeyError: 'Missing'\n")


def test_parallel_calls_keep_their_own_environment(world: World) -> None:
    events = [(provider, cfn_event(world)) for provider in ["Direct", "Polling"] * 6]
    # Every user function waits until all 12 run: they can only pass the barrier if the calls run at once.
    together = threading.Barrier(len(events), timeout=HANG)

    def meeting(result: dict[str, Any]) -> Handler:
        def handler(event: dict[str, Any]) -> dict[str, Any]:
            together.wait()
            return result

        return handler

    handler_for(world, "DirectOnEvent", meeting({"PhysicalResourceId": "direct"}))
    handler_for(world, "OnEvent", meeting({"PhysicalResourceId": "polled"}))
    handler_for(world, "IsComplete", lambda event: {"IsComplete": True})

    with ThreadPoolExecutor(len(events)) as pool:
        results = list(pool.map(lambda item: world.on_event(*item), events))
    assert all(result.ok for result in results)
    assert not together.broken  # all 12 user functions ran at once

    for provider, event in events:
        response = world.response(event)
        expected = "direct" if provider == "Direct" else "polled"
        assert (response["Status"], response["PhysicalResourceId"]) == ("SUCCESS", expected)
    # Only the Polling provider's onEvent saw WAITER_STATE_MACHINE_ARN and USER_IS_COMPLETE_FUNCTION_ARN.
    assert len(world.started) == 6
    assert {json.loads(text)["PhysicalResourceId"] for _, text in world.started} == {"polled"}
    assert world.execution(6).status == "SUCCEEDED"


def test_missing_module_or_entry_is_reported_as_lambda_would(world: World, tmp_path: Path, assembly: Assembly) -> None:
    missing = world.host.call(tmp_path, "onEvent", {}, {})
    assert (missing.ok, missing.error_type) == (False, "Runtime.ImportModuleError")
    asset, _, env = assembly.framework_function("Direct", "onEvent")
    not_exported = world.host.call(asset, "onDelete", env, {})
    assert (not_exported.ok, not_exported.error_type) == (False, "Runtime.HandlerNotFound")


def test_host_shuts_down_cleanly_after_an_error(assembly: Assembly) -> None:
    world = World(assembly)
    with pytest.raises(RuntimeError, match="in the middle"), world.host:
        port = world.host.port
        raise RuntimeError("in the middle")
    with pytest.raises(FrameworkHostError):
        world.host.call(*assembly.framework_function("Direct", "onEvent"), cfn_event(world))
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    world.host.close()  # idempotent


# --- Waiter alone ---------------------------------------------------------------------------------------

WAITER_DEFINITION = {
    "StartAt": "check",
    "States": {
        "check": {
            "Type": "Task",
            "Resource": "arn:check",
            "End": True,
            "Retry": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "IntervalSeconds": 2,
                    "MaxAttempts": 3,
                    "BackoffRate": 2,
                    "MaxDelaySeconds": 5,
                }
            ],
            "Catch": [{"ErrorEquals": ["Error"], "Next": "timeout"}],
        },
        "timeout": {"Type": "Task", "Resource": "arn:timeout", "End": True},
    },
}


def test_waiter_backs_off_then_catches_into_the_next_state() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def run_function(arn: str, event: dict[str, Any]) -> CallResult:
        calls.append((arn, event))
        if arn == "arn:check":
            return CallResult(
                False, error_type="Error", error_message=json.dumps(event), trace=("Error: x",), is_retry=True
            )
        return CallResult(True, {"handled": True})

    clock = VirtualClock()
    with clock.actor():
        execution = Waiter(json.dumps(WAITER_DEFINITION), run_function, clock).run('{"RequestId": "r"}')

    assert execution.status == "SUCCEEDED" and execution.output == {"handled": True}
    assert execution.waited_seconds == 2 + 4 + 5  # backoff 2, capped at MaxDelaySeconds
    assert clock.now() == 2 + 4 + 5
    assert [arn for arn, _ in calls] == ["arn:check"] * 4 + ["arn:timeout"]
    timeout_event = calls[-1][1]
    assert timeout_event["Error"] == "Error"
    # what framework.js's onTimeout reads: JSON.parse(JSON.parse(event.Cause).errorMessage)
    assert json.loads(json.loads(timeout_event["Cause"])["errorMessage"]) == {"RequestId": "r"}


def test_waiter_fails_when_no_catcher_matches() -> None:
    def run_function(arn: str, event: dict[str, Any]) -> CallResult:
        return CallResult(False, error_type="TypeError", error_message="boom")

    clock = VirtualClock()
    with clock.actor():
        execution = Waiter(WAITER_DEFINITION, run_function, clock).run("{}")
    assert (execution.status, execution.error) == ("FAILED", "TypeError")
    assert json.loads(execution.cause or "")["errorMessage"] == "boom"
    assert len(execution.invocations) == 4


def test_waiter_rejects_what_it_does_not_play() -> None:
    with pytest.raises(ValueError, match="only Lambda Task states"):
        Waiter(
            {"StartAt": "w", "States": {"w": {"Type": "Wait", "Seconds": 1, "End": True}}},
            lambda a, e: CallResult(True),
            VirtualClock(),
        )
