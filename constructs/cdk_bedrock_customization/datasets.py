"""Synth-time validation of a local ``.jsonl`` dataset for an Amazon Bedrock model customization job.

:func:`validate_dataset` streams the file line by line (it never holds more than one line) and checks
each record against the format Amazon Bedrock documents for the customization type and the base
model's family, then the record-count, size and file-size quotas in :data:`QUOTAS`. The first problem
found raises :class:`DatasetError`, whose message names the file, the 1-based line number and what is
wrong, for example ``data/train.jsonl:12: messages[1].role: expected "assistant" after a user turn, got
"user"``. Problems with the whole file (empty, too few records, too large) name the file only.

Which format, by customization type and model family (:data:`FORMAT_RULES` cites a page for each):

* Fine-tuning, prompt/completion records ``{"prompt": ..., "completion": ...}``: Amazon Titan Text
  (G1 - Express, G1 - Lite, Premier), Cohere Command (and Light) and Meta Llama 3.1, the
  "non-conversational models" of `Prepare data for fine-tuning your models
  <https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-prepare.html>`_, and Meta Llama
  2, "Fine-tuning: Text-to-text" in that page's earlier model table.
* Fine-tuning, ``bedrock-conversation-2024`` records (optional ``system`` list of ``{"text"}``,
  ``messages`` alternating ``user``/``assistant``, first ``user``, last ``assistant``, each ``content`` a
  list of ``{"text"}`` blocks, or image/video blocks in user turns): Meta Llama 3.2 and 3.3 ("Converse API
  format", same page) and Amazon Nova (`Preparing data for fine-tuning Understanding models
  <https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html>`_, which
  also reserves the keywords ``User:``, ``Bot:``, ``Assistant:``, ``System:``, ``<image>``, ``<video>``
  and ``[EOS]`` in user and system prompts). Single- and multi-turn conversations are both accepted.
* Fine-tuning Anthropic Claude 3 Haiku: ``{"system": "...", "messages": [{"role": ..., "content": "..."}]}``
  with string contents, single- or multi-turn (same Bedrock page).
* Continued pre-training, ``{"input": ...}`` records and nothing else: Amazon Titan Text G1 - Express and
  G1 - Lite (`Prepare datasets for continued pre-training
  <https://docs.aws.amazon.com/bedrock/latest/userguide/dataset-prep-continued-pretraining.html>`_).
* Distillation, prompts in ``bedrock-conversation-2024`` (``schemaVersion`` exactly that value; user
  prompt first, an assistant reply optional): `Prepare your training datasets for distillation
  <https://docs.aws.amazon.com/bedrock/latest/userguide/distillation-prepare-datasets.html>`_, where the
  page's bullet spells the value ``bedrock-conversion-2024`` but every example uses
  ``bedrock-conversation-2024``; this module accepts the latter. "Anthropic and Meta Llama models support
  only single-turn conversation prompts"; Amazon Nova takes multi-turn ones (`Preparing data for
  distilling understanding models <https://docs.aws.amazon.com/nova/latest/userguide/custom-distill-prepare.html>`_).
* Reinforcement fine-tuning of Amazon Nova: the OpenAI chat completion format, ``{"messages":
  [{"role": "system" | "user" | "assistant", "content": "..."}], "reference_answer": ...}`` plus any
  fields the grader reads (`Prepare data for Amazon Nova models
  <https://docs.aws.amazon.com/bedrock/latest/userguide/rft-prepare-data.html>`_). Other families have no
  documented local format for it and are refused.

Quotas documented as the *sum* of training and validation records (Meta Llama 3.x, Claude 3 Haiku)
bound each file's count from above here; :func:`check_total_records` checks the sum once every file of a
job is validated. Several quotas are adjustable with Service Quotas: pass ``quotas={name: value}`` (or
``None`` to skip one) to use your account's value. Token limits are not checked (counting tokens needs the
model's tokenizer) except where a page converts them to a character quota ("Token quota x 6").
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = [
    "CUSTOMIZATION_TYPES",
    "FORMAT_RULES",
    "PURPOSES",
    "QUOTAS",
    "DatasetError",
    "DatasetSummary",
    "FormatRule",
    "Quota",
    "check_total_records",
    "model_family",
    "quotas_for",
    "validate_dataset",
]

CUSTOMIZATION_TYPES = ("FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION", "REINFORCEMENT_FINE_TUNING")
PURPOSES = ("training", "validation")

# Formats (DatasetSummary.format)
PROMPT_COMPLETION = "prompt-completion"
CONVERSATION = "bedrock-conversation-2024"
CLAUDE_MESSAGES = "claude-3-haiku-messages"
CPT_INPUT = "continued-pre-training-input"
DISTILLATION_PROMPTS = "bedrock-conversation-2024-prompts"
OPENAI_CHAT = "openai-chat-completion"

SCHEMA_VERSION = "bedrock-conversation-2024"

# Documentation pages. Each quota and format rule below names the one it comes from.
_BEDROCK = "https://docs.aws.amazon.com/bedrock/latest/userguide/"
PREPARE_URL = _BEDROCK + "model-customization-prepare.html"
REQUIREMENTS_URL = PREPARE_URL + "#model-training-validation-requirements"
# The same tables as a page of their own, in a version that still lists continued pre-training.
REQUIREMENTS_CPT_URL = _BEDROCK + "model-training-validation-requirements.html"
CPT_URL = _BEDROCK + "dataset-prep-continued-pretraining.html"
SUPPORTED_URL = _BEDROCK + "custom-model-supported.html"
DISTILLATION_URL = _BEDROCK + "distillation-prepare-datasets.html"
DISTILLATION_LIMITS_URL = _BEDROCK + "distillation-data-prep-option-2.html"
RFT_URL = _BEDROCK + "rft-prepare-data.html"
RFT_SOURCES_URL = _BEDROCK + "rft-training-data-sources.html"
_NOVA = "https://docs.aws.amazon.com/nova/latest/"
NOVA_FINE_TUNING_URL = _NOVA + "userguide/fine-tune-prepare-data-understanding.html"
NOVA_CONSTRAINTS_URL = NOVA_FINE_TUNING_URL + "#custom-fine-tune-constraints"
NOVA_DISTILLATION_URL = _NOVA + "userguide/custom-distill-prepare.html"
NOVA2_FINE_TUNING_URL = _NOVA + "nova2-userguide/nova-fine-tune-2.html"

# "GB" and "MB" in the quota tables are read as binary units, the larger reading, so that no file
# within the documented size is refused.
_MB = 1 << 20
_GB = 1 << 30


class DatasetError(ValueError):
    """A local dataset does not match the documented format or quotas; the message says where and why."""


class _Invalid(Exception):
    """A record-level problem; validate_dataset prefixes the file and line number."""


# --- model families -------------------------------------------------------------------------------

FAMILY_NAMES: dict[str, str] = {
    "nova": "Amazon Nova (Micro, Lite, Pro)",
    "nova-2": "Amazon Nova 2 Lite",
    "titan-text-express": "Amazon Titan Text G1 - Express",
    "titan-text-lite": "Amazon Titan Text G1 - Lite",
    "titan-text-premier": "Amazon Titan Text Premier",
    "claude-3-haiku": "Anthropic Claude 3 Haiku",
    "cohere-command": "Cohere Command",
    "llama-2": "Meta Llama 2",
    "llama-3.1": "Meta Llama 3.1",
    "llama-3.2": "Meta Llama 3.2",
    "llama-3.3": "Meta Llama 3.3",
}

# Model-id prefixes (as in https://docs.aws.amazon.com/bedrock/latest/userguide/custom-model-fine-tuning.html)
_FAMILY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("amazon.nova-2-lite-", "nova-2"),
    ("amazon.nova-micro-", "nova"),
    ("amazon.nova-lite-", "nova"),
    ("amazon.nova-pro-", "nova"),
    ("amazon.titan-text-express-", "titan-text-express"),
    ("amazon.titan-text-lite-", "titan-text-lite"),
    ("amazon.titan-text-premier-", "titan-text-premier"),
    ("anthropic.claude-3-haiku-", "claude-3-haiku"),
    ("cohere.command-text-", "cohere-command"),
    ("cohere.command-light-text-", "cohere-command"),
    ("meta.llama2-", "llama-2"),
    ("meta.llama3-1-", "llama-3.1"),
    ("meta.llama3-2-", "llama-3.2"),
    ("meta.llama3-3-", "llama-3.3"),
)


def model_family(base_model: str) -> str | None:
    """The family key (of :data:`FAMILY_NAMES`) of a foundation model id or ARN, or None if unknown."""
    model_id = base_model.rsplit(":foundation-model/", 1)[-1] if base_model.startswith("arn:") else base_model
    for prefix, family in _FAMILY_PREFIXES:
        if model_id.startswith(prefix):
            return family
    return None


# --- formats ----------------------------------------------------------------------------------------


class FormatRule(NamedTuple):
    """The dataset format a model family takes for a customization type, and the page that says so."""

    family: str
    customization_type: str
    format: str
    multi_turn: bool  # for conversation formats: more than one user turn per record allowed
    source: str


FORMAT_RULES: tuple[FormatRule, ...] = (
    FormatRule("titan-text-express", "FINE_TUNING", PROMPT_COMPLETION, False, PREPARE_URL + "#preparing-text-data"),
    FormatRule("titan-text-lite", "FINE_TUNING", PROMPT_COMPLETION, False, PREPARE_URL + "#preparing-text-data"),
    FormatRule("titan-text-premier", "FINE_TUNING", PROMPT_COMPLETION, False, PREPARE_URL + "#preparing-text-data"),
    FormatRule("cohere-command", "FINE_TUNING", PROMPT_COMPLETION, False, PREPARE_URL + "#preparing-text-data"),
    FormatRule("llama-3.1", "FINE_TUNING", PROMPT_COMPLETION, False, PREPARE_URL + "#preparing-text-data"),
    FormatRule("llama-2", "FINE_TUNING", PROMPT_COMPLETION, False, PREPARE_URL),
    FormatRule("llama-3.2", "FINE_TUNING", CONVERSATION, True, PREPARE_URL + "#preparing-text-data"),
    FormatRule("llama-3.3", "FINE_TUNING", CONVERSATION, True, PREPARE_URL + "#preparing-text-data"),
    FormatRule("claude-3-haiku", "FINE_TUNING", CLAUDE_MESSAGES, True, PREPARE_URL + "#preparing-text-data"),
    FormatRule("nova", "FINE_TUNING", CONVERSATION, True, NOVA_FINE_TUNING_URL),
    FormatRule("nova-2", "FINE_TUNING", CONVERSATION, True, NOVA2_FINE_TUNING_URL),
    FormatRule("titan-text-express", "CONTINUED_PRE_TRAINING", CPT_INPUT, False, CPT_URL),
    FormatRule("titan-text-lite", "CONTINUED_PRE_TRAINING", CPT_INPUT, False, CPT_URL),
    FormatRule("nova", "DISTILLATION", DISTILLATION_PROMPTS, True, NOVA_DISTILLATION_URL),
    FormatRule("claude-3-haiku", "DISTILLATION", DISTILLATION_PROMPTS, False, DISTILLATION_URL),
    FormatRule("llama-3.1", "DISTILLATION", DISTILLATION_PROMPTS, False, DISTILLATION_URL),
    FormatRule("llama-3.2", "DISTILLATION", DISTILLATION_PROMPTS, False, DISTILLATION_URL),
    FormatRule("llama-3.3", "DISTILLATION", DISTILLATION_PROMPTS, False, DISTILLATION_URL),
    FormatRule("nova", "REINFORCEMENT_FINE_TUNING", OPENAI_CHAT, True, RFT_URL),
    FormatRule("nova-2", "REINFORCEMENT_FINE_TUNING", OPENAI_CHAT, True, RFT_URL),
)

# --- quotas -----------------------------------------------------------------------------------------

QUOTA_NAMES: dict[str, str] = {
    "min_training_records": "the minimum of training records",
    "max_training_records": "the maximum of training records",
    "max_validation_records": "the maximum of validation records",
    "min_total_records": "the minimum of training and validation records together",
    "max_total_records": "the maximum of training and validation records together",
    "max_record_chars": "the character quota per record",
    "max_prompt_chars": "the character quota per prompt",
    "max_completion_chars": "the character quota per completion",
    "max_training_bytes": "the training dataset file size quota",
    "max_validation_bytes": "the validation dataset file size quota",
}


class Quota(NamedTuple):
    """One documented limit: ``value`` for ``name`` (a key of :data:`QUOTA_NAMES`), per family and type."""

    family: str
    customization_type: str
    name: str
    value: int
    source: str
    note: str = ""


_X6 = "token quota x 6 characters per token, as the table estimates"
_DISTILLED = ("nova", "claude-3-haiku", "llama-3.1", "llama-3.2", "llama-3.3")

QUOTAS: tuple[Quota, ...] = (
    # Amazon Titan Text Premier: 4,096 tokens at batch size 1 (its only batch size).
    Quota("titan-text-premier", "FINE_TUNING", "max_record_chars", 4_096 * 6, REQUIREMENTS_URL, _X6),
    Quota("titan-text-premier", "FINE_TUNING", "max_training_bytes", 1 * _GB, REQUIREMENTS_URL),
    Quota("titan-text-premier", "FINE_TUNING", "max_validation_bytes", 100 * _MB, REQUIREMENTS_URL),
    # Amazon Titan Text G1 - Express: 4,096 tokens at batch size 1 (2,048 at 2 to 4; the batch size is a
    # hyperparameter, so the larger quota applies here).
    Quota("titan-text-express", "FINE_TUNING", "max_record_chars", 4_096 * 6, REQUIREMENTS_URL, _X6),
    Quota("titan-text-express", "FINE_TUNING", "max_training_bytes", 1 * _GB, REQUIREMENTS_URL),
    Quota("titan-text-express", "FINE_TUNING", "max_validation_bytes", 100 * _MB, REQUIREMENTS_URL),
    Quota("titan-text-express", "CONTINUED_PRE_TRAINING", "max_record_chars", 4_096 * 6, REQUIREMENTS_CPT_URL, _X6),
    Quota("titan-text-express", "CONTINUED_PRE_TRAINING", "max_training_bytes", 10 * _GB, REQUIREMENTS_CPT_URL),
    Quota("titan-text-express", "CONTINUED_PRE_TRAINING", "max_validation_bytes", 100 * _MB, REQUIREMENTS_CPT_URL),
    # Amazon Titan Text G1 - Lite: 4,096 tokens at batch size 1 or 2.
    Quota("titan-text-lite", "FINE_TUNING", "max_record_chars", 4_096 * 6, REQUIREMENTS_URL, _X6),
    Quota("titan-text-lite", "FINE_TUNING", "max_training_bytes", 1 * _GB, REQUIREMENTS_URL),
    Quota("titan-text-lite", "FINE_TUNING", "max_validation_bytes", 100 * _MB, REQUIREMENTS_URL),
    Quota("titan-text-lite", "CONTINUED_PRE_TRAINING", "max_record_chars", 4_096 * 6, REQUIREMENTS_CPT_URL, _X6),
    Quota("titan-text-lite", "CONTINUED_PRE_TRAINING", "max_training_bytes", 10 * _GB, REQUIREMENTS_CPT_URL),
    Quota("titan-text-lite", "CONTINUED_PRE_TRAINING", "max_validation_bytes", 100 * _MB, REQUIREMENTS_CPT_URL),
    # Meta Llama 3.1: 16,000 input and output tokens together.
    Quota("llama-3.1", "FINE_TUNING", "max_record_chars", 16_000 * 6, REQUIREMENTS_URL, _X6),
    Quota("llama-3.1", "FINE_TUNING", "min_total_records", 100, REQUIREMENTS_URL),
    Quota("llama-3.1", "FINE_TUNING", "max_total_records", 10_000, REQUIREMENTS_URL, "adjustable (Service Quotas)"),
    Quota("llama-3.2", "FINE_TUNING", "min_total_records", 100, REQUIREMENTS_URL),
    Quota("llama-3.2", "FINE_TUNING", "max_total_records", 10_000, REQUIREMENTS_URL, "adjustable (Service Quotas)"),
    Quota("llama-3.3", "FINE_TUNING", "min_total_records", 100, REQUIREMENTS_URL),
    Quota("llama-3.3", "FINE_TUNING", "max_total_records", 10_000, REQUIREMENTS_URL, "adjustable (Service Quotas)"),
    # Cohere Command: 4,096 input and 2,048 output tokens.
    Quota("cohere-command", "FINE_TUNING", "max_prompt_chars", 4_096 * 6, REQUIREMENTS_URL, _X6),
    Quota("cohere-command", "FINE_TUNING", "max_completion_chars", 2_048 * 6, REQUIREMENTS_URL, _X6),
    Quota("cohere-command", "FINE_TUNING", "max_training_records", 10_000, REQUIREMENTS_URL),
    Quota("cohere-command", "FINE_TUNING", "max_validation_records", 1_000, REQUIREMENTS_URL),
    # Anthropic Claude 3 Haiku ("Maximum tokens 32,000" has no character equivalent in the table).
    Quota("claude-3-haiku", "FINE_TUNING", "min_training_records", 32, REQUIREMENTS_URL),
    Quota("claude-3-haiku", "FINE_TUNING", "max_training_records", 10_000, REQUIREMENTS_URL),
    Quota("claude-3-haiku", "FINE_TUNING", "max_validation_records", 1_000, REQUIREMENTS_URL),
    Quota(
        "claude-3-haiku", "FINE_TUNING", "max_total_records", 10_000, REQUIREMENTS_URL, "adjustable (Service Quotas)"
    ),
    Quota("claude-3-haiku", "FINE_TUNING", "max_training_bytes", 10 * _GB, REQUIREMENTS_URL),
    Quota("claude-3-haiku", "FINE_TUNING", "max_validation_bytes", 1 * _GB, REQUIREMENTS_URL),
    # Amazon Nova Micro, Lite and Pro (context length 32k tokens: not checked).
    Quota("nova", "FINE_TUNING", "min_training_records", 8, NOVA_CONSTRAINTS_URL),
    Quota("nova", "FINE_TUNING", "max_training_records", 20_000, NOVA_CONSTRAINTS_URL),
    # Distillation: "a maximum of 15K prompts or prompt-response pairs"; at least 100 ("highly
    # recommend" on the Bedrock page, a hard minimum on the Nova one).
    *(
        Quota(
            family,
            "DISTILLATION",
            "min_training_records",
            100,
            NOVA_DISTILLATION_URL if family == "nova" else DISTILLATION_LIMITS_URL,
            "" if family == "nova" else "documented as a strong recommendation",
        )
        for family in _DISTILLED
    ),
    *(
        Quota(
            family,
            "DISTILLATION",
            "max_training_records",
            15_000,
            NOVA_DISTILLATION_URL if family == "nova" else DISTILLATION_LIMITS_URL,
        )
        for family in _DISTILLED
    ),
    # Reinforcement fine-tuning: at least 100 records, at most 20K prompts.
    Quota("nova", "REINFORCEMENT_FINE_TUNING", "min_training_records", 100, RFT_SOURCES_URL),
    Quota("nova", "REINFORCEMENT_FINE_TUNING", "max_training_records", 20_000, RFT_URL),
    Quota("nova-2", "REINFORCEMENT_FINE_TUNING", "min_training_records", 100, RFT_SOURCES_URL),
    Quota("nova-2", "REINFORCEMENT_FINE_TUNING", "max_training_records", 20_000, RFT_URL),
)


def quotas_for(family: str, customization_type: str) -> dict[str, Quota]:
    """The documented quotas of a model family for a customization type, by quota name."""
    return {q.name: q for q in QUOTAS if q.family == family and q.customization_type == customization_type}


def _limits(
    family: str, customization_type: str, overrides: Mapping[str, int | None] | None
) -> dict[str, tuple[int, str]]:
    """Quota name -> (value, source) after the caller's overrides (None removes a quota)."""
    limits = {name: (q.value, q.source) for name, q in quotas_for(family, customization_type).items()}
    for name, value in (overrides or {}).items():
        if name not in QUOTA_NAMES:
            raise ValueError(f"unknown quota {name!r}; known quotas: {', '.join(QUOTA_NAMES)}")
        if value is None:
            limits.pop(name, None)
        else:
            limits[name] = (value, "quota override")
    return limits


