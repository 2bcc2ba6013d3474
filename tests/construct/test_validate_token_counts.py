"""validate's token checks from the command line: the published validators' estimate as a warning naming the line,
and --count-tokens asking Bedrock Runtime's CountTokens (a Stubber on a real client) for exact counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cdk_bedrock_customization import cli, token_counts

NOVA = "amazon.nova-micro-v1:0:128k"
# The Nova constraints' 32,000 tokens per record, estimated at 3 characters a token (the Claude validator's
# CHARS_PER_TOKEN): a user turn of 99,000 characters is about 33,000 tokens.
LONG_TEXT = "x" * 99_000


def record(text: str) -> dict[str, Any]:
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "messages": [
            {"role": "user", "content": [{"text": text}]},
            {"role": "assistant", "content": [{"text": "Here is how."}]},
        ],
    }


def models_file(tmp_path: Path, long_line: int | None) -> Path:
    """A models file whose model trains on 10 local records, the long_line-th of them long (None: none is)."""
    records = [record(LONG_TEXT if line == long_line else f"question {line}") for line in range(1, 11)]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(item) + "\n" for item in records))
    path = tmp_path / "models.yaml"
    path.write_text(
        "version: 1\nmodels:\n  support:\n"
        f"    base_model: {NOVA}\n    training_data: train.jsonl\n    output_data: s3://my-bucket/output/\n"
    )
    return path


def test_a_record_that_may_exceed_the_token_limit_is_a_warning_naming_its_line(tmp_path, capsys) -> None:
    path = models_file(tmp_path, long_line=4)
    assert cli.main(["validate", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    (warning,) = [line for line in lines if "warning:" in line]
    assert warning.startswith(f"{path}:5:20: models.support.training_data: warning: train.jsonl:4:")
    assert "32000" in warning.replace(",", "")
    assert lines[-1] == f"{path}: OK"


def test_without_a_long_record_there_is_no_warning(tmp_path, capsys) -> None:
    path = models_file(tmp_path, long_line=None)
    assert cli.main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{path}: OK"]


def test_count_tokens_without_credentials_says_so_and_counts_nothing(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(token_counts, "bedrock_runtime_client", lambda region_name=None: None)
    path = models_file(tmp_path, long_line=None)
    assert cli.main(["validate", str(path), "--count-tokens"]) == 0
    output = capsys.readouterr()
    assert output.err == "--count-tokens: no AWS credentials; exact token counts skipped\n"
    assert output.out.splitlines() == [f"{path}: OK"]


def test_count_tokens_with_credentials_but_no_region_counts_nothing_and_does_not_pass(
    tmp_path, capsys, monkeypatch
) -> None:
    """botocore's client needs a Region (NoRegionError): nothing was counted, so the command exits 2, not 0."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "t")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "t")
    path = models_file(tmp_path, long_line=None)
    assert cli.main(["validate", str(path), "--count-tokens"]) == 2
    output = capsys.readouterr()
    assert output.err == (
        "--count-tokens: counting tokens needs an AWS Region: set AWS_DEFAULT_REGION (or a profile's region)\n"
    )
    assert f"{path}: OK" not in output.out


def test_count_tokens_makes_a_record_over_the_limit_a_problem(tmp_path, capsys, monkeypatch) -> None:
    client = boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    path = models_file(tmp_path, long_line=None)
    with Stubber(client) as stubber:
        for line in range(1, 11):  # one call per record; Bedrock counts the third at 40,000 tokens
            stubber.add_response("count_tokens", {"inputTokens": 40_000 if line == 3 else 12})
        monkeypatch.setattr(token_counts, "bedrock_runtime_client", lambda region_name=None: client)
        assert cli.main(["validate", str(path), "--count-tokens"]) == 1
        stubber.assert_no_pending_responses()
    lines = capsys.readouterr().out.splitlines()
    (over,) = lines
    assert ":3" in over and "40000" in over.replace(",", "") and "32000" in over.replace(",", "")


@pytest.mark.parametrize("option", [[], ["--count-tokens"]])
def test_a_problem_is_reported_before_any_count(tmp_path, capsys, monkeypatch, option) -> None:
    monkeypatch.setattr(token_counts, "bedrock_runtime_client", lambda region_name=None: pytest.fail("counted"))
    path = models_file(tmp_path, long_line=None)
    path.write_text(path.read_text().replace("output_data: s3://my-bucket/output/", "output_data: nowhere"))
    assert cli.main(["validate", str(path), *option]) == 1
    assert "models.support.output_data" in capsys.readouterr().out


def test_count_tokens_skips_a_model_with_no_documented_token_limit(tmp_path, capsys, monkeypatch) -> None:
    # Nova distillation documents no tokens per record: nothing to count against, so the file is counted as valid.
    class NotAsked:
        def count_tokens(self, **request: Any) -> None:
            pytest.fail(f"counted: {request}")

    monkeypatch.setattr(token_counts, "bedrock_runtime_client", lambda region_name=None: NotAsked())
    prompts = {
        "schemaVersion": "bedrock-conversation-2024",
        "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
    }
    (tmp_path / "prompts.jsonl").write_text((json.dumps(prompts) + "\n") * 100)  # the documented minimum
    path = tmp_path / "models.yaml"
    path.write_text(
        "version: 1\nmodels:\n  student:\n"
        f"    base_model: {NOVA}\n    training_data: prompts.jsonl\n    output_data: s3://my-bucket/output/\n"
        "    customization: distillation\n    teacher_model: amazon.nova-pro-v1:0\n"
    )
    assert cli.main(["validate", str(path)]) == 0  # the file itself is valid
    capsys.readouterr()

    assert cli.main(["validate", str(path), "--count-tokens"]) == 0
    output = capsys.readouterr()
    assert output.out.splitlines() == [f"{path}: OK"]
    assert output.err == (
        f"--count-tokens: {tmp_path / 'prompts.jsonl'}: no token limit is documented for "
        "Amazon Nova (Micro, Lite, Pro) DISTILLATION; not counted\n"
    )
