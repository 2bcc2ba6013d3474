"""The rules that the published dataset validators (aws-samples) add to the user guides', and the token estimates
(cdk_bedrock_customization.datasets), on files made in tmp_path.

Every limit below is stated literally with the source it comes from (validator file and line, or the symbol that
holds it, or user guide page), not read from datasets.py, so that a changed limit there fails a test here. The
validators, at the commits read:

- amazon-bedrock-samples 85fba9d9 custom-models/bedrock-fine-tuning/claude-haiku/DataValidation/data_validation.py
  (CLAUDE_VALIDATOR), .../meta-llama/dataset_validation/ (LLAMA_VALIDATOR), custom-models/model_distillation/
  dataset-validation/ (DISTILLATION_VALIDATOR);
- amazon-nova-samples 1e88f245 customization/bedrock-finetuning/understanding/dataset_validation/
  nova_ft_dataset_validator.py (NOVA_VALIDATOR; SFT, CPT, DPO and RFT, Nova 1 and 2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cdk_bedrock_customization.datasets import (
    CHARS_PER_TOKEN,
    MAX_WARNINGS,
    TOKEN_LIMITS,
    DatasetError,
    DatasetSummary,
    estimate_tokens,
    token_limits_for,
    validate_dataset,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NOVA_MICRO = "amazon.nova-micro-v1:0:128k"
NOVA_LITE = "amazon.nova-lite-v1:0:300k"
NOVA_2 = "amazon.nova-2-lite-v1:0:256k"
LLAMA_31 = "meta.llama3-1-8b-instruct-v1:0:128k"
LLAMA_32_3B = "meta.llama3-2-3b-instruct-v1:0:128k"
LLAMA_32_11B = "meta.llama3-2-11b-instruct-v1:0:128k"
LLAMA_32_90B = "meta.llama3-2-90b-instruct-v1:0:128k"
LLAMA_33 = "meta.llama3-3-70b-instruct-v1:0:128k"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0:200k"
TITAN_EXPRESS = "amazon.titan-text-express-v1:0:8k"
COHERE = "cohere.command-text-v14:7:4k"
FT, CPT, DISTILL, RFT = "FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION", "REINFORCEMENT_FINE_TUNING"
NO_COUNTS = {"min_training_records": None, "min_validation_records": None, "min_total_records": None}

SAMPLES = "https://github.com/aws-samples/amazon-bedrock-samples/blob/85fba9d9c404ae120c0ceee5e67befed35004fdc/"
CLAUDE_VALIDATOR = SAMPLES + "custom-models/bedrock-fine-tuning/claude-haiku/DataValidation/data_validation.py"
LLAMA_VALIDATOR = SAMPLES + "custom-models/bedrock-fine-tuning/meta-llama/dataset_validation/"
DISTILLATION_VALIDATOR = SAMPLES + "custom-models/model_distillation/dataset-validation/"
NOVA_VALIDATOR = (
    "https://github.com/aws-samples/amazon-nova-samples/blob/1e88f2450a00a3a24933765ae96159a55ad02a90/"
    "customization/bedrock-finetuning/understanding/dataset_validation/nova_ft_dataset_validator.py"
)
NOVA2_RFT_DATA_URL = "https://docs.aws.amazon.com/nova/latest/nova2-userguide/nova-data-prep-rft-2.html"
BEDROCK = "https://docs.aws.amazon.com/bedrock/latest/userguide/"
PREPARE = BEDROCK + "model-customization-prepare.html"
# "Model requirements for training and validation datasets": Titan Text 4,096 tokens (batch size 1), Cohere Command
# 4,096 input and 2,048 output tokens, Meta Llama 3.1 16,000 tokens.
REQUIREMENTS = PREPARE + "#model-training-validation-requirements"
REQUIREMENTS_CPT = BEDROCK + "model-training-validation-requirements.html"
DISTILLATION = BEDROCK + "distillation-prepare-datasets.html"
# Amazon Bedrock, "Supervised fine-tuning on Amazon Nova 2.0": Images PNG, JPEG, GIF; Videos MOV, MKV, MP4; "You
# cannot mix images and videos within the same dataset"; tool usage "is not currently supported ... Adding tool
# sections might cause your job to fail"; validation sets "will not be supported during SFT training".
NOVA_2_BEDROCK = BEDROCK + "nova-2-sft-data-prep.html"
# Amazon Nova user guide, "Preparing data for fine-tuning Understanding models": reserved keywords; file names of
# "only alphanumeric characters, underscores, hyphens, slashes, and dots"; "Dataset can't contain different media
# modalities"; "context length 32k" (section "Dataset constraints").
NOVA_PAGE = "https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html"
NOVA_CONSTRAINTS = NOVA_PAGE + "#custom-fine-tune-constraints"
NOVA_2_PAGE = "https://docs.aws.amazon.com/nova/latest/nova2-userguide/nova-fine-tune-2.html"


def text(value: str) -> list[dict[str, str]]:
    return [{"text": value}]


def turns(*texts: str, system: str | None = "Be brief.") -> dict[str, Any]:
    """A conversation of user and assistant turns, alternating, with these texts."""
    record: dict[str, Any] = {"schemaVersion": "bedrock-conversation-2024"}
    if system is not None:
        record["system"] = text(system)
    record["messages"] = [{"role": ("user", "assistant")[i % 2], "content": text(t)} for i, t in enumerate(texts)]
    return record


GOOD = turns("What is AWS?", "Amazon Web Services.")


def media(kind: str, fmt: str, uri: str = "s3://bucket/data/item-1.bin") -> dict[str, Any]:
    return {kind: {"format": fmt, "source": {"s3Location": {"uri": uri}}}}


def with_user(*blocks: dict[str, Any], reply: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    record = turns("What is this?", "A cat.")
    record["messages"][0]["content"] = [{"text": "What is this?"}, *blocks]
    if reply is not None:
        record["messages"][1]["content"] = reply
    record.update(fields)
    return record


def write(tmp_path: Path, lines: list[Any], name: str = "train.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def ok(path: Path, base_model: str, customization_type: str = FT, **kwargs: Any) -> DatasetSummary:
    kwargs.setdefault("quotas", NO_COUNTS)
    return validate_dataset(path, customization_type=customization_type, base_model=base_model, **kwargs)


def error(path: Path, base_model: str, customization_type: str = FT, **kwargs: Any) -> str:
    kwargs.setdefault("quotas", NO_COUNTS)
    with pytest.raises(DatasetError) as raised:
        validate_dataset(path, customization_type=customization_type, base_model=base_model, **kwargs)
    return str(raised.value)


def bad_line(tmp_path: Path, bad: Any, base_model: str, customization_type: str = FT, good: Any = GOOD) -> str:
    """The error of a file whose line 2 is ``bad`` (lines 1 and 3 good), without the file's name."""
    path = write(tmp_path, [good, bad, good])
    message = error(path, base_model, customization_type)
    assert message.startswith(f"{path}:2: "), message
    return message.removeprefix(f"{path}:2: ")


