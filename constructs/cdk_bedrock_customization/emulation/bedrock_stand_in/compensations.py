"""Every patch the stand-in makes to moto's classes, installed (and undone) together: the jobs' compensations
(``jobs``), tags for the emulated resources, and a request the stand-in answered kept from moto.

moto answers every Bedrock error with HTTP 400; the service model gives each error shape its own status (a
ResourceNotFoundException is 404), which is what a client sees.

moto gap 10: moto's TagResource counts a request's tags plus one against Bedrock's 50 per resource; the stand-in
counts the tags the resource would keep (a key it has, given a new value, is no new tag).
"""

from __future__ import annotations

from typing import Any

from moto.bedrock.exceptions import BedrockClientError, ResourceNotFoundException
from moto.bedrock.models import BedrockBackend
from moto.core.botocore_stubber import BotocoreStubber

from ..patches import Patcher
from .bookkeeping import emulated_arns
from .jobs import install_job_compensations, refuse_too_many_tags
from .responses import error_status

# Set on a request that the stand-in answered itself (see _stubber_call).
ANSWERED = "stand_in_answered"

_ORIGINAL_LIST_ARNS = BedrockBackend._list_arns
_ORIGINAL_STUBBER_CALL = BotocoreStubber.__call__


def install_moto_compensations(monkeypatch: Patcher) -> None:
    """Patch moto's bedrock classes for one test; monkeypatch restores them."""
    install_job_compensations(monkeypatch)
    monkeypatch.setattr(BotocoreStubber, "__call__", _stubber_call)
    monkeypatch.setattr(BedrockBackend, "_list_arns", _list_arns)
    monkeypatch.setattr(BedrockBackend, "tag_resource", _tag_resource)
    monkeypatch.setattr(BedrockClientError, "code", property(_model_status))


def _stubber_call(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
    """botocore emits before-send to every handler (emit, not emit_until_response), so moto's stubber
    would still carry out a request the stand-in already answered (with ThrottlingException, or as the
    serving emulation). moto must not see it: a throttled request never reached the service, and a
    refused DeleteCustomModel must not delete the model."""
    if getattr(request, ANSWERED, False):
        return None
    return _ORIGINAL_STUBBER_CALL(self, event_name, request, **kwargs)


def _model_status(error: BedrockClientError) -> int:
    """The status moto answers a Bedrock error with: the service model's, not its 400 for every one."""
    return error_status(error.error_type)


def _list_arns(self: BedrockBackend) -> list[str]:
    """moto's tag operations accept only the ARNs this lists: the emulated resources are taggable too."""
    return [*_ORIGINAL_LIST_ARNS(self), *emulated_arns(self)]


def _tag_resource(self: BedrockBackend, resource_arn: str, tags: list[dict[str, str]]) -> None:
    """moto gap 10, and Bedrock's limit of tags on a resource, counting those it has (TooManyTagsException)."""
    if resource_arn not in self._list_arns():
        raise ResourceNotFoundException(f"Resource {resource_arn} not found")
    current = {tag["Key"] for tag in self.tagger.list_tags_for_resource(resource_arn)["Tags"]}
    refuse_too_many_tags(current | {tag["key"] for tag in tags})
    self.tagger.tag_resource(resource_arn, [{"Key": tag["key"], "Value": tag["value"]} for tag in tags])
