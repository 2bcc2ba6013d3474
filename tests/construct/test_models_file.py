"""The models file: loading, offline validation with file:line:column, stages, the command and its schema."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
from cdk_bedrock_customization import cli
from cdk_bedrock_customization.models_file import ModelsFile, ModelsFileError, json_schema

REPO = Path(__file__).resolve().parents[2]
SHIPPED_SCHEMA = REPO / "constructs" / "cdk_bedrock_customization" / "models.schema.json"
EXAMPLE = REPO / "examples" / "models.yaml"

GOOD = """\
version: 1
models:
  support:
    base_model: amazon.nova-micro-v1:0:128k
    training_data: s3://my-bucket/train.jsonl
    output_data: s3://my-bucket/output/
    hyper_parameters: {epochCount: 2}
  support-v2:
    base_model: support
    training_data: s3://my-bucket/train-v2.jsonl
    output_data: s3://my-bucket/output-v2/
imported_models:
  nova:
    model_package_arn: arn:aws:sagemaker:us-east-1:111122223333:model-package/nova/1
deployments:
  support-on-demand:
    model: support
provisioned_throughput:
  nova-pt:
    model: nova
    model_units: 1
stages:
  prod:
    models:
      support:
        output_data: s3://prod-bucket/output/
    provisioned_throughput:
      nova-pt:
        model_units: 2
