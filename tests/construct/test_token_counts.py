"""Exact token counts with Bedrock Runtime's CountTokens (cdk_bedrock_customization.token_counts), against botocore's
Stubber: each request is checked against the bedrock-runtime service model that botocore ships (CountTokens:
modelId, input.converse {messages, system}; output inputTokens) and against the exact parameters expected here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cdk_bedrock_customization.datasets import DatasetError
from cdk_bedrock_customization.token_counts import (
    TokenCount,
    TokenCountError,
    bedrock_runtime_client,
    count_tokens,
    counting_model_id,
)

from .conftest import refuse_opening

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0:200k"
NOVA_LITE = "amazon.nova-lite-v1:0:300k"
COHERE = "cohere.command-text-v14:7:4k"
LLAMA_2 = "meta.llama2-13b-v1:0:4k"
# The limits, as documented (test_dataset_rules.py states each with its source): Claude 3 Haiku 32,000 tokens per
# record (the Claude validator, MAX_TOKENS); Cohere Command 4,096 input and 2,048 output tokens (Bedrock user guide).
CLAUDE_VALIDATOR = (
    "https://github.com/aws-samples/amazon-bedrock-samples/blob/85fba9d9c404ae120c0ceee5e67befed35004fdc/"
    "custom-models/bedrock-fine-tuning/claude-haiku/DataValidation/data_validation.py#L11"
)
REQUIREMENTS = (
    "https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-prepare.html"
    "#model-training-validation-requirements"
)


@pytest.fixture
def client() -> Iterator[Any]:
    runtime = boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    yield runtime


def write(tmp_path: Path, records: list[Any]) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def expect(stubber: Stubber, model_id: str, converse: dict[str, Any], tokens: int) -> None:
    stubber.add_response(
        "count_tokens", {"inputTokens": tokens}, {"modelId": model_id, "input": {"converse": converse}}
    )


def test_the_botocore_service_model_has_count_tokens(client: Any) -> None:
    operation = client.meta.service_model.operation_model("CountTokens")
    assert operation.http["requestUri"] == "/model/{modelId}/count-tokens"
    assert set(operation.input_shape.members) == {"modelId", "input"}
    assert set(operation.input_shape.members["input"].members) == {"invokeModel", "converse"}
    assert set(operation.output_shape.members) == {"inputTokens"}


def test_counting_model_ids_drop_the_context_window_suffix() -> None:
    assert counting_model_id(HAIKU) == "anthropic.claude-3-haiku-20240307-v1:0"
    assert counting_model_id(f"arn:aws:bedrock:us-west-2::foundation-model/{NOVA_LITE}") == "amazon.nova-lite-v1:0"
    assert counting_model_id("anthropic.claude-3-5-haiku-20241022-v1:0") == "anthropic.claude-3-5-haiku-20241022-v1:0"


def test_records_over_the_limit_are_returned_with_their_lines(tmp_path: Path, client: Any) -> None:
    records = [
        {
            "system": "Be brief.",
            "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
        },
        {"messages": [{"role": "user", "content": "long"}, {"role": "assistant", "content": "reply"}]},
    ]
    path = write(tmp_path, records)
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    with Stubber(client) as stubber:
        expect(
            stubber,
            model,
            {
                "messages": [
                    {"role": "user", "content": [{"text": "hi"}]},
                    {"role": "assistant", "content": [{"text": "yo"}]},
                ],
                "system": [{"text": "Be brief."}],
            },
            32_000,  # at the limit: within
        )
        expect(
            stubber,
            model,
            {
                "messages": [
                    {"role": "user", "content": [{"text": "long"}]},
                    {"role": "assistant", "content": [{"text": "reply"}]},
                ]
            },
            32_001,
        )
        over = count_tokens(path, HAIKU, client)
        stubber.assert_no_pending_responses()
    assert over == [TokenCount(str(path), 2, "record", 32_001, 32_000, CLAUDE_VALIDATOR)]
    assert str(over[0]) == (
        f"{path}:2: the record has 32,001 tokens (CountTokens), over the limit of 32,000 ({CLAUDE_VALIDATOR})"
    )


def test_conversations_are_sent_as_their_text(tmp_path: Path, client: Any) -> None:
    """bedrock-conversation-2024: system and text blocks as they are; reasoning as text; images left out (a turn of
    nothing but media is dropped, and turns of one role in a row merged, as Converse alternates roles)."""
    image = {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://bucket/cat.png"}}}}
    record = {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "Be brief."}],
        "messages": [
            {"role": "user", "content": [{"text": "What is it?"}, image]},
            {
                "role": "assistant",
                "content": [{"reasoningContent": {"reasoningText": {"text": "Fur."}}}, {"text": "A cat."}],
            },
            {"role": "user", "content": [image]},
            {"role": "assistant", "content": [{"text": "Another."}]},
        ],
    }
    path = write(tmp_path, [record])
    with Stubber(client) as stubber:
        expect(
            stubber,
            "amazon.nova-lite-v1:0",
            {
                "messages": [
                    {"role": "user", "content": [{"text": "What is it?"}]},
                    {"role": "assistant", "content": [{"text": "Fur."}, {"text": "A cat."}, {"text": "Another."}]},
                ],
                "system": [{"text": "Be brief."}],
            },
            10,
        )
        assert count_tokens(path, NOVA_LITE, client, limit=9) == [
            TokenCount(str(path), 1, "record", 10, 9, "the limit given")
        ]


def test_a_conversation_is_sent_as_converse_takes_it_starting_with_the_user(tmp_path: Path, client: Any) -> None:
    """Converse refuses a conversation that starts with the assistant ("A conversation must start with a user
    message") and a blank text: a blank user turn dropped leaves the assistant's text, sent as the user's."""
    record = {"messages": [{"role": "user", "content": "  "}, {"role": "assistant", "content": "Open Settings."}]}
    path = write(tmp_path, [record])
    with Stubber(client) as stubber:
        expect(
            stubber,
            "anthropic.claude-3-haiku-20240307-v1:0",
            {"messages": [{"role": "user", "content": [{"text": "Open Settings."}]}]},
            3,
        )
        assert count_tokens(path, HAIKU, client) == []


def test_prompts_and_completions_are_counted_apart_where_their_limits_are(tmp_path: Path, client: Any) -> None:
    path = write(tmp_path, [{"prompt": "question", "completion": "answer"}])
    with Stubber(client) as stubber:
        expect(
            stubber,
            "cohere.command-text-v14:7",
            {"messages": [{"role": "user", "content": [{"text": "question"}]}]},
            4_096,
        )
        expect(
            stubber,
            "cohere.command-text-v14:7",
            {"messages": [{"role": "user", "content": [{"text": "answer"}]}]},
            2_049,
        )
        over = count_tokens(path, COHERE, client)
    assert over == [TokenCount(str(path), 1, "completion", 2_049, 2_048, REQUIREMENTS)]


def test_a_model_that_count_tokens_does_not_support_is_named(tmp_path: Path, client: Any) -> None:
    path = write(tmp_path, [{"prompt": "q", "completion": "a"}])
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "count_tokens",
            service_error_code="ValidationException",
            service_message="The provided model doesn't support counting tokens.",
            http_status_code=400,
        )
        with pytest.raises(TokenCountError) as raised:
            count_tokens(path, "amazon.titan-text-express-v1:0:8k", client)
    assert str(raised.value) == (
        f"{path}:1: CountTokens refused amazon.titan-text-express-v1:0: ValidationException: The provided model "
        "doesn't support counting tokens. (supported models: "
        "https://docs.aws.amazon.com/bedrock/latest/userguide/count-tokens.html)"
    )


