"""Synth-time validation of a local ``.jsonl`` dataset for an Amazon Bedrock model customization job.

:func:`validate_dataset` streams the file line by line (it never holds more than one line, and refuses a
line longer than :data:`MAX_LINE_BYTES`, 8 MiB) and checks each record against the format Amazon Bedrock
documents for the customization type and the base model's family, then the record-count, size and file-size
quotas in :data:`QUOTAS`. It raises :class:`DatasetError`, whose message names the file, the 1-based line number
and what is wrong, for example ``data/train.jsonl:12: messages[1].role: expected "assistant" after a user turn,
got "user"``: one line for each record that breaks the format (the first :data:`MAX_REPORTED_RECORDS`, then how
many more), and a line that is not a JSON object stops the check. Problems with the whole file (empty, too few
records, too large) name the file only.

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
  and ``[EOS]``; the Nova validator adds ``Thought:`` and ``<unk>`` and refuses them in any case, in every
  text). Single- and multi-turn conversations are both accepted. Amazon Nova also takes document blocks and
  tool use (``toolConfig``, ``toolUse``, ``toolResult``), and Amazon Nova 2 Lite reasoning blocks, as the
  Nova validator checks them; Nova Micro takes text only, and of Meta Llama only 3.2 11B and 90B Vision
  Instruct take images (`Prepare data for fine-tuning image and text processing models
  <https://docs.aws.amazon.com/bedrock/latest/userguide/preparing-image-text-data.html>`_).
* Fine-tuning Anthropic Claude 3 Haiku: ``{"system": "...", "messages": [{"role": ..., "content": "..."}]}``
  with string contents, single- or multi-turn (same Bedrock page).
* Continued pre-training, ``{"input": ...}`` records and nothing else: Amazon Titan Text G1 - Express and
  G1 - Lite (`Prepare datasets for continued pre-training
  <https://docs.aws.amazon.com/bedrock/latest/userguide/dataset-prep-continued-pretraining.html>`_).
* Distillation, prompts in ``bedrock-conversation-2024`` (``schemaVersion`` exactly that value; user
  prompt first, an assistant reply optional; for Anthropic and Meta Llama models, one text block per turn
  and no other fields, as the distillation validator's schema has it): `Prepare your training datasets for distillation
  <https://docs.aws.amazon.com/bedrock/latest/userguide/distillation-prepare-datasets.html>`_, where the
  page's bullet spells the value ``bedrock-conversion-2024`` but every example uses
  ``bedrock-conversation-2024``; this module accepts the latter. "Anthropic and Meta Llama models support
  only single-turn conversation prompts"; Amazon Nova takes multi-turn ones (`Preparing data for
  distilling understanding models <https://docs.aws.amazon.com/nova/latest/userguide/custom-distill-prepare.html>`_).
* Reinforcement fine-tuning of Amazon Nova 2 Lite: the OpenAI chat completion format, ``{"messages":
  [{"role": "system" | "user" | "assistant", "content": "..."}], "reference_answer": ...}`` plus any
  fields the grader reads (`Prepare data for Amazon Nova models
  <https://docs.aws.amazon.com/bedrock/latest/userguide/rft-prepare-data.html>`_). Other models have no
  documented local format for it and are refused ("RFT is ONLY supported on Nova 2.0 Lite", the Nova
  validator's README).

Quotas documented as the *sum* of training and validation records (Meta Llama 3.x, Claude 3 Haiku)
bound each file's count from above here; :func:`check_total_records` checks the sum once every file of a
job is validated. Several quotas are adjustable with Service Quotas: pass ``quotas={name: value}`` (or
``None`` to skip one) to use your account's value. Token limits are errors only where a page converts them
to a character quota ("Token quota x 6"); otherwise each record's tokens are *estimated* as the published
validators estimate them (:data:`CHARS_PER_TOKEN` characters per token) and a record that may exceed the
model's limit in :data:`TOKEN_LIMITS` is a warning (:attr:`DatasetSummary.warnings`), which names the line.
:mod:`.token_counts` counts them exactly with Bedrock Runtime's CountTokens.

The published dataset validators of aws-samples (:data:`VALIDATORS` names each file at the commit read) add
rules to the user guides' (reserved keywords, empty turns, media per turn, tool use, RFT fields, sample
counts). Each rule below says where it comes from; a rule or limit whose only source is a validator cites
the validator's file and line (or, for amazon-nova-samples, the symbol that holds it).
"""

from __future__ import annotations

import json
import json.scanner
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = [
    "CHARS_PER_TOKEN",
    "CUSTOMIZATION_TYPES",
    "FORMAT_RULES",
    "PURPOSES",
    "QUOTAS",
    "TOKEN_LIMITS",
    "VALIDATORS",
    "DatasetError",
    "DatasetSummary",
    "FormatRule",
    "Quota",
    "TokenLimit",
    "check_total_records",
    "estimate_tokens",
    "format_rule",
    "model_family",
    "quotas_for",
    "token_limits_for",
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
IMAGE_TEXT_URL = _BEDROCK + "preparing-image-text-data.html"
DISTILLATION_LIMITS_URL = _BEDROCK + "distillation-data-prep-option-2.html"
RFT_URL = _BEDROCK + "rft-prepare-data.html"
RFT_SOURCES_URL = _BEDROCK + "rft-training-data-sources.html"
# "Models that support reinforcement fine-tuning": Amazon Nova 2 Lite, OpenAI gpt-oss-20b and Qwen3 32B.
RFT_MODELS_URL = _BEDROCK + "reinforcement-fine-tuning.html"
# Open-weight models: "the OpenAI chat completions format with 100-20K examples", each with messages and a
# reference_answer, and optionally fields the grader reads.
RFT_OPEN_WEIGHT_URL = _BEDROCK + "rft-prepare-data-open-weight.html"
_NOVA = "https://docs.aws.amazon.com/nova/latest/"
NOVA_FINE_TUNING_URL = _NOVA + "userguide/fine-tune-prepare-data-understanding.html"
NOVA_CONSTRAINTS_URL = NOVA_FINE_TUNING_URL + "#custom-fine-tune-constraints"
NOVA_DISTILLATION_URL = _NOVA + "userguide/custom-distill-prepare.html"
NOVA2_FINE_TUNING_URL = _NOVA + "nova2-userguide/nova-fine-tune-2.html"
# Amazon Bedrock user guide, "Supervised fine-tuning on Amazon Nova 2.0": images PNG, JPEG, GIF; videos MOV, MKV,
# MP4; "You cannot mix images and videos within the same dataset"; tool use "not currently supported"; validation
# sets "will not be supported during SFT training".
NOVA2_BEDROCK_SFT_URL = _BEDROCK + "nova-2-sft-data-prep.html"
# Amazon Nova 2 user guide, "Preparing data for SFT": documents too "must be in the same Amazon S3 bucket as your
# dataset", and "A dataset cannot mix different media modalities. Use text with images, text with videos, or text with
# documents — but not a combination."
NOVA2_SFT_DATA_URL = _NOVA + "nova2-userguide/nova-data-prep-sft-2.html"
# Amazon Nova 2 user guide, "Preparing data for RFT on Amazon Nova 2": reference_answer is "Required. The expected
# output or evaluation criteria that your reward function uses to score the model's response."
NOVA2_RFT_DATA_URL = _NOVA + "nova2-userguide/nova-data-prep-rft-2.html"

# The published validators, at the commit read (aws-samples). Each rule that only a validator states cites its
# file and line here, or for amazon-nova-samples (read through a file index, without line numbers) its symbol.
_BEDROCK_SAMPLES = (
    "https://github.com/aws-samples/amazon-bedrock-samples/blob/85fba9d9c404ae120c0ceee5e67befed35004fdc/custom-models/"
)
CLAUDE_VALIDATOR = _BEDROCK_SAMPLES + "bedrock-fine-tuning/claude-haiku/DataValidation/data_validation.py"
LLAMA_VALIDATOR = _BEDROCK_SAMPLES + "bedrock-fine-tuning/meta-llama/dataset_validation/"
DISTILLATION_VALIDATOR = _BEDROCK_SAMPLES + "model_distillation/dataset-validation/"
NOVA_VALIDATOR = (
    "https://github.com/aws-samples/amazon-nova-samples/blob/1e88f2450a00a3a24933765ae96159a55ad02a90/"
    "customization/bedrock-finetuning/understanding/dataset_validation/nova_ft_dataset_validator.py"
)
VALIDATORS: dict[str, str] = {
    "Claude 3 Haiku": CLAUDE_VALIDATOR,
    "Meta Llama": LLAMA_VALIDATOR + "dataset_validation.py",
    "Model distillation": DISTILLATION_VALIDATOR + "dataset_validator.py",
    "Amazon Nova (SFT, RFT; Nova 1 and 2)": NOVA_VALIDATOR,
}

# "GB" and "MB" in the quota tables are read as binary units, the larger reading, so that no file
# within the documented size is refused.
_MB = 1 << 20
_GB = 1 << 30


class DatasetError(ValueError):
    """A local dataset does not match the documented format or quotas; the message says where and why.
    ``problems``: each problem's own message (of records that break the format, one per record)."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


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
    "gpt-oss-20b": "OpenAI gpt-oss-20b",
    "qwen3-32b": "Qwen3 32B",
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
    ("openai.gpt-oss-20b", "gpt-oss-20b"),  # (RFT_MODELS_URL)
    ("qwen.qwen3-32b", "qwen3-32b"),
)


def model_id_of(base_model: str) -> str:
    """A foundation model's id, from its id or ARN, or from the ARN of a custom model (whose continued training this
    is), which names its base model: custom-model/<base model id>/<suffix>, as CustomModelArn's pattern has it."""
    if not base_model.startswith("arn:"):
        return base_model
    kind, _, rest = base_model.split(":", 5)[-1].partition("/")
    return rest.rsplit("/", 1)[0] if kind == "custom-model" else rest