# --- record validators ------------------------------------------------------------------------------

Validator = Callable[[dict[str, Any]], None]
_MISSING: Any = object()
_JSON_KINDS = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number"}


def _kind(value: Any) -> str:
    if value is _MISSING:
        return "nothing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return _JSON_KINDS.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else _kind(value)


def _over(what: str, count: int, limit: tuple[int, str]) -> _Invalid:
    value, source = limit
    return _Invalid(f"{what} has {count} characters, over the quota of {value} ({source})")


def _prompt_completion(limits: Mapping[str, tuple[int, str]]) -> Validator:
    record_limit = limits.get("max_record_chars")
    prompt_limit = limits.get("max_prompt_chars")
    completion_limit = limits.get("max_completion_chars")

    def validate(record: dict[str, Any]) -> None:
        prompt = record.get("prompt", _MISSING)
        completion = record.get("completion", _MISSING)
        if type(prompt) is not str:
            raise _Invalid(f"prompt: expected a string, got {_kind(prompt)}")
        if type(completion) is not str:
            raise _Invalid(f"completion: expected a string, got {_kind(completion)}")
        if prompt_limit is not None and len(prompt) > prompt_limit[0]:
            raise _over("prompt", len(prompt), prompt_limit)
        if completion_limit is not None and len(completion) > completion_limit[0]:
            raise _over("completion", len(completion), completion_limit)
        if record_limit is not None and len(prompt) + len(completion) > record_limit[0]:
            raise _over("prompt and completion", len(prompt) + len(completion), record_limit)

    return validate


