"""Exact token counts of a local dataset's records, from Amazon Bedrock Runtime's CountTokens.

:func:`validate_dataset <.datasets.validate_dataset>` *estimates* each record's tokens as the published validators
do (:data:`~.datasets.CHARS_PER_TOKEN` characters per token) and warns about the records that may exceed the
model's limit (:data:`~.datasets.TOKEN_LIMITS`). :func:`count_tokens` asks the model's own tokenizer instead: it
sends each record, as a Converse request, to ``CountTokens`` (``POST /model/{modelId}/count-tokens``, input
``{"converse": {"messages", "system"}}``, output ``inputTokens``: botocore's ``bedrock-runtime`` service model) and
returns the records over the limit. It needs AWS credentials, and a model that CountTokens supports: the Bedrock
user guide ("Monitor your token usage by counting tokens before running inference") lists Anthropic Claude models
among others; for a model it does not support, Bedrock answers ``ValidationException`` and :class:`TokenCountError`
says so.

What is counted: each record's text, as the model reads it (system prompt, turns, reasoning text, tool use input
and results as text). Images, videos and documents are left out: they stay in S3, and their tokens are not
counted here.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .datasets import (
    CLAUDE_MESSAGES,
    CONVERSATION,
    CPT_INPUT,
    DISTILLATION_PROMPTS,
    FAMILY_NAMES,
    MAX_LINE_BYTES,
    OPENAI_CHAT,
    PROMPT_COMPLETION,
    DatasetError,
    cannot_read,
    format_rule,
    refuse_json_constant,
    token_limits_for,
)

__all__ = ["TokenCount", "TokenCountError", "bedrock_runtime_client", "count_tokens", "counting_model_id"]

COUNT_TOKENS_URL = "https://docs.aws.amazon.com/bedrock/latest/userguide/count-tokens.html"
# The context-window suffix of a customization base model id ("amazon.nova-micro-v1:0:128k"): inference, and so
# CountTokens, names the model without it ("amazon.nova-micro-v1:0").
_CONTEXT_SUFFIX = re.compile(r":\d+k$")


class TokenCountError(Exception):
    """CountTokens could not count a record; the message names the file, the line and Bedrock's answer."""


@dataclass(frozen=True)
class TokenCount:
    """A record (or its prompt or completion, ``part``) whose counted tokens exceed the limit."""

    path: str
    line: int
    part: str
    tokens: int
    limit: int
    source: str

    def __str__(self) -> str:
        what = "the record" if self.part == "record" else f"the {self.part}"
        return (
            f"{self.path}:{self.line}: {what} has {self.tokens:,} tokens (CountTokens), over the limit of "
            f"{self.limit:,} ({self.source})"
        )


def counting_model_id(base_model: str) -> str:
    """The model id that CountTokens takes for a customization base model (id or ARN): the foundation model's id
    without its context-window suffix."""
    model_id = base_model.rsplit(":foundation-model/", 1)[-1] if base_model.startswith("arn:") else base_model
    return _CONTEXT_SUFFIX.sub("", model_id)


def bedrock_runtime_client(region_name: str | None = None) -> Any | None:
    """A bedrock-runtime client when AWS credentials are present, else None (the caller skips exact counts).
    Raises :class:`TokenCountError` when no AWS Region is given or configured."""
    import boto3  # only when counting: validating needs no AWS SDK session
    from botocore.exceptions import BotoCoreError

    session = boto3.Session(region_name=region_name)
    try:
        if session.get_credentials() is None:
            return None
    except BotoCoreError:  # a source of credentials that is configured but does not answer
        return None
    if session.region_name is None:
        raise TokenCountError("counting tokens needs an AWS Region: set AWS_DEFAULT_REGION (or a profile's region)")
    return session.client("bedrock-runtime")


def count_tokens(
    path: str | os.PathLike[str],
    model_id: str,
    client: Any,
    *,
    customization_type: str = "FINE_TUNING",
    limit: int | None = None,
) -> list[TokenCount]:
    """Count each record's tokens of the JSON Lines dataset at ``path`` with CountTokens (one call per record, or
    per prompt and per completion where the model's limits are per part), streaming the file; return the records
    over the limit, in line order.

    ``model_id``: the base model (id or ARN, as the job names it). ``client``: a boto3 ``bedrock-runtime`` client.
    ``limit``: the tokens allowed per record; by default the model's documented limits
    (:func:`~.datasets.token_limits_for`). Validate the file first (:func:`~.datasets.validate_dataset`): records
    are read as valid. Raises :class:`TokenCountError` when Bedrock refuses a request, and ValueError when no
    limit is documented for the model and none is given.
    """
    display = str(path)
    rule = format_rule(model_id, customization_type)
    if limit is not None:
        limits = {"record": (limit, "the limit given")}
    else:
        documented = token_limits_for(rule.family, customization_type, model_id)
        if not documented:
            raise ValueError(
                f"no token limit is documented for {FAMILY_NAMES[rule.family]} {customization_type}; pass limit="
            )
        limits = {part: (known.tokens, known.source) for part, known in documented.items()}
    counting_id = counting_model_id(model_id)
    over: list[TokenCount] = []
    for line, record in _records(path, display):
        parts = ("prompt", "completion") if "record" not in limits else ("record",)
        for part in parts:
            converse = _converse_input(rule.format, record, part)
            if not converse["messages"]:
                continue  # nothing but media: no text to count
            tokens = _count(client, counting_id, converse, display, line)
            allowed, source = limits[part]
            if tokens > allowed:
                over.append(TokenCount(display, line, part, tokens, allowed, source))
    return over


