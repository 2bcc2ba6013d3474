"""Harness for the job completion notifier (bedrock_custom_resource.notifier).

- ``SignalServer``: the wait condition handles. A local HTTP server (the rehearsal's LocalHttpServer) stands
  in for the presigned S3 URLs that CloudFormation gives a WaitConditionHandle; it records every PUT (path
  with query, headers, body) and answers 200, or the status a test sets for one handle.
- ``Stack``: the stack as ListStackResources and DescribeStackResource describe it, answered by a botocore
  ``Stubber`` on the handler's own CloudFormation client (so requests and responses are checked against
  CloudFormation's service model). ``expect_listing`` queues one listing, in one or more pages, and the
  description of each wait condition in progress; ``apply_signals`` plays CloudFormation receiving the
  signals (the wait condition leaves CREATE_IN_PROGRESS).
- ``state_change_event``: an EventBridge "Model Customization Job State Change" event, full envelope,
  its detail built from the job as Bedrock describes it.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.stub import Stubber
from cdk_bedrock_customization.rehearsal.local_http import HttpRequest, HttpResponse, LocalHttpServer

JOB = "Custom::BedrockModelCustomizationJob"
WAIT_HANDLE = "AWS::CloudFormation::WaitConditionHandle"
WAIT_CONDITION = "AWS::CloudFormation::WaitCondition"
# The construct's Metadata key on a job's wait condition (written here, not read from the code under test).
WAITS_FOR = "cdk-bedrock-customization:waitsFor"
EVENT_SOURCE = "aws.bedrock"
EVENT_DETAIL_TYPE = "Model Customization Job State Change"
# What CloudFormation makes of a wait condition once it has its signal (Count is 1).
CONDITION_STATUS_AFTER = {"SUCCESS": "CREATE_COMPLETE", "FAILURE": "CREATE_FAILED"}


# --- wait condition handles ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Put:
    """One PUT a handle received."""

    path: str  # path and query string, as sent
    headers: dict[str, str]  # names lower-cased
    raw: bytes

    @property
    def signal(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.raw)
        return result


class SignalServer:
    """Local stand-in for the handles' presigned S3 URLs (http://127.0.0.1:<random port>/...)."""

    def __init__(self) -> None:
        self.puts: list[Put] = []
        self.refusals: dict[str, int] = {}  # path -> HTTP status to answer instead of 200
        self.other_requests: list[tuple[str, str]] = []  # (method, path) of anything but a PUT
        self._lock = threading.Lock()
        self._server = LocalHttpServer(self._answer, name="signal-server").start()

    def _answer(self, request: HttpRequest) -> HttpResponse:
        with self._lock:
            if request.method != "PUT":
                self.other_requests.append((request.method, request.path))
                return HttpResponse(405)
            self.puts.append(Put(request.path, dict(request.headers), request.body))
        return HttpResponse(self.refusals.get(request.path, 200))

    @property
    def port(self) -> int:
        return self._server.port

    def handle_url(self, stack_id: str, logical_id: str) -> str:
        """A URL shaped like CloudFormation's presigned one: the quoted stack id and handle, a SigV4 query."""
        signature = uuid.uuid4().hex + uuid.uuid4().hex
        return (
            f"http://127.0.0.1:{self.port}/{quote(stack_id, safe='/')}/{logical_id}"
            "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20250101T000000Z&X-Amz-SignedHeaders=host"
            "&X-Amz-Expires=86399&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20250101%2Fus-east-1%2Fs3%2Faws4_request"
            f"&X-Amz-Signature={signature}"
        )

    def puts_to(self, url: str) -> list[Put]:
        return [put for put in self.puts if put.path == request_target(url)]

    def signals_to(self, url: str) -> list[dict[str, Any]]:
        return [put.signal for put in self.puts_to(url)]

    def refuse(self, url: str, status: int) -> None:
        self.refusals[request_target(url)] = status

    def close(self) -> None:
        self._server.stop()


