"""How the stand-in answers a request itself, before moto sees it: an emulated operation (``serve``) or an
injected throttle.

It reads the prepared HTTP request (its JSON body, path labels and query string) and returns a response that
botocore's rest-json parser parses, with the operation's HTTP status and only the errors its service model
lists, or a common one (``COMMON_ERRORS``).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bedrock_custom_resource import contract
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.model import OperationModel, Shape
from moto.bedrock.exceptions import BedrockClientError
from moto.bedrock.models import BedrockBackend, bedrock_backends
from moto.core.responses import BaseResponse
from moto.iam.models import get_account_id_from

from .bookkeeping import Handler
from .copies import COPY_KINDS, COPY_LISTINGS
from .evaluations import EVALUATION_KINDS, EVALUATION_LISTINGS
from .imports import IMPORT_KINDS, IMPORT_LISTINGS
from .serving import SERVING_KINDS, SERVING_LISTINGS
from .validation import refuse_invalid

# Every emulated operation, by name: the dispatch of serve.
SERVING_OPERATIONS: dict[str, Handler] = (
    {
        operation: handler
        for kind in (*SERVING_KINDS, *IMPORT_KINDS, *COPY_KINDS, *EVALUATION_KINDS)
        for operation, handler in kind.handlers().items()
    }
    | SERVING_LISTINGS
    | IMPORT_LISTINGS
    | COPY_LISTINGS
    | EVALUATION_LISTINGS
)
# Errors any operation may answer, listed in its service model or not (the common errors of the user guide's
# "Troubleshooting Amazon Bedrock API Error Codes"): input that fails the service's constraints is refused with
# ValidationException even by an operation that lists none (CreateModelCopyJob, for one).
COMMON_ERRORS = frozenset({"ValidationException"})

THROTTLING_BODY = {"__type": "ThrottlingException", "message": "Rate exceeded"}
_BEDROCK_HOST = re.compile(r"bedrock\.([a-z0-9-]+)\.amazonaws\.com")


def serve(request: Any, operation: str) -> AWSResponse | None:
    """Answer a request for an emulated operation, or None to leave it to moto."""
    handler = SERVING_OPERATIONS.get(operation)
    if handler is None:
        return None
    model = contract.service_model().operation_model(operation)
    assert model.input_shape is not None
    try:
        params = _request_params(model, request)
        refuse_invalid(model.input_shape, params)
        result = handler(_request_backend(request), params)
    except BedrockClientError as error:
        listed = {shape.name for shape in model.error_shapes}
        if error.error_type not in listed | COMMON_ERRORS:
            raise AssertionError(f"{operation} cannot answer {error.error_type}; it lists {sorted(listed)}") from error
        return error_response(request.url, error.error_type, error.message)
    if result is None:
        return None
    return json_response(request.url, model.http.get("responseCode", 200), result)


# --- requests -----------------------------------------------------------------------------------------


def _request_backend(request: Any) -> BedrockBackend:
    """The backend moto would pick for this request: its Region, and the account of its access key."""
    host = _BEDROCK_HOST.fullmatch(urlsplit(request.url).netloc)
    if host is None:
        raise AssertionError(f"the stand-in cannot tell the Region of {request.url}")
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    account = os.environ.get("MOTO_ACCOUNT_ID") or headers.get("x-moto-account-id")
    if not account:
        access_key = BaseResponse.access_key_regex.search(headers.get("authorization", ""))
        account = get_account_id_from(access_key.group("access_key") if access_key else "AKIAEXAMPLE")
    backend: BedrockBackend = bedrock_backends[account][host.group(1)]
    return backend


def _request_params(operation: OperationModel, request: Any) -> dict[str, Any]:
    """The members of a prepared rest-json request: its JSON body, its percent-encoded path labels and its
    query string."""
    params: dict[str, Any] = json.loads(request.body or b"{}")
    url = urlsplit(request.url)
    labels = operation.http["requestUri"].split("?", 1)[0].split("/")
    for label, segment in zip(labels, url.path.split("/"), strict=False):
        if label.startswith("{"):
            params[label.strip("{}+")] = unquote(segment)
    query = parse_qs(url.query, keep_blank_values=True)
    assert operation.input_shape is not None
    for name, member in operation.input_shape.members.items():
        key = member.serialization.get("name", name)
        if member.serialization.get("location") == "querystring" and key in query:
            params[name] = _query_value(member, query[key][0])
    return params


def _query_value(member: Shape, text: str) -> Any:
    """A query string value as its member's type; one that is not of it stays text, for validation to refuse.
    Timestamps stay text (ISO 8601, as botocore writes them)."""
    if member.type_name in ("integer", "long") and re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    return text


# --- responses ----------------------------------------------------------------------------------------


class _Body:
    """The raw body of a botocore AWSResponse (it reads raw.stream())."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self._body


def json_response(url: str, status: int, payload: Mapping[str, Any], error_type: str | None = None) -> AWSResponse:
    body = json.dumps(payload).encode()
    all_headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "x-amzn-RequestId": str(uuid.uuid4()),
    }
    if error_type:
        all_headers["x-amzn-ErrorType"] = error_type
    return AWSResponse(url, status, HTTPHeaders.from_dict(all_headers), _Body(body))


def error_status(code: str) -> int:
    """The HTTP status that the service model gives a Bedrock error's shape."""
    status: int = contract.shape(code).metadata["error"]["httpStatusCode"]
    return status


def error_response(url: str, code: str, message: str) -> AWSResponse:
    """A Bedrock error, with its status (error_status)."""
    return json_response(url, error_status(code), {"message": message}, error_type=code)


def throttling_response(url: str) -> AWSResponse:
    """What Bedrock answers when a caller exceeds its request rate."""
    return error_response(url, THROTTLING_BODY["__type"], THROTTLING_BODY["message"])
