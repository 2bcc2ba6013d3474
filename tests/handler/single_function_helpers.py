"""Running the single-function provider (lambda/bedrock_single_function) as Lambda and EventBridge would.

Inside the ``bedrock`` fixture's moto:
- ``ResponseEndpoint``: CloudFormation's pre-signed response URLs, the rehearsal's local HTTPS endpoint with a
  throwaway CA (trustme), keeping each request's responses; it can also hold PUTs unanswered.
- ``single_function`` (fixture): the environment the construct sets, a moto IAM role and Lambda function
  (crhelper adds its permission to it) and ``SingleFunction``, which invokes the provider, lists what
  polling left behind (``leftovers``) and plays the polling schedule (``play_schedule``: one tick
  invokes the function with each polling rule's target Input, as EventBridge does).
- ``Driver``: one request from CloudFormation's side, to its response. ``FrameworkDriver`` models the CDK
  Provider framework (onEvent, then isComplete at once and once per tick); ``SingleFunctionDriver`` runs
  crhelper's real code. Both answer the same ``Response``.

Three moto gaps are closed for the provider's tests by the rehearsal's ``install_moto_compensations`` (through
monkeypatch, for one test): Lambda refuses a second permission with a statement id the policy already has
(ResourceConflictException); EventBridge refuses a rule name that is longer than 64 characters or has
other characters than ``.-_A-Za-z0-9``; and its PutTargets refuses a target whose Input has more than 8192
characters (``TargetInput``'s ``max`` in botocore's events model, which botocore does not check on the client).
The Lambda context is the rehearsal's too.

Import the fixture into a test module as ``from .single_function_helpers import single_function_fixture``.
"""

from __future__ import annotations

import abc
import copy
import io
import json
import logging
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from bedrock_custom_resource import index, responses
from bedrock_single_function import provider as adapter
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn
from cdk_bedrock_customization.rehearsal import response_endpoint
from cdk_bedrock_customization.rehearsal.single_function import LambdaContext, install_moto_compensations
from moto.events.models import EventsBackend

from .conftest import ACCOUNT, CREATE_FAILED, REGION

FUNCTION_NAME = "my-stack-BedrockCustomizationProviderFunction-AbCdEf123456"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION_NAME}"
# As the construct makes it: a fixed prefix and the first group of the stack id's UUID.
RULE_PREFIX = "bedrock-cr-1a2b3c4d-"
POLLING_INTERVAL_MINUTES = 1
TOTAL_TIMEOUT_SECONDS = 3600
# EventBridge's limit on a target's Input (botocore's events model: TargetInput, max 8192).
TARGET_INPUT_MAX_CHARACTERS = 8192
# The loggers crhelper's log setup changes on every invocation; restored after each test.
_CRHELPER_LOGGERS = ("", "boto", "boto3", "botocore", "urllib3")

PollHook = Callable[[int], None]


# --- CloudFormation's response URL ----------------------------------------------------------------------


class ResponseEndpoint(response_endpoint.ResponseEndpoint):
    """The rehearsal's local HTTPS response endpoint (a throwaway CA in ``ca_file``), which keeps every response
    of a request; while ``answering`` is False it holds each PUT unanswered, as a hung endpoint, until it is
    closed."""

    def __init__(self) -> None:
        super().__init__()
        self.answering = True
        self._held = 0
        self._changed = threading.Condition()
        self._closing = threading.Event()
        self._requests: dict[str, response_endpoint.PendingResponse] = {}

    def url_for(self, request_id: str) -> str:
        """The request's ResponseURL; its responses are kept from now on."""
        if request_id not in self._requests:
            self._requests[request_id] = self.expect(request_id)
        return self.url(request_id)

    def bodies(self, request_id: str) -> list[dict[str, Any]]:
        """Every response of the request, oldest first."""
        return [json.loads(body) for body in self._requests[request_id].bodies]

    def deliver(self, path: str, body: bytes) -> None:
        if not self.answering:  # on the PUT's own thread: its connection waits
            with self._changed:
                self._held += 1
                self._changed.notify_all()
            self._closing.wait()
        super().deliver(path, body)

    def wait_for_held(self, count: int, timeout: float) -> bool:
        """True once count PUTs are being held unanswered."""
        with self._changed:
            return self._changed.wait_for(lambda: self._held >= count, timeout)

    def close(self) -> None:
        self._closing.set()  # held PUTs are answered, so that their clients end
        super().close()


# --- Lambda ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leftovers:
    """What polling has in the account: every EventBridge rule, each rule's targets, and the statements
    of the function's resource policy (crhelper's permissions for EventBridge)."""

    rules: dict[str, dict[str, Any]]
    targets: dict[str, list[dict[str, Any]]]
    statements: list[dict[str, Any]]

    @property
    def empty(self) -> bool:
        return not self.rules and not any(self.targets.values()) and not self.statements