def _records(path: str | os.PathLike[str], display: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each record and its line; a line longer than validation allows is refused unread (memory stays bounded)."""
    try:
        with open(path, "rb") as stream:
            line = 0
            while raw := stream.readline(MAX_LINE_BYTES + 1):  # at most one byte past the bound
                line += 1
                if len(raw) > MAX_LINE_BYTES:
                    raise DatasetError(
                        f"{display}:{line}: the line is longer than {MAX_LINE_BYTES} bytes; validate the file first"
                    )
                try:
                    record = json.loads(raw, parse_constant=refuse_json_constant)
                except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, too many digits, too deep
                    unreadable = f"{display}:{line}: not a JSON record ({exc}); validate the file first"
                    raise DatasetError(unreadable) from None
                if not isinstance(record, dict):
                    raise DatasetError(f"{display}:{line}: not a JSON object; validate the file first")
                yield line, record
    except OSError as exc:
        raise cannot_read(display, exc) from None


def _count(client: Any, model_id: str, converse: dict[str, Any], display: str, line: int) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = client.count_tokens(modelId=model_id, input={"converse": converse})
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise TokenCountError(
            f"{display}:{line}: CountTokens refused {model_id}: {error.get('Code', 'error')}: "
            f"{error.get('Message', exc)} (supported models: {COUNT_TOKENS_URL})"
        ) from None
    except BotoCoreError as exc:
        raise TokenCountError(f"{display}:{line}: CountTokens failed: {exc}") from None
    return int(response["inputTokens"])


# --- records as Converse input ----------------------------------------------------------------------


def _converse_input(fmt: str, record: dict[str, Any], part: str) -> dict[str, Any]:
    """The record's text as CountTokens' Converse input: {"messages": [...], "system": [...]} (system only when
    there is one). ``part``: "record", or "prompt" or "completion" of a prompt and completion record."""
    system: list[str] = []
    turns: list[tuple[str, str]] = []  # (role, text)
    if fmt == PROMPT_COMPLETION:
        if part in ("record", "prompt"):
            turns.append(("user", record["prompt"]))
        if part in ("record", "completion"):
            # A completion counted alone is sent as a user turn: the tokenizer is the same.
            turns.append(("assistant" if part == "record" else "user", record["completion"]))
    elif fmt == CPT_INPUT:
        turns.append(("user", record["input"]))
    elif fmt == CLAUDE_MESSAGES:
        if isinstance(record.get("system"), str):
            system.append(record["system"])
        turns += [(message["role"], message["content"]) for message in record["messages"]]
    elif fmt == OPENAI_CHAT:
        for message in record["messages"]:
            if message["role"] == "system":
                system.append(message["content"])
            else:
                turns.append((message["role"], message["content"]))
    elif fmt in (CONVERSATION, DISTILLATION_PROMPTS):
        system += [block["text"] for block in record.get("system", ()) if isinstance(block.get("text"), str)]
        for message in record["messages"]:
            turns += [(message["role"], text) for text in map(_block_text, message["content"]) if text]
    else:  # pragma: no cover - every format of FORMAT_RULES is above
        raise ValueError(f"unknown dataset format {fmt!r}")
    converse: dict[str, Any] = {"messages": _messages(turns)}
    if any(system):
        converse["system"] = [{"text": text} for text in system if text]
    return converse


def _block_text(block: dict[str, Any]) -> str:
    """A content block's text as the model reads it; "" for media (not counted)."""
    if isinstance(block.get("text"), str):
        return str(block["text"])
    if isinstance(block.get("reasoningContent"), dict):
        return str(block["reasoningContent"].get("reasoningText", {}).get("text", ""))
    if isinstance(block.get("toolUse"), dict):
        return json.dumps(block["toolUse"].get("input", {}))
    if isinstance(block.get("toolResult"), dict):
        items = block["toolResult"].get("content", [])
        return "\n".join(item["text"] if "text" in item else json.dumps(item.get("json")) for item in items)
    return ""


def _messages(turns: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Converse messages, as Converse takes them: texts that are not blank, the first turn the user's, and turns of one
    role in a row merged into one message (Converse alternates user and assistant). The tokenizer counts a text the
    same in either role."""
    messages: list[dict[str, Any]] = []
    for role, text in turns:
        if not text.strip():
            continue
        role = role if messages else "user"
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].append({"text": text})
        else:
            messages.append({"role": role, "content": [{"text": text}]})
    return messages
