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
import sys
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


def _distillation_quota(family: str, name: str, value: int) -> Quota:
    """A distillation record count: Nova's page documents its own; the Bedrock page, the others' (and only
    recommends its minimum, which is enforced all the same)."""
    if family == "nova":
        return Quota(family, "DISTILLATION", name, value, NOVA_DISTILLATION_URL)
    note = "documented as a strong recommendation" if name == "min_training_records" else ""
    return Quota(family, "DISTILLATION", name, value, DISTILLATION_LIMITS_URL, note)


def _titan_text_quotas(family: str, customization_type: str) -> tuple[Quota, ...]:
    """Amazon Titan Text's quotas, the same for each of its models: 4,096 tokens per record at batch size 1,
    and the file sizes."""
    fine_tuning = customization_type == "FINE_TUNING"
    source = REQUIREMENTS_URL if fine_tuning else REQUIREMENTS_CPT_URL
    return (
        Quota(family, customization_type, "max_record_chars", 4_096 * 6, source, _X6),
        Quota(family, customization_type, "max_training_bytes", (1 if fine_tuning else 10) * _GB, source),
        Quota(family, customization_type, "max_validation_bytes", 100 * _MB, source),
    )


QUOTAS: tuple[Quota, ...] = (
    # Amazon Titan Text Premier: batch size 1 is its only one. G1 - Express: 2,048 tokens at batch size 2 to 4,
    # but the batch size is a hyperparameter, so the larger quota applies here. G1 - Lite: batch size 1 or 2.
    *_titan_text_quotas("titan-text-premier", "FINE_TUNING"),
    *_titan_text_quotas("titan-text-express", "FINE_TUNING"),
    *_titan_text_quotas("titan-text-express", "CONTINUED_PRE_TRAINING"),
    *_titan_text_quotas("titan-text-lite", "FINE_TUNING"),
    *_titan_text_quotas("titan-text-lite", "CONTINUED_PRE_TRAINING"),
    # Meta Llama 3.1: 16,000 input and output tokens together. Meta Llama 3.x: the sum of training and
    # validation records.
    Quota("llama-3.1", "FINE_TUNING", "max_record_chars", 16_000 * 6, REQUIREMENTS_URL, _X6),
    *(
        quota
        for family in ("llama-3.1", "llama-3.2", "llama-3.3")
        for quota in (
            Quota(family, "FINE_TUNING", "min_total_records", 100, REQUIREMENTS_URL),
            Quota(family, "FINE_TUNING", "max_total_records", 10_000, REQUIREMENTS_URL, "adjustable (Service Quotas)"),
        )
    ),
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
    *(_distillation_quota(family, "min_training_records", 100) for family in _DISTILLED),
    *(_distillation_quota(family, "max_training_records", 15_000) for family in _DISTILLED),
    # Reinforcement fine-tuning: at least 100 records, at most 20K prompts.
    *(
        quota
        for family in ("nova", "nova-2")
        for quota in (
            Quota(family, "REINFORCEMENT_FINE_TUNING", "min_training_records", 100, RFT_SOURCES_URL),
            Quota(family, "REINFORCEMENT_FINE_TUNING", "max_training_records", 20_000, RFT_URL),
        )
    ),
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
# Each format has a validator: a callable that takes one parsed record and raises _Invalid, whose message
# begins with the path of the offending field (``messages[1].content[0].text: ...``), at the first problem.

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


def _expected(where: str, what: str, value: Any) -> _Invalid:
    """The field at ``where`` is not ``what`` it should be (for example "a string") but ``value``."""
    return _Invalid(f"{where}: expected {what}, got {_kind(value)}")


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
            raise _expected("prompt", "a string", prompt)
        if type(completion) is not str:
            raise _expected("completion", "a string", completion)
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
            raise _expected("input", "a string", text)
        if len(record) > 1:
            extra = next(key for key in record if key != "input")
            raise _Invalid(f'{extra}: unexpected field; continued pre-training records hold only "input"')
        if record_limit is not None and len(text) > record_limit[0]:
            raise _over("input", len(text), record_limit)

    return validate


# Message i's role is _TURN_ROLES[i % 2]: user and assistant turns alternate, a user turn first.
_TURN_ROLES = ("user", "assistant")


def _turn_error(i: int, message: Any) -> _Invalid:
    """Why message ``i`` is not an object with the role its place calls for."""
    if type(message) is not dict:
        return _expected(f"messages[{i}]", "an object", message)
    role = message.get("role", _MISSING)
    if role != "user" and role != "assistant":
        return _Invalid(f'messages[{i}].role: expected "user" or "assistant", got {_show(role)}')
    if i == 0:
        return _Invalid('messages[0].role: expected "user" first, got "assistant"')
    expected = _TURN_ROLES[i % 2]
    previous = "a user" if expected == "assistant" else "an assistant"
    return _Invalid(f'messages[{i}].role: expected "{expected}" after {previous} turn, got "{role}"')


# --- bedrock-conversation-2024 content blocks -------------------------------------------------------
# A content block holds text, or one of the other kinds its turn's role may hold: the role's table below
# maps the block's key to its check, in the order the keys are looked for.

BlockCheck = Callable[[dict[str, Any], str, str], None]  # (block, where, key); raises _Invalid

_IMAGE_FORMATS = frozenset(("png", "jpeg", "gif", "webp"))  # Nova and Llama 3.2 Vision pages
_VIDEO_FORMATS = frozenset(("mov", "mkv", "mp4", "webm"))  # Nova page


def _check_media(block: dict[str, Any], where: str, media: str) -> None:
    """An image or video block: a supported format and an S3 location."""
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


def _refuse_media_from_assistant(block: dict[str, Any], where: str, media: str) -> None:
    raise _Invalid(f"{where}: assistant turns hold text only")


def _check_reasoning(block: dict[str, Any], where: str, key: str) -> None:
    """Amazon Nova 2's reasoning block in an assistant turn."""
    body = block[key]
    reasoning_text = body.get("reasoningText") if type(body) is dict else None
    if type(reasoning_text) is not dict or type(reasoning_text.get("text")) is not str:
        raise _Invalid(f'{where}.reasoningContent: expected {{"reasoningText": {{"text": "..."}}}}')


_USER_BLOCKS: tuple[tuple[str, BlockCheck], ...] = (("image", _check_media), ("video", _check_media))
_ASSISTANT_BLOCKS: tuple[tuple[str, BlockCheck], ...] = (
    ("image", _refuse_media_from_assistant),
    ("video", _refuse_media_from_assistant),
)
_NOVA_2_ASSISTANT_BLOCKS = (*_ASSISTANT_BLOCKS, ("reasoningContent", _check_reasoning))


# --- bedrock-conversation-2024 records --------------------------------------------------------------

_NOVA_RESERVED = re.compile(r"User:|Bot:|Assistant:|System:|<image>|<video>|\[EOS\]")
_NOVA_MAX_IMAGES = 10  # per sample, Nova "Image and video constraints"
_NOVA_MAX_VIDEOS = 1


@dataclass(frozen=True, slots=True)
class _Conversation:
    """Checks bedrock-conversation-2024 records part by part (schema version, system prompt, turns, content
    blocks), as one family takes them for one customization type; :meth:`validate` is the validator."""

    family_name: str
    prompts: bool  # distillation prompts: schemaVersion required, and the record may end on a user turn
    multi_turn: bool
    find_reserved_keyword: Callable[[str], re.Match[str] | None] | None  # in user and system text
    assistant_blocks: tuple[tuple[str, BlockCheck], ...]
    media_limits: bool  # Nova's images and videos per record

    @classmethod
    def for_rule(cls, rule: FormatRule) -> _Conversation:
        nova = rule.family in ("nova", "nova-2")
        return cls(
            family_name=FAMILY_NAMES[rule.family],
            prompts=rule.format == DISTILLATION_PROMPTS,
            multi_turn=rule.multi_turn,
            # Only Nova's fine-tuning page reserves keywords.
            find_reserved_keyword=_NOVA_RESERVED.search if nova and rule.customization_type == "FINE_TUNING" else None,
            assistant_blocks=_NOVA_2_ASSISTANT_BLOCKS if rule.family == "nova-2" else _ASSISTANT_BLOCKS,
            media_limits=nova,
        )

    def validate(self, record: dict[str, Any]) -> None:
        self._check_schema_version(record.get("schemaVersion", _MISSING))
        system = record.get("system", _MISSING)
        if system is not _MISSING:
            self._check_system(system)
        messages = record.get("messages", _MISSING)
        if type(messages) is not list or not messages:
            raise _expected("messages", "a non-empty list of messages", messages)
        block_kinds = self._check_turns(messages)
        if block_kinds and self.media_limits:
            self._check_media_counts(block_kinds)
        # _check_turns has checked every role, so the last one can be read as is.
        if not self.prompts and messages[-1]["role"] == "user":
            raise _Invalid(
                f'messages[{len(messages) - 1}].role: the last message must be "assistant" '
                '(the response to learn), got "user"'
            )

    def _check_schema_version(self, schema: Any) -> None:
        if self.prompts:
            if schema != SCHEMA_VERSION:
                raise _Invalid(f'schemaVersion: expected "{SCHEMA_VERSION}", got {_show(schema)}')
        elif schema is not _MISSING and type(schema) is not str:
            raise _expected("schemaVersion", "a string", schema)

    def _check_system(self, system: Any) -> None:
        if type(system) is not list:
            raise _expected("system", 'a list of {"text": ...} blocks', system)
        find_reserved_keyword = self.find_reserved_keyword
        for i, block in enumerate(system):
            text = block.get("text", _MISSING) if type(block) is dict else _MISSING
            if type(text) is not str:
                raise _expected(f"system[{i}]", '{"text": "..."}', block)
            if find_reserved_keyword is not None and (found := find_reserved_keyword(text)) is not None:
                raise self._reserved_keyword_error(f"system[{i}].text", found)

    def _check_turns(self, messages: list[Any]) -> tuple[str, ...]:
        """Each message and its content; returns the keys of the non-text blocks found, in order."""
        block_kinds: tuple[str, ...] = ()
        for i, message in enumerate(messages):
            role = message.get("role") if type(message) is dict else None
            if role != _TURN_ROLES[i % 2]:
                raise _turn_error(i, message)
            if i == 2 and not self.multi_turn:
                raise _Invalid(
                    f"messages[2]: {self.family_name} takes single-turn prompts only (one user message, "
                    f"optionally one assistant reply), got {len(messages)} messages ({DISTILLATION_URL})"
                )
            content = message.get("content", _MISSING)
            if type(content) is not list or not content:
                raise _expected(f"messages[{i}].content", "a non-empty list of content blocks", content)
            if found := self._check_content(i, role, content):
                block_kinds += found
        return block_kinds

    def _check_content(self, i: int, role: str, content: list[Any]) -> tuple[str, ...]:
        """The content blocks of message ``i``; returns the keys of its non-text blocks."""
        block_kinds: tuple[str, ...] = ()
        find_reserved_keyword = self.find_reserved_keyword if role == "user" else None
        for j, block in enumerate(content):
            if type(block) is not dict:
                raise _expected(f"messages[{i}].content[{j}]", "an object", block)
            text = block.get("text", _MISSING)
            if type(text) is not str:
                block_kinds += (self._check_non_text_block(block, f"messages[{i}].content[{j}]", role, text),)
            elif find_reserved_keyword is not None and (found := find_reserved_keyword(text)) is not None:
                raise self._reserved_keyword_error(f"messages[{i}].content[{j}].text", found)
        return block_kinds

    def _check_non_text_block(self, block: dict[str, Any], where: str, role: str, text: Any) -> str:
        """A content block without a text string: one of the kinds ``role`` may hold; returns its key."""
        if text is not _MISSING:
            raise _expected(f"{where}.text", "a string", text)
        for key, check in _USER_BLOCKS if role == "user" else self.assistant_blocks:
            if key in block:
                check(block, where, key)
                return key
        raise _Invalid(f'{where}: expected a {{"text": "..."}} block, got keys {", ".join(block) or "none"}')

    def _check_media_counts(self, block_kinds: tuple[str, ...]) -> None:
        images, videos = block_kinds.count("image"), block_kinds.count("video")
        if images > _NOVA_MAX_IMAGES or videos > _NOVA_MAX_VIDEOS:
            raise _Invalid(
                f"messages: {images} images and {videos} videos; {self.family_name} takes at most "
                f"{_NOVA_MAX_IMAGES} images or {_NOVA_MAX_VIDEOS} video per record ({NOVA_CONSTRAINTS_URL})"
            )

    def _reserved_keyword_error(self, where: str, found: re.Match[str]) -> _Invalid:
        return _Invalid(
            f"{where}: contains the reserved keyword {json.dumps(found.group())}, which fails "
            f"{self.family_name} training ({NOVA_FINE_TUNING_URL})"
        )


# --- other message formats --------------------------------------------------------------------------


def _claude_messages(record: dict[str, Any]) -> None:
    system = record.get("system", _MISSING)
    if system is not _MISSING and type(system) is not str:
        raise _expected("system", "a string", system)
    messages = record.get("messages", _MISSING)
    if type(messages) is not list or len(messages) < 2:
        raise _expected("messages", "a list of at least a user and an assistant message", messages)
    for i, message in enumerate(messages):
        if type(message) is not dict or message.get("role") != _TURN_ROLES[i % 2]:
            raise _turn_error(i, message)
        content = message.get("content", _MISSING)
        if type(content) is not str:
            raise _expected(f"messages[{i}].content", "a string", content)
    # Every role is checked, so the last one can be read as is.
    if messages[-1]["role"] == "user":
        raise _Invalid(f'messages[{len(messages) - 1}].role: the last message must be "assistant", got "user"')


_OPENAI_ROLES = ("system", "user", "assistant")


def _openai_chat(record: dict[str, Any]) -> None:
    messages = record.get("messages", _MISSING)
    if type(messages) is not list or not messages:
        raise _expected("messages", "a non-empty list of messages", messages)
    users = 0
    for i, message in enumerate(messages):
        if type(message) is not dict:
            raise _expected(f"messages[{i}]", "an object", message)
        role = message.get("role", _MISSING)
        if role not in _OPENAI_ROLES:
            raise _Invalid(f'messages[{i}].role: expected "system", "user" or "assistant", got {_show(role)}')
        content = message.get("content", _MISSING)
        if type(content) is not str:
            raise _expected(f"messages[{i}].content", "a string", content)
        users += role == "user"
    if not users:
        raise _Invalid('messages: no "user" message holds the prompt')


# Each format's validator, built from its rule (the family's options) and the quotas in force.
_VALIDATORS: dict[str, Callable[[FormatRule, Mapping[str, tuple[int, str]]], Validator]] = {
    PROMPT_COMPLETION: lambda rule, limits: _prompt_completion(limits),
    CPT_INPUT: lambda rule, limits: _cpt_input(limits),
    CLAUDE_MESSAGES: lambda rule, limits: _claude_messages,
    OPENAI_CHAT: lambda rule, limits: _openai_chat,
    CONVERSATION: lambda rule, limits: _Conversation.for_rule(rule).validate,
    DISTILLATION_PROMPTS: lambda rule, limits: _Conversation.for_rule(rule).validate,
}


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


@dataclass(frozen=True)
class _JobQuotas:
    """The quotas in force for one family and customization type: quota name -> (value, source)."""

    family: str
    customization_type: str
    limits: dict[str, tuple[int, str]]

    @classmethod
    def of(cls, family: str, customization_type: str, overrides: Mapping[str, int | None] | None) -> _JobQuotas:
        return cls(family, customization_type, _limits(family, customization_type, overrides))

    def text(self, name: str) -> str:
        """The quota ``name`` in words, for example "the maximum of training records for ... is 10000 (page)"."""
        value, source = self.limits[name]
        return f"{QUOTA_NAMES[name]} for {FAMILY_NAMES[self.family]} {self.customization_type} is {value} ({source})"

    def check_records(self, where: str, records: int, names: Sequence[str]) -> None:
        """Raise if ``records`` is under a ``min_`` quota or over a ``max_`` quota among ``names`` in force."""
        for name in names:
            if (limit := self.limits.get(name)) is None:
                continue
            if (name.startswith("min_") and records < limit[0]) or (name.startswith("max_") and records > limit[0]):
                raise DatasetError(f"{where}: {records} records; {self.text(name)}")

    def record_cap(self, training: bool) -> tuple[int, str] | None:
        """The most records one file may hold, with the quota's text: no more than its own quota, nor more
        than the quota on the sum of files."""
        names = ("max_training_records" if training else "max_validation_records", "max_total_records")
        in_force = [name for name in names if name in self.limits]
        if not in_force:
            return None
        name = min(in_force, key=lambda name: self.limits[name][0])
        return self.limits[name][0], self.text(name)


def _check_arguments(customization_type: str, purpose: str) -> None:
    if customization_type not in CUSTOMIZATION_TYPES:
        raise ValueError(
            f"customization_type must be one of {', '.join(CUSTOMIZATION_TYPES)}, got {customization_type!r}"
        )
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}, got {purpose!r}")