def _cpt_input(limits: Mapping[str, tuple[int, str]]) -> Validator:
    record_limit = limits.get("max_record_chars")

    def validate(record: dict[str, Any]) -> None:
        text = record.get("input", _MISSING)
        if type(text) is not str:
            raise _Invalid(f"input: expected a string, got {_kind(text)}")
        if len(record) > 1:
            extra = next(key for key in record if key != "input")
            raise _Invalid(f'{extra}: unexpected field; continued pre-training records hold only "input"')
        if record_limit is not None and len(text) > record_limit[0]:
            raise _over("input", len(text), record_limit)

    return validate


_NOVA_RESERVED = re.compile(r"User:|Bot:|Assistant:|System:|<image>|<video>|\[EOS\]")
_IMAGE_FORMATS = frozenset(("png", "jpeg", "gif", "webp"))  # Nova and Llama 3.2 Vision pages
_VIDEO_FORMATS = frozenset(("mov", "mkv", "mp4", "webm"))  # Nova page
_NOVA_MAX_IMAGES = 10  # per sample, Nova "Image and video constraints"
_NOVA_MAX_VIDEOS = 1


def _check_media(block: dict[str, Any], where: str) -> str:
    """An image or video content block (user turns only); returns "image" or "video"."""
    media = "image" if "image" in block else "video"
    body = block[media]
    if len(block) != 1 or type(body) is not dict:
        raise _Invalid(f'{where}: expected one of "text", "image" or "video" per content block')
    formats = _IMAGE_FORMATS if media == "image" else _VIDEO_FORMATS
    fmt = body.get("format", _MISSING)
    if type(fmt) is not str or fmt not in formats:
        raise _Invalid(f"{where}.{media}.format: expected one of {', '.join(sorted(formats))}, got {_show(fmt)}")
    source = body.get("source")
    location = source.get("s3Location") if type(source) is dict else None
    uri = location.get("uri") if type(location) is dict else None
    if type(uri) is not str or not uri.startswith("s3://"):
        raise _Invalid(f'{where}.{media}.source.s3Location.uri: expected an "s3://" URI, got {_show(uri)}')
    return media


