"""Synth-time validation of local datasets (cdk_bedrock_customization.datasets), on files made in tmp_path."""

from __future__ import annotations

import dataclasses
import json
import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from cdk_bedrock_customization import datasets
from cdk_bedrock_customization.datasets import (
    FORMAT_RULES,
    QUOTA_NAMES,
    QUOTAS,
    DatasetError,
    check_total_records,
    model_family,
    validate_dataset,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import read_buffer_bytes, refuse_opening

NOVA = "amazon.nova-micro-v1:0:128k"
NOVA_LITE = "amazon.nova-lite-v1:0:300k"
NOVA_2 = "amazon.nova-2-lite-v1:0:256k"
TITAN_EXPRESS = "amazon.titan-text-express-v1:0:8k"
TITAN_LITE = "amazon.titan-text-lite-v1:0:4k"
TITAN_PREMIER = "amazon.titan-text-premier-v1:0:32k"
LLAMA_31 = "meta.llama3-1-8b-instruct-v1:0:128k"
LLAMA_32 = "meta.llama3-2-3b-instruct-v1:0:128k"
LLAMA_33 = "meta.llama3-3-70b-instruct-v1:0:128k"
LLAMA_2 = "meta.llama2-13b-v1:0:4k"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0:200k"
COHERE = "cohere.command-text-v14:7:4k"
FT, CPT, DISTILL, RFT = "FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION", "REINFORCEMENT_FINE_TUNING"
NO_COUNTS = {"min_training_records": None, "max_training_records": None, "min_total_records": None}

# --- the documented limits, from the user guides (not from datasets.py) ---------------------------------------
# Every quota value below is stated literally, as the page named beside it documents it, so that a changed value
# in datasets.py's QUOTAS table fails a test. Pages are named by title and URL; the URL is also the one the error
# message cites. Token quotas become character quotas as the pages estimate them: "Token quota x 6".
#
# Amazon Bedrock user guide, "Prepare data for fine-tuning your models", section "Model requirements for training
# and validation datasets": Titan Text Premier, G1 - Express and G1 - Lite (4,096 tokens at batch size 1;
# training file 1 GB, validation file 100 MB), Meta Llama 3.1 (16,000 input and output tokens), Meta Llama 3.1,
# 3.2 and 3.3 (sum of training and validation records 100 to 10,000), Cohere Command (4,096 input and 2,048 output
# tokens; 10,000 training and 1,000 validation records), Anthropic Claude 3 Haiku (minimum 32 records; 10,000
# training, 1,000 validation, 10,000 total records; training file 10 GB, validation file 1 GB).
PREPARE = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-prepare.html"
REQUIREMENTS = PREPARE + "#model-training-validation-requirements"
# Amazon Bedrock user guide, "Model requirements for training and validation datasets" (the same tables as a page
# of their own, in the version with a "Continued Pre-training" column): Titan Text G1 - Express and G1 - Lite,
# 4,096 tokens at batch size 1; training file 10 GB, validation file 100 MB.
REQUIREMENTS_CPT = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-training-validation-requirements.html"
# Amazon Nova user guide, "Preparing data for fine-tuning Understanding models" (since retitled "Preparing data for
# multimodal fine-tuning"), section "Dataset constraints": Nova Micro, Lite and Pro, minimum 8 and maximum 20k
# samples; "Maximum images 10/sample", "Maximum videos 1/sample".
NOVA_FINE_TUNING = "https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html"
NOVA_CONSTRAINTS = NOVA_FINE_TUNING + "#custom-fine-tune-constraints"
# Amazon Nova user guide, "Preparing data for distilling understanding models", section "Dataset constraints":
# prompts or prompt-response pairs, minimum 100, maximum 15K.
NOVA_DISTILLATION = "https://docs.aws.amazon.com/nova/latest/userguide/custom-distill-prepare.html"
# Amazon Bedrock user guide, "Option 2: Use invocation logs for data preparation" (distillation): "You can provide a
# maximum of 15K prompts or prompt-response pairs"; "we highly recommend" at least 100 prompt-response pairs.
DISTILLATION_LIMITS = "https://docs.aws.amazon.com/bedrock/latest/userguide/distillation-data-prep-option-2.html"
# Amazon Bedrock user guide, "Prepare your training datasets for distillation" ("Anthropic and Meta Llama models
# support only single-turn conversation prompts").
DISTILLATION = "https://docs.aws.amazon.com/bedrock/latest/userguide/distillation-prepare-datasets.html"
# Amazon Bedrock user guide, "Requirements for training data sources" (reinforcement fine-tuning): "A minimum of
# 100 records in training dataset" (also in "Prepare data for Amazon Nova models", below).
RFT_SOURCES = "https://docs.aws.amazon.com/bedrock/latest/userguide/rft-training-data-sources.html"
# Amazon Bedrock user guide, "Prepare data for Amazon Nova models" (reinforcement fine-tuning). The stored copy of
# this page states no maximum; "100-20K examples" is stated by "Prepare data for open-weight models"
# (https://docs.aws.amazon.com/bedrock/latest/userguide/rft-prepare-data-open-weight.html). See
# test_the_maximum_of_records.
RFT_NOVA_DATA = "https://docs.aws.amazon.com/bedrock/latest/userguide/rft-prepare-data.html"
# Amazon Bedrock user guide, "Prepare data for open-weight models": "Training data must follow the OpenAI chat
# completions format with 100-20K examples"; each holds messages ("the user, system or assistant role") and a
# reference_answer ("not limited to structured outputs"). "Customize a model with reinforcement fine-tuning" lists
# the models: Amazon Nova 2 Lite, OpenAI gpt-oss-20b (openai.gpt-oss-20b) and Qwen3 32B (qwen.qwen3-32b).
RFT_OPEN_WEIGHT = "https://docs.aws.amazon.com/bedrock/latest/userguide/rft-prepare-data-open-weight.html"
GPT_OSS = "openai.gpt-oss-20b-1:0"
QWEN3 = "qwen.qwen3-32b-v1:0"
# Amazon Nova user guide, "Fine-tune Nova 2.0": reasoning content, for Amazon Nova 2 Lite.
NOVA_2_FINE_TUNING = "https://docs.aws.amazon.com/nova/latest/nova2-userguide/nova-fine-tune-2.html"
# Amazon Bedrock user guide, "Supported models and Regions for fine-tuning and continued pre-training".
SUPPORTED = "https://docs.aws.amazon.com/bedrock/latest/userguide/custom-model-supported.html"
# The published validators (aws-samples), at the commits read; each limit below that only a validator states
# names its file and line (amazon-nova-samples, read through a file index: its symbol).
SAMPLES = "https://github.com/aws-samples/amazon-bedrock-samples/blob/85fba9d9c404ae120c0ceee5e67befed35004fdc/"
# custom-models/bedrock-fine-tuning/claude-haiku/DataValidation/data_validation.py: MIN_LINES = 32 (L7), applied to
# validation files too (L98-L100).
CLAUDE_VALIDATOR = SAMPLES + "custom-models/bedrock-fine-tuning/claude-haiku/DataValidation/data_validation.py"
# custom-models/bedrock-fine-tuning/meta-llama/dataset_validation/utils/constants.py: MAX_VALIDATION_RECORDS = 1000.
LLAMA_CONSTANTS = SAMPLES + "custom-models/bedrock-fine-tuning/meta-llama/dataset_validation/utils/constants.py#L4"
# custom-models/model_distillation/dataset-validation/constants.py: MAX_SIZE = 1 * 1024 * 1024 * 1024 ("1 GB").
DISTILLATION_CONSTANTS = SAMPLES + "custom-models/model_distillation/dataset-validation/constants.py#L12"
# amazon-nova-samples, customization/bedrock-finetuning/understanding/dataset_validation/nova_ft_dataset_validator.py:
# NOVA_2_0_LITE_SAMPLE_BOUNDS = {"SFT": (200, 20000), ...}; validate_dataset_level: "Total number of samples
# (train + validation) exceeds the maximum of" 20,000 (MODEL_TO_NUM_SAMPLES_MAP).
NOVA_VALIDATOR = (
    "https://github.com/aws-samples/amazon-nova-samples/blob/1e88f2450a00a3a24933765ae96159a55ad02a90/"
    "customization/bedrock-finetuning/understanding/dataset_validation/nova_ft_dataset_validator.py"
)
# "GB" and "MB" in the quota tables, read as binary units (the larger reading, so that no file within the
# documented size is refused).
MiB = 1 << 20
GiB = 1 << 30


def text(value: str) -> list[dict[str, str]]:
    return [{"text": value}]


def conversation(*roles: str, system: Any = "Be brief.", schema: Any = "bedrock-conversation-2024") -> dict[str, Any]:
    record: dict[str, Any] = {"schemaVersion": schema, "system": text(system) if isinstance(system, str) else system}
    record["messages"] = [{"role": role, "content": text(f"{role} turn {i}")} for i, role in enumerate(roles)]
    return record


GOOD_CONVERSATION = conversation("user", "assistant")
PROMPT_COMPLETION = {"prompt": "what is AWS", "completion": "it's Amazon Web Services"}
CLAUDE = {
    "system": "Be brief.",
    "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
}
OPENAI = {
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}],
    "reference_answer": "4",
}