# --- token estimates ------------------------------------------------------------------------------------

# The whole table, as documented: a limit added to, dropped from or changed in datasets.TOKEN_LIMITS fails here.
# (family, customization type, part, model-id prefix) -> (tokens, source)
DOCUMENTED_TOKEN_LIMITS = {
    ("titan-text-premier", FT, "record", ""): (4_096, REQUIREMENTS),
    ("titan-text-express", FT, "record", ""): (4_096, REQUIREMENTS),
    ("titan-text-lite", FT, "record", ""): (4_096, REQUIREMENTS),
    ("titan-text-express", CPT, "record", ""): (4_096, REQUIREMENTS_CPT),
    ("titan-text-lite", CPT, "record", ""): (4_096, REQUIREMENTS_CPT),
    ("cohere-command", FT, "prompt", ""): (4_096, REQUIREMENTS),
    ("cohere-command", FT, "completion", ""): (2_048, REQUIREMENTS),
    ("llama-3.1", FT, "record", ""): (16_000, REQUIREMENTS),
    # LLAMA_VALIDATOR README.md line 46: "Input token length of each dataset row <= 16K (10K for Llama 3.2 90B model)"
    ("llama-3.2", FT, "record", ""): (16_000, LLAMA_VALIDATOR + "README.md#L46"),
    ("llama-3.2", FT, "record", "meta.llama3-2-90b-"): (10_000, LLAMA_VALIDATOR + "README.md#L46"),
    # CLAUDE_VALIDATOR line 11: MAX_TOKENS = 32000
    ("claude-3-haiku", FT, "record", ""): (32_000, CLAUDE_VALIDATOR + "#L11"),
    ("nova", FT, "record", ""): (32_000, NOVA_CONSTRAINTS),
    # The requirements table: Meta Llama 3.3, "Sum of input and output tokens", at most 16000.
    ("llama-3.3", FT, "record", ""): (16_000, REQUIREMENTS),
    # Amazon Nova 2 user guide, "Preparing data for SFT", general constraints: "Context length 32k".
    ("nova-2", FT, "record", ""): (
        32_000,
        "https://docs.aws.amazon.com/nova/latest/nova2-userguide/nova-data-prep-sft-2.html",
    ),
}


def test_the_token_limit_table_holds_exactly_the_documented_limits() -> None:
    table = {(t.family, t.customization_type, t.part, t.models): (t.tokens, t.source) for t in TOKEN_LIMITS}
    assert table == DOCUMENTED_TOKEN_LIMITS


def test_tokens_are_estimated_at_3_characters_per_token_as_the_claude_validator_does() -> None:
    # CLAUDE_VALIDATOR line 12: CHARS_PER_TOKEN = 3; lines 61-63: len(text) // CHARS_PER_TOKEN
    assert CHARS_PER_TOKEN == 3
    assert (estimate_tokens(""), estimate_tokens("ab"), estimate_tokens("abc"), estimate_tokens("x" * 3001)) == (
        0,
        0,
        1,
        1000,
    )


def test_a_model_s_own_limit_wins_over_its_family_s() -> None:
    assert token_limits_for("llama-3.2", FT, LLAMA_32_90B)["record"].tokens == 10_000
    assert token_limits_for("llama-3.2", FT, f"arn:aws:bedrock:us-west-2::foundation-model/{LLAMA_32_90B}")[
        "record"
    ].tokens == (10_000)
    assert token_limits_for("llama-3.2", FT, LLAMA_32_11B)["record"].tokens == 16_000
    # The requirements table's "Sum of input and output tokens" for Llama 3.3; Nova 2's "Context length 32k".
    assert token_limits_for("llama-3.3", FT, LLAMA_33)["record"].tokens == 16_000
    assert token_limits_for("nova-2", FT, NOVA_2)["record"].tokens == 32_000


def test_a_record_that_may_exceed_the_limit_is_a_warning_naming_its_line(tmp_path: Path) -> None:
    # Claude 3 Haiku, 32,000 tokens: each text's characters // 3, summed (CLAUDE_VALIDATOR lines 90-91).
    fits = {
        "system": "s" * 2,  # 0
        "messages": [{"role": "user", "content": "u" * 48_000}, {"role": "assistant", "content": "a" * 48_002}],
    }  # 0 + 16,000 + 16,000 = 32,000: within
    over = {**fits, "system": "s" * 3}  # 1 + 16,000 + 16,000 = 32,001
    path = write(tmp_path, [fits, over, fits])
    summary = ok(path, HAIKU)
    assert summary.records == 3
    assert summary.warnings == (
        f"{path}:2: the record may exceed Anthropic Claude 3 Haiku's limit of 32,000 tokens: about 32,001 at 3 "
        f"characters per token ({CLAUDE_VALIDATOR}#L11; estimate as {CLAUDE_VALIDATOR}#L61-L63); count them exactly "
        "with validate --count-tokens",
    )


def test_the_llama_3_2_90b_limit_and_the_cohere_parts(tmp_path: Path) -> None:
    record = turns("u" * 30_003, "a", system=None)  # 10,001 + 0 tokens
    path = write(tmp_path, [record])
    assert ok(path, LLAMA_32_11B).warnings == ()
    (warning,) = ok(path, LLAMA_32_90B).warnings
    assert warning.startswith(f"{path}:1: the record may exceed Meta Llama 3.2's limit of 10,000 tokens: about 10,001")
    # Cohere Command: 4,096 input and 2,048 output tokens, each on its own (REQUIREMENTS); the character quotas of
    # "token quota x 6" stay errors (test_datasets.py).
    path = write(tmp_path, [{"prompt": "p" * 12_291, "completion": "c" * 6_147}])
    assert [w.split(": about")[0] for w in ok(path, COHERE).warnings] == [
        f"{path}:1: the prompt may exceed Cohere Command's limit of 4,096 tokens",
        f"{path}:1: the completion may exceed Cohere Command's limit of 2,048 tokens",
    ]
    # A completion over its 2,048 on a short line: 6,147 characters, 2,049 tokens; the line is far under 4,096 x 3.
    path = write(tmp_path, [{"prompt": "p", "completion": "c" * 6_147}])
    assert [w.split(": about")[0] for w in ok(path, COHERE).warnings] == [
        f"{path}:1: the completion may exceed Cohere Command's limit of 2,048 tokens",
    ]


