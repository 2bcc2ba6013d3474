"""Quotas adjusted with Service Quotas reach synth and the models file: the user guide gives Meta Llama 3.x's maximum
of training and validation records as "10,000 (adjustable using service quotas)", so an account with a raised quota
passes its value (S3Data.from_local_file(quotas=...), or the models file's dataset_quotas) instead of being refused."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cdk_bedrock_customization import CustomModel, ModelsFromFile, S3Data
from cdk_bedrock_customization.models_file import ModelsFile, ModelsFileError

LLAMA_31 = "meta.llama3-1-8b-instruct-v1:0:128k"
RECORD = json.dumps({"prompt": "Where is my order?", "completion": "In transit."})
# One more than the documented default (model-customization-prepare.html, the Llama 3.1 row).
RECORDS = 10_001
REFUSED = "record 10001 is one too many; the maximum of training and validation records together for Meta Llama 3.1"


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("quotas") / "train.jsonl"
    path.write_text("\n".join([RECORD] * RECORDS) + "\n")
    return path


def model(training: S3Data) -> CustomModel:
    stack = cdk.Stack(cdk.App(), "Quotas", env=cdk.Environment(account="123456789012", region="us-east-1"))
    output = S3Data.from_bucket(s3.Bucket(stack, "Data"), "output/")
    return CustomModel(stack, "Model", base_model=LLAMA_31, training_data=training, output_data=output)


def test_a_file_over_the_documented_quota_is_refused_and_a_raised_quota_passes(large):
    with pytest.raises(ValueError, match=REFUSED):
        model(S3Data.from_local_file(large))
    model(S3Data.from_local_file(large, quotas={"max_total_records": 20_000}))


@pytest.mark.parametrize(
    ("quotas", "problem"),
    [
        ({"max_total_record": 20_000}, "unknown quota 'max_total_record'; known quotas: "),
        ({"max_total_records": "20000"}, "quota max_total_records: expected a whole number, at least 0, or None"),
        ({"max_total_records": -1}, "quota max_total_records: expected a whole number, at least 0, or None"),
        ({"max_total_records": True}, "quota max_total_records: expected a whole number, at least 0, or None"),
    ],
)
def test_a_bad_quota_is_refused_naming_it(large, quotas, problem):
    with pytest.raises(ValueError, match="^S3Data.from_local_file: quotas: " + problem):
        S3Data.from_local_file(large, quotas=quotas)


def models_file(directory: Path, quotas: str = "") -> Path:
    path = directory / "models.yaml"
    path.write_text(
        "version: 1\n"
        f"{quotas}"
        "models:\n"
        "  support:\n"
        f"    base_model: {LLAMA_31}\n"
        "    training_data: train.jsonl\n"
        "    output_data: s3://my-bucket/output/\n"
    )
    return path


def problems(path: Path) -> list[str]:
    _, found = ModelsFile.check(path)
    return [str(problem) for problem in found]


def test_the_models_files_dataset_quotas_apply_to_its_local_datasets(large):
    directory = large.parent
    (refused,) = problems(models_file(directory))
    assert REFUSED in refused
    assert problems(models_file(directory, "dataset_quotas: {max_total_records: 20000}\n")) == []
    (unknown,) = problems(models_file(directory, "dataset_quotas: {max_total_record: 20000}\n"))
    assert "dataset_quotas" in unknown and "max_total_record" in unknown


def test_a_stack_built_from_the_file_uses_its_dataset_quotas(large):
    stack = cdk.Stack(cdk.App(), "FromFile", env=cdk.Environment(account="123456789012", region="us-east-1"))
    ModelsFromFile(stack, "Models", path=models_file(large.parent, "dataset_quotas: {max_total_records: 20000}\n"))
    stack = cdk.Stack(cdk.App(), "FromFile", env=cdk.Environment(account="123456789012", region="us-east-1"))
    with pytest.raises(ModelsFileError, match=REFUSED):
        ModelsFromFile(stack, "Models", path=models_file(large.parent))


def test_a_whole_number_written_as_a_float_is_a_quota_as_json_schemas_integer_is(large):
    """The shipped schema's "integer" takes 20000.0: so does the check, rather than failing outside it."""
    assert problems(models_file(large.parent, "dataset_quotas: {max_total_records: 20000.0}\n")) == []
    model(S3Data.from_local_file(large, quotas={"max_total_records": 20_000.0}))