def write(tmp_path: Path, lines: list[Any], name: str = "train.jsonl") -> Path:
    """One line per item: dicts as JSON, bytes and str as they are."""
    path = tmp_path / name
    with open(path, "wb") as stream:
        for line in lines:
            data = line if isinstance(line, bytes) else (line if isinstance(line, str) else json.dumps(line)).encode()
            stream.write(data + b"\n")
    return path


def dataset(tmp_path: Path, bad: Any, *, good: Any, at: int = 2, count: int = 3, name: str = "train.jsonl") -> Path:
    """``count`` records of ``good`` with ``bad`` on line ``at``."""
    return write(tmp_path, [bad if n == at else good for n in range(1, count + 1)], name)


def error(path: Path, base_model: str = NOVA, customization_type: str = FT, **kwargs: Any) -> str:
    kwargs.setdefault("quotas", NO_COUNTS)
    with pytest.raises(DatasetError) as raised:
        validate_dataset(path, customization_type=customization_type, base_model=base_model, **kwargs)
    return str(raised.value)


def ok(path: Path, base_model: str = NOVA, customization_type: str = FT, **kwargs: Any) -> datasets.DatasetSummary:
    kwargs.setdefault("quotas", NO_COUNTS)
    return validate_dataset(path, customization_type=customization_type, base_model=base_model, **kwargs)


# --- format selection by family and customization type -------------------------------------------------


@pytest.mark.parametrize(
    ("base_model", "customization_type", "good", "expected_format", "family"),
    [
        (NOVA, FT, GOOD_CONVERSATION, "bedrock-conversation-2024", "nova"),
        (NOVA_2, FT, GOOD_CONVERSATION, "bedrock-conversation-2024", "nova-2"),
        (
            f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA_LITE}",
            FT,
            GOOD_CONVERSATION,
            "bedrock-conversation-2024",
            "nova",
        ),
        (LLAMA_32, FT, GOOD_CONVERSATION, "bedrock-conversation-2024", "llama-3.2"),
        (LLAMA_33, FT, GOOD_CONVERSATION, "bedrock-conversation-2024", "llama-3.3"),
        (TITAN_EXPRESS, FT, PROMPT_COMPLETION, "prompt-completion", "titan-text-express"),
        (TITAN_LITE, FT, PROMPT_COMPLETION, "prompt-completion", "titan-text-lite"),
        (TITAN_PREMIER, FT, PROMPT_COMPLETION, "prompt-completion", "titan-text-premier"),
        (LLAMA_31, FT, PROMPT_COMPLETION, "prompt-completion", "llama-3.1"),
        (LLAMA_2, FT, PROMPT_COMPLETION, "prompt-completion", "llama-2"),
        (COHERE, FT, PROMPT_COMPLETION, "prompt-completion", "cohere-command"),
        (HAIKU, FT, CLAUDE, "claude-3-haiku-messages", "claude-3-haiku"),
        (
            TITAN_EXPRESS,
            CPT,
            {"input": "AWS stands for Amazon Web Services"},
            "continued-pre-training-input",
            "titan-text-express",
        ),
        (
            TITAN_LITE,
            CPT,
            {"input": "AWS stands for Amazon Web Services"},
            "continued-pre-training-input",
            "titan-text-lite",
        ),
        (NOVA, DISTILL, conversation("user"), "bedrock-conversation-2024-prompts", "nova"),
        (LLAMA_31, DISTILL, conversation("user"), "bedrock-conversation-2024-prompts", "llama-3.1"),
        (HAIKU, DISTILL, conversation("user", "assistant"), "bedrock-conversation-2024-prompts", "claude-3-haiku"),
        (NOVA_2, RFT, OPENAI, "openai-chat-completion", "nova-2"),
    ],
)
def test_the_format_follows_the_model_family_and_customization_type(
    tmp_path: Path, base_model: str, customization_type: str, good: Any, expected_format: str, family: str
) -> None:
    path = write(tmp_path, [good, good])
    summary = ok(path, base_model, customization_type)
    assert (summary.format, summary.family, summary.records, summary.bytes) == (
        expected_format,
        family,
        2,
        os.path.getsize(path),
    )
    assert (summary.path, summary.customization_type, summary.purpose) == (str(path), customization_type, "training")


def test_a_record_of_another_family_s_format_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, [GOOD_CONVERSATION])
    assert error(path, TITAN_EXPRESS) == f"{path}:1: prompt: expected a string, got nothing"
    path = write(tmp_path, [PROMPT_COMPLETION])
    assert error(path, NOVA) == f"{path}:1: messages: expected a non-empty list of messages, got nothing"


def test_every_format_rule_cites_a_page_and_every_family_resolves() -> None:
    for rule in FORMAT_RULES:
        assert rule.source.startswith("https://docs.aws.amazon.com/"), rule
        assert rule.family in datasets.FAMILY_NAMES
    assert model_family("us.amazon.nova-micro-v1:0") is None
    assert model_family("arn:aws:bedrock:us-east-1:111122223333:custom-model/abc") is None
    assert model_family(LLAMA_33) == "llama-3.3"


def test_an_unknown_base_model_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, [PROMPT_COMPLETION])
    message = error(path, "mistral.mistral-7b-instruct-v0:2")
    assert message.startswith(f"{path}: this library validates no dataset format of base model 'mistral.mistral-7b-")
    assert message.endswith("upload the file and give it with S3Data.from_bucket or from_uri, which are not validated")


@pytest.mark.parametrize(
    ("base_model", "customization_type", "family", "supported"),
    [
        (LLAMA_31, RFT, "Meta Llama 3.1", "DISTILLATION, FINE_TUNING"),
        (HAIKU, RFT, "Anthropic Claude 3 Haiku", "DISTILLATION, FINE_TUNING"),
        (NOVA, CPT, "Amazon Nova (Micro, Lite, Pro)", "DISTILLATION, FINE_TUNING"),
        # "RFT is ONLY supported on Nova 2.0 Lite" (the Nova validator's README)
        (NOVA_LITE, RFT, "Amazon Nova (Micro, Lite, Pro)", "DISTILLATION, FINE_TUNING"),
        (TITAN_PREMIER, DISTILL, "Amazon Titan Text Premier", "FINE_TUNING"),
    ],
)
def test_an_undocumented_combination_is_refused_with_a_clear_message(
    tmp_path: Path, base_model: str, customization_type: str, family: str, supported: str
) -> None:
    path = write(tmp_path, [PROMPT_COMPLETION])
    assert error(path, base_model, customization_type) == (
        f"{path}: {family} has no documented local dataset format for {customization_type}; local datasets for "
        f"it can be checked for {supported} (see {SUPPORTED})"
    )


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="customization_type must be one of"):
        validate_dataset("x.jsonl", customization_type="PRE_TRAINING", base_model=NOVA)
    with pytest.raises(ValueError, match="purpose must be one of training, validation, got 'test'"):
        validate_dataset("x.jsonl", customization_type=FT, base_model=NOVA, purpose="test")
    with pytest.raises(ValueError, match="unknown quota 'max_records'"):
        validate_dataset("x.jsonl", customization_type=FT, base_model=NOVA, quotas={"max_records": 3})