def test_estimates_cover_every_text_the_model_reads(tmp_path: Path) -> None:
    """Nova (32k, NOVA_CONSTRAINTS): system, every turn; Titan CPT (4,096, REQUIREMENTS_CPT): the input."""
    record = turns("u" * 40_000, "a" * 40_000, "u" * 10_000, "a" * 6_003, system="s" * 3)
    (warning,) = ok(write(tmp_path, [record]), NOVA_LITE).warnings
    assert "limit of 32,000 tokens: about 32,001 at 3" in warning  # 1 + 13,333 + 13,333 + 3,333 + 2,001
    (warning,) = ok(write(tmp_path, [{"input": "x" * 12_291}]), TITAN_EXPRESS, CPT).warnings
    assert "Amazon Titan Text G1 - Express's limit of 4,096 tokens: about 4,097" in warning


def test_warnings_are_bounded_whatever_the_file_holds(tmp_path: Path) -> None:
    long = {"prompt": "p" * 12_300, "completion": "c"}  # Titan: 4,100 tokens
    path = write(tmp_path, [long] * (MAX_WARNINGS + 7))
    warnings = ok(path, TITAN_EXPRESS).warnings
    assert MAX_WARNINGS == 20
    assert len(warnings) == 21 and warnings[-1] == f"{path}: 7 more warnings like those above"
    assert warnings[19].startswith(f"{path}:20: the record may exceed")


# --- file names -------------------------------------------------------------------------------------------


def test_a_file_name_the_validators_refuse_is_a_warning(tmp_path: Path) -> None:
    # NOVA_VALIDATOR check_jsonl_file ("File is not jsonl"); DISTILLATION_VALIDATOR constants.py line 9 (".jsonl").
    path = write(tmp_path, [GOOD], "train data.json")
    assert ok(path, NOVA_LITE).warnings == (
        f'{path}: the file name does not end in ".jsonl", which the published validators require '
        f"({NOVA_VALIDATOR}#check_jsonl_file; {DISTILLATION_VALIDATOR}constants.py#L9)",
        f"{path}: the file name holds characters other than letters, digits, _, - and ., which Amazon Nova refuses "
        f"in dataset file names ({NOVA_PAGE})",
    )
    assert ok(write(tmp_path, [GOOD], "train-v1.2_b.jsonl"), NOVA_LITE).warnings == ()
    assert len(ok(write(tmp_path, [GOOD], "train data.jsonl"), LLAMA_33).warnings) == 0  # a Nova rule only


# --- Amazon Nova fine-tuning -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "keyword",
    # INVALID_TOKENS_TEXT, in any case (validate_invalid_tokens lowers the text); Thought: and <unk> beyond the page
    ["User:", "user:", "BOT:", "Assistant:", "SYSTEM:", "Thought:", "[EOS]", "[eos]", "<image>", "<Video>", "<unk>"],
)
def test_nova_reserved_keywords_in_every_text_in_any_case(tmp_path: Path, keyword: str) -> None:
    source = f"({NOVA_PAGE}; {NOVA_VALIDATOR}#INVALID_TOKENS_TEXT)"
    for record, where in (
        (turns(f"Say {keyword} hi", "ok"), "messages[0].content[0].text"),
        (turns("hi", f"Sure. {keyword}"), "messages[1].content[0].text"),  # replies too
        (turns("hi", "ok", system=f"{keyword} x"), "system[0].text"),
    ):
        assert bad_line(tmp_path, record, NOVA_LITE) == (
            f"{where}: contains the reserved keyword {json.dumps(keyword)}, which fails Amazon Nova (Micro, Lite, "
            f"Pro) training {source}"
        )
    reasoning = {"reasoningContent": {"reasoningText": {"text": f"I think {keyword}"}}}
    assert bad_line(tmp_path, with_user(reply=[reasoning, {"text": "A cat."}]), NOVA_2).startswith(
        "messages[1].content[0].reasoningContent.reasoningText.text: contains the reserved keyword"
    )


def test_nova_texts_without_reserved_keywords(tmp_path: Path) -> None:
    fine = turns("The user asked: why?", "Time: 10:30. Use <b> and [1].", system="Answer as a bot would")
    assert ok(write(tmp_path, [fine]), NOVA_LITE).records == 1
    # tool results are not checked for reserved keywords (the validator checks text, system and reasoning only)
    result = tool_turns()
    result["messages"][2]["content"][0]["toolResult"]["content"] = [{"text": "User: 714"}]
    assert ok(write(tmp_path, [result]), NOVA_LITE).records == 1
    assert ok(write(tmp_path, [turns("Ask the user: why?", "ok")]), LLAMA_33).records == 1  # Nova only


def test_nova_turns_whose_text_is_empty(tmp_path: Path) -> None:
    """NOVA_VALIDATOR Message.validate_content: "Invalid content, empty text content" unless the turn holds an
    image, video, document or reasoning."""
    empty = f"the turn's text is empty and it holds nothing else ({NOVA_VALIDATOR}#Message.validate_content)"
    assert bad_line(tmp_path, turns("", "ok"), NOVA_LITE) == f"messages[0].content: {empty}"
    assert bad_line(tmp_path, turns("hi", ""), NOVA_LITE) == f"messages[1].content: {empty}"
    two_empty = with_user(reply=[{"text": ""}, {"text": ""}])
    assert bad_line(tmp_path, two_empty, NOVA_LITE) == f"messages[1].content: {empty}"
    image_only = turns("x", "A cat.")
    image_only["messages"][0]["content"] = [{"text": ""}, media("image", "png")]
    reasoning = with_user(reply=[{"reasoningContent": {"reasoningText": {"text": "Look."}}}, {"text": ""}])
    assert ok(write(tmp_path, [image_only]), NOVA_LITE).records == 1
    assert ok(write(tmp_path, [reasoning]), NOVA_2).records == 1
    assert ok(write(tmp_path, [turns("", "")]), LLAMA_33).records == 1  # a Nova rule only