def request_target(url: str) -> str:
    """The path and query that an HTTP client sends for url."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


# --- the stack -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobWait:
    """A job resource of the stack and the handle and wait condition that wait for it."""

    job_id: str
    handle_id: str
    condition_id: str
    handle_url: str


@dataclass
class Stack:
    """The stack's resources, answered to the notifier's ListStackResources through a Stubber."""

    stack_id: str
    client: Any  # a real botocore CloudFormation client
    server: SignalServer
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)  # template Metadata, by logical id
    waits: dict[str, JobWait] = field(default_factory=dict)  # by job logical id
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # CloudFormation calls made
    stubber: Stubber = field(init=False)

    def __post_init__(self) -> None:
        self.stubber = Stubber(self.client)
        self.stubber.activate()
        self.client.meta.events.register("provide-client-params.cloudformation", self._record_call)

    def _record_call(self, params: Mapping[str, Any], model: Any, **_kwargs: Any) -> None:
        self.calls.append((model.name, dict(params)))

    # building

    def add(self, logical_id: str, resource_type: str, physical_id: str, status: str = "CREATE_COMPLETE") -> None:
        self.resources[logical_id] = {
            "LogicalResourceId": logical_id,
            "PhysicalResourceId": physical_id,
            "ResourceType": resource_type,
            "LastUpdatedTimestamp": datetime.now(UTC),
            "ResourceStatus": status,
            "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
        }

    def add_unrelated(self) -> None:
        """What else a stack with an event-driven job holds: roles, policies, the notifier and its rules."""
        name = self.stack_id.split("/")[1]
        for logical_id, resource_type, physical_id in (
            ("BedrockCustomizationRole1A2B3C4D", "AWS::IAM::Role", f"{name}-BedrockCustomizationRole-1A2B3C4D5E6F"),
            ("BedrockJobCompletionNotifierRole5F6A7B8C", "AWS::IAM::Role", f"{name}-NotifierRole-9A8B7C6D5E4F"),
            (
                "BedrockJobCompletionNotifierFunctionC9D8E7F6",
                "AWS::Lambda::Function",
                f"{name}-BedrockJobCompletionNotifierFu-AbCdEf123456",
            ),
            (
                "BedrockJobCompletionNotifierJobStateChanges0A1B2C3D",
                "AWS::Events::Rule",
                f"{name}-BedrockJobCompletionNotifierJob-1QWERTY2UIOP3",
            ),
            (
                "BedrockJobCompletionNotifierBackstop4E5F6A7B",
                "AWS::Events::Rule",
                f"{name}-BedrockJobCompletionNotifierBac-4ASDFG5HJKL6",
            ),
            ("CDKMetadata", "AWS::CDK::Metadata", f"{self.stack_id}/CDKMetadata"),
        ):
            self.add(logical_id, resource_type, physical_id)

    def add_job(
        self, logical_id: str, job_arn: str, *, waited: bool = True, resource_type: str = JOB
    ) -> JobWait | None:
        """A job resource (of resource_type) and, when waited, its handle and its wait condition
        (CREATE_IN_PROGRESS), as the construct names them (JobWaitHandle<key>, WaitingForJob<key>) with the
        condition's Metadata naming both."""
        self.add(logical_id, resource_type, job_arn)
        if not waited:
            return None
        key = uuid.uuid4().hex[:8].upper()
        handle_id, condition_id = f"{logical_id}JobWaitHandle{key}", f"{logical_id}WaitingForJob{key}"
        handle_url = self.server.handle_url(self.stack_id, handle_id)
        self.add(handle_id, WAIT_HANDLE, handle_url)
        self.add(condition_id, WAIT_CONDITION, f"{self.stack_id}/{condition_id}", "CREATE_IN_PROGRESS")
        self.metadata[condition_id] = {
            "aws:cdk:path": f"{self.stack_id.split('/')[1]}/{logical_id}/WaitingForJob{key}",
            WAITS_FOR: {"job": logical_id, "handle": handle_id},
        }
        wait = JobWait(logical_id, handle_id, condition_id, handle_url)
        self.waits[logical_id] = wait
        return wait

    def set_status(self, logical_id: str, status: str) -> None:
        self.resources[logical_id]["ResourceStatus"] = status
        self.resources[logical_id]["LastUpdatedTimestamp"] = datetime.now(UTC)

    def condition_status(self, job_id: str) -> str:
        return str(self.resources[self.waits[job_id].condition_id]["ResourceStatus"])

    def apply_signals(self) -> None:
        """CloudFormation processes the signals received: each signalled wait condition ends."""
        for wait in self.waits.values():
            signals = self.server.signals_to(wait.handle_url)
            if signals and self.condition_status(wait.job_id) == "CREATE_IN_PROGRESS":
                self.set_status(wait.condition_id, CONDITION_STATUS_AFTER[signals[0]["Status"]])

    # the listing

    def expect_listing(self, pages: Sequence[Sequence[str]] | None = None) -> None:
        """Queue the answer to one ListStackResources listing: every resource on one page, or the pages given
        (lists of logical ids, together every resource), linked by NextToken; then DescribeStackResource's
        answer for each wait condition in progress, in the listing's order."""
        logical_ids = [list(self.resources)] if pages is None else [list(page) for page in pages]
        assert sorted(i for page in logical_ids for i in page) == sorted(self.resources), (
            "pages must hold every resource once"
        )
        token = None
        for number, page in enumerate(logical_ids, start=1):
            response: dict[str, Any] = {"StackResourceSummaries": [dict(self.resources[i]) for i in page]}
            expected: dict[str, Any] = {"StackName": self.stack_id}
            if token is not None:
                expected["NextToken"] = token
            if number < len(logical_ids):
                token = f"page-{number + 1}-{uuid.uuid4().hex}"
                response["NextToken"] = token
            self.stubber.add_response("list_stack_resources", response, expected)
        for logical_id in (i for page in logical_ids for i in page):
            if self._waiting_condition(logical_id):
                self.stubber.add_response(
                    "describe_stack_resource",
                    {"StackResourceDetail": self.description(logical_id)},
                    {"StackName": self.stack_id, "LogicalResourceId": logical_id},
                )

    def _waiting_condition(self, logical_id: str) -> bool:
        resource = self.resources[logical_id]
        return bool(resource["ResourceType"] == WAIT_CONDITION and resource["ResourceStatus"] == "CREATE_IN_PROGRESS")

    def description(self, logical_id: str) -> dict[str, Any]:
        """DescribeStackResource's StackResourceDetail: the template's Metadata as a JSON string."""
        resource = self.resources[logical_id]
        detail = {name: value for name, value in resource.items() if name != "LastUpdatedTimestamp"}
        detail.update(StackName=self.stack_id.split("/")[1], StackId=self.stack_id)
        detail["LastUpdatedTimestamp"] = resource["LastUpdatedTimestamp"]
        if logical_id in self.metadata:
            detail["Metadata"] = json.dumps(self.metadata[logical_id])
        return detail