# --- the file: encoding, JSON, blank lines ------------------------------------------------------------


def test_a_line_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = dataset(tmp_path, b'{"prompt": "caf\xe9", "completion": "x"}', good=PROMPT_COMPLETION)
    assert error(path, TITAN_EXPRESS) == (
        f"{path}:2: not UTF-8: invalid continuation byte (byte 0xe9 at byte 16 of the line)"
    )


def test_a_line_that_is_not_json_is_named_with_the_json_error(tmp_path: Path) -> None:
    path = dataset(tmp_path, '{"prompt": "x", "completion": }', good=PROMPT_COMPLETION, at=3)
    assert error(path, TITAN_EXPRESS) == f"{path}:3: not valid JSON: Expecting value at column 31"
    path = dataset(tmp_path, "[1, 2]", good=PROMPT_COMPLETION, at=1)
    assert error(path, TITAN_EXPRESS) == f"{path}:1: expected a JSON object, got an array"
    path = dataset(tmp_path, '{"prompt": "a"} {"prompt": "b"}', good=PROMPT_COMPLETION)
    assert error(path, TITAN_EXPRESS) == f"{path}:2: not valid JSON: Extra data at column 17"


@pytest.mark.parametrize("line_break", ["\n", "\r\n"])
def test_a_truncated_line_is_named_as_ending_too_soon(tmp_path: Path, line_break: str) -> None:
    """The line ends before its record does: the error is at its end, not at a column 1 of a line after it."""
    truncated = '{"prompt": "x", "completion": "y"'
    path = tmp_path / "train.jsonl"
    path.write_bytes(f'{truncated}{line_break}{{"prompt": "a", "completion": "b"}}{line_break}'.encode())
    assert error(path, TITAN_EXPRESS) == (f"{path}:1: not valid JSON: Expecting ',' delimiter at the end of the line")


@pytest.mark.parametrize(
    ("line", "why"),
    [
        # Deeper than Python's recursion limit (sys.getrecursionlimit(), 1000 by default).
        ("[" * 100_000, "JSON nested more deeply than can be read"),
        # More digits than Python converts to an integer (sys.get_int_max_str_digits(), 4300 by default).
        (
            '{"prompt": "x", "completion": "y", "n": ' + "9" * 5000 + "}",
            "a value that cannot be read: Exceeds the limit (4300 digits) for integer string conversion",
        ),
    ],
    ids=["deep", "digits"],
)
def test_a_line_python_cannot_read_is_named(tmp_path: Path, line: str, why: str) -> None:
    path = dataset(tmp_path, line, good=PROMPT_COMPLETION, at=2)
    assert error(path, TITAN_EXPRESS).startswith(f"{path}:2: {why}")


# JSON (RFC 8259) has no NaN or Infinity, which Python's json reads and json.dumps writes for a float("nan").
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("indent", ["", "  "], ids=["scanned", "leading-space"])
def test_nan_and_infinity_are_not_json(tmp_path: Path, constant: str, indent: str) -> None:
    path = dataset(
        tmp_path, indent + '{"prompt": "x", "completion": "y", "score": ' + constant + "}", good=PROMPT_COMPLETION
    )
    assert error(path, TITAN_EXPRESS) == (
        f"{path}:2: not valid JSON: {constant} is not a JSON value "
        "(JSON has no NaN or Infinity; write null or a number)"
    )


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"")
    assert error(path) == f"{path}: the file is empty; a dataset holds one JSON record per line"


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "missing.jsonl"
    assert error(path) == f"{path}: cannot read the dataset: No such file or directory"


def test_a_file_that_cannot_be_opened_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = dataset(tmp_path, GOOD_CONVERSATION, good=GOOD_CONVERSATION)
    refuse_opening(monkeypatch, path)
    assert error(path) == f"{path}: cannot read the dataset: Permission denied"


@pytest.mark.parametrize("blank", [b"", b"   ", b"\r"])
def test_a_blank_line_is_refused(tmp_path: Path, blank: bytes) -> None:
    path = dataset(tmp_path, blank, good=GOOD_CONVERSATION, at=2)
    assert error(path) == f"{path}:2: blank line; JSON Lines holds one JSON record on every line"


def test_crlf_line_ends_and_a_missing_final_newline_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    line = json.dumps(GOOD_CONVERSATION).encode()
    path.write_bytes(line + b"\r\n" + line)
    assert ok(path).records == 2


# --- prompt/completion ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"completion": "x"}, "prompt: expected a string, got nothing"),
        ({"prompt": 3, "completion": "x"}, "prompt: expected a string, got a number"),
        ({"prompt": "x"}, "completion: expected a string, got nothing"),
        ({"prompt": "x", "completion": None}, "completion: expected a string, got null"),
        ({"prompt": "x", "completion": ["y"]}, "completion: expected a string, got an array"),
    ],
)
def test_prompt_completion_records(tmp_path: Path, bad: dict[str, Any], message: str) -> None:
    path = dataset(tmp_path, bad, good=PROMPT_COMPLETION)
    assert error(path, TITAN_EXPRESS) == f"{path}:2: {message}"


# --- every record that breaks the format, in one run ---------------------------------------------------------

NO_COMPLETION = "completion: expected a string, got nothing"


def problems_of(path: Path, base_model: str = TITAN_EXPRESS) -> list[str]:
    with pytest.raises(DatasetError) as raised:
        validate_dataset(path, customization_type=FT, base_model=base_model, quotas=NO_COUNTS)
    assert str(raised.value) == "\n".join(raised.value.problems)
    return raised.value.problems


def test_each_record_that_breaks_the_format_is_named_in_one_run(tmp_path: Path) -> None:
    """Each on its line; the records between them are fine."""
    lines: list[Any] = [PROMPT_COMPLETION] * 8
    lines[1] = lines[4] = {"prompt": "x"}
    lines[6] = {"prompt": 3, "completion": "x"}
    path = write(tmp_path, lines)
    assert problems_of(path) == [
        f"{path}:2: {NO_COMPLETION}",
        f"{path}:5: {NO_COMPLETION}",
        f"{path}:7: prompt: expected a string, got a number",
    ]


def test_ten_records_are_named_and_the_others_counted(tmp_path: Path) -> None:
    path = write(tmp_path, [PROMPT_COMPLETION] + [{"prompt": "x"}] * 14)
    assert problems_of(path) == [
        *(f"{path}:{line}: {NO_COMPLETION}" for line in range(2, 12)),
        f"{path}: and 4 more records that break the format",
    ]


def test_a_line_that_cannot_be_read_stops_the_check_after_the_records_before_it(tmp_path: Path) -> None:
    path = write(tmp_path, [{"prompt": "x"}, PROMPT_COMPLETION, "[1]", {"prompt": "y"}])
    assert problems_of(path) == [f"{path}:1: {NO_COMPLETION}", f"{path}:3: expected a JSON object, got an array"]


def test_a_record_past_the_quota_stops_the_check_after_the_records_before_it(tmp_path: Path) -> None:
    path = write(tmp_path, [{"prompt": "x"}, PROMPT_COMPLETION, PROMPT_COMPLETION])
    with pytest.raises(DatasetError) as raised:
        validate_dataset(
            path, customization_type=FT, base_model=TITAN_EXPRESS, quotas={**NO_COUNTS, "max_training_records": 2}
        )
    first, past = raised.value.problems
    assert first == f"{path}:1: {NO_COMPLETION}"
    assert past.startswith(f"{path}:3: record 3 is one too many; ")


@settings(max_examples=60, deadline=None)
@given(bad_lines=st.sets(st.integers(min_value=1, max_value=30)))
def test_the_records_named_are_the_first_ten_bad_ones_in_order(tmp_path_factory, bad_lines: set[int]) -> None:
    path = write(
        tmp_path_factory.mktemp("records"),
        [{"prompt": "x"} if line in bad_lines else PROMPT_COMPLETION for line in range(1, 31)],
    )
    if not bad_lines:
        assert ok(path, TITAN_EXPRESS).records == 30
        return
    named = sorted(bad_lines)[:10]
    more = [f"{path}: and {len(bad_lines) - 10} more records that break the format"] if len(bad_lines) > 10 else []
    assert problems_of(path) == [*(f"{path}:{line}: {NO_COMPLETION}" for line in named), *more]