def test_a_nova_turn_of_reasoning_alone_is_refused(tmp_path: Path) -> None:
    """NOVA_VALIDATOR Message.validate_content: "'content' list must have at least one 'text', 'image', 'video',
    'document', 'toolUse', or 'toolResult'": reasoning is not among them."""
    reasoning_only = with_user(reply=[{"reasoningContent": {"reasoningText": {"text": "Look."}}}])
    assert bad_line(tmp_path, reasoning_only, NOVA_2) == (
        "messages[1].content: reasoningContent alone; the turn needs a text, image, video, document, toolUse or "
        f"toolResult block besides it ({NOVA_VALIDATOR}#Message.validate_content)"
    )


def test_nova_micro_takes_text_only(tmp_path: Path) -> None:
    for kind, fmt in (("image", "png"), ("video", "mp4"), ("document", "pdf")):
        assert bad_line(tmp_path, with_user(media(kind, fmt)), NOVA_MICRO) == (
            f"messages[0].content[1]: Amazon Nova Micro takes text only, no {kind} "
            f"({NOVA_VALIDATOR}#Message.validate_content)"
        )
        assert ok(write(tmp_path, [with_user(media(kind, fmt))]), NOVA_LITE).records == 1


@pytest.mark.parametrize(
    ("kind", "fmt", "formats"),
    [("image", "webp", "gif, jpeg, png"), ("video", "webm", "mkv, mov, mp4")],
)
def test_nova_2_lite_media_formats(tmp_path: Path, kind: str, fmt: str, formats: str) -> None:
    """NOVA_2_BEDROCK; NOVA_VALIDATOR NOVA_2_0_LITE_IMAGE_FORMATS and NOVA_2_0_LITE_VIDEO_FORMATS."""
    assert ok(write(tmp_path, [with_user(media(kind, fmt))]), NOVA_LITE).records == 1
    assert bad_line(tmp_path, with_user(media(kind, fmt)), NOVA_2) == (
        f"messages[0].content[1].{kind}.format: expected one of {formats} for Amazon Nova 2 Lite ({NOVA_2_BEDROCK}), "
        f'got "{fmt}"'
    )


def test_nova_datasets_hold_images_or_videos_not_both(tmp_path: Path) -> None:
    path = write(tmp_path, [GOOD, with_user(media("image", "png")), GOOD, with_user(media("video", "mp4"))])
    assert error(path, NOVA_LITE) == (
        f"{path}:4: messages[0].content[1]: a video, but line 2 holds an image; a dataset holds images or videos, "
        f"not both ({NOVA_PAGE}; {NOVA_2_BEDROCK})"
    )


def test_nova_media_in_one_turn(tmp_path: Path) -> None:
    """NOVA_VALIDATOR Message.validate_content: no video with an image or document in one content list; one
    document per turn; validate_one_document_per_sample: one per sample."""
    source = f"{NOVA_VALIDATOR}#Message.validate_content"
    assert bad_line(tmp_path, with_user(media("video", "mp4"), media("document", "pdf")), NOVA_LITE) == (
        f"messages[0].content: a video and an image or document in one turn ({source})"
    )
    assert bad_line(tmp_path, with_user(media("document", "pdf"), media("document", "pdf")), NOVA_LITE) == (
        f"messages[0].content: 2 documents; one per turn at most ({source})"
    )
    two_turns = with_user(media("document", "pdf"))
    two_turns["messages"] += [
        {"role": "user", "content": [media("document", "pdf")]},
        {"role": "assistant", "content": text("ok")},
    ]
    assert bad_line(tmp_path, two_turns, NOVA_LITE) == (
        f"messages: 2 documents; one per record at most ({NOVA_VALIDATOR}#validate_one_document_per_sample)"
    )
    assert bad_line(tmp_path, with_user(media("document", "docx")), NOVA_LITE) == (
        'messages[0].content[1].document.format: expected one of pdf, got "docx"'
    )
    assert bad_line(tmp_path, with_user(reply=[media("document", "pdf")]), NOVA_LITE) == (
        "messages[1].content[0]: document blocks belong in user turns only"
    )


def test_nova_media_uris_use_only_safe_characters(tmp_path: Path) -> None:
    """The Nova page's file-name rule, which NOVA_VALIDATOR is_valid_path applies to each media URI."""
    assert (
        ok(write(tmp_path, [with_user(media("image", "png", "s3://my-bucket/a_b/c-1.2.png"))]), NOVA_LITE).records == 1
    )
    assert bad_line(tmp_path, with_user(media("image", "png", "s3://bucket/my cat.png")), NOVA_LITE) == (
        'messages[0].content[1].image.source.s3Location.uri: "s3://bucket/my cat.png" holds characters other than '
        f"letters, digits, _, -, / and . ({NOVA_PAGE}; {NOVA_VALIDATOR}#is_valid_path)"
    )
    assert ok(write(tmp_path, [with_user(media("image", "png", "s3://bucket/my cat.png"))]), LLAMA_32_11B).records == 1


def test_nova_2_reasoning_text_is_not_empty(tmp_path: Path) -> None:
    empty = with_user(reply=[{"reasoningContent": {"reasoningText": {"text": ""}}}, {"text": "A cat."}])
    assert bad_line(tmp_path, empty, NOVA_2) == (
        "messages[1].content[0].reasoningContent.reasoningText.text: empty "
        f"({NOVA_VALIDATOR}#ReasoningText.validate_text)"
    )
    in_user = with_user({"reasoningContent": {"reasoningText": {"text": "x"}}})
    assert (
        bad_line(tmp_path, in_user, NOVA_2)
        == "messages[0].content[1]: reasoningContent blocks belong in assistant turns only"
    )


TOOLS = {
    "tools": [
        {
            "toolSpec": {
                "name": "calculator",
                "description": "Performs arithmetic",
                "inputSchema": {"json": {"type": "object", "properties": {"expression": {"type": "string"}}}},
            }
        }
    ]
}