def _file_size(path: str | os.PathLike[str], display: str, quotas: _JobQuotas, quota_name: str) -> int:
    """The file's size: not zero, and within the file size quota ``quota_name`` if in force."""
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise DatasetError(f"{display}: cannot read the dataset: {exc.strerror}") from None
    if size == 0:
        raise DatasetError(f"{display}: the file is empty; a dataset holds one JSON record per line")
    if (limit := quotas.limits.get(quota_name)) is not None and size > limit[0]:
        raise DatasetError(f"{display}: the file has {size} bytes; {quotas.text(quota_name)}")
    return size


def _unreadable_line(raw: bytes, exc: UnicodeDecodeError | json.JSONDecodeError) -> str:
    """Why a line holds no JSON value."""
    # A blank line fails to parse as well; it is named as such, being the likelier slip.
    if raw.isspace():
        return "blank line; JSON Lines holds one JSON record on every line"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8: {exc.reason} (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line)"
    return f"not valid JSON: {exc.msg} at column {exc.colno}"


def _validate_records(
    path: str | os.PathLike[str], display: str, validate: Validator, cap: tuple[int, str] | None
) -> int:
    """Parse and validate the file's lines, one at a time; the number of records. ``cap``: the most records
    the file may hold, with the text of the quota that says so."""
    max_records, cap_text = cap if cap is not None else (sys.maxsize, "")
    loads = json.loads
    records = 0
    with open(path, "rb") as stream:
        for lineno, raw in enumerate(stream, 1):
            try:
                record = loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise DatasetError(f"{display}:{lineno}: {_unreadable_line(raw, exc)}") from None
            if type(record) is not dict:
                raise DatasetError(f"{display}:{lineno}: expected a JSON object, got {_kind(record)}")
            try:
                validate(record)
            except _Invalid as exc:
                raise DatasetError(f"{display}:{lineno}: {exc}") from None
            records += 1
            if records > max_records:
                raise DatasetError(f"{display}:{lineno}: record {records} is one too many; {cap_text}")
    return records


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
    _check_arguments(customization_type, purpose)
    display = str(path)
    rule = _rule(display, customization_type, base_model)
    in_force = _JobQuotas.of(rule.family, customization_type, quotas)
    training = purpose == "training"
    size = _file_size(path, display, in_force, "max_training_bytes" if training else "max_validation_bytes")
    validate = _VALIDATORS[rule.format](rule, in_force.limits)
    records = _validate_records(path, display, validate, in_force.record_cap(training))
    if training:
        in_force.check_records(display, records, ("min_training_records",))
    return DatasetSummary(display, records, size, rule.format, rule.family, customization_type, purpose)