@pytest.mark.parametrize(
    ("base_model", "quota", "page"),
    [
        (TITAN_EXPRESS, 24_576, REQUIREMENTS),  # 4,096 tokens (batch size 1) x 6
        (TITAN_LITE, 24_576, REQUIREMENTS),  # 4,096 tokens (batch size 1 or 2) x 6
        (TITAN_PREMIER, 24_576, REQUIREMENTS),  # 4,096 tokens (batch size 1) x 6
        (LLAMA_31, 96_000, REQUIREMENTS),  # 16,000 input and output tokens x 6
    ],
)
def test_the_character_quota_per_record(tmp_path: Path, base_model: str, quota: int, page: str) -> None:
    prompt = "p" * 100
    fits = {"prompt": prompt, "completion": "c" * (quota - len(prompt))}
    over = {"prompt": prompt, "completion": "c" * (quota - len(prompt) + 1)}
    assert ok(write(tmp_path, [fits]), base_model).records == 1
    path = dataset(tmp_path, over, good=fits)
    assert error(path, base_model) == (
        f"{path}:2: prompt and completion has {quota + 1} characters, over the quota of {quota} ({page})"
    )


@pytest.mark.parametrize(
    ("field", "quota"),
    [
        ("prompt", 24_576),  # Cohere Command: 4,096 input tokens x 6 (REQUIREMENTS)
        ("completion", 12_288),  # 2,048 output tokens x 6
    ],
)
def test_cohere_quotas_per_prompt_and_per_completion(tmp_path: Path, field: str, quota: int) -> None:
    fits = {**PROMPT_COMPLETION, field: "x" * quota}
    assert ok(write(tmp_path, [fits]), COHERE).records == 1
    path = dataset(tmp_path, {**PROMPT_COMPLETION, field: "x" * (quota + 1)}, good=fits)
    assert error(path, COHERE) == (
        f"{path}:2: {field} has {quota + 1} characters, over the quota of {quota} ({REQUIREMENTS})"
    )


# --- bedrock-conversation-2024 (fine-tuning) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (conversation("user", "user"), 'messages[1].role: expected "assistant" after a user turn, got "user"'),
        (
            conversation("user", "assistant", "assistant"),
            'messages[2].role: expected "user" after an assistant turn, got "assistant"',
        ),
        (conversation("assistant"), 'messages[0].role: expected "user" first, got "assistant"'),
        (conversation("user", "system"), 'messages[1].role: expected "user" or "assistant", got "system"'),
        (
            conversation("user"),
            'messages[0].role: the last message must be "assistant" (the response to learn), got "user"',
        ),
        (
            conversation("user", "assistant", "user"),
            'messages[2].role: the last message must be "assistant" (the response to learn), got "user"',
        ),
        (
            {"schemaVersion": "bedrock-conversation-2024"},
            "messages: expected a non-empty list of messages, got nothing",
        ),
        (conversation(), "messages: expected a non-empty list of messages, got an array"),
        ({"messages": ["hi"]}, "messages[0]: expected an object, got a string"),
        ({"messages": [{"content": text("hi")}]}, 'messages[0].role: expected "user" or "assistant", got nothing'),
        (
            {"messages": [{"role": "user", "content": "hi"}]},
            "messages[0].content: expected a non-empty list of content blocks, got a string",
        ),
        (
            {"messages": [{"role": "user", "content": []}]},
            "messages[0].content: expected a non-empty list of content blocks, got an array",
        ),
        (
            {"messages": [{"role": "user", "content": [{"txt": "hi"}]}]},
            'messages[0].content[0]: expected a {"text": "..."} block, got keys txt',
        ),
        (
            {"messages": [{"role": "user", "content": [{"text": 1}]}]},
            "messages[0].content[0].text: expected a string, got a number",
        ),
        (
            {"messages": [{"role": "user", "content": ["hi"]}]},
            "messages[0].content[0]: expected an object, got a string",
        ),
        (
            conversation("user", "assistant", system="x") | {"system": "x"},
            'system: expected a list of {"text": ...} blocks, got a string',
        ),
        (
            conversation("user", "assistant", system=[{"content": "x"}]),
            'system[0]: expected {"text": "..."}, got an object',
        ),
        (conversation("user", "assistant", schema=2024), "schemaVersion: expected a string, got a number"),
    ],
)
def test_conversation_records(tmp_path: Path, bad: dict[str, Any], message: str) -> None:
    path = dataset(tmp_path, bad, good=GOOD_CONVERSATION, at=12, count=12)
    assert error(path) == f"{path}:12: {message}"


def test_a_long_bad_value_is_shown_cut_to_80_characters(tmp_path: Path) -> None:
    """A bad value may be a whole document: the error shows its first 80 characters and how many more it has."""
    role = {**GOOD_CONVERSATION, "messages": [{"role": "x" * 1_000_000, "content": text("q")}]}
    path = dataset(tmp_path, role, good=GOOD_CONVERSATION)
    assert error(path, NOVA_LITE) == (
        f'{path}:2: messages[0].role: expected "user" or "assistant", got "{"x" * 80}"... (999920 more characters)'
    )
    key = {"input": "text", "k" * 100_000: 1}
    path = dataset(tmp_path, key, good={"input": "text"})
    assert error(path, TITAN_EXPRESS, CPT) == (
        f"{path}:2: {'k' * 80}... (99920 more characters): unexpected field; continued pre-training records hold "
        'only "input"'
    )


def test_conversations_may_be_multi_turn_and_omit_system_and_schema_version(tmp_path: Path) -> None:
    multi = conversation("user", "assistant", "user", "assistant")
    bare = {"messages": GOOD_CONVERSATION["messages"]}
    for base_model in (NOVA, LLAMA_32, LLAMA_33):
        assert ok(write(tmp_path, [multi, bare]), base_model).records == 2
    # Nova: "schemaVersion can be any string value" (NOVA_FINE_TUNING); Meta Llama: test_dataset_rules.py
    any_schema = conversation("user", "assistant", schema="any string value")
    assert ok(write(tmp_path, [any_schema]), NOVA).records == 1


@pytest.mark.parametrize("keyword", ["User:", "Bot:", "Assistant:", "System:", "<image>", "<video>", "[EOS]"])
def test_nova_reserved_keywords_in_user_and_system_prompts(tmp_path: Path, keyword: str) -> None:
    in_user = conversation("user", "assistant")
    in_user["messages"][0]["content"] = text(f"Please answer. {keyword} now")
    path = dataset(tmp_path, in_user, good=GOOD_CONVERSATION)
    assert error(path) == (
        f"{path}:2: messages[0].content[0].text: contains the reserved keyword {json.dumps(keyword)}, which fails "
        f"Amazon Nova (Micro, Lite, Pro) training ({NOVA_FINE_TUNING}; {NOVA_VALIDATOR}#INVALID_TOKENS_TEXT)"
    )
    path = dataset(tmp_path, conversation("user", "assistant", system=f"{keyword} be brief"), good=GOOD_CONVERSATION)
    assert error(path).startswith(f"{path}:2: system[0].text: contains the reserved keyword {json.dumps(keyword)}")
    # The Nova validator checks replies too (test_dataset_rules.py); Meta Llama has no such rule.
    assert ok(dataset(tmp_path, in_user, good=GOOD_CONVERSATION), LLAMA_32).records == 3


def image(fmt: str = "png", uri: Any = "s3://bucket/cat.png") -> dict[str, Any]:
    return {"image": {"format": fmt, "source": {"s3Location": {"uri": uri}}}}


def video(fmt: str = "mp4") -> dict[str, Any]:
    return {"video": {"format": fmt, "source": {"s3Location": {"uri": "s3://bucket/clip.mp4"}}}}