def tool_turns(use_id: str = "t1", result_id: str = "t1", name: str = "calculator", **fields: Any) -> dict[str, Any]:
    """The Nova validator's tool use example (DATASET_VALIDATION_INSTRUCTIONS.md, example 6)."""
    return {
        **fields,
        "messages": [
            {"role": "user", "content": text("What is 42 * 17?")},
            {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": use_id, "name": name, "input": {"expression": "42 * 17"}}}],
            },
            {"role": "user", "content": [{"toolResult": {"toolUseId": result_id, "content": [{"text": "714"}]}}]},
            {"role": "assistant", "content": text("42 x 17 = 714")},
        ],
    }


def test_nova_tool_use(tmp_path: Path) -> None:
    """NOVA_VALIDATOR ToolConfig, ToolSpec, ToolUse, ToolResult, Message.validate_content_rules and
    validate_tool_use_in_conversation (names and ids checked against toolConfig when a record has one)."""
    assert ok(write(tmp_path, [tool_turns(toolConfig=TOOLS), tool_turns()]), NOVA_LITE).warnings == ()
    cross = f"{NOVA_VALIDATOR}#validate_tool_use_in_conversation"
    cases = [
        (
            tool_turns(name="search", toolConfig=TOOLS),
            f'messages[1].content[0].toolUse.name: no tool "search" in toolConfig ({cross})',
        ),
        (
            tool_turns(result_id="t9", toolConfig=TOOLS),
            f'messages[2].content[0].toolResult.toolUseId: "t9" answers no earlier toolUse ({cross})',
        ),
        (tool_turns(use_id=" "), 'messages[1].content[0].toolUse.toolUseId: expected a non-empty string, got " "'),
        ({**TOOLS, "messages": []}, "messages: expected a non-empty list of messages, got an array"),
        (
            tool_turns(toolConfig={"tools": []}),
            f'toolConfig: expected {{"tools": [...]}} with at least one tool ({NOVA_VALIDATOR}#ToolConfig)',
        ),
        (
            tool_turns(toolConfig={"tools": TOOLS["tools"] * 2}),
            f'toolConfig.tools[1].toolSpec.name: "calculator" names another tool too ({NOVA_VALIDATOR}#ToolConfig)',
        ),
        (
            tool_turns(
                toolConfig={"tools": [{"toolSpec": {**TOOLS["tools"][0]["toolSpec"], "inputSchema": {"json": {}}}}]}
            ),
            'toolConfig.tools[0].toolSpec.inputSchema: expected {"json": {"type": ...}} '
            f"({NOVA_VALIDATOR}#ToolConfig)",
        ),
    ]
    for record, message in cases:
        assert bad_line(tmp_path, record, NOVA_LITE) == message
    swapped = tool_turns()
    swapped["messages"][0]["content"] = swapped["messages"][1]["content"]
    assert (
        bad_line(tmp_path, swapped, NOVA_LITE)
        == "messages[0].content[0]: toolUse blocks belong in assistant turns only"
    )
    result = tool_turns()
    result["messages"][2]["content"][0]["toolResult"]["content"] = [{"text": "714", "json": {"value": 714}}]
    assert bad_line(tmp_path, result, NOVA_LITE) == (
        'messages[2].content[0].toolResult.content[0]: expected {"text": "..."} or {"json": {...}}, one of them'
    )
    assert (
        bad_line(tmp_path, tool_turns(), LLAMA_33)
        == 'messages[1].content[0]: expected a {"text": "..."} block, got keys toolUse'
    )


def test_nova_2_sft_on_bedrock_warns_about_tool_use_once(tmp_path: Path) -> None:
    path = write(tmp_path, [GOOD, tool_turns(toolConfig=TOOLS), tool_turns(toolConfig=TOOLS)])
    assert ok(path, NOVA_2).warnings == (
        f"{path}:2: toolConfig: Amazon Nova 2 SFT on Amazon Bedrock does not currently support tool use; "
        f'"adding tool sections might cause your job to fail" ({NOVA_2_BEDROCK})',
    )


def test_nova_2_lite_sft_takes_no_validation_dataset(tmp_path: Path) -> None:
    path = write(tmp_path, [GOOD])
    message = (
        f"{path}: Amazon Nova 2 Lite takes no validation dataset: the job ignores it (SFT, {NOVA_2_BEDROCK}) and the "
        f"Nova validator refuses one ({NOVA_VALIDATOR}#validate_dataset_level)"
    )
    assert error(path, NOVA_2, purpose="validation") == message
    assert ok(path, NOVA_LITE, purpose="validation").records == 1


def test_the_nova_sample_counts_of_the_validator(tmp_path: Path) -> None:
    """NOVA_2_0_LITE_SAMPLE_BOUNDS["SFT"] = (200, 20000); Nova 1 (8, 20000) for training and validation together
    (validate_dataset_level), which check_total_records checks (test_datasets.py covers each file alone)."""
    path = write(tmp_path, [GOOD] * 199)
    assert error(path, NOVA_2, quotas=None) == (
        f"{path}: 199 records; the minimum of training records for Amazon Nova 2 Lite FINE_TUNING is 200 "
        f"({NOVA_VALIDATOR}#NOVA_2_0_LITE_SAMPLE_BOUNDS)"
    )
    assert ok(write(tmp_path, [GOOD] * 200), NOVA_2, quotas=None).records == 200


# --- Meta Llama -------------------------------------------------------------------------------------------


def test_llama_conversations_follow_the_llama_validator_schema(tmp_path: Path) -> None:
    """LLAMA_VALIDATOR utils/schema.py: "schemaVersion": {"const": "bedrock-conversation-2024"} (line 5); system
    "maxItems": 1, "minItems": 1 (lines 8-9)."""
    schema = LLAMA_VALIDATOR + "utils/schema.py"
    assert bad_line(tmp_path, {**GOOD, "schemaVersion": "v2"}, LLAMA_33) == (
        f'schemaVersion: expected "bedrock-conversation-2024", got "v2" ({schema}#L5)'
    )
    two = {**GOOD, "system": [{"text": "a"}, {"text": "b"}]}
    assert (
        bad_line(tmp_path, two, LLAMA_32_11B) == f'system: expected one {{"text": ...}} block, got 2 ({schema}#L8-L9)'
    )
    assert bad_line(tmp_path, {**GOOD, "system": []}, LLAMA_33).startswith(
        'system: expected one {"text": ...} block, got 0'
    )
    assert ok(write(tmp_path, [{"messages": GOOD["messages"]}]), LLAMA_33).records == 1  # both are optional
    assert ok(write(tmp_path, [{**GOOD, "schemaVersion": "v2", "system": []}]), NOVA_LITE).records == 1


