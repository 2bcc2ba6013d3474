"""The single-function provider (bedrock_single_function, on crhelper) as Lambda runs it, in-process.

Its function is itself the ServiceToken. Lambda's side of it is played here:
- one ``SingleFunctionProvider`` per function, as one warm execution environment keeps one: built with
  ``ssl_verify`` set to the local response endpoint's CA (the module's ``handler`` would build one that trusts
  the system's CAs only), and called with the event and a Lambda context (function name, request id, the
  remaining time from the function's Timeout);
- the function exists in moto's Lambda (with a placeholder zip and a moto IAM role), since crhelper adds
  and removes the EventBridge rule's invoke permission on it; moto's AddPermission is made to refuse a
  statement id in use, as Lambda does (install_moto_compensations);
- the polling rules crhelper makes in moto's EventBridge, each with one target whose Input is the event to
  invoke the function with again, are read back (``polling_rules``, ``schedule``) for EventRules to play.
"""

from __future__ import annotations

import copy
import io
import json
import re
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import boto3
from bedrock_single_function.provider import SingleFunctionProvider
from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.policy import Policy
from moto.core.exceptions import JsonRESTError
from moto.events.models import EventsBackend

from ..emulation.patches import Patcher

HANDLER = "bedrock_single_function.provider.handler"
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_RULE_NAME = re.compile(r"[\.\-_A-Za-z0-9]{1,64}")
# EventBridge's limit on a target's Input (botocore's events model: TargetInput, max 8192; the
# AWS::Events::Rule resource schema: Target.Input maxLength 8192).
TARGET_INPUT_MAX_CHARACTERS = 8192
_ROLE_NAME = "deploy-local-lambda"  # moto's Lambda wants an existing role; IAM is not otherwise emulated