@dataclass
class SingleFunction:
    """The single-function provider deployed in moto, with its response endpoint."""

    endpoint: ResponseEndpoint
    provider: adapter.SingleFunctionProvider
    # The name of every PutRule that reached EventBridge, in order.
    put_rules: list[str]

    def new_provider(self) -> adapter.SingleFunctionProvider:
        """A provider as a new Lambda execution environment builds it."""
        return adapter.SingleFunctionProvider(ssl_verify=self.endpoint.ca_file)

    def addressed(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """event, with its ResponseURL at the local endpoint (one per request)."""
        return {**copy.deepcopy(dict(event)), "ResponseURL": self.endpoint.url_for(event["RequestId"])}

    def responses(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        return self.endpoint.bodies(event["RequestId"])

    def invoke(
        self,
        event: Mapping[str, Any],
        *,
        instance: adapter.SingleFunctionProvider | None = None,
        timeout_seconds: float = 60.0,
    ) -> None:
        """One Lambda invocation (of instance, a new execution environment, if given); like Lambda, the
        handler gets its own copy of the event."""
        context = LambdaContext(FUNCTION_NAME, FUNCTION_ARN, 256, timeout_seconds)
        (instance or self.provider)(copy.deepcopy(dict(event)), context)

    def leftovers(self) -> Leftovers:
        events, functions = boto3.client("events", region_name=REGION), boto3.client("lambda", region_name=REGION)
        rules = {rule["Name"]: rule for rule in events.list_rules()["Rules"]}
        targets = {name: events.list_targets_by_rule(Rule=name)["Targets"] for name in rules}
        try:
            policy = json.loads(functions.get_policy(FunctionName=FUNCTION_NAME)["Policy"])
        except functions.exceptions.ResourceNotFoundException:  # no statement left: no policy at all
            statements = []
        else:
            statements = policy["Statement"]
        return Leftovers(rules, targets, statements)

    def play_schedule(self) -> int:
        """One tick: each polling rule invokes its targets with their Input, as EventBridge does when the
        rule's rate comes round. Checks on the way that EventBridge could: the rule is a schedule under the
        prefix, its target is the function, and the function's policy lets this rule invoke it.
        Returns how many invocations there were."""
        now = self.leftovers()
        invocations = 0
        for name, rule in sorted(now.rules.items()):
            assert name.startswith(RULE_PREFIX), f"rule {name} is not under the prefix the function may manage"
            assert rule["State"] == "ENABLED"
            assert rule["ScheduleExpression"] == f"rate({POLLING_INTERVAL_MINUTES} minute)"
            for target in now.targets[name]:
                assert target["Arn"] == FUNCTION_ARN, target
                assert _permits(now.statements, rule["Arn"]), f"the function's policy lets no rule {name} invoke it"
                self.invoke(json.loads(target["Input"]))
                invocations += 1
        return invocations


def _permits(statements: list[dict[str, Any]], rule_arn: str) -> bool:
    return any(
        statement["Effect"] == "Allow"
        and statement["Action"] == "lambda:InvokeFunction"
        and statement["Principal"] == {"Service": "events.amazonaws.com"}
        and statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn") == rule_arn
        for statement in statements
    )


@pytest.fixture(name="single_function")
def single_function_fixture(bedrock: BedrockStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[SingleFunction]:
    """The provider in moto, configured as the construct configures it, with its response endpoint (closed
    afterwards, while moto still runs)."""
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv(adapter.RULE_PREFIX_VARIABLE, RULE_PREFIX)
    monkeypatch.setenv(adapter.INTERVAL_VARIABLE, str(POLLING_INTERVAL_MINUTES))
    monkeypatch.setenv(adapter.TOTAL_TIMEOUT_VARIABLE, str(TOTAL_TIMEOUT_SECONDS))
    install_moto_compensations(monkeypatch)
    put_rules: list[str] = []  # every PutRule, refused or not
    checked_put_rule = EventsBackend.put_rule

    def recorded_put_rule(backend: EventsBackend, name: str, *args: Any, **kwargs: Any) -> Any:
        put_rules.append(name)
        return checked_put_rule(backend, name, *args, **kwargs)

    monkeypatch.setattr(EventsBackend, "put_rule", recorded_put_rule)
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="my-stack-BedrockCustomizationHandlerRole", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("provider.py", "")
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=FUNCTION_NAME,
        Runtime="python3.12",
        Role=role,
        Handler="provider.handler",
        Code={"ZipFile": code.getvalue()},
    )
    levels = {name: logging.getLogger(name).level for name in _CRHELPER_LOGGERS}
    endpoint = ResponseEndpoint()
    try:
        yield SingleFunction(endpoint, adapter.SingleFunctionProvider(ssl_verify=endpoint.ca_file), put_rules)
    finally:
        endpoint.close()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


# --- drivers ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """What CloudFormation receives at the response URL."""

    status: str
    physical_id: str
    data: dict[str, Any]
    reason: str


class Driver(abc.ABC):
    """One request from CloudFormation's side: its event in, its response out.

    ``send`` runs onEvent and a first isComplete at once, then one poll per tick until there is a response;
    ``before_each_poll(n)`` runs before each later poll (n = 2, 3, ...: the poll about to run), for the test
    to move Bedrock on. A response that does not come within max_ticks fails the test. ``ticks`` is how many
    ticks the last request took (0: answered at once)."""

    name: str
    create_failed: str  # the physical id that a failed Create answers, and whose Delete is skipped
    reason_limit: int  # the most characters a reason has
    ticks: int = 0

    @abc.abstractmethod
    def send(
        self, event: Mapping[str, Any], before_each_poll: PollHook | None = None, max_ticks: int = 10
    ) -> Response: ...

    @abc.abstractmethod
    def assert_nothing_left(self) -> None:
        """Nothing of polling is left in the account."""

    def _tick(self, before_each_poll: PollHook | None, max_ticks: int, event: Mapping[str, Any]) -> None:
        if self.ticks == max_ticks:
            pytest.fail(
                f"{self.name}: no response to {event['RequestType']} {event['LogicalResourceId']} after "
                f"{max_ticks} ticks"
            )
        self.ticks += 1
        if before_each_poll is not None:
            before_each_poll(self.ticks + 1)


class FrameworkDriver(Driver):
    """The CDK Provider framework's contract (aws-cdk-lib custom-resources/lib/provider-framework/runtime):
    a Delete of the CREATE_FAILED marker is answered at once; onEvent (the ResponseURL hidden from it); its
    result merged into the event (PhysicalResourceId defaulting to the RequestId for a Create, to the event's
    otherwise; a Delete may not change it); isComplete at once, then once per tick until complete;
    Data = onEvent's overlaid by isComplete's. An exception answers FAILED with its message: with the marker
    as physical id for a Create whose onEvent raised, else with the event's (for isComplete, onEvent's)."""

    name = "framework"
    create_failed = CREATE_FAILED
    reason_limit = responses.MAX_REASON_BYTES

    def send(self, event: Mapping[str, Any], before_each_poll: PollHook | None = None, max_ticks: int = 10) -> Response:
        self.ticks = 0
        request = {**copy.deepcopy(dict(event)), "ResponseURL": "..."}
        if request["RequestType"] == "Delete" and request.get("PhysicalResourceId") == CREATE_FAILED:
            return self._response("SUCCESS", request)
        try:
            result = index.on_event(copy.deepcopy(request)) or {}
            physical_id = result.get("PhysicalResourceId") or (
                request["RequestId"] if request["RequestType"] == "Create" else request["PhysicalResourceId"]
            )
            if request["RequestType"] == "Delete" and physical_id != request["PhysicalResourceId"]:
                raise RuntimeError("DELETE: cannot change the physical resource ID during deletion")
        except Exception as error:
            if request["RequestType"] == "Create":
                request["PhysicalResourceId"] = CREATE_FAILED
            return self._response("FAILED", request, str(error))
        resource_event = {**request, **result, "PhysicalResourceId": physical_id}
        while True:
            try:
                completion = index.is_complete(copy.deepcopy(resource_event))
                if not completion["IsComplete"] and completion.get("Data"):
                    raise RuntimeError('"Data" is not allowed if "IsComplete" is "False"')
            except Exception as error:
                return self._response("FAILED", resource_event, str(error))
            if completion["IsComplete"]:
                data = {**(resource_event.get("Data") or {}), **(completion.get("Data") or {})}
                return self._response("SUCCESS", {**resource_event, **completion, "Data": data})
            self._tick(before_each_poll, max_ticks, event)

    def assert_nothing_left(self) -> None:
        """The framework's polling is a Step Functions execution of its own stack: nothing in this account's
        moto to check."""

    @staticmethod
    def _response(status: str, event: Mapping[str, Any], reason: str | None = None) -> Response:
        return Response(status, event["PhysicalResourceId"], dict(event.get("Data") or {}), reason or status)


class SingleFunctionDriver(Driver):
    """crhelper's real code: invoke the function with the event, then play the schedule once per tick until
    the response PUT arrives. Checks each response's envelope, and that nothing of polling is left."""

    name = "single-function"
    create_failed = adapter.CREATE_FAILED
    reason_limit = adapter.MAX_REASON_CHARACTERS

    def __init__(self, single_function: SingleFunction) -> None:
        self.function = single_function

    def send(self, event: Mapping[str, Any], before_each_poll: PollHook | None = None, max_ticks: int = 10) -> Response:
        self.ticks = 0
        request = self.function.addressed(event)
        answered = len(self.function.responses(request))
        self.function.invoke(request)
        while len(self.function.responses(request)) == answered:
            self._tick(before_each_poll, max_ticks, event)
            if self.function.play_schedule() == 0:
                pytest.fail(f"no response to {event['RequestType']} {event['LogicalResourceId']}, and no poll due")
        new = self.function.responses(request)[answered:]
        assert len(new) == 1, new
        (body,) = new
        envelope = {key: body[key] for key in ("StackId", "RequestId", "LogicalResourceId", "NoEcho")}
        assert envelope == {key: event[key] for key in ("StackId", "RequestId", "LogicalResourceId")} | {
            "NoEcho": False
        }
        self.assert_nothing_left()
        return Response(body["Status"], body["PhysicalResourceId"], body["Data"], body["Reason"])

    def assert_nothing_left(self) -> None:
        leftovers = self.function.leftovers()
        assert leftovers.empty, leftovers