# --- events ----------------------------------------------------------------------------------------------

_DETAIL_FIELDS = (
    "jobName",
    "jobArn",
    "outputModelName",
    "outputModelArn",
    "roleArn",
    "failureMessage",
    "creationTime",
    "lastModifiedTime",
    "endTime",
    "baseModelArn",
    "hyperParameters",
    "trainingDataConfig",
    "validationDataConfig",
    "outputDataConfig",
)


def state_change_event(job: Mapping[str, Any], status: str | None = None) -> dict[str, Any]:
    """The event Bedrock sends when job (as GetModelCustomizationJob describes it) changes state; status
    overrides the jobStatus it reports."""
    arn_parts = str(job["jobArn"]).split(":")
    detail = {"version": "0.0"}
    detail.update({name: job[name] for name in _DETAIL_FIELDS if job.get(name) is not None})
    detail["jobStatus"] = status or job["status"]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": EVENT_DETAIL_TYPE,
        "source": EVENT_SOURCE,
        "account": arn_parts[4],
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": arn_parts[3],
        "resources": [job["jobArn"]],
        "detail": detail,
    }


def wait_started_event(stack: Stack, condition_id: str, status: str = "CREATE_IN_PROGRESS") -> dict[str, Any]:
    """The event CloudFormation sends when a resource of the stack changes status, with the detail fields of the
    user guide's "Resource Status Change event detail" page."""
    arn_parts = stack.stack_id.split(":")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CloudFormation Resource Status Change",
        "source": "aws.cloudformation",
        "account": arn_parts[4],
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": arn_parts[3],
        "resources": [stack.stack_id],
        "detail": {
            "stack-id": stack.stack_id,
            "logical-resource-id": condition_id,
            "physical-resource-id": "",
            "status-details": {"status": status, "status-reason": ""},
            "resource-type": WAIT_CONDITION,
            "client-request-token": f"Console-CreateStack-{uuid.uuid4()}",
        },
    }