def install_moto_compensations(patch: Patcher) -> None:
    """What moto lacks and crhelper's polling relies on (patch restores it):
    - Lambda's AddPermission refuses a statement id that the function's policy has (ResourceConflictException);
      moto adds a second statement, which RemovePermission then leaves;
    - EventBridge's PutRule refuses a name that is not 1 to 64 of ``.-_A-Za-z0-9``; moto takes any;
    - EventBridge's PutTargets refuses a target whose Input has more than 8192 characters; moto takes any."""
    add_statement = Policy.add_statement
    put_rule = EventsBackend.put_rule
    put_targets = EventsBackend.put_targets

    def add_statement_once(policy: Any, raw: str, qualifier: str | None = None) -> Any:
        statement_id = json.loads(raw).get("StatementId")
        if any(statement.get("Sid") == statement_id for statement in policy.statements):
            raise _StatementExists(statement_id)
        return add_statement(policy, raw, qualifier)

    def put_valid_rule(backend: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if not _RULE_NAME.fullmatch(name):
            raise JsonRESTError(
                "ValidationException",
                f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must "
                "have length less than or equal to 64, Member must satisfy regular expression pattern: "
                "[\\.\\-_A-Za-z0-9]+",
            )
        return put_rule(backend, name, *args, **kwargs)

    def put_bounded_targets(backend: Any, name: str, event_bus_arn: Any, targets: Any) -> Any:
        for number, target in enumerate(targets, 1):
            if len(target.get("Input", "")) > TARGET_INPUT_MAX_CHARACTERS:
                raise JsonRESTError(
                    "ValidationException",
                    f"1 validation error detected: Value at 'targets.{number}.member.input' failed to satisfy "
                    f"constraint: Member must have length less than or equal to {TARGET_INPUT_MAX_CHARACTERS}",
                )
        return put_targets(backend, name, event_bus_arn, targets)

    patch.setattr(Policy, "add_statement", add_statement_once)
    patch.setattr(EventsBackend, "put_rule", put_valid_rule)
    patch.setattr(EventsBackend, "put_targets", put_bounded_targets)


class _StatementExists(LambdaClientError):
    code = 409

    def __init__(self, statement_id: str) -> None:
        super().__init__(
            "ResourceConflictException",
            f"The statement id ({statement_id}) provided already exists. Please provide a new statement id, or "
            "remove the existing statement.",
        )


def rate_seconds(expression: str) -> float | None:
    """The interval of an EventBridge ``rate(...)`` schedule expression, in seconds; None for others."""
    match = _RATE.fullmatch(expression)
    return int(match.group(1)) * _SECONDS[match.group(2).rstrip("s")] if match else None


def lambda_runtime_variables(function_name: str, region: str, memory: int) -> dict[str, str]:
    """What Lambda's runtime sets in a function's environment (crhelper reads AWS_REGION)."""
    return {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
    }


@dataclass
class LambdaContext:
    """The context object of Lambda's Python runtime, as far as handlers read it. now: the clock its remaining
    time is measured on (real seconds by default; the rehearsal's simulated seconds, where an
    invocation takes no simulated time)."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    now: Callable[[], float] = time.monotonic
    started: float | None = None

    def __post_init__(self) -> None:
        if self.started is None:
            self.started = self.now()

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[$LATEST]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        assert self.started is not None
        return max(int((self.timeout_seconds - (self.now() - self.started)) * 1000), 0)


@dataclass(frozen=True)
class Function:
    """What Lambda knows of a single function: its name, ARN and configuration."""

    name: str
    arn: str
    runtime: str
    timeout_seconds: float
    memory: int


@dataclass(frozen=True)
class Schedule:
    """A polling rule, as EventBridge plays it: its rate, and its targets as (function ARN, event)."""

    interval_seconds: float
    targets: tuple[tuple[str, dict[str, Any]], ...]


class SingleFunctionRuntime:
    """Lambda for the single functions of one stack. Not thread-safe: callers serialize (LocalStack.guard).
    now: the clock of the invocations' remaining time."""

    def __init__(self, region: str, ca_file: str, now: Callable[[], float] = time.monotonic) -> None:
        self.region = region
        self.ca_file = ca_file
        self.now = now
        self._providers: dict[str, tuple[tuple[tuple[str, str], ...], Any]] = {}
        self._registered: set[str] = set()

    @cached_property
    def _lambda(self) -> Any:
        return boto3.client("lambda", region_name=self.region)

    @cached_property
    def _events(self) -> Any:
        return boto3.client("events", region_name=self.region)

    def start(self, function: Function, environment: Mapping[str, str]) -> None:
        """The function was created: register it in moto's Lambda, and make its execution environment.
        Call it within invocation_environment(environment): the provider reads it when it is built."""
        self._register(function)
        self._provider(function, environment)

    def invoke(
        self, function: Function, environment: Mapping[str, str], payload: Mapping[str, Any], attempts: int = 1
    ) -> None:
        """Run the function on payload, attempts times (a retried invocation: the earlier results are lost).
        Call it within invocation_environment(environment) (see start)."""
        self._register(function)
        provider = self._provider(function, environment)
        for _ in range(attempts):
            context = LambdaContext(
                function.name, function.arn, function.memory, function.timeout_seconds, now=self.now
            )
            provider(copy.deepcopy(dict(payload)), context)

    def forget(self, function_name: str) -> None:
        """The function was deleted: its execution environment goes, and moto's copy (with its permissions)."""
        self._providers.pop(function_name, None)
        if function_name in self._registered:
            self._registered.discard(function_name)
            self._lambda.delete_function(FunctionName=function_name)

    def polling_rules(self, function_arn: str) -> list[str]:
        """The names of the EventBridge rules that target the function."""
        names: list[str] = []
        for page in self._events.get_paginator("list_rule_names_by_target").paginate(TargetArn=function_arn):
            names += page["RuleNames"]
        return names

    def schedule(self, rule_name: str) -> Schedule | None:
        """The rule's rate and targets; None once the rule is gone (or has no rate that is played)."""
        try:
            rule = self._events.describe_rule(Name=rule_name)
            targets = self._events.list_targets_by_rule(Rule=rule_name)["Targets"]
        except self._events.exceptions.ResourceNotFoundException:
            return None
        interval = rate_seconds(str(rule.get("ScheduleExpression", "")))
        if interval is None or rule.get("State") != "ENABLED":
            return None
        return Schedule(
            interval,
            tuple((str(target["Arn"]), json.loads(target["Input"]) if "Input" in target else {}) for target in targets),
        )

    def _provider(self, function: Function, environment: Mapping[str, str]) -> Any:
        """The function's provider; a new one (a new execution environment) when its environment changed."""
        key = tuple(sorted(environment.items()))
        known = self._providers.get(function.name)
        if known is None or known[0] != key:
            known = (key, SingleFunctionProvider(ssl_verify=self.ca_file))
            self._providers[function.name] = known
        return known[1]

    def _register(self, function: Function) -> None:
        if function.name in self._registered:
            return
        self._lambda.create_function(
            FunctionName=function.name,
            Runtime=function.runtime,
            Role=self._role_arn(),
            Handler=HANDLER,
            Code={"ZipFile": _placeholder_zip()},
            Timeout=int(function.timeout_seconds),
            MemorySize=function.memory,
        )
        self._registered.add(function.name)

    def _role_arn(self) -> str:
        iam = boto3.client("iam", region_name=self.region)
        try:
            return str(iam.get_role(RoleName=_ROLE_NAME)["Role"]["Arn"])
        except iam.exceptions.NoSuchEntityException:
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
            role = iam.create_role(RoleName=_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
            return str(role["Role"]["Arn"])


def _placeholder_zip() -> bytes:
    """moto's Lambda stores code; the function runs in-process from the installed package instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "The rehearsal runs this function in-process.\n")
    return buffer.getvalue()
