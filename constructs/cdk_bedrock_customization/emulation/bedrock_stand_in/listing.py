"""How the emulated List operations select, sort and page what they list, as the service model describes their
requests: creationTimeAfter and creationTimeBefore (ISO 8601 in the query string), nameContains, sortOrder
(by creation time, newest first unless asked otherwise), maxResults and nextToken. An operation's own filters
(statusEquals and the like) are its own module's."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from bedrock_custom_resource import contract

from .bookkeeping import Params, R
from .validation import BedrockValidationException

# The service model's MaxResults maximum, given when a list request asks for no page size.
MAX_RESULTS = int(contract.shape("MaxResults").metadata["max"])


def page(resources: Iterable[R], params: Params) -> tuple[list[R], str | None]:
    """The page a list request asks for, of the resources it selects (by name, when it gives nameContains, and
    by creation time) in the order it asks for (newest first unless it says otherwise), and the token of the
    next page, if there is one."""
    after, before = moment(params, "creationTimeAfter"), moment(params, "creationTimeBefore")
    contains = params.get("nameContains")
    selected = [
        resource
        for resource in resources
        if (contains is None or contains in (resource.name or ""))
        and (after is None or resource.created > after)
        and (before is None or resource.created < before)
    ]
    selected.sort(key=lambda resource: resource.created, reverse=params.get("sortOrder") != "Ascending")
    start = offset(params.get("nextToken"))
    end = start + params.get("maxResults", MAX_RESULTS)
    return selected[start:end], str(end) if end < len(selected) else None


def moment(params: Params, member: str) -> datetime | None:
    """A timestamp of the query string, as botocore writes it (ISO 8601)."""
    value = params.get(member)
    if value is None:
        return None
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        raise BedrockValidationException(
            f"Value '{value}' at '{member}' failed to satisfy constraint: Member must be a timestamp"
        ) from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def offset(next_token: str | None) -> int:
    """Where the page a nextToken names starts (the stand-in's tokens are offsets)."""
    if next_token is None:
        return 0
    if not re.fullmatch(r"[0-9]+", next_token):
        raise BedrockValidationException(f"Invalid pagination token {next_token}")
    return int(next_token)