def with_user_content(*blocks: dict[str, Any], reply: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    record = conversation("user", "assistant")
    record["messages"][0]["content"] = [{"text": "What is this?"}, *blocks]
    if reply is not None:
        record["messages"][1]["content"] = reply
    return record


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            with_user_content(image("bmp")),
            'messages[0].content[1].image.format: expected one of gif, jpeg, png, webp, got "bmp"',
        ),
        (
            with_user_content({"image": {"format": ["png"], "source": {}}}),
            "messages[0].content[1].image.format: expected one of gif, jpeg, png, webp, got an array",
        ),
        (
            with_user_content({"image": image()["image"], "text": 1}),
            "messages[0].content[1]: holds text and image; a content block holds one kind of content",
        ),
        (
            with_user_content({"image": image()["image"], "caption": "cat"}),
            'messages[0].content[1]: expected {"image": {"format": ..., "source": ...}} alone, got also caption',
        ),
        (
            with_user_content(video("avi")),
            'messages[0].content[1].video.format: expected one of mkv, mov, mp4, webm, got "avi"',
        ),
        (
            with_user_content(image(uri="https://example.com/cat.png")),
            'messages[0].content[1].image.source.s3Location.uri: expected an "s3://" URI, got "https://example.com/cat.png"',
        ),
        (
            with_user_content(image(uri=None)),
            'messages[0].content[1].image.source.s3Location.uri: expected an "s3://" URI, got null',
        ),
        (with_user_content(reply=[image()]), "messages[1].content[0]: image blocks belong in user turns only"),
        (
            with_user_content(*[image()] * 11),
            "messages: 11 images and 0 videos; Amazon Nova (Micro, Lite, Pro) takes at most 10 images or 1 video per "
            f"record ({NOVA_CONSTRAINTS})",
        ),
        (
            with_user_content(video(), video()),
            "messages: 0 images and 2 videos; Amazon Nova (Micro, Lite, Pro) takes at most 10 images or 1 video per "
            f"record ({NOVA_CONSTRAINTS})",
        ),
    ],
)
def test_image_and_video_blocks(tmp_path: Path, bad: dict[str, Any], message: str) -> None:
    # A dataset holds images or videos, not both (NOVA_FINE_TUNING): one file each.
    assert ok(write(tmp_path, [with_user_content(*[image()] * 10)]), NOVA_LITE).records == 1
    assert ok(write(tmp_path, [with_user_content(video())]), NOVA_LITE).records == 1
    path = dataset(tmp_path, bad, good=GOOD_CONVERSATION)
    assert error(path, NOVA_LITE) == f"{path}:2: {message}"


def test_a_refused_record_s_media_leave_the_dataset_s_modality_to_the_others(tmp_path: Path) -> None:
    """The check goes on past a refused record: a video after a refused record of images is fine, and a conflict
    between two records that are not refused is the one named (h279)."""
    refused_image = with_user_content(image(), {"bogus": 1})
    path = write(tmp_path, [refused_image, with_user_content(video())])
    (only,) = problems_of(path, NOVA_LITE)
    assert only.startswith(f"{path}:1: ")
    path = write(tmp_path, [refused_image, with_user_content(image()), with_user_content(video())])
    first, conflict = problems_of(path, NOVA_LITE)
    assert first.startswith(f"{path}:1: ")
    assert conflict.startswith(f"{path}:3: messages[0].content[1]: a video, but line 2 holds an image")


def test_nova_2_takes_reasoning_blocks_in_assistant_turns(tmp_path: Path) -> None:
    reasoning = {"reasoningContent": {"reasoningText": {"text": "The user wants a greeting."}}}
    good = with_user_content(reply=[reasoning, {"text": "Hello."}])
    assert ok(write(tmp_path, [good]), NOVA_2).records == 1
    path = write(tmp_path, [with_user_content(reply=[{"reasoningContent": {"reasoningText": "x"}}])])
    assert error(path, NOVA_2) == (
        f'{path}:1: messages[1].content[0].reasoningContent: expected {{"reasoningText": {{"text": "..."}}}}'
    )
    path = write(tmp_path, [good])
    assert error(path, NOVA) == (
        f"{path}:1: messages[1].content[0]: reasoningContent blocks are for Amazon Nova 2 Lite only "
        f"({NOVA_2_FINE_TUNING}; {NOVA_VALIDATOR}#REASONING_SUPPORTED_MODELS)"
    )


# --- Claude 3 Haiku messages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({**CLAUDE, "system": ["Be brief."]}, "system: expected a string, got an array"),
        (
            {"messages": [{"role": "user", "content": "hi"}]},
            "messages: expected a list of at least a user and an assistant message, got an array",
        ),
        (
            {"messages": [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "hi"}]},
            'messages[0].role: expected "user" first, got "assistant"',
        ),
        (
            {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]},
            'messages[1].role: expected "assistant" after a user turn, got "user"',
        ),
        (
            {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": text("b")}]},
            "messages[1].content: expected a string, got an array",
        ),
        (
            {"messages": [*CLAUDE["messages"], {"role": "user", "content": "more?"}]},
            'messages[2].role: the last message must be "assistant", got "user"',
        ),
    ],
)
def test_claude_3_haiku_records(tmp_path: Path, bad: dict[str, Any], message: str) -> None:
    multi = {
        "messages": [*CLAUDE["messages"], {"role": "user", "content": "more"}, {"role": "assistant", "content": "ok"}]
    }
    assert ok(write(tmp_path, [CLAUDE, multi]), HAIKU).records == 2
    path = dataset(tmp_path, bad, good=CLAUDE)
    assert error(path, HAIKU) == f"{path}:2: {message}"


# --- continued pre-training -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"text": "AWS"}, "input: expected a string, got nothing"),
        ({"input": {"text": "AWS"}}, "input: expected a string, got an object"),
        (
            {"input": "AWS", "source": "wiki"},
            'source: unexpected field; continued pre-training records hold only "input"',
        ),
    ],
)
def test_continued_pre_training_records(tmp_path: Path, bad: dict[str, Any], message: str) -> None:
    path = dataset(tmp_path, bad, good={"input": "AWS stands for Amazon Web Services"})
    assert error(path, TITAN_LITE, CPT) == f"{path}:2: {message}"


@pytest.mark.parametrize("base_model", [TITAN_EXPRESS, TITAN_LITE])
def test_continued_pre_training_character_quota(tmp_path: Path, base_model: str) -> None:
    quota = 24_576  # 4,096 tokens (batch size 1) x 6 (REQUIREMENTS_CPT)
    assert ok(write(tmp_path, [{"input": "x" * quota}]), base_model, CPT).records == 1
    path = dataset(tmp_path, {"input": "x" * (quota + 1)}, good={"input": "x" * quota})
    assert error(path, base_model, CPT) == (
        f"{path}:2: input has {quota + 1} characters, over the quota of {quota} ({REQUIREMENTS_CPT})"
    )


# --- distillation prompts -------------------------------------------------------------------------------


def test_distillation_takes_prompts_with_or_without_replies(tmp_path: Path) -> None:
    records = [conversation("user"), conversation("user", "assistant"), {"messages": conversation("user")["messages"]}]
    records = [{**record, "schemaVersion": "bedrock-conversation-2024"} for record in records]
    for base_model in (NOVA, LLAMA_31, LLAMA_32, HAIKU):
        assert ok(write(tmp_path, records), base_model, DISTILL).records == 3
    # An empty system list: Nova only (the distillation validator's schema wants one block: test_dataset_rules.py)
    assert ok(write(tmp_path, [conversation("user", system=[])]), NOVA, DISTILL).records == 1
    nova_multi = [conversation("user", "assistant", "user"), conversation("user", "assistant", "user", "assistant")]
    assert ok(write(tmp_path, nova_multi), NOVA, DISTILL).records == 2