IMAGE_TEXT = BEDROCK + "preparing-image-text-data.html"


@pytest.mark.parametrize("base_model", [LLAMA_33, LLAMA_32_3B, "meta.llama3-2-1b-instruct-v1:0:128k"])
def test_only_the_llama_3_2_vision_models_take_images(tmp_path: Path, base_model: str) -> None:
    """IMAGE_TEXT: "Supported image formats for Meta Llama-3.2 11B Vision Instruct and Meta Llama-3.2 90B Vision
    Instruct include: gif, jpeg, png, and webp", the only models outside Amazon Nova it names; LLAMA_VALIDATOR
    utils/model_config/models_registry.py lines 14-21: llama3-2-1b and -3b are ModelType.TEXT. Llama 3.3 70B
    Instruct is not among them."""
    for kind, fmt in (("image", "png"), ("video", "mp4")):
        assert bad_line(tmp_path, with_user(media(kind, fmt)), base_model) == (
            f"messages[0].content[1]: {base_model} takes text only, no {kind}: of the models outside Amazon Nova, the "
            f"user guide fine-tunes only Meta Llama 3.2 11B and 90B Vision Instruct on images ({IMAGE_TEXT})"
        )
    assert ok(write(tmp_path, [with_user(media("image", "webp"))]), LLAMA_32_11B).records == 1


@pytest.mark.parametrize("base_model", [LLAMA_32_11B, LLAMA_32_90B])
def test_llama_takes_images_and_no_video(tmp_path: Path, base_model: str) -> None:
    """IMAGE_TEXT: "User inputs can include both text and images, while assistant responses are always textual";
    the content blocks' type is text or image."""
    assert bad_line(tmp_path, with_user(media("video", "mp4")), base_model) == (
        f'messages[0].content[1]: "User inputs can include both text and images": no video ({IMAGE_TEXT})'
    )
    assert ok(write(tmp_path, [with_user(media("image", "png"))]), base_model).records == 1
    assert ok(write(tmp_path, [with_user(media("video", "mp4"))]), NOVA_LITE).records == 1  # Nova takes video


@pytest.mark.parametrize(("kind", "fmt"), [("image", "png"), ("video", "mp4"), ("document", "pdf")])
def test_nova_distillation_prompts_are_text_only(tmp_path: Path, kind: str, fmt: str) -> None:
    """DISTILLATION: "The models listed in Supported models and Regions for Amazon Bedrock Model Distillation
    support only the text-to-text modality" (Amazon Nova Micro, Lite and Pro among the students)."""
    prompt = {**PROMPT, "messages": [{"role": "user", "content": [{"text": "why?"}, media(kind, fmt)]}]}
    assert bad_line(tmp_path, prompt, NOVA_LITE, DISTILL, good=PROMPT) == (
        f'messages[0].content[1]: distillation\'s models "support only the text-to-text modality": no {kind} '
        f"({DISTILLATION})"
    )


def test_nova_media_of_a_dataset_are_in_its_own_bucket(tmp_path: Path) -> None:
    """NOVA_PAGE: "The images or videos must be in the same Amazon S3 bucket as your dataset"."""
    inside = with_user(media("image", "png", "s3://training-data/images/cat.png"))
    outside = with_user(media("image", "png", "s3://other-bucket/images/cat.png"))
    assert ok(write(tmp_path, [inside]), NOVA_LITE, dataset_bucket="training-data").records == 1
    assert ok(write(tmp_path, [outside]), NOVA_LITE).records == 1  # where the dataset is read from is not known
    path = write(tmp_path, [GOOD, outside])
    assert error(path, NOVA_LITE, dataset_bucket="training-data") == (
        f'{path}:2: messages[0].content[1].image.source.s3Location.uri: "s3://other-bucket/images/cat.png" is in '
        "bucket other-bucket, but the dataset is read from training-data; Amazon Nova reads images and videos only "
        "from the dataset's own bucket (\"The images or videos must be in the same Amazon S3 bucket as your "
        f'dataset", {NOVA_PAGE}): upload the dataset to that bucket and give it with S3Data.from_bucket'
    )


NOVA_2_SFT_DATA = "https://docs.aws.amazon.com/nova/latest/nova2-userguide/nova-data-prep-sft-2.html"


def test_nova_2_documents_are_in_the_datasets_bucket_and_of_the_datasets_one_modality(tmp_path: Path) -> None:
    """NOVA_2_SFT_DATA: "The document.source.s3Location.uri must be in the same Amazon S3 bucket as your dataset";
    "A dataset cannot mix different media modalities. Use text with images, text with videos, or text with documents
    — but not a combination." Amazon Nova (1)'s pages say neither of documents."""
    outside = with_user(media("document", "pdf", "s3://other-bucket/docs/manual.pdf"))
    path = write(tmp_path, [GOOD, outside])
    assert error(path, NOVA_2, dataset_bucket="training-data") == (
        f'{path}:2: messages[0].content[1].document.source.s3Location.uri: "s3://other-bucket/docs/manual.pdf" is '
        "in bucket other-bucket, but the dataset is read from training-data; Amazon Nova reads documents only from "
        "the dataset's own bucket (\"The document.source.s3Location.uri must be in the same Amazon S3 bucket as your "
        f'dataset", {NOVA_2_SFT_DATA}): upload the dataset to that bucket and give it with S3Data.from_bucket'
    )
    assert ok(write(tmp_path, [outside]), NOVA_LITE, dataset_bucket="training-data").records == 1
    mixed = write(tmp_path, [with_user(media("image", "png")), with_user(media("document", "pdf"))])
    assert error(mixed, NOVA_2) == (
        f"{mixed}:2: messages[0].content[1]: a document, but line 1 holds an image; a dataset holds images, videos "
        f"or documents, one kind only ({NOVA_PAGE}; {NOVA_2_BEDROCK}; {NOVA_2_SFT_DATA})"
    )
    assert ok(mixed, NOVA_LITE).records == 2


def test_a_llama_3_2_image_block_may_say_its_type(tmp_path: Path) -> None:
    """IMAGE_TEXT: "a content field containing an array with a type field (text or image) that describes the input
    modality"."""
    typed = {"type": "image", **media("image", "png")}
    assert ok(write(tmp_path, [with_user(typed)]), LLAMA_32_11B).records == 1
    assert bad_line(tmp_path, with_user({"type": "text", **media("image", "png")}), LLAMA_32_11B) == (
        'messages[0].content[1]: expected {"image": {"format": ..., "source": ...}} alone, got also type'
    )