def check_total_records(
    training: DatasetSummary,
    validation: Sequence[DatasetSummary] = (),
    *,
    quotas: Mapping[str, int | None] | None = None,
) -> None:
    """Check the quotas on the sum of training and validation records of one job (Meta Llama 3.x,
    Claude 3 Haiku) across its validated files; raise :class:`DatasetError` naming them."""
    in_force = _JobQuotas.of(training.family, training.customization_type, quotas)
    total = training.records + sum(summary.records for summary in validation)
    files = ", ".join([training.path, *(summary.path for summary in validation)])
    in_force.check_records(files, total, ("min_total_records", "max_total_records"))


# --- prompt datasets of model evaluation jobs ----------------------------------------------------------

_EVALUATION_URL = "https://docs.aws.amazon.com/bedrock/latest/userguide/"
# "There can be up to 1000 prompts in your dataset per automatic evaluation job" (model-evaluation-prompt-datasets),
# and per judge job (model-evaluation-prompt-datasets-judge).
MAX_EVALUATION_PROMPTS = 1000
# referenceResponse is "the answer for all prompts in question and answer tasks" and "for all accuracy, and
# robustness evaluations" (model-evaluation-prompt-datasets).
REFERENCE_TASK_TYPES = frozenset({"QuestionAndAnswer"})
REFERENCE_METRICS = frozenset({"Builtin.Accuracy", "Builtin.Robustness"})