@pytest.mark.parametrize(("base_model", "family"), [(LLAMA_31, "Meta Llama 3.1"), (HAIKU, "Anthropic Claude 3 Haiku")])
def test_distillation_is_single_turn_for_anthropic_and_meta_llama(tmp_path: Path, base_model: str, family: str) -> None:
    path = dataset(tmp_path, conversation("user", "assistant", "user"), good=conversation("user"))
    assert error(path, base_model, DISTILL) == (
        f"{path}:2: messages[2]: {family} takes single-turn prompts only (one user message, optionally one "
        f"assistant reply), got 3 messages ({DISTILLATION})"
    )


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            conversation("user", schema="bedrock-conversion-2024"),
            'schemaVersion: expected "bedrock-conversation-2024", got "bedrock-conversion-2024"',
        ),
        (
            {"messages": conversation("user")["messages"]},
            'schemaVersion: expected "bedrock-conversation-2024", got nothing',
        ),
        (conversation("assistant"), 'messages[0].role: expected "user" first, got "assistant"'),
        (conversation("user", "user"), 'messages[1].role: expected "assistant" after a user turn, got "user"'),
    ],
)
def test_distillation_prompt_records(tmp_path: Path, bad: dict[str, Any], message: str) -> None:
    path = dataset(tmp_path, bad, good=conversation("user"))
    assert error(path, NOVA, DISTILL) == f"{path}:2: {message}"


# --- reinforcement fine-tuning ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"reference_answer": "4"}, "messages: expected a non-empty list of messages, got nothing"),
        (
            {"messages": [{"role": "tool", "content": "x"}]},
            'messages[0].role: expected "system", "user" or "assistant", got "tool"',
        ),
        (
            {"messages": [{"role": "user", "content": text("2+2?")}]},
            "messages[0].content: expected a string, got an array",
        ),
        ({"messages": [{"role": "system", "content": "Be brief."}]}, 'messages: no "user" message holds the prompt'),
    ],
)
def test_reinforcement_fine_tuning_records(tmp_path: Path, bad: dict[str, Any], message: str) -> None:
    grader_fields = {**OPENAI, "id": "chem-01", "difficulty": "easy"}
    assert ok(write(tmp_path, [OPENAI, grader_fields]), NOVA_2, RFT).records == 2
    path = dataset(tmp_path, bad, good=OPENAI)
    assert error(path, NOVA_2, RFT) == f"{path}:2: {message}"


@pytest.mark.parametrize("base_model", [GPT_OSS, QWEN3])
def test_reinforcement_fine_tuning_of_open_weight_models_takes_the_documented_records(
    tmp_path: Path, base_model: str
) -> None:
    """The open-weight page's own example, and a reference answer of any format; Amazon Nova's validator's rules (a
    system message first, its reserved keywords) are not theirs."""
    documented = {
        "messages": [
            {"role": "system", "content": "You are a helpful assistant"},
            {"role": "user", "content": "What is machine learning?"},
        ],
        "reference_answer": "Machine learning is a subset of artificial intelligence",
    }
    others = [
        {**documented, "reference_answer": {"answer": 4, "steps": ["2+2"]}, "difficulty": "easy"},
        {**documented, "reference_answer": 4},
        {**OPENAI, "messages": [{"role": "user", "content": "2+2?"}, {"role": "system", "content": "Be brief."}]},
        {"messages": [{"role": "user", "content": "Answer. Assistant: 4"}], "reference_answer": "4"},
    ]
    assert ok(write(tmp_path, [documented] * 96 + others), base_model, RFT).records == 100
    path = write(tmp_path, [documented] * 99 + [{"messages": documented["messages"]}])
    assert (
        error(path, base_model, RFT)
        == f"{path}:100: reference_answer: expected the expected output, got nothing ({RFT_OPEN_WEIGHT})"
    )


# --- record-count and file-size quotas (each value stated here, with its page) -----------------------------


@pytest.mark.parametrize(
    ("base_model", "customization_type", "good", "family", "minimum", "page", "validation_file"),
    [
        (NOVA, FT, GOOD_CONVERSATION, "Amazon Nova (Micro, Lite, Pro)", 8, NOVA_CONSTRAINTS, True),
        (
            NOVA_2,
            FT,
            GOOD_CONVERSATION,
            "Amazon Nova 2 Lite",
            200,
            NOVA_VALIDATOR + "#NOVA_2_0_LITE_SAMPLE_BOUNDS",
            False,
        ),
        # the validator's minimum holds for validation files too (test_dataset_rules.py)
        (HAIKU, FT, CLAUDE, "Anthropic Claude 3 Haiku", 32, REQUIREMENTS, False),
        (NOVA, DISTILL, conversation("user"), "Amazon Nova (Micro, Lite, Pro)", 100, NOVA_DISTILLATION, True),
        # "highly recommend" on the Bedrock page; datasets.py enforces it (its note says so)
        (LLAMA_31, DISTILL, conversation("user"), "Meta Llama 3.1", 100, DISTILLATION_LIMITS, True),
        (HAIKU, DISTILL, conversation("user"), "Anthropic Claude 3 Haiku", 100, DISTILLATION_LIMITS, True),
        # Amazon Nova 2 Lite takes no validation file (test_dataset_rules.py)
        (NOVA_2, RFT, OPENAI, "Amazon Nova 2 Lite", 100, RFT_SOURCES, False),
        (GPT_OSS, RFT, OPENAI, "OpenAI gpt-oss-20b", 100, RFT_OPEN_WEIGHT, True),
        (QWEN3, RFT, OPENAI, "Qwen3 32B", 100, RFT_OPEN_WEIGHT, True),
    ],
)
def test_the_minimum_of_training_records(
    tmp_path: Path,
    base_model: str,
    customization_type: str,
    good: Any,
    family: str,
    minimum: int,
    page: str,
    validation_file: bool,
) -> None:
    assert ok(write(tmp_path, [good] * minimum), base_model, customization_type, quotas=None).records == minimum
    path = write(tmp_path, [good] * (minimum - 1))
    assert error(path, base_model, customization_type, quotas=None) == (
        f"{path}: {minimum - 1} records; the minimum of training records for {family} {customization_type} is "
        f"{minimum} ({page})"
    )
    if validation_file:
        assert ok(path, base_model, customization_type, purpose="validation", quotas=None).records == minimum - 1


TRAINING_RECORDS = "the maximum of training records"
VALIDATION_RECORDS = "the maximum of validation records"
TOTAL_RECORDS = "the maximum of training and validation records together"


@pytest.mark.parametrize(
    ("base_model", "customization_type", "purpose", "good", "family", "quota", "maximum", "page"),
    [
        (
            NOVA,
            FT,
            "training",
            GOOD_CONVERSATION,
            "Amazon Nova (Micro, Lite, Pro)",
            TRAINING_RECORDS,
            20_000,
            NOVA_CONSTRAINTS,
        ),
        (HAIKU, FT, "training", CLAUDE, "Anthropic Claude 3 Haiku", TRAINING_RECORDS, 10_000, REQUIREMENTS),
        (HAIKU, FT, "validation", CLAUDE, "Anthropic Claude 3 Haiku", VALIDATION_RECORDS, 1_000, REQUIREMENTS),
        (COHERE, FT, "training", PROMPT_COMPLETION, "Cohere Command", TRAINING_RECORDS, 10_000, REQUIREMENTS),
        (COHERE, FT, "validation", PROMPT_COMPLETION, "Cohere Command", VALIDATION_RECORDS, 1_000, REQUIREMENTS),
        # Meta Llama 3.x: "Sum of training and validation records", so one file holds no more either; and a
        # validation file, 1,000 at most (the Llama validator)
        (LLAMA_31, FT, "validation", PROMPT_COMPLETION, "Meta Llama 3.1", VALIDATION_RECORDS, 1_000, LLAMA_CONSTANTS),
        (LLAMA_32, FT, "training", GOOD_CONVERSATION, "Meta Llama 3.2", TOTAL_RECORDS, 10_000, REQUIREMENTS),
        (LLAMA_33, FT, "training", GOOD_CONVERSATION, "Meta Llama 3.3", TOTAL_RECORDS, 10_000, REQUIREMENTS),
        (
            NOVA_2,
            FT,
            "training",
            GOOD_CONVERSATION,
            "Amazon Nova 2 Lite",
            TRAINING_RECORDS,
            20_000,
            NOVA_VALIDATOR + "#NOVA_2_0_LITE_SAMPLE_BOUNDS",
        ),
        (
            NOVA,
            DISTILL,
            "training",
            conversation("user"),
            "Amazon Nova (Micro, Lite, Pro)",
            TRAINING_RECORDS,
            15_000,
            NOVA_DISTILLATION,
        ),
        (
            HAIKU,
            DISTILL,
            "training",
            conversation("user"),
            "Anthropic Claude 3 Haiku",
            TRAINING_RECORDS,
            15_000,
            DISTILLATION_LIMITS,
        ),
        (
            LLAMA_31,
            DISTILL,
            "training",
            conversation("user"),
            "Meta Llama 3.1",
            TRAINING_RECORDS,
            15_000,
            DISTILLATION_LIMITS,
        ),
        # Not found on the Nova RFT page (see RFT_NOVA_DATA above): 20K is the open-weight RFT page's figure.
        (NOVA_2, RFT, "training", OPENAI, "Amazon Nova 2 Lite", TRAINING_RECORDS, 20_000, RFT_NOVA_DATA),
        (GPT_OSS, RFT, "training", OPENAI, "OpenAI gpt-oss-20b", TRAINING_RECORDS, 20_000, RFT_OPEN_WEIGHT),
        (QWEN3, RFT, "training", OPENAI, "Qwen3 32B", TRAINING_RECORDS, 20_000, RFT_OPEN_WEIGHT),
    ],
)
def test_the_maximum_of_records(
    tmp_path: Path,
    base_model: str,
    customization_type: str,
    purpose: str,
    good: Any,
    family: str,
    quota: str,
    maximum: int,
    page: str,
) -> None:
    line = json.dumps(good).encode() + b"\n"
    path = tmp_path / "data.jsonl"
    path.write_bytes(line * maximum)
    assert ok(path, base_model, customization_type, purpose=purpose, quotas=None).records == maximum
    path.write_bytes(line * (maximum + 1))
    assert error(path, base_model, customization_type, purpose=purpose, quotas=None) == (
        f"{path}:{maximum + 1}: record {maximum + 1} is one too many; {quota} for {family} {customization_type} "
        f"is {maximum} ({page})"
    )