def model_family(base_model: str) -> str | None:
    """The family key (of :data:`FAMILY_NAMES`) of a foundation model id or ARN, or None if unknown."""
    model_id = model_id_of(base_model)
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


_OPEN_RFT = ("gpt-oss-20b", "qwen3-32b")  # open-weight models that take reinforcement fine-tuning (RFT_MODELS_URL)
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
    # Not Amazon Nova 1: "RFT task type is only supported on lite-2.0 model" (NOVA_VALIDATOR, validate_jsonl_file).
    FormatRule("nova-2", "REINFORCEMENT_FINE_TUNING", OPENAI_CHAT, True, RFT_URL),
    *(FormatRule(family, "REINFORCEMENT_FINE_TUNING", OPENAI_CHAT, True, RFT_OPEN_WEIGHT_URL) for family in _OPEN_RFT),
)

# --- quotas -----------------------------------------------------------------------------------------

QUOTA_NAMES: dict[str, str] = {
    "min_training_records": "the minimum of training records",
    "max_training_records": "the maximum of training records",
    "max_validation_records": "the maximum of validation records",
    "min_validation_records": "the minimum of validation records",
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
    # validation records; the Llama validator also caps a validation file at 1,000 ("MAX_VALIDATION_RECORDS").
    Quota("llama-3.1", "FINE_TUNING", "max_record_chars", 16_000 * 6, REQUIREMENTS_URL, _X6),
    *(
        quota
        for family in ("llama-3.1", "llama-3.2", "llama-3.3")
        for quota in (
            Quota(family, "FINE_TUNING", "min_total_records", 100, REQUIREMENTS_URL),
            Quota(family, "FINE_TUNING", "max_total_records", 10_000, REQUIREMENTS_URL, "adjustable (Service Quotas)"),
            Quota(family, "FINE_TUNING", "max_validation_records", 1_000, LLAMA_VALIDATOR + "utils/constants.py#L4"),
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
    # "Validation data: 32 to 1,000 lines": the validator applies MIN_LINES to validation files too.
    Quota("claude-3-haiku", "FINE_TUNING", "min_validation_records", 32, CLAUDE_VALIDATOR + "#L98-L100"),
    Quota(
        "claude-3-haiku", "FINE_TUNING", "max_total_records", 10_000, REQUIREMENTS_URL, "adjustable (Service Quotas)"
    ),
    Quota("claude-3-haiku", "FINE_TUNING", "max_training_bytes", 10 * _GB, REQUIREMENTS_URL),
    Quota("claude-3-haiku", "FINE_TUNING", "max_validation_bytes", 1 * _GB, REQUIREMENTS_URL),
    # Amazon Nova Micro, Lite and Pro (context length 32k tokens: a token estimate, TOKEN_LIMITS). The Nova
    # validator bounds training and validation samples together by the same 20,000 (validate_dataset_level).
    Quota("nova", "FINE_TUNING", "min_training_records", 8, NOVA_CONSTRAINTS_URL),
    Quota("nova", "FINE_TUNING", "max_training_records", 20_000, NOVA_CONSTRAINTS_URL),
    Quota("nova", "FINE_TUNING", "max_total_records", 20_000, NOVA_VALIDATOR + "#validate_dataset_level"),
    # Amazon Nova 2 Lite SFT: 200 to 20,000 samples (NOVA_2_0_LITE_SAMPLE_BOUNDS["SFT"]).
    Quota("nova-2", "FINE_TUNING", "min_training_records", 200, NOVA_VALIDATOR + "#NOVA_2_0_LITE_SAMPLE_BOUNDS"),
    Quota("nova-2", "FINE_TUNING", "max_training_records", 20_000, NOVA_VALIDATOR + "#NOVA_2_0_LITE_SAMPLE_BOUNDS"),
    # Distillation: "a maximum of 15K prompts or prompt-response pairs"; at least 100 ("highly
    # recommend" on the Bedrock page, a hard minimum on the Nova one).
    *(_distillation_quota(family, "min_training_records", 100) for family in _DISTILLED),
    *(_distillation_quota(family, "max_training_records", 15_000) for family in _DISTILLED),
    # The distillation validator: "Dataset size must be less than 1 Gb" (MAX_SIZE = 1 * 1024 * 1024 * 1024).
    *(
        Quota(family, "DISTILLATION", "max_training_bytes", 1 * _GB, DISTILLATION_VALIDATOR + "constants.py#L12")
        for family in _DISTILLED
        if family != "nova"
    ),
    # Reinforcement fine-tuning (Amazon Nova 2 Lite): at least 100 records, at most 20K prompts.
    Quota("nova-2", "REINFORCEMENT_FINE_TUNING", "min_training_records", 100, RFT_SOURCES_URL),
    Quota("nova-2", "REINFORCEMENT_FINE_TUNING", "max_training_records", 20_000, RFT_URL),
    *(
        Quota(family, "REINFORCEMENT_FINE_TUNING", "min_training_records", 100, RFT_OPEN_WEIGHT_URL)
        for family in _OPEN_RFT
    ),
    *(
        Quota(family, "REINFORCEMENT_FINE_TUNING", "max_training_records", 20_000, RFT_OPEN_WEIGHT_URL)
        for family in _OPEN_RFT
    ),
)

# Validation datasets that a model does not take for a kind of customization, and the sources that say so. Nova 2
# Lite's reinforcement fine-tuning takes one: its evalInterval evaluates on it (botocore's RFTHyperParameters), and
# AWS's RFT samples (amazon-bedrock-samples, custom-models/bedrock-reinforcement-fine-tuning) pass one.
_NO_VALIDATION: dict[tuple[str, str], str] = {
    ("nova-2", "FINE_TUNING"): (
        "Amazon Nova 2 Lite takes no validation dataset: the job ignores it (SFT, "
        f"{NOVA2_BEDROCK_SFT_URL}) and the Nova validator refuses one ({NOVA_VALIDATOR}#validate_dataset_level)"
    ),
}

# --- token limits (estimates) ---------------------------------------------------------------------------

# "CHARS_PER_TOKEN = 3" and count_tokens(text) = len(text) // CHARS_PER_TOKEN, summed over the system prompt and
# each message (CLAUDE_VALIDATOR lines 12 and 61-63, 90-91): the only characters-per-token heuristic the published
# validators state. A record whose estimate exceeds its model's limit gets a warning, not an error.
CHARS_PER_TOKEN = 3
TOKEN_ESTIMATE_SOURCE = CLAUDE_VALIDATOR + "#L61-L63"


class TokenLimit(NamedTuple):
    """A documented token limit per record (``part`` "record"), or per prompt or completion, for a family and
    customization type; ``models`` narrows it to the model ids that start with it."""

    family: str
    customization_type: str
    part: str
    tokens: int
    source: str
    models: str = ""


TOKEN_LIMITS: tuple[TokenLimit, ...] = (
    *(
        TokenLimit(family, "FINE_TUNING", "record", 4_096, REQUIREMENTS_URL)
        for family in ("titan-text-premier", "titan-text-express", "titan-text-lite")
    ),
    *(
        TokenLimit(family, "CONTINUED_PRE_TRAINING", "record", 4_096, REQUIREMENTS_CPT_URL)
        for family in ("titan-text-express", "titan-text-lite")
    ),
    TokenLimit("cohere-command", "FINE_TUNING", "prompt", 4_096, REQUIREMENTS_URL),
    TokenLimit("cohere-command", "FINE_TUNING", "completion", 2_048, REQUIREMENTS_URL),
    TokenLimit("llama-3.1", "FINE_TUNING", "record", 16_000, REQUIREMENTS_URL),
    # "Input token length of each dataset row <= 16K (10K for Llama 3.2 90B model)"
    TokenLimit("llama-3.2", "FINE_TUNING", "record", 16_000, LLAMA_VALIDATOR + "README.md#L46"),
    TokenLimit("llama-3.2", "FINE_TUNING", "record", 10_000, LLAMA_VALIDATOR + "README.md#L46", "meta.llama3-2-90b-"),
    TokenLimit("claude-3-haiku", "FINE_TUNING", "record", 32_000, CLAUDE_VALIDATOR + "#L11"),
    TokenLimit("nova", "FINE_TUNING", "record", 32_000, NOVA_CONSTRAINTS_URL),
    # "Meta Llama 3.3 ... Sum of input and output tokens ... 16000"; Amazon Nova 2's "Context length 32k".
    TokenLimit("llama-3.3", "FINE_TUNING", "record", 16_000, REQUIREMENTS_URL),
    TokenLimit("nova-2", "FINE_TUNING", "record", 32_000, NOVA2_SFT_DATA_URL),
)


def token_limits_for(family: str, customization_type: str, base_model: str = "") -> dict[str, TokenLimit]:
    """The token limits in force for a model, by part: a limit for the model's own ids wins over the family's."""
    model_id = model_id_of(base_model)
    found: dict[str, TokenLimit] = {}
    for limit in TOKEN_LIMITS:
        if limit.family != family or limit.customization_type != customization_type:
            continue
        if limit.models and not model_id.startswith(limit.models):
            continue
        if limit.part not in found or len(limit.models) > len(found[limit.part].models):
            found[limit.part] = limit
    return found


def estimate_tokens(text: str) -> int:
    """The published validators' estimate of a text's tokens: CHARS_PER_TOKEN characters per token, rounded down."""
    return len(text) // CHARS_PER_TOKEN


def quotas_for(family: str, customization_type: str) -> dict[str, Quota]:
    """The documented quotas of a model family for a customization type, by quota name."""
    return {q.name: q for q in QUOTAS if q.family == family and q.customization_type == customization_type}


def check_quota_overrides(overrides: Mapping[str, Any]) -> None:
    """ValueError unless each override names a quota of QUOTA_NAMES with a whole number, at least 0, or None (a
    float that is whole counts, as JSON Schema's integer does: a models file's 20000.0)."""
    for name, value in overrides.items():
        if name not in QUOTA_NAMES:
            raise ValueError(f"unknown quota {name!r}; known quotas: {', '.join(QUOTA_NAMES)}")
        whole = type(value) is int or (type(value) is float and value.is_integer())
        if value is not None and (not whole or value < 0):
            raise ValueError(f"quota {name}: expected a whole number, at least 0, or None, got {value!r}")


def _limits(
    family: str, customization_type: str, overrides: Mapping[str, int | None] | None
) -> dict[str, tuple[int, str]]:
    """Quota name -> (value, source) after the caller's overrides (None removes a quota)."""
    limits = {name: (q.value, q.source) for name, q in quotas_for(family, customization_type).items()}
    check_quota_overrides(overrides or {})
    for name, value in (overrides or {}).items():
        if value is None:
            limits.pop(name, None)
        else:
            limits[name] = (int(value), "quota override")
    return limits


# --- record validators ------------------------------------------------------------------------------
# Each format has a validator: a callable that takes one parsed record and raises _Invalid, whose message
# begins with the path of the offending field (``messages[1].content[0].text: ...``), at the first problem.
# A validator is made for one file (_Job): it may keep state across the file's records (one per line, in order)
# and add warnings.

Validator = Callable[[dict[str, Any]], None]
_MISSING: Any = object()
_JSON_KINDS = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number"}
# Warnings kept word for word per file; the others are only counted, so that memory stays constant.
MAX_WARNINGS = 20


def _kind(value: Any) -> str:
    if value is _MISSING:
        return "nothing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return _JSON_KINDS.get(type(value), type(value).__name__)


# Input shown in an error is cut to its first _SHOWN characters: a bad value may be a whole document, and the message
# goes to a terminal and into a CloudFormation event.
_SHOWN = 80


def _cut(text: str, shown: Callable[[str], str] = str) -> str:
    """``text`` as ``shown`` writes it, or its first _SHOWN characters so and how many more it has."""
    if len(text) <= _SHOWN:
        return shown(text)
    return f"{shown(text[:_SHOWN])}... ({len(text) - _SHOWN} more characters)"


def _show(value: Any) -> str:
    """A string quoted as JSON, cut as _cut cuts it; any other value by its kind."""
    return _cut(value, json.dumps) if isinstance(value, str) else _kind(value)


def _expected(where: str, what: str, value: Any) -> _Invalid:
    """The field at ``where`` is not ``what`` it should be (for example "a string") but ``value``."""
    return _Invalid(f"{where}: expected {what}, got {_kind(value)}")


def _over(what: str, count: int, limit: tuple[int, str]) -> _Invalid:
    value, source = limit
    return _Invalid(f"{what} has {count} characters, over the quota of {value} ({source})")


def _blank(value: Any) -> bool:
    """Not a string with something other than white space in it."""
    return type(value) is not str or not value.strip()


class _Warnings:
    """The warnings of one file, each ``file:line: message`` (or ``file: message``), in order; past
    MAX_WARNINGS, only counted."""

    __slots__ = ("display", "more", "shown")

    def __init__(self, display: str) -> None:
        self.display = display
        self.shown: list[str] = []
        self.more = 0

    def add(self, line: int | None, message: str) -> None:
        if len(self.shown) < MAX_WARNINGS:
            self.shown.append(f"{self.display}:{line}: {message}" if line else f"{self.display}: {message}")
        else:
            self.more += 1

    def lines(self) -> tuple[str, ...]:
        if not self.more:
            return tuple(self.shown)
        return (*self.shown, f"{self.display}: {self.more} more warnings like those above")


@dataclass(frozen=True)
class _Job:
    """What a file's validator is made from: the format rule, the quotas in force, the model and the warnings."""

    rule: FormatRule
    limits: Mapping[str, tuple[int, str]]
    model_id: str
    warnings: _Warnings
    dataset_bucket: str | None = None  # where Bedrock reads the file from (validate_dataset)


def _prompt_completion(job: _Job) -> Validator:
    limits = job.limits
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


def _cpt_input(job: _Job) -> Validator:
    record_limit = job.limits.get("max_record_chars")

    def validate(record: dict[str, Any]) -> None:
        text = record.get("input", _MISSING)
        if type(text) is not str:
            raise _expected("input", "a string", text)
        if len(record) > 1:
            extra = next(key for key in record if key != "input")
            raise _Invalid(f'{_cut(extra)}: unexpected field; continued pre-training records hold only "input"')
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


# --- reserved keywords --------------------------------------------------------------------------------

# Amazon Nova: INVALID_TOKENS_TEXT, refused in any case in every text, system and reasoning text of SFT and in RFT
# message contents (NOVA_VALIDATOR, validate_invalid_tokens). The Nova user guide lists User:, Bot:, Assistant:,
# System:, <image>, <video> and [EOS] (NOVA_FINE_TUNING_URL); the validator adds Thought: and <unk>. (Its list at
# commit 1e88f24 lacks a few commas, so that "Thought:" stands only inside joined strings; the earlier commit
# 8c76875 lists "Thought:" on its own, and it is kept here.) Each keyword holds ":", "[" or "<", looked for first.
_NOVA_RESERVED = ("system:", "user:", "bot:", "assistant:", "thought:", "[eos]", "<image>", "<video>", "<unk>")
# Claude 3 Haiku: RESERVED_KEYWORDS, case-sensitive, in the system prompt and every message (CLAUDE_VALIDATOR lines
# 15 and 38-43; the validator's README: "\nHuman" or "\nAssistant" without a colon are allowed).
_CLAUDE_RESERVED = ("\nHuman:", "\nAssistant:")


def _nova_reserved(text: str) -> str | None:
    """The first of Nova's reserved keywords that ``text`` holds, in any case, as written there; or None."""
    if ":" not in text and "<" not in text and "[" not in text:
        return None
    low = text.lower()
    for keyword in _NOVA_RESERVED:
        if (at := low.find(keyword)) >= 0:
            # str.lower keeps the length of nearly every text; where it does not, the keyword is named as listed.
            return text[at : at + len(keyword)] if len(low) == len(text) else keyword
    return None


def _claude_reserved(text: str) -> str | None:
    if "\n" not in text:
        return None
    return next((keyword for keyword in _CLAUDE_RESERVED if keyword in text), None)


# --- bedrock-conversation-2024 content blocks -------------------------------------------------------
# A content block holds one kind of content, under its key: text, or one of the other kinds its turn's role may
# hold for the model (image, video and document in user turns; toolResult in user turns; toolUse and
# reasoningContent in assistant turns).

_BLOCK_KINDS = ("text", "image", "video", "document", "reasoningContent", "toolUse", "toolResult")
_MEDIA = frozenset(("image", "video", "document"))
_USER_ONLY = frozenset(("image", "video", "document", "toolResult"))
_IMAGE_FORMATS = frozenset(("png", "jpeg", "gif", "webp"))  # Nova page and validator; Llama validator README L44
_VIDEO_FORMATS = frozenset(("mov", "mkv", "mp4", "webm"))  # Nova page and validator
# Amazon Nova 2 Lite: "Images - PNG, JPEG, GIF", "Videos - MOV, MKV, MP4" (NOVA2_BEDROCK_SFT_URL; NOVA_VALIDATOR,
# NOVA_2_0_LITE_IMAGE_FORMATS and NOVA_2_0_LITE_VIDEO_FORMATS).
_NOVA_2_IMAGE_FORMATS = frozenset(("png", "jpeg", "gif"))
_NOVA_2_VIDEO_FORMATS = frozenset(("mov", "mkv", "mp4"))
_DOCUMENT_FORMATS = frozenset(("pdf",))  # NOVA_VALIDATOR, DOCUMENT_FORMATS
# S3 keys of Nova media: "only alphanumeric characters, underscores, hyphens, slashes, and dots"
# (NOVA_FINE_TUNING_URL; NOVA_VALIDATOR, is_valid_path, which applies it to each media URI after "s3://").
_NOVA_URI_PATH = re.compile(r"[\w\-/.]+")
_NOVA_MAX_IMAGES = 10  # per sample, Nova "Image and video constraints"; per turn, NOVA_VALIDATOR MAX_NUM_IMAGES
_NOVA_MAX_VIDEOS = 1  # per sample (Nova page; NOVA_VALIDATOR "Only one video is allowed per sample")
_NOVA_MAX_DOCUMENTS = 1  # per sample (NOVA_VALIDATOR, validate_one_document_per_sample)


class _RecordState:
    """What one record's content blocks add up to, across its turns: media counts and tool use ids."""

    __slots__ = ("documents", "images", "result_ids", "tool_names", "use_ids", "videos")

    def __init__(self, tool_names: frozenset[str] | None) -> None:
        self.images = self.videos = self.documents = 0
        self.tool_names = tool_names
        self.use_ids: set[str] = set()
        self.result_ids: set[str] = set()


# The models outside Amazon Nova that fine-tune on images: the user guide's image-text page names only these ("Supported
# image formats for Meta Llama-3.2 11B Vision Instruct and Meta Llama-3.2 90B Vision Instruct", IMAGE_TEXT_URL), and
# the Llama validator marks them alone MULTIMODAL (LLAMA_VALIDATOR utils/model_config/models_registry.py#L14-L21).
# Any other model (Llama 3.3 70B, Llama 3.2 1B and 3B) takes text only: allowed where documented, not refused by name.
_IMAGE_TEXT_MODELS = ("meta.llama3-2-11b-", "meta.llama3-2-90b-")


def _block_kinds(rule: FormatRule, model_id: str) -> tuple[frozenset[str], frozenset[str], dict[str, str]]:
    """The kinds of content block, besides text, that user and assistant turns may hold for the model; and why it
    refuses some kinds, by kind."""
    nova = rule.family in ("nova", "nova-2")
    user: set[str] = {"image", "video"}
    assistant: set[str] = set()
    refusals: dict[str, str] = {}
    if nova and rule.customization_type == "FINE_TUNING":
        user |= {"document", "toolResult"}
        assistant |= {"toolUse"}
    if nova:
        if rule.family == "nova-2":
            assistant.add("reasoningContent")
        else:
            refusals["reasoningContent"] = (
                f"reasoningContent blocks are for Amazon Nova 2 Lite only ({NOVA2_FINE_TUNING_URL}; "
                f"{NOVA_VALIDATOR}#REASONING_SUPPORTED_MODELS)"
            )
        if model_id.startswith("amazon.nova-micro-"):
            for kind in ("image", "video", "document"):
                user.discard(kind)
                refusals[kind] = (
                    f"Amazon Nova Micro takes text only, no {kind} ({NOVA_VALIDATOR}#Message.validate_content)"
                )
    elif model_id.startswith(_IMAGE_TEXT_MODELS):
        user.discard("video")
        refusals["video"] = f'"User inputs can include both text and images": no video ({IMAGE_TEXT_URL})'
    else:
        for kind in ("image", "video"):
            user.discard(kind)
            refusals[kind] = (
                f"{model_id} takes text only, no {kind}: of the models outside Amazon Nova, the "
                f"user guide fine-tunes only Meta Llama 3.2 11B and 90B Vision Instruct on images ({IMAGE_TEXT_URL})"
            )
    if rule.customization_type == "DISTILLATION":
        for kind in ("image", "video", "document"):
            user.discard(kind)
            refusals[kind] = (
                f'distillation\'s models "support only the text-to-text modality": no {kind} ({DISTILLATION_URL})'
            )
    return frozenset(user), frozenset(assistant), refusals


class _MediaChecks:
    """Image, video and document blocks of one file's records, and each record's media counts. It keeps the media
    modality seen first (kind, line): for Nova fine-tuning, a dataset holds images or videos, not both."""

    __slots__ = (
        "dataset_bucket",
        "family_name",
        "format_source",
        "formats",
        "media_limits",
        "modality",
        "nova",
        "nova_2",
        "typed",
    )

    def __init__(self, rule: FormatRule, dataset_bucket: str | None = None) -> None:
        nova_2 = rule.family == "nova-2"
        self.family_name = FAMILY_NAMES[rule.family]
        self.nova = rule.family in ("nova", "nova-2") and rule.customization_type == "FINE_TUNING"
        self.nova_2 = nova_2
        # Meta Llama 3.2's image blocks may say their modality: "a type field (text or image)" (IMAGE_TEXT_URL).
        self.typed = rule.family == "llama-3.2"
        self.media_limits = rule.family in ("nova", "nova-2")  # per record (Nova pages: fine-tuning, distillation)
        self.formats = {
            "image": _NOVA_2_IMAGE_FORMATS if nova_2 else _IMAGE_FORMATS,
            "video": _NOVA_2_VIDEO_FORMATS if nova_2 else _VIDEO_FORMATS,
            "document": _DOCUMENT_FORMATS,
        }
        self.format_source = NOVA2_BEDROCK_SFT_URL if nova_2 else ""
        self.modality: tuple[str, int] | None = None
        self.dataset_bucket = dataset_bucket

    def check(self, block: dict[str, Any], where: str, media: str, state: _RecordState, line: int) -> None:
        """An image, video or document block at ``line``: a supported format and an S3 location; counted for the
        record."""
        body = block[media]
        typed = self.typed and block.get("type") == media
        if len(block) != 1 + typed or type(body) is not dict:
            extra = ", ".join(key for key in block if key != media and not (typed and key == "type"))
            raise _Invalid(
                f'{where}: expected {{"{media}": {{"format": ..., "source": ...}}}} alone'
                + (f", got also {_cut(extra)}" if extra else f", got {_kind(body)}")
            )
        formats = self.formats[media]
        fmt = body.get("format", _MISSING)
        if type(fmt) is not str or fmt not in formats:
            cited = (
                f" for {self.family_name} ({self.format_source})" if self.format_source and media != "document" else ""
            )
            raise _Invalid(
                f"{where}.{media}.format: expected one of {', '.join(sorted(formats))}{cited}, got {_show(fmt)}"
            )
        origin = body.get("source")
        location = origin.get("s3Location") if type(origin) is dict else None
        uri = location.get("uri") if type(location) is dict else None
        if type(uri) is not str or not uri.startswith("s3://"):
            raise _Invalid(f'{where}.{media}.source.s3Location.uri: expected an "s3://" URI, got {_show(uri)}')
        if media == "image":
            state.images += 1
        elif media == "video":
            state.videos += 1
        else:
            state.documents += 1
        if self.nova:
            self._check_nova(uri, where, media, line)

    def _check_nova(self, uri: str, where: str, media: str, line: int) -> None:
        """Nova fine-tuning's rules of a media block: the URI's characters, one media modality per dataset."""
        if _NOVA_URI_PATH.fullmatch(uri, 5) is None:
            raise _Invalid(
                f"{where}.{media}.source.s3Location.uri: {_show(uri)} holds characters other than letters, digits, "
                f"_, -, / and . ({NOVA_FINE_TUNING_URL}; {NOVA_VALIDATOR}#is_valid_path)"
            )
        if media == "document" and not self.nova_2:  # Amazon Nova's pages say this of images and videos only
            return
        bucket = uri[len("s3://") :].split("/", 1)[0]
        if self.dataset_bucket is not None and bucket != self.dataset_bucket:
            quoted = (
                '("The document.source.s3Location.uri must be in the same Amazon S3 bucket as your dataset", '
                f"{NOVA2_SFT_DATA_URL})"
                if media == "document"
                else '("The images or videos must be in the same Amazon S3 bucket as your dataset", '
                f"{NOVA_FINE_TUNING_URL})"
            )
            kinds = "documents" if media == "document" else "images and videos"
            raise _Invalid(
                f"{where}.{media}.source.s3Location.uri: {_show(uri)} is in bucket {_cut(bucket)}, but the dataset is "
                f"read from {self.dataset_bucket}; Amazon Nova reads {kinds} only from the dataset's own bucket "
                f"{quoted}: upload the dataset to that bucket and give it with S3Data.from_bucket"
            )
        if self.modality is None:
            self.modality = (media, line)
        elif self.modality[0] != media:
            kind, first = self.modality
            kinds = "images, videos or documents, one kind only" if self.nova_2 else "images or videos, not both"
            raise _Invalid(
                f"{where}: {'an' if media == 'image' else 'a'} {media}, but line {first} holds "
                f"{'an' if kind == 'image' else 'a'} {kind}; a dataset holds {kinds} "
                f"({NOVA_FINE_TUNING_URL}; {NOVA2_BEDROCK_SFT_URL}{'; ' + NOVA2_SFT_DATA_URL if self.nova_2 else ''})"
            )

    def check_counts(self, state: _RecordState) -> None:
        """The record's images, videos and documents, against the per-record limits."""
        if self.media_limits and (state.images > _NOVA_MAX_IMAGES or state.videos > _NOVA_MAX_VIDEOS):
            raise _Invalid(
                f"messages: {state.images} images and {state.videos} videos; {self.family_name} takes at most "
                f"{_NOVA_MAX_IMAGES} images or {_NOVA_MAX_VIDEOS} video per record ({NOVA_CONSTRAINTS_URL})"
            )
        if state.documents > _NOVA_MAX_DOCUMENTS:
            raise _Invalid(
                f"messages: {state.documents} documents; one per record at most "
                f"({NOVA_VALIDATOR}#validate_one_document_per_sample)"
            )


class _ToolChecks:
    """Amazon Nova's tool use: a record's toolConfig, toolUse and toolResult blocks (NOVA_VALIDATOR: ToolConfig,
    ToolSpec, ToolUse, ToolResult and validate_tool_use_in_conversation, which checks names and ids against
    toolConfig when a record has one). Warns once per file where the model does not support tool use."""

    __slots__ = ("tool_warning", "warnings")

    def __init__(self, warnings: _Warnings, tool_warning: bool) -> None:
        self.warnings = warnings
        self.tool_warning = tool_warning

    def _warn(self, where: str, line: int) -> None:
        if self.tool_warning:
            self.tool_warning = False  # once per file
            self.warnings.add(
                line,
                f"{where}: Amazon Nova 2 SFT on Amazon Bedrock does not currently support tool use; "
                f'"adding tool sections might cause your job to fail" ({NOVA2_BEDROCK_SFT_URL})',
            )

    def check_config(self, config: Any, line: int) -> frozenset[str]:
        """A record's toolConfig; the names of its tools."""
        source = f"{NOVA_VALIDATOR}#ToolConfig"
        tools = config.get("tools") if type(config) is dict else None
        if type(tools) is not list or not tools:
            raise _Invalid(f'toolConfig: expected {{"tools": [...]}} with at least one tool ({source})')
        names: set[str] = set()
        for k, tool in enumerate(tools):
            where = f"toolConfig.tools[{k}].toolSpec"
            spec = tool.get("toolSpec") if type(tool) is dict else None
            if type(spec) is not dict:
                raise _expected(where, "an object", spec if type(tool) is dict else _MISSING)
            for field in ("name", "description"):
                if _blank(spec.get(field)):
                    raise _Invalid(f"{where}.{field}: expected a non-empty string, got {_show(spec.get(field))}")
            schema = spec.get("inputSchema")
            json_schema = schema.get("json") if type(schema) is dict else None
            if type(json_schema) is not dict or "type" not in json_schema:
                raise _Invalid(f'{where}.inputSchema: expected {{"json": {{"type": ...}}}} ({source})')
            if spec["name"] in names:
                raise _Invalid(f"{where}.name: {_show(spec['name'])} names another tool too ({source})")
            names.add(spec["name"])
        self._warn("toolConfig", line)
        return frozenset(names)

    def check_use(self, body: Any, where: str, state: _RecordState, line: int) -> None:
        if type(body) is not dict:
            raise _expected(where, "an object", body)
        for field in ("toolUseId", "name"):
            if _blank(body.get(field, _MISSING)):
                raise _Invalid(f"{where}.{field}: expected a non-empty string, got {_show(body.get(field, _MISSING))}")
        if type(body.get("input", _MISSING)) is not dict:
            raise _expected(f"{where}.input", "an object", body.get("input", _MISSING))
        self._warn(where, line)
        if state.tool_names is None:
            return
        source = f"{NOVA_VALIDATOR}#validate_tool_use_in_conversation"
        if body["name"] not in state.tool_names:
            raise _Invalid(f"{where}.name: no tool {_show(body['name'])} in toolConfig ({source})")
        if body["toolUseId"] in state.use_ids:
            raise _Invalid(f"{where}.toolUseId: {_show(body['toolUseId'])} is used twice ({source})")
        state.use_ids.add(body["toolUseId"])

    def check_result(self, body: Any, where: str, state: _RecordState, line: int) -> None:
        if type(body) is not dict:
            raise _expected(where, "an object", body)
        if _blank(body.get("toolUseId", _MISSING)):
            raise _Invalid(
                f"{where}.toolUseId: expected a non-empty string, got {_show(body.get('toolUseId', _MISSING))}"
            )
        content = body.get("content", _MISSING)
        if type(content) is not list or not content:
            raise _expected(f"{where}.content", "a non-empty list", content)
        for k, item in enumerate(content):
            kinds = [key for key in ("text", "json") if type(item) is dict and key in item]
            valid = len(kinds) == 1 and type(item[kinds[0]]) is (str if kinds[0] == "text" else dict)
            if not valid:
                raise _Invalid(f'{where}.content[{k}]: expected {{"text": "..."}} or {{"json": {{...}}}}, one of them')
        self._warn(where, line)
        if state.tool_names is None:
            return
        source = f"{NOVA_VALIDATOR}#validate_tool_use_in_conversation"
        tool_use_id = body["toolUseId"]
        if tool_use_id not in state.use_ids:
            raise _Invalid(f"{where}.toolUseId: {_show(tool_use_id)} answers no earlier toolUse ({source})")
        if tool_use_id in state.result_ids:
            raise _Invalid(f"{where}.toolUseId: {_show(tool_use_id)} is answered twice ({source})")
        state.result_ids.add(tool_use_id)


# --- bedrock-conversation-2024 records --------------------------------------------------------------


class _Conversation:
    """Checks bedrock-conversation-2024 records part by part (schema version, system prompt, tools, turns, content
    blocks), as one model takes them for one customization type; :meth:`validate` is the validator. Media blocks
    go to a :class:`_MediaChecks`, which keeps what the dataset as a whole must agree on (Nova: images or videos,
    not both); tool use goes to a :class:`_ToolChecks`."""

    def __init__(self, job: _Job) -> None:
        rule = job.rule
        nova = rule.family in ("nova", "nova-2")
        self.family_name = FAMILY_NAMES[rule.family]
        self.prompts = rule.format == DISTILLATION_PROMPTS  # schemaVersion required; may end on a user turn
        self.multi_turn = rule.multi_turn
        fine_tuning = rule.customization_type == "FINE_TUNING"
        # Nova fine-tuning: the Nova validator's rules (reserved keywords in every text, empty turns, documents,
        # tool use, media URIs) and the Nova page's (one media modality per dataset).
        self.nova = nova and fine_tuning
        self.reserved = self.nova
        # Meta Llama: "schemaVersion": {"const": "bedrock-conversation-2024"}, "system": 1 item (LLAMA_VALIDATOR
        # utils/schema.py lines 5, 8-9). Nova: "schemaVersion can be any string value" (NOVA_FINE_TUNING_URL).
        self.exact_schema = self.prompts or not nova
        self.one_system_block = not nova
        self.user_kinds, self.assistant_kinds, self.refusals = _block_kinds(rule, job.model_id)
        self.media = _MediaChecks(rule, job.dataset_bucket)
        # Nova 2 fine-tuning: "tool usage ... is not currently supported", a warning.
        self.tools = _ToolChecks(job.warnings, rule.family == "nova-2" and fine_tuning)
        self.line = 0  # the line being checked

    @classmethod
    def validator(cls, job: _Job) -> Validator:
        return cls(job).validate

    def validate(self, record: dict[str, Any]) -> None:
        # A refused record leaves nothing the dataset as a whole must agree on: the check goes on past it, and a
        # later record must not be refused for the media of a record that is itself refused.
        modality = self.media.modality
        try:
            self._validate(record)
        except _Invalid:
            self.media.modality = modality
            raise

    def _validate(self, record: dict[str, Any]) -> None:
        # This runs once per record, so it takes the common case quickly, in as few steps as it can: a system prompt
        # of one text block, turns of text blocks only. Anything else goes to the methods that check each part in
        # full (and find every error the quick path looks for, so that the messages agree).
        self.line += 1
        schema = record.get("schemaVersion", _MISSING)
        if schema != SCHEMA_VERSION:
            self._check_schema_version(schema)
        reserved = self.reserved
        system = record.get("system", _MISSING)
        if system is not _MISSING and not (
            type(system) is list
            and len(system) == 1
            and type(block := system[0]) is dict
            and type(text := block.get("text")) is str
            and not (reserved and _nova_reserved(text))
        ):
            self._check_system(system)
        messages = record.get("messages", _MISSING)
        if type(messages) is not list or not messages:
            raise _expected("messages", "a non-empty list of messages", messages)
        if len(messages) > 2 and not self.multi_turn:
            raise _Invalid(
                f"messages[2]: {self.family_name} takes single-turn prompts only (one user message, "
                f"optionally one assistant reply), got {len(messages)} messages ({DISTILLATION_URL})"
            )
        nova = self.nova
        tool_names = None
        if nova and "toolConfig" in record:
            tool_names = self.tools.check_config(record["toolConfig"], self.line)
        state = None
        roles = _TURN_ROLES
        for i, message in enumerate(messages):
            if type(message) is not dict or message.get("role") != roles[i & 1]:
                raise _turn_error(i, message)
            content = message.get("content")
            if type(content) is not list or not content:
                raise _expected(f"messages[{i}].content", "a non-empty list of content blocks", content)
            filled = False
            for block in content:
                if type(block) is not dict or len(block) != 1 or type(text := block.get("text")) is not str:
                    break
                if text:
                    filled = True
                    if reserved and (":" in text or "<" in text or "[" in text) and _nova_reserved(text):
                        break
            else:
                if nova and not filled:
                    raise self._empty_turn(i)
                continue
            if state is None:
                state = _RecordState(tool_names)
            self._check_turn(i, roles[i & 1], content, state)
        if state is not None:
            self.media.check_counts(state)
        # The loop has checked every role: the last message is the user's when their number is odd.
        if len(messages) & 1 and not self.prompts:
            raise _Invalid(
                f'messages[{len(messages) - 1}].role: the last message must be "assistant" '
                '(the response to learn), got "user"'
            )

    def _check_schema_version(self, schema: Any) -> None:
        if self.exact_schema and (self.prompts or schema is not _MISSING):
            source = "" if self.prompts else f" ({LLAMA_VALIDATOR}utils/schema.py#L5)"
            raise _Invalid(f'schemaVersion: expected "{SCHEMA_VERSION}", got {_show(schema)}{source}')
        if schema is not _MISSING and type(schema) is not str:
            raise _expected("schemaVersion", "a string", schema)

    def _check_system(self, system: Any) -> None:
        if type(system) is not list:
            raise _expected("system", 'a list of {"text": ...} blocks', system)
        if self.one_system_block and len(system) != 1:
            raise _Invalid(
                f'system: expected one {{"text": ...}} block, got {len(system)} '
                f"({LLAMA_VALIDATOR}utils/schema.py#L8-L9)"
            )
        for i, block in enumerate(system):
            text = block.get("text", _MISSING) if type(block) is dict else _MISSING
            if type(text) is not str:
                raise _expected(f"system[{i}]", '{"text": "..."}', block)
            if self.reserved and (found := _nova_reserved(text)) is not None:
                raise self._reserved_error(f"system[{i}].text", found)

    def _empty_turn(self, i: int) -> _Invalid:
        return _Invalid(
            f"messages[{i}].content: the turn's text is empty and it holds nothing else "
            f"({NOVA_VALIDATOR}#Message.validate_content)"
        )

    def _check_turn(self, i: int, role: str, content: list[Any], state: _RecordState) -> None:
        """Every content block of message ``i``, in full, and the turn's own rules; adds to the record's state."""
        allowed = self.user_kinds if role == "user" else self.assistant_kinds
        counts = dict.fromkeys(_BLOCK_KINDS, 0)
        filled = False
        for j, block in enumerate(content):
            where = f"messages[{i}].content[{j}]"
            if type(block) is not dict:
                raise _expected(where, "an object", block)
            present = [key for key in _BLOCK_KINDS if key in block]
            if not present:
                raise _Invalid(
                    f'{where}: expected a {{"text": "..."}} block, got keys {_cut(", ".join(block)) or "none"}'
                )
            if len(present) > 1:
                raise _Invalid(f"{where}: holds {' and '.join(present)}; a content block holds one kind of content")
            key = present[0]
            counts[key] += 1
            if key == "text":
                text = block["text"]
                if type(text) is not str:
                    raise _expected(f"{where}.text", "a string", text)
                filled = filled or text != ""
                if self.reserved and (found := _nova_reserved(text)) is not None:
                    raise self._reserved_error(f"{where}.text", found)
                continue
            if key not in allowed:
                raise self._kind_error(where, role, key)
            if key in _MEDIA:
                self.media.check(block, where, key, state, self.line)
            elif key == "reasoningContent":
                self._check_reasoning(block[key], where)
            elif key == "toolUse":
                self.tools.check_use(block[key], f"{where}.toolUse", state, self.line)
            else:
                self.tools.check_result(block[key], f"{where}.toolResult", state, self.line)
        if not self.nova:
            return
        # Nova's rules of one turn (NOVA_VALIDATOR, Message.validate_content).
        source = f"{NOVA_VALIDATOR}#Message.validate_content"
        media = counts["image"] or counts["video"] or counts["document"]
        if counts["text"] and not filled and not (media or counts["reasoningContent"]):
            raise self._empty_turn(i)
        # The validator's list of what a turn must hold one of: a text block (empty or not, as above) and no reasoning.
        if counts["reasoningContent"] and not (counts["text"] or media or counts["toolUse"] or counts["toolResult"]):
            raise _Invalid(
                f"messages[{i}].content: reasoningContent alone; the turn needs a text, image, video, document, "
                f"toolUse or toolResult block besides it ({source})"
            )
        if counts["video"] and (counts["image"] or counts["document"]):
            raise _Invalid(f"messages[{i}].content: a video and an image or document in one turn ({source})")
        if counts["document"] > _NOVA_MAX_DOCUMENTS:
            raise _Invalid(f"messages[{i}].content: {counts['document']} documents; one per turn at most ({source})")

    def _kind_error(self, where: str, role: str, key: str) -> _Invalid:
        if key in self.refusals:
            return _Invalid(f"{where}: {self.refusals[key]}")
        if key in self.user_kinds or key in self.assistant_kinds:
            return _Invalid(f"{where}: {key} blocks belong in {'assistant' if role == 'user' else 'user'} turns only")
        return _Invalid(f'{where}: expected a {{"text": "..."}} block, got keys {key}')

    def _check_reasoning(self, body: Any, where: str) -> None:
        """Amazon Nova 2's reasoning block in an assistant turn: non-empty text, no reserved keyword."""
        reasoning_text = body.get("reasoningText") if type(body) is dict else None
        text = reasoning_text.get("text") if type(reasoning_text) is dict else None
        if type(text) is not str:
            raise _Invalid(f'{where}.reasoningContent: expected {{"reasoningText": {{"text": "..."}}}}')
        if not text:
            raise _Invalid(
                f"{where}.reasoningContent.reasoningText.text: empty ({NOVA_VALIDATOR}#ReasoningText.validate_text)"
            )
        if self.reserved and (found := _nova_reserved(text)) is not None:
            raise self._reserved_error(f"{where}.reasoningContent.reasoningText.text", found)

    def _reserved_error(self, where: str, found: str) -> _Invalid:
        return _Invalid(
            f"{where}: contains the reserved keyword {json.dumps(found)}, which fails {self.family_name} training "
            f"({NOVA_FINE_TUNING_URL}; {NOVA_VALIDATOR}#INVALID_TOKENS_TEXT)"
        )


# --- distillation prompts of Anthropic and Meta Llama models ------------------------------------------
# The distillation validator's schema (DISTILLATION_VALIDATOR schema.py): no fields but schemaVersion (required,
# exactly bedrock-conversation-2024), system and messages (L48-L49); system, one {"text"} block (L9-L19); one or
# two messages (L23-L24) of role and content only (L43-L44); content, one block of "text" and an optional "type"
# (L30-L40).

_PROMPT_FIELDS = frozenset(("schemaVersion", "system", "messages"))
_PROMPT_MESSAGE_FIELDS = frozenset(("role", "content"))
_PROMPT_BLOCK_FIELDS = frozenset(("text", "type"))


def _single_turn_prompts(job: _Job) -> Validator:
    family_name = FAMILY_NAMES[job.rule.family]
    schema_source = DISTILLATION_VALIDATOR + "schema.py"

    def unexpected(where: str, extra: set[str], allowed: frozenset[str]) -> _Invalid:
        key = sorted(extra)[0]
        return _Invalid(
            f"{where}{_cut(key)}: unexpected field; a prompt holds only {', '.join(sorted(allowed))} ({schema_source})"
        )

    def validate(record: dict[str, Any]) -> None:
        if extra := record.keys() - _PROMPT_FIELDS:
            raise unexpected("", extra, _PROMPT_FIELDS)
        schema = record.get("schemaVersion", _MISSING)
        if schema != SCHEMA_VERSION:
            raise _Invalid(f'schemaVersion: expected "{SCHEMA_VERSION}", got {_show(schema)}')
        system = record.get("system", _MISSING)
        if system is not _MISSING:
            if type(system) is not list or len(system) != 1:
                raise _Invalid(
                    f'system: expected one {{"text": ...}} block, got {_kind(system)} ({schema_source}#L9-L19)'
                )
            block = system[0]
            if type(block) is not dict or type(block.get("text")) is not str:
                raise _expected("system[0]", '{"text": "..."}', block)
            if extra := block.keys() - {"text"}:
                raise unexpected("system[0].", extra, frozenset(("text",)))
        messages = record.get("messages", _MISSING)
        if type(messages) is not list or not messages:
            raise _expected("messages", "a non-empty list of messages", messages)
        if len(messages) > 2:
            raise _Invalid(
                f"messages[2]: {family_name} takes single-turn prompts only (one user message, "
                f"optionally one assistant reply), got {len(messages)} messages ({DISTILLATION_URL})"
            )
        for i, message in enumerate(messages):
            if type(message) is not dict or message.get("role") != _TURN_ROLES[i]:
                raise _turn_error(i, message)
            if extra := message.keys() - _PROMPT_MESSAGE_FIELDS:
                raise unexpected(f"messages[{i}].", extra, _PROMPT_MESSAGE_FIELDS)
            content = message.get("content")
            if type(content) is not list or len(content) != 1:
                raise _Invalid(
                    f'messages[{i}].content: expected one {{"text": "..."}} block, got '
                    f"{len(content) if type(content) is list else _kind(content)} ({schema_source}#L30-L31)"
                )
            block = content[0]
            if type(block) is not dict:
                raise _expected(f"messages[{i}].content[0]", "an object", block)
            if type(block.get("text", _MISSING)) is not str:
                raise _expected(f"messages[{i}].content[0].text", "a string", block.get("text", _MISSING))
            if extra := block.keys() - _PROMPT_BLOCK_FIELDS:
                raise unexpected(f"messages[{i}].content[0].", extra, _PROMPT_BLOCK_FIELDS)
            if "type" in block and type(block["type"]) is not str:
                raise _expected(f"messages[{i}].content[0].type", "a string", block["type"])

    return validate


# --- other message formats --------------------------------------------------------------------------


def _claude_messages(job: _Job) -> Validator:
    def reserved_error(where: str, found: str) -> _Invalid:
        return _Invalid(
            f"{where}: contains the reserved keyword {json.dumps(found)} (a line starting {found.strip()!r}), "
            f"which Anthropic reserves ({CLAUDE_VALIDATOR}#L15)"
        )

    def validate(record: dict[str, Any]) -> None:
        system = record.get("system", _MISSING)
        if system is not _MISSING:
            if type(system) is not str:
                raise _expected("system", "a string", system)
            if (found := _claude_reserved(system)) is not None:
                raise reserved_error("system", found)
        messages = record.get("messages", _MISSING)
        if type(messages) is not list or len(messages) < 2:
            raise _expected("messages", "a list of at least a user and an assistant message", messages)
        for i, message in enumerate(messages):
            if type(message) is not dict or message.get("role") != _TURN_ROLES[i % 2]:
                raise _turn_error(i, message)
            content = message.get("content", _MISSING)
            if type(content) is not str:
                raise _expected(f"messages[{i}].content", "a string", content)
            if "\n" in content and (found := _claude_reserved(content)) is not None:
                raise reserved_error(f"messages[{i}].content", found)
        # Every role is checked, so the last one can be read as is.
        if messages[-1]["role"] == "user":
            raise _Invalid(f'messages[{len(messages) - 1}].role: the last message must be "assistant", got "user"')

    return validate


_OPENAI_ROLES = ("system", "user", "assistant")


def _check_rft_tools(tools: Any) -> None:
    """RFT's optional OpenAI tool definitions (NOVA_VALIDATOR: RFTTool, RFTFunction, RFTFunctionParameters and
    RFTDatasetSample.validate_tools)."""
    source = f"{NOVA_VALIDATOR}#RFTDatasetSample"
    if type(tools) is not list or not tools:
        raise _Invalid(f"tools: expected a non-empty list of tools, got {_kind(tools)} ({source})")
    names: set[str] = set()
    for k, tool in enumerate(tools):
        where = f"tools[{k}]"
        if type(tool) is not dict:
            raise _expected(where, "an object", tool)
        if tool.get("type") != "function":
            raise _Invalid(f'{where}.type: expected "function", got {_show(tool.get("type", _MISSING))}')
        function = tool.get("function")
        if type(function) is not dict:
            raise _expected(f"{where}.function", "an object", tool.get("function", _MISSING))
        for field in ("name", "description"):
            if _blank(function.get(field)):
                raise _Invalid(
                    f"{where}.function.{field}: expected a non-empty string, got {_show(function.get(field))}"
                )
        parameters = function.get("parameters")
        if (
            type(parameters) is not dict
            or parameters.get("type") != "object"
            or type(parameters.get("properties")) is not dict
        ):
            raise _Invalid(
                f'{where}.function.parameters: expected {{"type": "object", "properties": {{...}}}} ({source})'
            )
        required = parameters.get("required", [])
        if type(required) is not list or not all(type(name) is str for name in required):
            raise _expected(f"{where}.function.parameters.required", "a list of strings", required)
        if function["name"] in names:
            raise _Invalid(f"{where}.function.name: {_show(function['name'])} names another tool too ({source})")
        names.add(function["name"])


def _openai_chat(job: _Job) -> Validator:
    """Amazon Nova 2 Lite's records (its validator's rules, NOVA_VALIDATOR), or an open-weight model's
    (RFT_OPEN_WEIGHT_URL: messages of the three roles, and a reference_answer)."""
    source = f"{NOVA_VALIDATOR}#RFTDatasetSample"
    nova = job.rule.family == "nova-2"
    answer_source = NOVA2_RFT_DATA_URL if nova else RFT_OPEN_WEIGHT_URL

    def validate(record: dict[str, Any]) -> None:
        messages = record.get("messages", _MISSING)
        if type(messages) is not list or not messages:
            raise _expected("messages", "a non-empty list of messages", messages)
        users = systems = 0
        for i, message in enumerate(messages):
            if type(message) is not dict:
                raise _expected(f"messages[{i}]", "an object", message)
            role = message.get("role", _MISSING)
            if role not in _OPENAI_ROLES:
                raise _Invalid(f'messages[{i}].role: expected "system", "user" or "assistant", got {_show(role)}')
            content = message.get("content", _MISSING)
            if type(content) is not str:
                raise _expected(f"messages[{i}].content", "a string", content)
            if nova and not content.strip():
                raise _Invalid(f"messages[{i}].content: empty ({NOVA_VALIDATOR}#RFTMessage)")
            if nova and (found := _nova_reserved(content)) is not None:
                raise _Invalid(
                    f"messages[{i}].content: contains the reserved keyword {json.dumps(found)} "
                    f"({NOVA_VALIDATOR}#INVALID_TOKENS_TEXT)"
                )
            users += role == "user"
            systems += role == "system"
        if not users:
            raise _Invalid('messages: no "user" message holds the prompt')
        if nova and systems and messages[0]["role"] != "system":
            raise _Invalid(f'messages[0].role: a "system" message, when there is one, comes first ({source})')
        if nova and "id" in record and _blank(record["id"]):
            raise _Invalid(f"id: expected a non-empty string, got {_show(record['id'])} ({source})")
        # Required (NOVA2_RFT_DATA_URL, RFT_OPEN_WEIGHT_URL), where the Nova validator has it optional; an open-weight
        # model's "can contain any format that helps your reward function".
        answer = record.get("reference_answer", _MISSING)
        if nova and not ((type(answer) is str and answer.strip()) or (type(answer) is dict and answer)):
            raise _Invalid(
                f"reference_answer: expected a non-empty string or object, got {_show(answer)} ({answer_source})"
            )
        if answer is _MISSING or answer is None or (type(answer) is str and not answer.strip()):
            raise _Invalid(f"reference_answer: expected the expected output, got {_show(answer)} ({answer_source})")
        if nova and "tools" in record:
            _check_rft_tools(record["tools"])

    return validate


# Each format's validator, made for one file.
_VALIDATORS: dict[str, Callable[[_Job], Validator]] = {
    PROMPT_COMPLETION: _prompt_completion,
    CPT_INPUT: _cpt_input,
    CLAUDE_MESSAGES: _claude_messages,
    OPENAI_CHAT: _openai_chat,
    CONVERSATION: _Conversation.validator,
    DISTILLATION_PROMPTS: lambda job: (
        _Conversation.validator(job) if job.rule.multi_turn else _single_turn_prompts(job)
    ),
}


# --- token estimates --------------------------------------------------------------------------------


def _texts(fmt: str, record: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The texts of a valid record that the model reads, each with its part: "prompt" or "completion" (prompt and
    completion records), else "record"."""
    if fmt == PROMPT_COMPLETION:
        yield "prompt", record["prompt"]
        yield "completion", record["completion"]
    elif fmt == CPT_INPUT:
        yield "record", record["input"]
    elif fmt == CLAUDE_MESSAGES:
        if type(record.get("system")) is str:
            yield "record", record["system"]
        for message in record["messages"]:
            yield "record", message["content"]
    elif fmt == OPENAI_CHAT:
        for message in record["messages"]:
            yield "record", message["content"]
    else:  # bedrock-conversation-2024
        for block in record.get("system", ()):
            yield "record", block["text"]
        for message in record["messages"]:
            for block in message["content"]:
                if type(block.get("text")) is str:
                    yield "record", block["text"]
                elif type(block.get("reasoningContent")) is dict:
                    yield "record", block["reasoningContent"]["reasoningText"]["text"]


class _TokenBudget:
    """The token limits of one file's model, and the warnings for records whose estimate exceeds one."""

    __slots__ = ("family_name", "fmt", "limits", "threshold", "warnings")

    def __init__(self, rule: FormatRule, limits: dict[str, TokenLimit], warnings: _Warnings) -> None:
        self.fmt = rule.format
        self.family_name = FAMILY_NAMES[rule.family]
        self.limits = limits
        self.warnings = warnings
        # An estimate never exceeds the line's length // CHARS_PER_TOKEN: lines shorter than this need no estimate.
        self.threshold = (min(limit.tokens for limit in limits.values()) + 1) * CHARS_PER_TOKEN

    def check(self, record: dict[str, Any], line: int) -> None:
        tokens = dict.fromkeys(("record", "prompt", "completion"), 0)
        for part, text in _texts(self.fmt, record):
            estimate = len(text) // CHARS_PER_TOKEN
            tokens[part] += estimate
            if part != "record":
                tokens["record"] += estimate
        for part, limit in self.limits.items():
            if tokens[part] > limit.tokens:
                what = "the record" if part == "record" else f"the {part}"
                self.warnings.add(
                    line,
                    f"{what} may exceed {self.family_name}'s limit of {limit.tokens:,} tokens: about "
                    f"{tokens[part]:,} at {CHARS_PER_TOKEN} characters per token ({limit.source}; estimate as "
                    f"{TOKEN_ESTIMATE_SOURCE}); count them exactly with validate --count-tokens",
                )


# --- the file ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetSummary:
    """What :func:`validate_dataset` found in a valid file. ``warnings``: lines ``file:line: message`` (or
    ``file: message``) about what may still fail the job (a record's estimated tokens over the model's limit, a
    file name the published validators refuse); at most MAX_WARNINGS of them, then one line counting the rest."""

    path: str
    records: int
    bytes: int
    format: str
    family: str
    customization_type: str
    purpose: str
    warnings: tuple[str, ...] = ()


def format_rule(base_model: str, customization_type: str) -> FormatRule:
    """The dataset format rule of a base model (id or ARN) for a customization type; raises
    :class:`DatasetError` when none is documented."""
    return _rule(base_model, customization_type, base_model)


def _rule(display: str, customization_type: str, base_model: str) -> FormatRule:
    family = model_family(base_model)
    if family is None:
        raise DatasetError(
            f"{display}: this library validates no dataset format of base model {base_model!r} (it validates those "
            f"of {', '.join(FAMILY_NAMES.values())}); upload the file and give it with S3Data.from_bucket or "
            "from_uri, which are not validated"
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


def cannot_read(display: str, exc: OSError) -> DatasetError:
    """The error for a dataset file that the system refuses to read (a permission, a folder, an I/O error)."""
    return DatasetError(f"{display}: cannot read the dataset: {exc.strerror or exc}")


def _file_size(path: str | os.PathLike[str], display: str, quotas: _JobQuotas, quota_name: str) -> int:
    """The file's size: not zero, and within the file size quota ``quota_name`` if in force."""
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise cannot_read(display, exc) from None
    if size == 0:
        raise DatasetError(f"{display}: the file is empty; a dataset holds one JSON record per line")
    if (limit := quotas.limits.get(quota_name)) is not None and size > limit[0]:
        raise DatasetError(f"{display}: the file has {size} bytes; {quotas.text(quota_name)}")
    return size


# A file name of Nova's datasets (NOVA_FINE_TUNING_URL, "These file names can consist of only alphanumeric
# characters, underscores, hyphens, slashes, and dots"). A local file keeps its name when it is uploaded.
_NOVA_FILE_NAME = re.compile(r"[\w\-.]+")


def _file_name_warnings(path: str | os.PathLike[str], family: str, warnings: _Warnings) -> None:
    """The file's name, as the published validators and the Nova page want it: warnings, since the name the job
    reads may be another (an S3 key chosen elsewhere)."""
    name = os.path.basename(os.fspath(path))
    if not name.endswith(".jsonl"):
        warnings.add(
            None,
            f'the file name does not end in ".jsonl", which the published validators require '
            f"({NOVA_VALIDATOR}#check_jsonl_file; {DISTILLATION_VALIDATOR}constants.py#L9)",
        )
    if family in ("nova", "nova-2") and _NOVA_FILE_NAME.fullmatch(name) is None:
        warnings.add(
            None,
            f"the file name holds characters other than letters, digits, _, - and ., which Amazon Nova refuses in "
            f"dataset file names ({NOVA_FINE_TUNING_URL})",
        )


class NotJsonConstant(ValueError):
    """NaN, Infinity or -Infinity: Python's json reads them, JSON (RFC 8259) has no such values."""


def refuse_json_constant(name: str) -> Any:
    """json's parse_constant: refuse what JSON does not have (a NaN that a script wrote for a missing value)."""
    raise NotJsonConstant(f"{name} is not a JSON value (JSON has no NaN or Infinity; write null or a number)")


def _unreadable_line(raw: bytes, exc: ValueError | RecursionError) -> str:
    """Why a line holds no JSON value that can be read."""
    # A blank line fails to parse as well; it is named as such, being the likelier slip.
    if raw.isspace() or not raw:
        return "blank line; JSON Lines holds one JSON record on every line"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8: {exc.reason} (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line)"
    if isinstance(exc, json.JSONDecodeError):
        # The line is parsed with its line break: json counts a column from it, not from the line's start.
        line = exc.doc.rstrip("\r\n")
        where = "at the end of the line" if exc.pos >= len(line) else f"at column {exc.pos + 1}"
        return f"not valid JSON: {exc.msg} {where}"
    if isinstance(exc, RecursionError):
        return "JSON nested more deeply than can be read"
    if isinstance(exc, NotJsonConstant):
        return f"not valid JSON: {exc}"
    # Python's own limit on the digits of an integer it converts (its advice, to raise the limit, is not the user's).
    return f"a value that cannot be read: {str(exc).split(';')[0]}"


# json.loads without its wrapper's per-call work: the C scanner of a decoder (refusing NaN and Infinity), which reads
# one JSON value at an index and clears its memo after each call. A line it does not read whole (leading white space,
# extra data, no value) goes to json.loads, which gives the same value or the same error as always.
_DECODER = json.JSONDecoder(parse_constant=refuse_json_constant)
_scan_json: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(_DECODER)  # type: ignore[arg-type]
_JSON_SPACE = " \t\n\r"

# The most bytes a line (its line end included) may hold: a line is read whole before it is parsed, so this bounds
# memory. No page documents a record's size in bytes; the largest per-record limit documented is 32,000 tokens (Amazon
# Nova's context length, NOVA_CONSTRAINTS_URL; Claude 3 Haiku's, CLAUDE_VALIDATOR#L11), about 100,000 characters at
# CHARS_PER_TOKEN, under 1.2 MiB even with every character a 12-byte JSON escape. 8 MiB leaves a wide margin (a record
# over a token limit is only a warning); a longer line is most likely a whole JSON array on one line.
MAX_LINE_BYTES = 8 * _MB


# The records that break the format reported by one check, each with its line; those beyond are counted.
MAX_REPORTED_RECORDS = 10


class _RecordProblems:
    """The records of a file that break the format, found as the check goes on: one run reports them all (up to
    MAX_REPORTED_RECORDS), not one per run. A line that is not a JSON object, or a file past a quota, stops the check;
    the records found before it are reported with it."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.found: list[str] = []
        self.more = 0

    def add(self, lineno: int, problem: _Invalid) -> None:
        if len(self.found) < MAX_REPORTED_RECORDS:
            self.found.append(f"{self.display}:{lineno}: {problem}")
        else:
            self.more += 1

    def _lines(self) -> list[str]:
        more = [f"{self.display}: and {self.more} more records that break the format"] if self.more else []
        return [*self.found, *more]

    def stop(self, message: str) -> DatasetError:
        """The error of a check stopped by message, after the records found before."""
        return DatasetError(*self._lines(), message)

    def raise_any(self) -> None:
        if self.found:
            raise DatasetError(*self._lines())


def _validate_records(
    path: str | os.PathLike[str],
    display: str,
    validate: Validator,
    cap: tuple[int, str] | None,
    tokens: _TokenBudget | None = None,
) -> int:
    """Parse and validate the file's lines, one at a time; the number of records. ``cap``: the most records
    the file may hold, with the text of the quota that says so. ``tokens``: the token limits to warn about."""
    max_records, cap_text = cap if cap is not None else (sys.maxsize, "")
    threshold = tokens.threshold if tokens is not None else sys.maxsize
    scan = _scan_json
    records = 0
    problems = _RecordProblems(display)
    try:
        with open(path, "rb") as stream:
            readline, lineno = stream.readline, 0
            while raw := readline(MAX_LINE_BYTES + 1):  # at most one byte past the bound
                lineno += 1
                if len(raw) > MAX_LINE_BYTES:
                    raise problems.stop(
                        f"{display}:{lineno}: the line is longer than {MAX_LINE_BYTES} bytes ({MAX_LINE_BYTES >> 20} "
                        "MiB), far more than a record holds; JSON Lines holds one JSON record on each line, not a "
                        "whole JSON array"
                    )
                try:
                    # _scan_json, or json.loads for what it does not read whole; inline: it runs once per record.
                    line = raw.decode("utf-8")
                    try:
                        record, end = scan(line, 0)
                        if end != len(line) and (rest := line[end:]) != "\n" and rest.strip(_JSON_SPACE):
                            record = json.loads(line, parse_constant=refuse_json_constant)
                    except StopIteration:
                        record = json.loads(line, parse_constant=refuse_json_constant)
                except (ValueError, RecursionError) as exc:  # ValueError: not UTF-8, not JSON, too many digits
                    raise problems.stop(f"{display}:{lineno}: {_unreadable_line(raw, exc)}") from None
                if type(record) is not dict:
                    raise problems.stop(f"{display}:{lineno}: expected a JSON object, got {_kind(record)}")
                records += 1
                try:
                    validate(record)
                except _Invalid as exc:
                    problems.add(lineno, exc)
                else:
                    if len(raw) >= threshold and tokens is not None:
                        tokens.check(record, lineno)
                if records > max_records:
                    raise problems.stop(f"{display}:{lineno}: record {records} is one too many; {cap_text}")
    except OSError as exc:  # opened or read: a permission, a folder, an I/O error
        raise cannot_read(display, exc) from None
    problems.raise_any()
    return records


# The bucket a local dataset is read from: the CDK's file asset bucket, which it is uploaded to (its name is known only
# at deploy; no media can be in it).
ASSET_BUCKET = "the CDK asset bucket (where a local dataset is uploaded)"


def validate_dataset(
    path: str | os.PathLike[str],
    *,
    customization_type: str,
    base_model: str,
    purpose: str = "training",
    quotas: Mapping[str, int | None] | None = None,
    dataset_bucket: str | None = None,
) -> DatasetSummary:
    """Check a local JSON Lines dataset, streaming it, against Amazon Bedrock's documented format and quotas
    for ``customization_type`` and ``base_model``'s family, and the published validators' rules; raise
    :class:`DatasetError` naming each record that breaks them (up to MAX_REPORTED_RECORDS), or the first problem of
    the file as a whole. What may still fail the job without being an error (a record's
    estimated tokens over the model's limit) is in the summary's ``warnings``.

    ``purpose`` is "training" or "validation". ``quotas`` overrides documented quotas by name (a key of
    :data:`QUOTA_NAMES`), for example an adjusted Service Quotas value, or skips one with None.
    ``dataset_bucket``: the bucket Bedrock reads the file from, when known (:data:`ASSET_BUCKET` for a file
    shipped as a CDK asset): Amazon Nova's images and videos must be in it.
    """
    _check_arguments(customization_type, purpose)
    display = str(path)
    rule = _rule(display, customization_type, base_model)
    in_force = _JobQuotas.of(rule.family, customization_type, quotas)
    training = purpose == "training"
    no_validation = _NO_VALIDATION.get((rule.family, customization_type))
    if not training and no_validation:
        raise DatasetError(f"{display}: {no_validation}")
    size = _file_size(path, display, in_force, "max_training_bytes" if training else "max_validation_bytes")
    warnings = _Warnings(display)
    _file_name_warnings(path, rule.family, warnings)
    job = _Job(rule, in_force.limits, model_id_of(base_model), warnings, dataset_bucket)
    validate = _VALIDATORS[rule.format](job)
    token_limits = token_limits_for(rule.family, customization_type, base_model)
    tokens = _TokenBudget(rule, token_limits, warnings) if token_limits else None
    records = _validate_records(path, display, validate, in_force.record_cap(training), tokens)
    in_force.check_records(display, records, ("min_training_records",) if training else ("min_validation_records",))
    return DatasetSummary(
        display, records, size, rule.format, rule.family, customization_type, purpose, warnings.lines()
    )


def check_total_records(
    training: DatasetSummary,
    validation: Sequence[DatasetSummary] = (),
    *,
    quotas: Mapping[str, int | None] | None = None,
) -> None:
    """Check the quotas on the sum of training and validation records of one job (Meta Llama 3.x,
    Claude 3 Haiku, Amazon Nova) across its validated files; raise :class:`DatasetError` naming them."""
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
    MAX_EVALUATION_PROMPTS lines. Returns the number of prompts; raises :class:`DatasetError` as validate_dataset
    does."""
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