def test_the_models_files_validation_data_is_checked_against_the_validation_quotas(tmp_path):
    """A job's validation files get the validation quotas, not the training ones: a declared validation maximum of 5
    refuses a sixth validation record that a training file of the same job may hold."""
    # The documented minimum of Llama 3.1 fine-tuning: 100 records (model-customization-prepare.html).
    (tmp_path / "train.jsonl").write_text((RECORD + "\n") * 100)
    (tmp_path / "validation.jsonl").write_text((RECORD + "\n") * 6)
    path = models_file(tmp_path, "dataset_quotas: {max_validation_records: 5}\n")
    path.write_text(path.read_text() + "    validation_data: [validation.jsonl]\n")
    (refused,) = problems(path)
    assert "models.support.validation_data.0" in refused and "record 6 is one too many" in refused
    (tmp_path / "validation.jsonl").write_text((RECORD + "\n") * 5)
    assert problems(path) == []


def test_the_models_files_validation_data_is_refused_for_a_model_that_takes_none(tmp_path):
    """Amazon Nova 2 Lite fine-tuning takes no validation dataset (the Nova 2 SFT page of the user guide)."""
    record = json.dumps(
        {
            "schemaVersion": "bedrock-conversation-2024",
            "messages": [
                {"role": "user", "content": [{"text": "Where is my order?"}]},
                {"role": "assistant", "content": [{"text": "In transit."}]},
            ],
        }
    )
    (tmp_path / "train.jsonl").write_text((record + "\n") * 200)
    (tmp_path / "validation.jsonl").write_text(record + "\n")
    path = tmp_path / "models.yaml"
    path.write_text(
        "version: 1\n"
        "models:\n"
        "  support:\n"
        "    base_model: amazon.nova-2-lite-v1:0:256k\n"
        "    training_data: train.jsonl\n"
        "    validation_data: [validation.jsonl]\n"
        "    output_data: s3://my-bucket/output/\n"
    )
    (refused,) = problems(path)
    assert "models.support.validation_data.0" in refused and "takes no validation dataset" in refused


def custom_model(base_model: str, training: S3Data, validation: list[S3Data]) -> CustomModel:
    stack = cdk.Stack(cdk.App(), "Quotas", env=cdk.Environment(account="123456789012", region="us-east-1"))
    output = S3Data.from_bucket(s3.Bucket(stack, "Data"), "output/")
    return CustomModel(
        stack, "Model", base_model=base_model, training_data=training, validation_data=validation, output_data=output
    )


def test_a_local_validation_file_is_held_to_the_validation_quota(tmp_path):
    """Claude 3 Haiku: 32 to 10,000 training records, 32 to 1,000 validation ones (model-customization-prepare.html):
    1,001 validation records are refused at synth, naming the validation file."""
    haiku = "anthropic.claude-3-haiku-20240307-v1:0:200k"
    record = json.dumps(
        {"system": "s", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    )
    train, validation = tmp_path / "train.jsonl", tmp_path / "validation.jsonl"
    train.write_text((record + "\n") * 100)
    validation.write_text((record + "\n") * 1_001)
    with pytest.raises(ValueError, match=r"^validation_data\[0\]: .*record 1001 is one too many"):
        custom_model(haiku, S3Data.from_local_file(train), [S3Data.from_local_file(validation)])
    validation.write_text((record + "\n") * 1_000)
    custom_model(haiku, S3Data.from_local_file(train), [S3Data.from_local_file(validation)])


def test_records_together_are_not_counted_while_a_validation_file_is_in_s3(tmp_path):
    """Llama 3.1 takes at least 100 training and validation records together: 90 local ones beside a validation file
    already in S3, which synth cannot count, may reach it, so they are not refused; alone, they are."""
    train = tmp_path / "train.jsonl"
    train.write_text((RECORD + "\n") * 90)
    with pytest.raises(ValueError, match="90 records; the minimum of training and validation records together"):
        custom_model(LLAMA_31, S3Data.from_local_file(train), [])
    custom_model(LLAMA_31, S3Data.from_local_file(train), [S3Data.from_uri("s3://my-bucket/validation.jsonl")])