def test_the_sum_of_training_and_validation_records(tmp_path: Path) -> None:
    """Meta Llama 3.2: "Sum of training and validation records", minimum 100, maximum 10,000 (REQUIREMENTS)."""
    train = write(tmp_path, [GOOD_CONVERSATION] * 90, "train.jsonl")
    valid = write(tmp_path, [GOOD_CONVERSATION] * 10, "valid.jsonl")
    training = validate_dataset(train, customization_type=FT, base_model=LLAMA_32)
    validation = validate_dataset(valid, customization_type=FT, base_model=LLAMA_32, purpose="validation")
    check_total_records(training, [validation])  # 100
    valid = write(tmp_path, [GOOD_CONVERSATION] * 9, "valid.jsonl")
    validation = validate_dataset(valid, customization_type=FT, base_model=LLAMA_32, purpose="validation")
    with pytest.raises(DatasetError) as raised:
        check_total_records(training, [validation])
    assert str(raised.value) == (
        f"{train}, {valid}: 99 records; the minimum of training and validation records together "
        f"for Meta Llama 3.2 FINE_TUNING is 100 ({REQUIREMENTS})"
    )
    check_total_records(dataclasses.replace(training, records=9_990), [dataclasses.replace(validation, records=10)])
    with pytest.raises(DatasetError) as raised:
        check_total_records(dataclasses.replace(training, records=9_990), [dataclasses.replace(validation, records=11)])
    assert str(raised.value) == (
        f"{train}, {valid}: 10001 records; the maximum of training and validation records together "
        f"for Meta Llama 3.2 FINE_TUNING is 10000 ({REQUIREMENTS})"
    )
    big = dataclasses.replace(training, records=10_000)
    check_total_records(big, [validation], quotas={"max_total_records": 10_009})  # adjustable (Service Quotas)


def test_quotas_can_be_overridden_or_skipped(tmp_path: Path) -> None:
    line = json.dumps(GOOD_CONVERSATION).encode() + b"\n"
    path = tmp_path / "train.jsonl"
    path.write_bytes(line * 20_001)  # one over Nova's documented 20k (NOVA_CONSTRAINTS), alone and with validation
    assert error(path, quotas={"min_training_records": None}).startswith(f"{path}:20001: record 20001 is one too many")
    assert error(path, quotas={"max_training_records": None}) == (
        f"{path}:20001: record 20001 is one too many; the maximum of training and validation records together for "
        f"Amazon Nova (Micro, Lite, Pro) FINE_TUNING is 20000 ({NOVA_VALIDATOR}#validate_dataset_level)"
    )
    lifted: dict[str, int | None] = {"max_training_records": None, "max_total_records": None}
    assert ok(path, quotas=lifted).records == 20_001
    assert ok(path, quotas={"max_training_records": 20_001, "max_total_records": 20_001}).records == 20_001
    assert error(path, quotas={"max_training_records": 5}) == (
        f"{path}:6: record 6 is one too many; the maximum of training records for Amazon Nova (Micro, Lite, Pro) "
        "FINE_TUNING is 5 (quota override)"
    )


@pytest.mark.parametrize(
    ("base_model", "customization_type", "purpose", "family", "quota", "size", "page"),
    [
        (TITAN_EXPRESS, FT, "training", "Amazon Titan Text G1 - Express", "training", 1 * GiB, REQUIREMENTS),
        (TITAN_EXPRESS, FT, "validation", "Amazon Titan Text G1 - Express", "validation", 100 * MiB, REQUIREMENTS),
        (TITAN_LITE, FT, "training", "Amazon Titan Text G1 - Lite", "training", 1 * GiB, REQUIREMENTS),
        (TITAN_PREMIER, FT, "validation", "Amazon Titan Text Premier", "validation", 100 * MiB, REQUIREMENTS),
        (TITAN_PREMIER, FT, "training", "Amazon Titan Text Premier", "training", 1 * GiB, REQUIREMENTS),
        (TITAN_EXPRESS, CPT, "training", "Amazon Titan Text G1 - Express", "training", 10 * GiB, REQUIREMENTS_CPT),
        (TITAN_LITE, CPT, "training", "Amazon Titan Text G1 - Lite", "training", 10 * GiB, REQUIREMENTS_CPT),
        (TITAN_LITE, CPT, "validation", "Amazon Titan Text G1 - Lite", "validation", 100 * MiB, REQUIREMENTS_CPT),
        (HAIKU, FT, "training", "Anthropic Claude 3 Haiku", "training", 10 * GiB, REQUIREMENTS),
        (HAIKU, FT, "validation", "Anthropic Claude 3 Haiku", "validation", 1 * GiB, REQUIREMENTS),
    ],
)
def test_the_file_size_quota(
    tmp_path: Path,
    base_model: str,
    customization_type: str,
    purpose: str,
    family: str,
    quota: str,
    size: int,
    page: str,
) -> None:
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as stream:  # sparse: the size is checked before a byte is read
        stream.truncate(size + 1)
    assert error(path, base_model, customization_type, purpose=purpose) == (
        f"{path}: the file has {size + 1} bytes; the {quota} dataset file size quota for "
        f"{family} {customization_type} is {size} ({page})"
    )


def test_a_file_of_exactly_its_size_quota_is_within_it(tmp_path: Path) -> None:
    """A quota is a maximum (the user guide's "file size" rows): a quota of N bytes, here an adjusted one, takes N."""
    path = write(tmp_path, [{"prompt": "Where is my order?", "completion": "In transit."}] * 10)
    size = path.stat().st_size
    assert ok(path, TITAN_EXPRESS, quotas={"max_training_bytes": size}).records == 10
    assert "dataset file size quota" in error(path, TITAN_EXPRESS, quotas={"max_training_bytes": size - 1})