def _prompt_record(needs_reference: bool) -> Validator:
    def validate(record: dict[str, Any]) -> None:
        prompt = record.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise _expected("prompt", "a non-empty string", prompt)
        reference = record.get("referenceResponse")
        if needs_reference and (not isinstance(reference, str) or not reference.strip()):
            raise _Invalid(
                f"referenceResponse: required (a non-empty string) for question and answer tasks and for accuracy "
                f"and robustness metrics, got {_show(reference)}"
            )
        if reference is not None and not isinstance(reference, str):
            raise _expected("referenceResponse", "a string", reference)
        if "category" in record and not isinstance(record["category"], str):
            raise _expected("category", "a string", record["category"])

    return validate


def validate_prompt_dataset(path: str | os.PathLike[str], *, task_type: str, metric_names: Sequence[str]) -> int:
    """Check a local JSON Lines prompt dataset of a model evaluation job, streaming it, against the user guide's
    format ("Use a custom prompt dataset for model evaluation"): each line an object with a ``prompt``, a
    ``referenceResponse`` where the task type or a metric needs one, an optional ``category``, and at most
    MAX_EVALUATION_PROMPTS lines. Returns the number of prompts; raises :class:`DatasetError` at the first problem."""
    needs_reference = task_type in REFERENCE_TASK_TYPES or not REFERENCE_METRICS.isdisjoint(metric_names)
    cap = (
        MAX_EVALUATION_PROMPTS,
        f"an evaluation job takes at most {MAX_EVALUATION_PROMPTS} prompts per dataset "
        f"({_EVALUATION_URL}model-evaluation-prompt-datasets.html)",
    )
    prompts = _validate_records(path, str(path), _prompt_record(needs_reference), cap)
    if prompts == 0:
        raise DatasetError(f"{path}: the file has no prompts")
    return prompts
