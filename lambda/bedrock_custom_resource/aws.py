"""Bedrock clients that read the service model shipped with this package.

The boto3 in Lambda's Python runtime lags behind PyPI and may not know newer members such as
rftConfig; pointing botocore's data path at botocore_data/ makes any runtime speak the same model
the contract validates against.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.loaders import Loader, create_loader

from .contract import SERVICE_DATA_PATH

# Standard mode retries throttling and transient errors with exponential backoff and jitter. An attempt waits at
# most 10 s to connect and 20 s for an answer (botocore's default is 60 s each; Bedrock's control plane answers in
# seconds): a call left unanswered is retried, and settled, well within the handler's time.
RETRIES, CONNECT_TIMEOUT, READ_TIMEOUT = 8, 10, 20
RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": RETRIES},
    connect_timeout=CONNECT_TIMEOUT,
    read_timeout=READ_TIMEOUT,
    user_agent_extra="cdk-bedrock-customization",
)
# Standard mode's longest backoff before a retry: 20 s, raised by up to 5 s more to an x-amz-retry-after header's
# value (botocore.retries.standard.ExponentialBackoff: _MAX_BACKOFF + _RETRY_AFTER_MAX_ADDITIONAL).
STANDARD_MAX_BACKOFF = 25
# The longest one call may take: every attempt connecting and reading until its timeout, the longest backoff before
# each retry.
ONE_CALL_AT_MOST_SECONDS = (RETRIES + 1) * (CONNECT_TIMEOUT + READ_TIMEOUT) + RETRIES * STANDARD_MAX_BACKOFF


@functools.cache
def _service_data() -> Loader:
    """The one loader of service models and endpoint data in this execution environment, botocore_data/ first.

    A new session's loader parses them again for its first client: about 200 ms of CPU per invocation, measured
    on this project's machine. The loader only reads files, so invocations share it; each client still gets a
    session of its own, which reads the credentials, Region and endpoint of its invocation when the client is made.
    (Not through boto3's Session: it appends a path of its own to the loader's search paths every time.)"""
    return create_loader(str(SERVICE_DATA_PATH))


# The clients of the request being handled (index._run sets it), by service: one client per service and request,
# rather than one per call (about 14 ms of CPU each, most of a handler test's time). Unset: a client per call.
REQUEST_CLIENTS: ContextVar[dict[str, Any] | None] = ContextVar("REQUEST_CLIENTS", default=None)


def _client(service: str) -> Any:
    shared = REQUEST_CLIENTS.get()
    if shared is None:
        return _new_client(service)
    if service not in shared:
        shared[service] = _new_client(service)
    return shared[service]


def _new_client(service: str) -> Any:
    core = botocore.session.get_session()
    core.register_component("data_loader", _service_data())
    return core.create_client(service, config=RETRY_CONFIG)


def bedrock_client() -> Any:
    return _client("bedrock")


def error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(error)


def cloudformation_client() -> Any:
    return _client("cloudformation")


def s3_client() -> Any:
    return _client("s3")


def listed(list_call: Callable[..., dict[str, Any]], summaries: str, **request: Any) -> Iterator[dict[str, Any]]:
    """Each summary a List operation answers (its summaries member), page after page. Paged by hand: the botocore
    of Lambda's runtime may have no paginator for it (DESIGN.md, fact 7)."""
    while True:
        page = list_call(**request)
        yield from page.get(summaries) or []
        if not page.get("nextToken"):
            return
        request["nextToken"] = page["nextToken"]