"""


def write(tmp_path: Path, text: str, name: str = "models.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(path: Path, stage: str | None = None) -> list[str]:
    return [str(problem) for problem in cli.problems_of(str(path), stage)]


def test_a_good_file_loads_with_its_stage_overrides(tmp_path):
    path = write(tmp_path, GOOD)
    assert problems(path) == []
    base = ModelsFile.load(path)
    prod = ModelsFile.load(path, "prod")
    assert dict(base.entries("models"))["support"]["output_data"] == "s3://my-bucket/output/"
    assert dict(prod.entries("models"))["support"]["output_data"] == "s3://prod-bucket/output/"
    # Mappings merge: the stage changed one field, the others stay.
    assert dict(prod.entries("models"))["support"]["hyper_parameters"] == {"epochCount": 2}
    assert dict(prod.entries("provisioned_throughput"))["nova-pt"]["model_units"] == 2
    assert "stages" not in prod.document


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a Bedrock pattern, from botocore's service model, reported at the value
            GOOD.replace("s3://my-bucket/output/\n    hyper", "not-a-uri\n    hyper"),
            "models.yaml:6:18: models.support.output_data: 'not-a-uri' does not match",
        ),
        (  # an unknown field, at its key
            GOOD.replace("    hyper_parameters: {epochCount: 2}", "    hyperparameters: {epochCount: 2}"),
            "models.yaml:7:5: models.support.hyperparameters: unknown field; expected one of",
        ),
        (  # a required field
            GOOD.replace("    model_units: 1\n", ""),
            "models.yaml:20:5: provisioned_throughput.nova-pt: 'model_units' is a required property",
        ),
        (  # an enum
            GOOD.replace("    model_units: 1\n", "    model_units: 1\n    commitment: one_year\n"),
            "models.yaml:22:17: provisioned_throughput.nova-pt.commitment: 'one_year' is not one of",
        ),
        (  # a reference to a key that does not exist
            GOOD.replace("    model: support\n", "    model: supprt\n"),
            "models.yaml:17:12: deployments.support-on-demand.model: 'supprt' is no key of models or imported_models",
        ),
        (  # the contract's rules, named with the file's words: distillation needs a teacher
            GOOD.replace("    hyper_parameters: {epochCount: 2}", "    customization: distillation"),
            "models.yaml:4:5: models.support.teacher_model: required for DISTILLATION, got none",
        ),
        (  # exactly one source of an import
            GOOD.replace(
                "    model_package_arn:", "    source_uri: s3://customer-escrow/nova/\n    model_package_arn:"
            ),
            "models.yaml:14:5: imported_models.nova: modelSourceConfig.s3DataSource.s3Uri or "
            "customModelDataSource.modelPackageArnDataSource.modelPackageArn: give exactly one model source",
        ),
    ],
    ids=["pattern", "unknown", "required", "enum", "reference", "contract", "one-source"],
)
def test_each_problem_names_file_line_column_and_field(tmp_path, text, expected):
    found = problems(write(tmp_path, text))
    assert any(
        problem.startswith(str(tmp_path / expected.split(":", 1)[0]) + ":" + expected.split(":", 1)[1])
        for problem in found
    ), found


def test_every_problem_is_reported_not_only_the_first(tmp_path):
    schema_broken = GOOD.replace("model_units: 1", "model_units: 0").replace("version: 1", "version: 3")
    found = problems(write(tmp_path, schema_broken))
    assert [p.split(": ", 1)[0].rsplit(":", 2)[-2] for p in found] == ["1", "21"]  # the lines, in order
    references_broken = GOOD.replace("model: support\n", "model: nothing\n").replace("model: nova\n", "model: nobody\n")
    found = problems(write(tmp_path, references_broken))
    assert any("'nothing' is no key" in p for p in found) and any("'nobody' is no key" in p for p in found)


def test_reference_cycles_and_duplicate_names_are_errors(tmp_path):
    text = GOOD.replace(
        "base_model: amazon.nova-micro-v1:0:128k", "base_model: support-v2\n    job_name: same"
    ).replace(
        "    output_data: s3://my-bucket/output-v2/", "    output_data: s3://my-bucket/output-v2/\n    job_name: same"
    )
    found = problems(write(tmp_path, text))
    assert any("models.support.base_model: reference cycle: support -> support-v2 -> support" in p for p in found)
    assert any("job_name: 'same' is also the name of models." in p for p in found)


def test_a_problem_in_a_stage_is_reported_where_the_stage_says_it(tmp_path):
    text = GOOD.replace("        output_data: s3://prod-bucket/output/", "        output_data: prod-bucket")
    (problem,) = problems(write(tmp_path, text))
    assert ":26:22: stages.prod.models.support.output_data: 'prod-bucket' does not match" in problem
    # A rule that only the merged entry breaks is reported with the stage's name.
    text = GOOD.replace("        output_data: s3://prod-bucket/output/", "        customization: distillation")
    (problem,) = problems(write(tmp_path, text))
    assert problem.endswith("teacher_model: required for DISTILLATION, got none (stage prod)")
    assert problems(write(tmp_path, GOOD), stage="prod") == []
    with pytest.raises(ModelsFileError, match="no stage 'staging'"):
        ModelsFile.load(write(tmp_path, GOOD), "staging")


def test_json_files_work_the_same(tmp_path):
    document = {"models": {"support": {"base_model": "amazon.nova-micro-v1:0:128k", "output_data": "nope"}}}
    path = write(tmp_path, json.dumps(document, indent=2), "models.json")
    (problem,) = problems(path)
    assert ":5:22: models.support.output_data: 'nope' does not match" in problem


def test_unreadable_and_malformed_files_say_so(tmp_path):
    (tmp_path / "bad.yaml").write_bytes(b"\xff\xfe")
    assert "cannot be read" in problems(tmp_path / "bad.yaml")[0]
    path = write(tmp_path, "models: [unclosed\n", "broken.yaml")
    assert "is not valid YAML or JSON" in problems(path)[0]


def test_the_command_exits_by_result_and_prints_each_problem(tmp_path, capsys):
    good, bad = (
        write(tmp_path, GOOD, "good.yaml"),
        write(tmp_path, GOOD.replace("model_units: 1", "model_units: 0"), "bad.yaml"),
    )
    assert cli.main(["validate", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: OK\n"
    assert cli.main(["validate", str(good), str(bad)]) == 1
    output = capsys.readouterr()
    lines = output.out.splitlines()
    assert lines and all(line.startswith(f"{bad}:") for line in lines)
    assert "problem(s) in 1 file(s)" in output.err
    with pytest.raises(SystemExit) as usage:
        cli.main(["validate"])
    assert usage.value.code == 2


def test_the_shipped_schema_is_the_generated_one(capsys):
    assert json.loads(SHIPPED_SCHEMA.read_text()) == json_schema()
    cli.main(["schema"])
    assert json.loads(capsys.readouterr().out) == json_schema()


def test_good_files_validate_against_the_schema_and_bad_ones_fail(tmp_path):
    validator = jsonschema.Draft202012Validator(json_schema())
    for good in (GOOD, EXAMPLE.read_text()):
        assert list(validator.iter_errors(ModelsFile.read(write(tmp_path, good)).document)) == []
    for bad in (
        GOOD.replace("hyper_parameters", "hyperparameters"),
        GOOD.replace("model_units: 1", "model_units: 0"),
        GOOD.replace("version: 1", "version: 2"),
        GOOD.replace("  support-on-demand:", "  9-starts-with-a-digit:"),
    ):
        assert list(validator.iter_errors(json.loads(json.dumps(ModelsFile.read(write(tmp_path, bad)).document))))


def test_the_example_file_is_valid_for_every_stage():
    assert problems(EXAMPLE) == []


def test_a_jobs_training_and_validation_records_are_counted_together(tmp_path):
    """Llama 3.1 counts training and validation records together: each file alone is within its limits."""
    from cdk_bedrock_customization.datasets import quotas_for

    minimum = quotas_for("llama-3.1", "FINE_TUNING")["min_total_records"].value
    record = json.dumps({"prompt": "What is the capital of France?", "completion": "Paris."})
    (tmp_path / "train.jsonl").write_text((record + "\n") * (minimum // 2))
    (tmp_path / "validation.jsonl").write_text((record + "\n") * (minimum // 2 - 1))
    text = """\
    models:
      llama:
        base_model: meta.llama3-1-8b-instruct-v1:0:128k
        training_data: train.jsonl
        validation_data: [validation.jsonl]
        output_data: s3://my-bucket/output/
    """
    (problem,) = problems(write(tmp_path, text))
    assert f":4:20: models.llama.training_data: {tmp_path / 'train.jsonl'}" in problem
    assert f"{minimum - 1} records" in problem
    (tmp_path / "validation.jsonl").write_text((record + "\n") * (minimum // 2))
    assert problems(write(tmp_path, text)) == []