def test_llama_validation_files_hold_at_most_1000_records(tmp_path: Path) -> None:
    # LLAMA_VALIDATOR utils/constants.py line 4: MAX_VALIDATION_RECORDS = 1000
    record = {"prompt": "q", "completion": "a"}
    assert ok(write(tmp_path, [record] * 1000), LLAMA_31, purpose="validation").records == 1000
    path = write(tmp_path, [record] * 1001)
    assert error(path, LLAMA_31, purpose="validation") == (
        f"{path}:1001: record 1001 is one too many; the maximum of validation records for Meta Llama 3.1 "
        f"FINE_TUNING is 1000 ({LLAMA_VALIDATOR}utils/constants.py#L4)"
    )


# --- Anthropic Claude 3 Haiku -----------------------------------------------------------------------------

CLAUDE = {
    "system": "Be brief.",
    "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
}


@pytest.mark.parametrize("keyword", ["\nHuman:", "\nAssistant:"])
def test_claude_reserved_keywords(tmp_path: Path, keyword: str) -> None:
    """CLAUDE_VALIDATOR line 15: RESERVED_KEYWORDS = ["\\nHuman:", "\\nAssistant:"], in the system prompt and every
    message (lines 38-43); its README: "\\nHuman" or "\\nAssistant" without a colon are allowed."""
    source = f"{CLAUDE_VALIDATOR}#L15"
    in_reply = {**CLAUDE, "messages": [CLAUDE["messages"][0], {"role": "assistant", "content": f"ok{keyword} more"}]}
    assert bad_line(tmp_path, in_reply, HAIKU, good=CLAUDE) == (
        f"messages[1].content: contains the reserved keyword {json.dumps(keyword)} (a line starting "
        f"{keyword.strip()!r}), which Anthropic reserves ({source})"
    )
    assert bad_line(tmp_path, {**CLAUDE, "system": f"x{keyword}"}, HAIKU, good=CLAUDE).startswith(
        f"system: contains the reserved keyword {json.dumps(keyword)}"
    )
    fine = {**CLAUDE, "system": f"x{keyword.rstrip(':')} y\nhuman: z"}
    assert ok(write(tmp_path, [fine]), HAIKU).records == 1


def test_claude_validation_files_hold_at_least_32_records(tmp_path: Path) -> None:
    # CLAUDE_VALIDATOR line 7: MIN_LINES = 32; lines 98-100: applied to validation files
    path = write(tmp_path, [CLAUDE] * 31)
    assert error(path, HAIKU, purpose="validation", quotas=None) == (
        f"{path}: 31 records; the minimum of validation records for Anthropic Claude 3 Haiku FINE_TUNING is 32 "
        f"({CLAUDE_VALIDATOR}#L98-L100)"
    )
    assert ok(write(tmp_path, [CLAUDE] * 32), HAIKU, purpose="validation", quotas=None).records == 32


# --- distillation prompts of Anthropic and Meta Llama models ----------------------------------------------

PROMPT = {"schemaVersion": "bedrock-conversation-2024", "messages": [{"role": "user", "content": text("why?")}]}
SCHEMA = DISTILLATION_VALIDATOR + "schema.py"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        # "additionalProperties": False, at every level (schema.py lines 17, 39, 44, 49)
        ({**PROMPT, "id": 7}, f"id: unexpected field; a prompt holds only messages, schemaVersion, system ({SCHEMA})"),
        (
            {**PROMPT, "messages": [{"role": "user", "content": text("why?"), "name": "x"}]},
            f"messages[0].name: unexpected field; a prompt holds only content, role ({SCHEMA})",
        ),
        (
            {**PROMPT, "messages": [{"role": "user", "content": [{"text": "why?", "cache": True}]}]},
            f"messages[0].content[0].cache: unexpected field; a prompt holds only text, type ({SCHEMA})",
        ),
        # content: "minItems": 1, "maxItems": 1, "required": ["text"] (lines 30-31, 38): no images
        (
            {**PROMPT, "messages": [{"role": "user", "content": [{"text": "a"}, {"text": "b"}]}]},
            f'messages[0].content: expected one {{"text": "..."}} block, got 2 ({SCHEMA}#L30-L31)',
        ),
        (
            {**PROMPT, "messages": [{"role": "user", "content": [media("image", "png")]}]},
            "messages[0].content[0].text: expected a string, got nothing",
        ),
        # system: "maxItems": 1, "minItems": 1 (lines 11-12)
        ({**PROMPT, "system": []}, f'system: expected one {{"text": ...}} block, got an array ({SCHEMA}#L9-L19)'),
    ],
)
def test_distillation_prompts_follow_the_distillation_validator_schema(
    tmp_path: Path, bad: dict[str, Any], message: str
) -> None:
    typed = {**PROMPT, "messages": [{"role": "user", "content": [{"type": "text", "text": "why?"}]}]}
    for base_model in (HAIKU, LLAMA_31, LLAMA_32_11B):
        assert ok(write(tmp_path, [PROMPT, typed]), base_model, DISTILL).records == 2
        assert bad_line(tmp_path, bad, base_model, DISTILL, good=PROMPT) == message


def test_distillation_datasets_of_at_most_1_gib(tmp_path: Path) -> None:
    # DISTILLATION_VALIDATOR constants.py line 12: MAX_SIZE = 1 * 1024 * 1024 * 1024 ("1 GB in bytes")
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as stream:  # sparse: the size is checked before a byte is read
        stream.truncate((1 << 30) + 1)
    assert error(path, LLAMA_33, DISTILL) == (
        f"{path}: the file has {(1 << 30) + 1} bytes; the training dataset file size quota for Meta Llama 3.3 "
        f"DISTILLATION is {1 << 30} ({DISTILLATION_VALIDATOR}constants.py#L12)"
    )


# --- reinforcement fine-tuning (Amazon Nova 2 Lite) ----------------------------------------------------------

RFT_RECORD = {
    "id": "chem-01",
    "messages": [
        {"role": "system", "content": "You are a chemist."},
        {"role": "user", "content": "Weight of C8H10N4O2?"},
    ],
    "reference_answer": {"molecular_weight": 194.19},
}
RFT_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "StatRollAPI",
            "description": "Generates character stats",
            "parameters": {"type": "object", "properties": {"modifier": {"type": "integer"}}, "required": ["modifier"]},
        },
    }
]