def _conversation(
    *,
    family: str,
    prompts: bool,
    multi_turn: bool,
    reserved: re.Pattern[str] | None,
    reasoning: bool,
    media_limits: bool,
) -> Validator:
    """bedrock-conversation-2024 records; with ``prompts``, distillation prompts (may end on a user turn)."""
    search = reserved.search if reserved is not None else None
    family_name = FAMILY_NAMES[family]

    def check_reserved(text: str, where: str) -> None:
        if search is not None and (found := search(text)) is not None:
            raise _Invalid(
                f"{where}: contains the reserved keyword {json.dumps(found.group())}, which fails "
                f"{family_name} training ({NOVA_FINE_TUNING_URL})"
            )

    def validate(record: dict[str, Any]) -> None:
        schema = record.get("schemaVersion", _MISSING)
        if prompts:
            if schema != SCHEMA_VERSION:
                raise _Invalid(f'schemaVersion: expected "{SCHEMA_VERSION}", got {_show(schema)}')
        elif schema is not _MISSING and type(schema) is not str:
            raise _Invalid(f"schemaVersion: expected a string, got {_kind(schema)}")
        system = record.get("system", _MISSING)
        if system is not _MISSING:
            if type(system) is not list:
                raise _Invalid(f'system: expected a list of {{"text": ...}} blocks, got {_kind(system)}')
            for i, block in enumerate(system):
                text = block.get("text", _MISSING) if type(block) is dict else _MISSING
                if type(text) is not str:
                    raise _Invalid(f'system[{i}]: expected {{"text": "..."}}, got {_kind(block)}')
                if search is not None:
                    check_reserved(text, f"system[{i}].text")
        messages = record.get("messages", _MISSING)
        if type(messages) is not list or not messages:
            raise _Invalid(f"messages: expected a non-empty list of messages, got {_kind(messages)}")
        expected = "user"
        images = videos = 0
        for i, message in enumerate(messages):
            if type(message) is not dict:
                raise _Invalid(f"messages[{i}]: expected an object, got {_kind(message)}")
            role = message.get("role", _MISSING)
            if role != expected:
                if role != "user" and role != "assistant":
                    raise _Invalid(f'messages[{i}].role: expected "user" or "assistant", got {_show(role)}')
                if i == 0:
                    raise _Invalid('messages[0].role: expected "user" first, got "assistant"')
                previous = "a user" if expected == "assistant" else "an assistant"
                raise _Invalid(f'messages[{i}].role: expected "{expected}" after {previous} turn, got "{role}"')
            if i == 2 and not multi_turn:
                raise _Invalid(
                    f"messages[2]: {family_name} takes single-turn prompts only (one user message, "
                    f"optionally one assistant reply), got {len(messages)} messages ({DISTILLATION_URL})"
                )
            content = message.get("content", _MISSING)
            if type(content) is not list or not content:
                raise _Invalid(
                    f"messages[{i}].content: expected a non-empty list of content blocks, got {_kind(content)}"
                )
            for j, block in enumerate(content):
                if type(block) is not dict:
                    raise _Invalid(f"messages[{i}].content[{j}]: expected an object, got {_kind(block)}")
                text = block.get("text", _MISSING)
                if type(text) is str:
                    if search is not None and role == "user":
                        check_reserved(text, f"messages[{i}].content[{j}].text")
                    continue
                where = f"messages[{i}].content[{j}]"
                if text is not _MISSING:
                    raise _Invalid(f"{where}.text: expected a string, got {_kind(text)}")
                if "image" in block or "video" in block:
                    if role != "user":
                        raise _Invalid(f"{where}: assistant turns hold text only")
                    if _check_media(block, where) == "image":
                        images += 1
                    else:
                        videos += 1
                elif reasoning and role == "assistant" and "reasoningContent" in block:
                    body = block["reasoningContent"]
                    reasoning_text = body.get("reasoningText") if type(body) is dict else None
                    if type(reasoning_text) is not dict or type(reasoning_text.get("text")) is not str:
                        raise _Invalid(f'{where}.reasoningContent: expected {{"reasoningText": {{"text": "..."}}}}')
                else:
                    raise _Invalid(
                        f'{where}: expected a {{"text": "..."}} block, got keys {", ".join(block) or "none"}'
                    )
            expected = "assistant" if role == "user" else "user"
        if media_limits and (images > _NOVA_MAX_IMAGES or videos > _NOVA_MAX_VIDEOS):
            raise _Invalid(
                f"messages: {images} images and {videos} videos; {family_name} takes at most "
                f"{_NOVA_MAX_IMAGES} images or {_NOVA_MAX_VIDEOS} video per record ({NOVA_CONSTRAINTS_URL})"
            )
        if not prompts and expected == "assistant":
            last = len(messages) - 1
            raise _Invalid(
                f'messages[{last}].role: the last message must be "assistant" (the response to learn), got "user"'
            )

    return validate


