"""CloudFormation's side of a custom resource: the request it sends to the ServiceToken (asynchronously, its
properties as strings), and the response it awaits on the ResponseURL, checked as CloudFormation checks it
(status, physical id, the 4096-byte limit)."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from bedrock_custom_resource.contract import as_cloudformation_sends

from .clock import VirtualClock
from .response_endpoint import ResponseEndpoint
from .stack_resources import ResourceFailed
from .template import Environment

RESPONSE_LIMIT_BYTES = 4096
# "Custom resource response objects": a PhysicalResourceId "can be up to 1 KB in size".
PHYSICAL_ID_LIMIT_BYTES = 1024
# Simulated seconds: CloudFormation's longest wait for a custom resource, from its request, unless its ServiceTimeout
# ("an integer from 1 to 3600", AWS::CloudFormation::CustomResource) is shorter. The providers stop polling early
# enough to answer within it (provider.answered_within_the_hour); no grace is given them.
CUSTOM_RESOURCE_TIMEOUT = 3600.0

# CloudFormation's reasons for the requests it stops waiting for when the operation fails elsewhere (a Delete is
# waited for).
CANCELLABLE = {"Create": "Resource creation cancelled", "Update": "Resource update cancelled"}

# A stand-in's answer: the response, or None for a request it never answers (in flight until cancelled or timed out).
StandIn = Callable[[dict[str, Any]], Mapping[str, Any] | None]


def is_custom(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource"


class CustomResourceRequests:
    """Sends one stack's custom resource requests. invoke_async(function ARN, event): Lambda's asynchronous
    invocation of the ServiceToken; stand_ins: ServiceToken -> a callable that gets each request sent to it
    and returns the response (Status, PhysicalResourceId, Data, Reason), in place of a function that would
    PUT it to the ResponseURL (for tests of the protocol)."""

    def __init__(
        self,
        env: Environment,
        clock: VirtualClock,
        responses: ResponseEndpoint,
        invoke_async: Callable[[str, Mapping[str, Any]], None],
        stand_ins: Mapping[str, StandIn] | None = None,
    ) -> None:
        self.env = env
        self.clock = clock
        self.responses = responses
        self.invoke_async = invoke_async
        self.stand_ins = dict(stand_ins or {})
        self._cancelled = False

    def cancel_requests(self, cancelled: bool = True) -> None:
        """Stop waiting for the creates and updates in flight (a stack operation failed: CloudFormation cancels them
        and ignores their responses), or wait again."""
        self._cancelled = cancelled
        self.clock.notify()

    def send(
        self,
        request_type: str,
        logical_id: str,
        resource_type: str,
        properties: dict[str, Any],
        old_properties: dict[str, Any] | None,
        physical_id: str | None,
    ) -> tuple[str, dict[str, Any]]:
        """Send one custom resource request to its ServiceToken, as CloudFormation does, and await the
        response on the ResponseURL. Returns (physical id, Data).

        A create or update still waiting when the operation fails elsewhere is cancelled (cancel_requests); a
        create cancelled or timed out keeps an id CloudFormation makes up, which its rollback sends a Delete."""
        request_id = str(uuid.uuid4())
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": properties["ServiceToken"],
            "ResponseURL": self.responses.url(request_id),
            "StackId": self.env.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": logical_id,
            "ResourceType": resource_type,
            "ResourceProperties": as_cloudformation_sends(properties),
        }
        if old_properties is not None:
            event["OldResourceProperties"] = as_cloudformation_sends(old_properties)
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        # The id CloudFormation makes up for a Create that gave it none it takes: its rollback sends that a Delete.
        made_up = f"{self.env.stack_name}-{logical_id}-{request_id.replace('-', '')[:12].upper()}"
        kept = made_up if request_type == "Create" else physical_id
        timeout = _service_timeout(logical_id, properties)
        stand_in = self.stand_ins.get(str(properties["ServiceToken"]))
        if stand_in is not None:
            answer = stand_in(event)
            if answer is not None:
                return _checked_response(logical_id, request_type, kept, json.dumps(answer).encode())
        body = self._response(event, stand_in is not None, timeout)
        if body is None:
            lost = kept if request_type == "Create" else None
            if self._is_cancelled(request_type):
                raise ResourceFailed(f"{logical_id}: {CANCELLABLE[request_type]}", lost)
            raise ResourceFailed(
                f"{logical_id}: CloudFormation did not receive a response from your Custom Resource", lost
            )
        return _checked_response(logical_id, request_type, kept, body)

    def _response(self, event: dict[str, Any], in_flight: bool, timeout: float) -> bytes | None:
        """The response's body, or None: none came within timeout (simulated seconds), or the request was
        cancelled. in_flight: a stand-in that never answers had the request."""
        cancelled = functools.partial(self._is_cancelled, event["RequestType"])
        if in_flight:
            self.clock.wait(cancelled, timeout)
            return None
        pending = self.responses.expect(event["RequestId"])
        # CloudFormation invokes the ServiceToken function asynchronously.
        logical_id = event["LogicalResourceId"]
        self.clock.spawn(self.invoke_async, event["ServiceToken"], event, name=f"invoke-{logical_id}")
        return pending.wait(timeout, unless=cancelled)

    def _is_cancelled(self, request_type: str) -> bool:
        return self._cancelled and request_type in CANCELLABLE


def _service_timeout(logical_id: str, properties: Mapping[str, Any]) -> float:
    """CloudFormation's wait for this resource's requests: its ServiceTimeout, else the hour."""
    given = properties.get("ServiceTimeout")
    if given is None:
        return CUSTOM_RESOURCE_TIMEOUT
    text = str(given)
    if not text.isdigit() or not 1 <= int(text) <= CUSTOM_RESOURCE_TIMEOUT:
        raise ResourceFailed(f"{logical_id}: ServiceTimeout {given!r} is not an integer from 1 to 3600")
    return float(text)


def _checked_response(
    logical_id: str, request_type: str, physical_id: str | None, body: bytes
) -> tuple[str, dict[str, Any]]:
    """The response, checked as CloudFormation checks it. physical_id: the resource's (a Create's, made up), which a
    failure without a valid id of its own keeps."""
    if len(body) > RESPONSE_LIMIT_BYTES:
        raise ResourceFailed(f"{logical_id}: Response object is too long ({len(body)} bytes; the limit is 4096)")
    response = json.loads(body)
    new_id = response.get("PhysicalResourceId")
    valid = isinstance(new_id, str) and 0 < len(new_id.encode()) <= PHYSICAL_ID_LIMIT_BYTES
    if response.get("Status") != "SUCCESS":
        reason = response.get("Reason", "no reason given")
        raise ResourceFailed(f"{logical_id}: {reason}", new_id if valid else physical_id)
    if not valid:
        raise ResourceFailed(f"{logical_id}: Invalid PhysicalResourceId", physical_id)
    if request_type == "Delete" and new_id != physical_id:
        raise ResourceFailed(f"{logical_id}: a Delete may not change the physical id")
    return new_id, dict(response.get("Data") or {})