def test_nova_2_lite_rft_takes_a_validation_dataset(tmp_path: Path) -> None:
    """AWS's RFT samples (amazon-bedrock-samples, custom-models/bedrock-reinforcement-fine-tuning/models/nova) give
    amazon.nova-2-lite-v1:0:256k a validationDataConfig, which evalInterval evaluates on."""
    path = write(tmp_path, [RFT_RECORD] * 3)
    assert ok(path, NOVA_2, RFT, purpose="validation").records == 3


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            {**RFT_RECORD, "messages": [{"role": "user", "content": "  "}]},
            f"messages[0].content: empty ({NOVA_VALIDATOR}#RFTMessage)",
        ),
        (
            {**RFT_RECORD, "messages": [{"role": "user", "content": "Hi"}, {"role": "system", "content": "Be brief."}]},
            f'messages[0].role: a "system" message, when there is one, comes first ({NOVA_VALIDATOR}#RFTDatasetSample)',
        ),
        (
            {**RFT_RECORD, "messages": [{"role": "user", "content": "Answer. Assistant: 4"}]},
            f'messages[0].content: contains the reserved keyword "Assistant:" ({NOVA_VALIDATOR}#INVALID_TOKENS_TEXT)',
        ),
        ({**RFT_RECORD, "id": ""}, f'id: expected a non-empty string, got "" ({NOVA_VALIDATOR}#RFTDatasetSample)'),
        ({**RFT_RECORD, "id": 3}, f"id: expected a non-empty string, got a number ({NOVA_VALIDATOR}#RFTDatasetSample)"),
        (
            {**RFT_RECORD, "reference_answer": {}},
            f"reference_answer: expected a non-empty string or object, got an object ({NOVA2_RFT_DATA_URL})",
        ),
        (
            {**RFT_RECORD, "reference_answer": 4},
            f"reference_answer: expected a non-empty string or object, got a number ({NOVA2_RFT_DATA_URL})",
        ),
        (
            {**RFT_RECORD, "tools": []},
            f"tools: expected a non-empty list of tools, got an array ({NOVA_VALIDATOR}#RFTDatasetSample)",
        ),
        ({**RFT_RECORD, "tools": [{**RFT_TOOLS[0], "type": "code"}]}, 'tools[0].type: expected "function", got "code"'),
        (
            {**RFT_RECORD, "tools": RFT_TOOLS * 2},
            f'tools[1].function.name: "StatRollAPI" names another tool too ({NOVA_VALIDATOR}#RFTDatasetSample)',
        ),
        (
            {
                **RFT_RECORD,
                "tools": [
                    {"type": "function", "function": {**RFT_TOOLS[0]["function"], "parameters": {"type": "array"}}}
                ],
            },
            'tools[0].function.parameters: expected {"type": "object", "properties": {...}} '
            f"({NOVA_VALIDATOR}#RFTDatasetSample)",
        ),
    ],
)
def test_reinforcement_fine_tuning_records_follow_the_nova_validator(
    tmp_path: Path, bad: dict[str, Any], message: str
) -> None:
    """NOVA_VALIDATOR RFTMessage, RFTDatasetSample, RFTTool, RFTFunction, RFTFunctionParameters. "tools" is optional
    here, as the validator's README ("(Optional) List of function definitions") and its own basic example have it,
    though its pydantic model requires the field."""
    plain = {"messages": [{"role": "user", "content": "2+2?"}], "reference_answer": "4"}
    assert ok(write(tmp_path, [RFT_RECORD, {**RFT_RECORD, "tools": RFT_TOOLS}, plain]), NOVA_2, RFT).records == 3
    assert bad_line(tmp_path, bad, NOVA_2, RFT, good=RFT_RECORD) == message


def test_reinforcement_fine_tuning_records_have_a_reference_answer(tmp_path: Path) -> None:
    """Amazon Nova 2 user guide, "Preparing data for RFT on Amazon Nova 2": reference_answer is "Required. The
    expected output or evaluation criteria that your reward function uses to score the model's response." (The
    validator's pydantic model has it optional.)"""
    unanswered = {name: value for name, value in RFT_RECORD.items() if name != "reference_answer"}
    assert bad_line(tmp_path, unanswered, NOVA_2, RFT, good=RFT_RECORD) == (
        f"reference_answer: expected a non-empty string or object, got nothing ({NOVA2_RFT_DATA_URL})"
    )


# --- the quick path and the full path agree -------------------------------------------------------------------

TEXTS = st.sampled_from(["", "hi", "User: hi", "a <unk> b", "[eos]", "time: 10:30", "Thought: x", "ok."])


@st.composite
def conversations(draw: st.DrawFn) -> dict[str, Any]:
    roles = draw(st.lists(st.sampled_from(["user", "assistant", "system"]), min_size=1, max_size=4))
    record: dict[str, Any] = {"schemaVersion": "bedrock-conversation-2024"}
    if draw(st.booleans()):
        record["system"] = [{"text": draw(TEXTS)} for _ in range(draw(st.integers(0, 2)))]
    record["messages"] = [
        {"role": role, "content": [{"text": draw(TEXTS)} for _ in range(draw(st.integers(0, 3)))]} for role in roles
    ]
    return record


def outcome(path: Path, base_model: str) -> str:
    try:
        return f"ok, {ok(path, base_model).warnings}"
    except DatasetError as raised:
        return str(raised)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=conversations(), base_model=st.sampled_from([NOVA_LITE, NOVA_2, LLAMA_33, LLAMA_32_11B]))
def test_the_quick_path_and_the_full_path_give_the_same_answer(
    tmp_path: Path, record: dict[str, Any], base_model: str
) -> None:
    """datasets._Conversation.validate takes turns of plain text blocks on a quick path; any other block sends the
    turn to the full check. A key the checks ignore beside each text ("cachePoint") sends every turn there: the
    answer, error or warnings, must be the same."""
    full_record = json.loads(json.dumps(record))
    for message in full_record["messages"]:
        for block in message["content"]:
            block["cachePoint"] = {"type": "default"}
    quick = outcome(write(tmp_path, [record]), base_model)
    assert outcome(write(tmp_path, [full_record]), base_model) == quick