def _claude_messages(record: dict[str, Any]) -> None:
    system = record.get("system", _MISSING)
    if system is not _MISSING and type(system) is not str:
        raise _Invalid(f"system: expected a string, got {_kind(system)}")
    messages = record.get("messages", _MISSING)
    if type(messages) is not list or len(messages) < 2:
        raise _Invalid(f"messages: expected a list of at least a user and an assistant message, got {_kind(messages)}")
    expected = "user"
    for i, message in enumerate(messages):
        if type(message) is not dict:
            raise _Invalid(f"messages[{i}]: expected an object, got {_kind(message)}")
        role = message.get("role", _MISSING)
        if role != expected:
            if role != "user" and role != "assistant":
                raise _Invalid(f'messages[{i}].role: expected "user" or "assistant", got {_show(role)}')
            if i == 0:
                raise _Invalid('messages[0].role: expected "user" first, got "assistant"')
            previous = "a user" if expected == "assistant" else "an assistant"
            raise _Invalid(f'messages[{i}].role: expected "{expected}" after {previous} turn, got "{role}"')
        content = message.get("content", _MISSING)
        if type(content) is not str:
            raise _Invalid(f"messages[{i}].content: expected a string, got {_kind(content)}")
        expected = "assistant" if role == "user" else "user"
    if expected == "assistant":
        raise _Invalid(f'messages[{len(messages) - 1}].role: the last message must be "assistant", got "user"')