def test_a_model_without_a_documented_limit_needs_one(tmp_path: Path, client: Any) -> None:
    path = write(tmp_path, [{"prompt": "q", "completion": "a"}])
    with pytest.raises(ValueError, match=r"no token limit is documented for Meta Llama 2 FINE_TUNING; pass limit="):
        count_tokens(path, LLAMA_2, client)
    with Stubber(client) as stubber:
        expect(
            stubber,
            "meta.llama2-13b-v1:0",
            {
                "messages": [
                    {"role": "user", "content": [{"text": "q"}]},
                    {"role": "assistant", "content": [{"text": "a"}]},
                ]
            },
            2,
        )
        assert count_tokens(path, LLAMA_2, client, limit=100) == []


def test_a_file_that_cannot_be_opened_is_named(tmp_path: Path, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, [{"prompt": "q", "completion": "a"}])
    refuse_opening(monkeypatch, path)
    with Stubber(client), pytest.raises(DatasetError) as error:
        count_tokens(path, COHERE, client)
    assert str(error.value) == f"{path}: cannot read the dataset: Permission denied"


def test_an_unreadable_line_is_named(tmp_path: Path, client: Any) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text('{"prompt": "q", "completion": "a"}\n{oops\n')
    with Stubber(client) as stubber:
        expect(stubber, "cohere.command-text-v14:7", {"messages": [{"role": "user", "content": [{"text": "q"}]}]}, 1)
        expect(stubber, "cohere.command-text-v14:7", {"messages": [{"role": "user", "content": [{"text": "a"}]}]}, 1)
        with pytest.raises(DatasetError, match=r"train.jsonl:2: not a JSON record .*; validate the file first"):
            count_tokens(path, COHERE, client)