# The whole table, as documented: a quota added to, dropped from or changed in datasets.py's QUOTAS fails here
# until it is stated (with its page) in this list as well. (family, customization type, quota) -> (value, page)
DOCUMENTED_QUOTAS: dict[tuple[str, str, str], tuple[int, str]] = {
    ("titan-text-premier", FT, "max_record_chars"): (24_576, REQUIREMENTS),
    ("titan-text-premier", FT, "max_training_bytes"): (1 * GiB, REQUIREMENTS),
    ("titan-text-premier", FT, "max_validation_bytes"): (100 * MiB, REQUIREMENTS),
    ("titan-text-express", FT, "max_record_chars"): (24_576, REQUIREMENTS),
    ("titan-text-express", FT, "max_training_bytes"): (1 * GiB, REQUIREMENTS),
    ("titan-text-express", FT, "max_validation_bytes"): (100 * MiB, REQUIREMENTS),
    ("titan-text-express", CPT, "max_record_chars"): (24_576, REQUIREMENTS_CPT),
    ("titan-text-express", CPT, "max_training_bytes"): (10 * GiB, REQUIREMENTS_CPT),
    ("titan-text-express", CPT, "max_validation_bytes"): (100 * MiB, REQUIREMENTS_CPT),
    ("titan-text-lite", FT, "max_record_chars"): (24_576, REQUIREMENTS),
    ("titan-text-lite", FT, "max_training_bytes"): (1 * GiB, REQUIREMENTS),
    ("titan-text-lite", FT, "max_validation_bytes"): (100 * MiB, REQUIREMENTS),
    ("titan-text-lite", CPT, "max_record_chars"): (24_576, REQUIREMENTS_CPT),
    ("titan-text-lite", CPT, "max_training_bytes"): (10 * GiB, REQUIREMENTS_CPT),
    ("titan-text-lite", CPT, "max_validation_bytes"): (100 * MiB, REQUIREMENTS_CPT),
    ("llama-3.1", FT, "max_record_chars"): (96_000, REQUIREMENTS),
    ("llama-3.1", FT, "min_total_records"): (100, REQUIREMENTS),
    ("llama-3.1", FT, "max_total_records"): (10_000, REQUIREMENTS),
    ("llama-3.1", FT, "max_validation_records"): (1_000, LLAMA_CONSTANTS),
    ("llama-3.2", FT, "min_total_records"): (100, REQUIREMENTS),
    ("llama-3.2", FT, "max_total_records"): (10_000, REQUIREMENTS),
    ("llama-3.2", FT, "max_validation_records"): (1_000, LLAMA_CONSTANTS),
    ("llama-3.3", FT, "min_total_records"): (100, REQUIREMENTS),
    ("llama-3.3", FT, "max_total_records"): (10_000, REQUIREMENTS),
    ("llama-3.3", FT, "max_validation_records"): (1_000, LLAMA_CONSTANTS),
    ("cohere-command", FT, "max_prompt_chars"): (24_576, REQUIREMENTS),
    ("cohere-command", FT, "max_completion_chars"): (12_288, REQUIREMENTS),
    ("cohere-command", FT, "max_training_records"): (10_000, REQUIREMENTS),
    ("cohere-command", FT, "max_validation_records"): (1_000, REQUIREMENTS),
    ("claude-3-haiku", FT, "min_training_records"): (32, REQUIREMENTS),
    ("claude-3-haiku", FT, "max_training_records"): (10_000, REQUIREMENTS),
    ("claude-3-haiku", FT, "max_validation_records"): (1_000, REQUIREMENTS),
    ("claude-3-haiku", FT, "min_validation_records"): (32, CLAUDE_VALIDATOR + "#L98-L100"),
    ("claude-3-haiku", FT, "max_total_records"): (10_000, REQUIREMENTS),
    ("claude-3-haiku", FT, "max_training_bytes"): (10 * GiB, REQUIREMENTS),
    ("claude-3-haiku", FT, "max_validation_bytes"): (1 * GiB, REQUIREMENTS),
    ("nova", FT, "min_training_records"): (8, NOVA_CONSTRAINTS),
    ("nova", FT, "max_training_records"): (20_000, NOVA_CONSTRAINTS),
    ("nova", FT, "max_total_records"): (20_000, NOVA_VALIDATOR + "#validate_dataset_level"),
    ("nova-2", FT, "min_training_records"): (200, NOVA_VALIDATOR + "#NOVA_2_0_LITE_SAMPLE_BOUNDS"),
    ("nova-2", FT, "max_training_records"): (20_000, NOVA_VALIDATOR + "#NOVA_2_0_LITE_SAMPLE_BOUNDS"),
    ("nova", DISTILL, "min_training_records"): (100, NOVA_DISTILLATION),
    ("nova", DISTILL, "max_training_records"): (15_000, NOVA_DISTILLATION),
    **{
        (family, DISTILL, name): (value, DISTILLATION_LIMITS)
        for family in ("claude-3-haiku", "llama-3.1", "llama-3.2", "llama-3.3")
        for name, value in (("min_training_records", 100), ("max_training_records", 15_000))
    },
    **{
        (family, DISTILL, "max_training_bytes"): (1 * GiB, DISTILLATION_CONSTANTS)
        for family in ("claude-3-haiku", "llama-3.1", "llama-3.2", "llama-3.3")
    },
    ("nova-2", RFT, "min_training_records"): (100, RFT_SOURCES),
    ("nova-2", RFT, "max_training_records"): (20_000, RFT_NOVA_DATA),
    **{
        (family, RFT, name): (value, RFT_OPEN_WEIGHT)
        for family in ("gpt-oss-20b", "qwen3-32b")
        for name, value in (("min_training_records", 100), ("max_training_records", 20_000))
    },
}


def test_the_quota_table_holds_exactly_the_documented_quotas() -> None:
    table = {(q.family, q.customization_type, q.name): (q.value, q.source) for q in QUOTAS}
    assert table == DOCUMENTED_QUOTAS


def test_every_quota_is_sourced_and_named() -> None:
    keys = [(q.family, q.customization_type, q.name) for q in QUOTAS]
    assert len(keys) == len(set(keys))
    for q in QUOTAS:
        # a user guide page, or a published validator's file (at the commit read)
        assert q.source.startswith(("https://docs.aws.amazon.com/", "https://github.com/aws-samples/")), q
        assert q.name in QUOTA_NAMES and q.family in datasets.FAMILY_NAMES and q.value > 0, q
        assert any(r.family == q.family and r.customization_type == q.customization_type for r in FORMAT_RULES), q


# --- streaming ------------------------------------------------------------------------------------------


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    line = json.dumps(GOOD_CONVERSATION).encode() + b"\n"
    peaks = []
    for records in (2_000, 20_000):
        path = tmp_path / f"train{records}.jsonl"
        path.write_bytes(line * records)
        tracemalloc.start()
        try:
            assert ok(path).records == records
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert peaks[1] < 1.5 * peaks[0] + 4096, peaks
    assert peaks[1] < read_buffer_bytes(path) + len(line) * 200, peaks  # a few lines' worth, far below the file


# A line is read whole before it is parsed; no page documents a record's size in bytes, so datasets.py bounds a line
# at 8 MiB (its line end included), far above the largest per-record limit documented (32,000 tokens).
LINE_BOUND = 8 * MiB


def test_a_line_of_8_mib_is_read_and_a_longer_one_is_refused_naming_the_line(tmp_path: Path) -> None:
    record = conversation("user", "assistant")
    record["messages"][0]["content"] = text("")
    padding = LINE_BOUND - len(json.dumps(record)) - 1  # "\n" ends the line
    record["messages"][0]["content"] = text("x" * padding)
    path = write(tmp_path, [GOOD_CONVERSATION, record])
    assert path.stat().st_size == len(json.dumps(GOOD_CONVERSATION)) + 1 + LINE_BOUND
    assert ok(path, NOVA_LITE).records == 2
    record["messages"][0]["content"] = text("x" * (padding + 1))
    path = write(tmp_path, [GOOD_CONVERSATION, record])
    assert error(path, NOVA_LITE) == (
        f"{path}:2: the line is longer than 8388608 bytes (8 MiB), far more than a record holds; JSON Lines holds one "
        "JSON record on each line, not a whole JSON array"
    )


def test_memory_does_not_grow_with_a_line_past_the_bound(tmp_path: Path) -> None:
    """A 40 MiB file on one line (a JSON array, not JSON Lines) is refused having read no more than the bound."""
    path = tmp_path / "train.jsonl"
    path.write_bytes(b'["' + b"x" * (40 * MiB) + b'"]')
    tracemalloc.start()
    try:
        assert error(path, NOVA_LITE).startswith(f"{path}:1: the line is longer than 8388608 bytes")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # readline joins the chunks it read: about twice the bound at its peak, far below the 40 MiB line.
    assert peak < 3 * LINE_BOUND, peak