_OPENAI_ROLES = ("system", "user", "assistant")


def _openai_chat(record: dict[str, Any]) -> None:
    messages = record.get("messages", _MISSING)
    if type(messages) is not list or not messages:
        raise _Invalid(f"messages: expected a non-empty list of messages, got {_kind(messages)}")
    users = 0
    for i, message in enumerate(messages):
        if type(message) is not dict:
            raise _Invalid(f"messages[{i}]: expected an object, got {_kind(message)}")
        role = message.get("role", _MISSING)
        if role not in _OPENAI_ROLES:
            raise _Invalid(f'messages[{i}].role: expected "system", "user" or "assistant", got {_show(role)}')
        content = message.get("content", _MISSING)
        if type(content) is not str:
            raise _Invalid(f"messages[{i}].content: expected a string, got {_kind(content)}")
        users += role == "user"
    if not users:
        raise _Invalid('messages: no "user" message holds the prompt')


def _validator(rule: FormatRule, limits: Mapping[str, tuple[int, str]]) -> Validator:
    if rule.format == PROMPT_COMPLETION:
        return _prompt_completion(limits)
    if rule.format == CPT_INPUT:
        return _cpt_input(limits)
    if rule.format == CLAUDE_MESSAGES:
        return _claude_messages
    if rule.format == OPENAI_CHAT:
        return _openai_chat
    nova = rule.family in ("nova", "nova-2")
    return _conversation(
        family=rule.family,
        prompts=rule.format == DISTILLATION_PROMPTS,
        multi_turn=rule.multi_turn,
        reserved=_NOVA_RESERVED if nova and rule.customization_type == "FINE_TUNING" else None,
        reasoning=rule.family == "nova-2",
        media_limits=nova,
    )