@pytest.mark.parametrize(
    "line",
    ["[" * 100_000, '{"n": ' + "9" * 5000 + "}", '{"prompt": "q", "completion": "a", "n": NaN}'],
    ids=["deep", "digits", "nan"],
)
def test_a_line_python_cannot_read_is_named(tmp_path: Path, client: Any, line: str) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(line + "\n")
    with Stubber(client), pytest.raises(DatasetError, match=r"train.jsonl:1: not a JSON record .*; validate the file"):
        count_tokens(path, COHERE, client)


def test_a_line_longer_than_validation_allows_is_refused_unread(tmp_path: Path, client: Any) -> None:
    """validate refuses a line of more than 8 MiB (datasets.MAX_LINE_BYTES): counting, which reads records as valid,
    refuses it too rather than read it whole. A line of exactly the bound is read."""
    bound = 8 * 1024 * 1024
    path = tmp_path / "train.jsonl"
    filler = "a" * (bound - len('{"prompt": "q", "completion": "", "x": ""}\n'))
    path.write_text(
        '{"prompt": "q", "completion": "", "x": "'
        + filler
        + '"}\n{"prompt": "q", "completion": "a", "x": "'
        + filler
        + 'a"}\n'
    )
    assert [len(line) for line in path.read_bytes().splitlines(keepends=True)] == [bound, bound + 2]
    with Stubber(client) as stubber:
        expect(stubber, "cohere.command-text-v14:7", {"messages": [{"role": "user", "content": [{"text": "q"}]}]}, 1)
        with pytest.raises(DatasetError, match=r"train.jsonl:2: the line is longer than 8388608 bytes; validate the"):
            count_tokens(path, COHERE, client)


def test_no_client_without_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every source of credentials of botocore's default chain is switched off for the test's process."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert bedrock_runtime_client("us-east-1") is None
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert bedrock_runtime_client("us-east-1").meta.service_model.service_name == "bedrock-runtime"
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(TokenCountError, match="counting tokens needs an AWS Region") as refused:
        bedrock_runtime_client()
    # The advice works as botocore reads the environment (its configprovider: AWS_DEFAULT_REGION, not AWS_REGION).
    advised = re.search(r"set (AWS_\w+)", str(refused.value))
    assert advised is not None
    monkeypatch.setenv(advised.group(1), "eu-west-1")
    assert bedrock_runtime_client().meta.region_name == "eu-west-1"