# --- the file ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetSummary:
    """What :func:`validate_dataset` found in a valid file."""

    path: str
    records: int
    bytes: int
    format: str
    family: str
    customization_type: str
    purpose: str


def _rule(display: str, customization_type: str, base_model: str) -> FormatRule:
    family = model_family(base_model)
    if family is None:
        raise DatasetError(
            f"{display}: no documented dataset format is known for base model {base_model!r}; "
            f"known model families: {', '.join(FAMILY_NAMES.values())}"
        )
    for rule in FORMAT_RULES:
        if rule.family == family and rule.customization_type == customization_type:
            return rule
    supported = sorted({r.customization_type for r in FORMAT_RULES if r.family == family})
    raise DatasetError(
        f"{display}: {FAMILY_NAMES[family]} has no documented local dataset format for {customization_type}; "
        f"local datasets for it can be checked for {', '.join(supported)} (see {SUPPORTED_URL})"
    )


def _quota_text(name: str, family: str, customization_type: str, limit: tuple[int, str]) -> str:
    value, source = limit
    return f"{QUOTA_NAMES[name]} for {FAMILY_NAMES[family]} {customization_type} is {value} ({source})"


def validate_dataset(
    path: str | os.PathLike[str],
    *,
    customization_type: str,
    base_model: str,
    purpose: str = "training",
    quotas: Mapping[str, int | None] | None = None,
) -> DatasetSummary:
    """Check a local JSON Lines dataset, streaming it, against Amazon Bedrock's documented format and quotas
    for ``customization_type`` and ``base_model``'s family; raise :class:`DatasetError` at the first problem.

    ``purpose`` is "training" or "validation". ``quotas`` overrides documented quotas by name (a key of
    :data:`QUOTA_NAMES`), for example an adjusted Service Quotas value, or skips one with None.
    """
    if customization_type not in CUSTOMIZATION_TYPES:
        raise ValueError(
            f"customization_type must be one of {', '.join(CUSTOMIZATION_TYPES)}, got {customization_type!r}"
        )
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}, got {purpose!r}")
    display = str(path)
    rule = _rule(display, customization_type, base_model)
    family = rule.family
    limits = _limits(family, customization_type, quotas)
    training = purpose == "training"

    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise DatasetError(f"{display}: cannot read the dataset: {exc.strerror}") from None
    if size == 0:
        raise DatasetError(f"{display}: the file is empty; a dataset holds one JSON record per line")
    bytes_name = "max_training_bytes" if training else "max_validation_bytes"
    if (byte_limit := limits.get(bytes_name)) is not None and size > byte_limit[0]:
        raise DatasetError(
            f"{display}: the file has {size} bytes; {_quota_text(bytes_name, family, customization_type, byte_limit)}"
        )

    # A file alone may hold no more than its own quota, nor more than the quota on the sum of files.
    count_names = ("max_training_records" if training else "max_validation_records", "max_total_records")
    count_limits = [(name, limits[name]) for name in count_names if name in limits]
    count_name, count_limit = min(count_limits, key=lambda item: item[1][0]) if count_limits else ("", None)
    max_records = count_limit[0] if count_limit is not None else -1

    validate = _validator(rule, limits)
    loads = json.loads
    records = 0
    with open(path, "rb") as stream:
        for lineno, raw in enumerate(stream, 1):
            if raw.isspace():
                raise DatasetError(f"{display}:{lineno}: blank line; JSON Lines holds one JSON record on every line")
            try:
                record = loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise DatasetError(
                    f"{display}:{lineno}: not UTF-8: {exc.reason} "
                    f"(byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line)"
                ) from None
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{display}:{lineno}: not valid JSON: {exc.msg} at column {exc.colno}") from None
            if type(record) is not dict:
                raise DatasetError(f"{display}:{lineno}: expected a JSON object, got {_kind(record)}")
            try:
                validate(record)
            except _Invalid as exc:
                raise DatasetError(f"{display}:{lineno}: {exc}") from None
            records += 1
            if records == max_records + 1 and count_limit is not None:
                raise DatasetError(
                    f"{display}:{lineno}: record {records} is one too many; "
                    f"{_quota_text(count_name, family, customization_type, count_limit)}"
                )
    if training and (minimum := limits.get("min_training_records")) is not None and records < minimum[0]:
        raise DatasetError(
            f"{display}: {records} records; {_quota_text('min_training_records', family, customization_type, minimum)}"
        )
    return DatasetSummary(display, records, size, rule.format, family, customization_type, purpose)


def check_total_records(
    training: DatasetSummary,
    validation: Sequence[DatasetSummary] = (),
    *,
    quotas: Mapping[str, int | None] | None = None,
) -> None:
    """Check the quotas on the sum of training and validation records of one job (Meta Llama 3.x,
    Claude 3 Haiku) across its validated files; raise :class:`DatasetError` naming them."""
    family, customization_type = training.family, training.customization_type
    limits = _limits(family, customization_type, quotas)
    total = training.records + sum(summary.records for summary in validation)
    files = ", ".join([training.path, *(summary.path for summary in validation)])
    if (minimum := limits.get("min_total_records")) is not None and total < minimum[0]:
        raise DatasetError(
            f"{files}: {total} records; {_quota_text('min_total_records', family, customization_type, minimum)}"
        )
    if (maximum := limits.get("max_total_records")) is not None and total > maximum[0]:
        raise DatasetError(
            f"{files}: {total} records; {_quota_text('max_total_records', family, customization_type, maximum)}"
        )
