"""The models file: loading, offline validation with file:line:column, stages, the command and its schema."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import botocore.session
import jsonschema
import pytest
from aws_cdk.assertions import Template
from botocore.validate import ParamValidator
from cdk_bedrock_customization import ModelsFromFile, cli, models_file
from cdk_bedrock_customization.models_file import ModelsFile, ModelsFileError, json_schema
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.closed_pipe import CLI_MAIN, with_reader_gone

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
            "models.yaml:7:5: models.support.hyperparameters: unknown field; did you mean 'hyper_parameters'?",
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
            "models.yaml:17:12: deployments.support-on-demand.model: 'supprt' is no key of models, imported_models or "
            "copied_models",
        ),
        (  # the contract's rules, named with the file's words: distillation needs a teacher
            GOOD.replace("    hyper_parameters: {epochCount: 2}", "    customization: distillation"),
            "models.yaml:4:5: models.support.teacher_model: required for DISTILLATION, got none",
        ),
        (  # exactly one source of an import: at the second source given, naming the line of the first
            GOOD.replace(
                "    model_package_arn:", "    source_uri: s3://customer-escrow/nova/\n    model_package_arn:"
            ),
            "models.yaml:15:24: imported_models.nova.model_package_arn: give exactly one model source; "
            "source_uri (line 14) is also given",
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


COPIED_AND_OPEN_WEIGHT = """\
copied_models:
  support-copy:
    source_model: arn:aws:bedrock:us-west-2:111122223333:custom-model/amazon.nova-micro-v1:0:128k/abcdefghijkl
open_weight_models:
  llama:
    model_data: s3://my-bucket/llama/
"""


@pytest.mark.parametrize(
    ("base_model", "expected"),
    [
        ("supprt", "'supprt' is not a key of models or imported_models"),
        (
            "support-copy",
            "'support-copy' is a key of copied_models; a base_model is a key of models or imported_models",
        ),
        ("llama", "'llama' is a key of open_weight_models; a base_model is a key of models or imported_models"),
    ],
    ids=["misspelt", "copy", "open-weight"],
)
def test_a_base_model_that_is_no_model_of_the_file_nor_an_id_is_refused(tmp_path, base_model, expected):
    """Bedrock's baseModelIdentifier takes a custom model's name too, so a misspelt key, or the key of a copy or an
    open-weight import (not built when models are), would be sent as written: a model of that name trains, or none."""
    text = GOOD.replace("    base_model: support\n", f"    base_model: {base_model}\n") + COPIED_AND_OPEN_WEIGHT
    found = problems(write(tmp_path, text))
    (problem,) = [p for p in found if "base_model" in p]
    suffix = ", a foundation model id or a model ARN"
    assert problem.endswith(f"models.yaml:9:17: models.support-v2.base_model: {expected}{suffix}")
    for valid in (
        "nova",
        "amazon.nova-micro-v1:0:128k",
        "arn:aws:bedrock:us-east-1:111122223333:custom-model/amazon.nova-micro-v1:0:128k/abcdefghijkl",
    ):
        fine = GOOD.replace("    base_model: support\n", f"    base_model: {valid}\n") + COPIED_AND_OPEN_WEIGHT
        assert [p for p in problems(write(tmp_path, fine)) if "base_model" in p] == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "hyper_parameters: {epochCount: 2}",
            'hyper_parameters: {epochCount: "${Token[TOKEN.7777]}"}',
            "models.yaml:7:36: models.support.hyper_parameters.epochCount: '${Token[TOKEN.7777]}'",
        ),
        (
            "    model: support\n",
            '    model: support\n    description: "in ${Token[AWS.AccountId.5]}"\n',
            "models.yaml:18:18: deployments.support-on-demand.description: 'in ${Token[AWS.AccountId.5]}'",
        ),
        (
            "        output_data: s3://prod-bucket/output/",
            "        output_data: s3://prod-bucket/output/\n"
            '        hyper_parameters: {epochCount: "#{Token[TOKEN.12]}"}',
            "models.yaml:27:40: models.support.hyper_parameters.epochCount: '#{Token[TOKEN.12]}'",
        ),
    ],
    ids=["number", "description", "stage"],
)
def test_a_token_marker_in_a_value_is_refused_at_its_line(tmp_path, old, new, expected):
    """aws-cdk-lib takes any string holding ${Token[...]} or #{Token[...]} for a token: synth would fail in the jsii
    kernel naming no line (or put the app's token in the template). A models file holds plain values."""
    found = problems(write(tmp_path, GOOD.replace(old, new)), stage="prod")
    (problem,) = [p for p in found if "token marker" in p]
    assert f"/{expected} holds aws-cdk-lib's token marker; a models file holds plain values (stage prod)" in problem


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


def test_a_json_file_reads_an_escaped_surrogate_pair_as_one_character(tmp_path):
    """RFC 8259, section 7: \\uD83D\\uDE00 is the one character U+1F600; json.dumps writes every character beyond
    U+FFFF so. A lone surrogate is no character, and stays a problem."""
    document = {
        "models": {"support": {"base_model": "amazon.nova-micro-v1:0:128k", "output_data": "s3://b-1/o/"}},
        "deployments": {"support-on-demand": {"model": "support", "description": "Support \U0001f600"}},
    }
    document["models"]["support"]["training_data"] = "s3://b-1/t.jsonl"
    text = json.dumps(document, indent=2)
    assert '"Support \\ud83d\\ude00"' in text
    path = write(tmp_path, text, "models.json")
    assert problems(path) == []
    assert ModelsFile.load(path).data == json.loads(text)
    (problem,) = problems(write(tmp_path, text.replace("\\ude00", ""), "models.json"))
    assert problem.endswith(
        ":12:22: deployments.support-on-demand.description: 'Support \\ud83d' is not valid Unicode: it has a lone "
        "surrogate"
    )


def test_a_key_that_an_escaped_surrogate_pair_makes_a_duplicate_is_one_line_at_it(tmp_path, capsys):
    """RFC 8259, section 7: keys "\\ud83d\\ude00" and "\U0001f600" are one key, where the parser sees two."""
    text = (
        '{"version": 1, "models": {"a": {"base_model": "amazon.nova-micro-v1:0", "training_data": "s3://b-1/t.jsonl",\n'
        '"output_data": "s3://b-1/o/", "hyper_parameters": {"\\ud83d\\ude00": "1", "\U0001f600": "2"}}}}\n'
    )
    assert validate(capsys, write(tmp_path, text, "models.json")) == (
        1,
        [
            "2:73: models.a.hyper_parameters.\U0001f600: duplicate key; a mapping holds each key once (an escaped "
            "surrogate pair is one character)"
        ],
    )
    # In different mappings, a stage's override of it: the same key, which the stage's value replaces.
    text = text.replace(
        ', "\U0001f600": "2"}}}',
        '}}}, "stages": {"prod": {"models": {"a": {"hyper_parameters": {"\U0001f600": "2"}}}}}',
    )
    path = write(tmp_path, text, "models.json")
    assert without_warnings(validate(capsys, path)) == (0, [" OK"])  # 😀 is no Nova hyperparameter: a warning
    assert ModelsFile.load(path, "prod").data["models"]["a"]["hyper_parameters"] == {"\U0001f600": "2"}


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
    assert output.err == ""  # nothing but the problems
    with pytest.raises(SystemExit) as usage:
        cli.main(["validate"])
    assert usage.value.code == 2


def test_the_offline_commands_need_neither_node_nor_aws_cdk_lib(tmp_path):
    """validate and schema run where Node.js is not installed (a pre-commit hook or a CI job of Python alone): they
    never load aws-cdk-lib, whose jsii kernel starts Node, so a PATH without node does not stop them."""
    script = (
        "import sys\n"
        "from cdk_bedrock_customization import cli\n"
        f"statuses = [cli.main(['validate', {str(EXAMPLE)!r}]), cli.main(['schema'])]\n"
        "print(statuses, sorted(name for name in ('aws_cdk', 'jsii') if name in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, "PATH": ""}, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[0, 0] []"


@pytest.mark.parametrize(("units", "accepted"), [(2**31 - 1, True), (2**31, False)])
def test_the_editor_bounds_model_units_as_validate_does(tmp_path, units, accepted):
    """modelUnits is a Smithy integer: 32-bit. Stock jsonschema on the shipped schema (an editor) and validate agree."""
    path = write(tmp_path, GOOD.replace("model_units: 1", f"model_units: {units}"))
    shipped = jsonschema.Draft202012Validator(json.loads(SHIPPED_SCHEMA.read_text()))
    assert (not list(shipped.iter_errors(ModelsFile.read(path).document))) is accepted
    assert (problems(path) == []) is accepted


def service_shape(operation: str, *members: str) -> Any:
    """botocore's shape of a request member ("[]": a list's item)."""
    shape = botocore.session.get_session().get_service_model("bedrock").operation_model(operation).input_shape
    for member in members:
        shape = shape.member if member == "[]" else shape.members[member]
    return shape


TAG_KEY = service_shape("CreateModelCustomizationJob", "jobTags", "[]", "key").metadata
TAG_VALUE = service_shape("CreateModelCustomizationJob", "jobTags", "[]", "value").metadata
VALIDATORS = service_shape("CreateModelCustomizationJob", "validationDataConfig", "validators").metadata
DISTILLATION = GOOD.replace(
    "    training_data: s3://my-bucket/train.jsonl\n",
    "    customization: distillation\n    teacher_model: us.amazon.nova-pro-v1:0\n"
    "    invocation_logs: {source: 's3://my-bucket/logs/'}\n",
    1,
)


@pytest.mark.parametrize(
    ("replaced", "by", "accepted"),
    [
        ("{epochCount: 2}", "{epochCount: 2}\n    job_tags: {" + "k" * TAG_KEY["max"] + ": v}", True),
        ("{epochCount: 2}", "{epochCount: 2}\n    job_tags: {" + "k" * (TAG_KEY["max"] + 1) + ": v}", False),
        ("{epochCount: 2}", "{epochCount: 2}\n    custom_model_tags: {k: " + "v" * TAG_VALUE["max"] + "}", True),
        ("{epochCount: 2}", "{epochCount: 2}\n    custom_model_tags: {k: " + "v" * (TAG_VALUE["max"] + 1) + "}", False),
        ("{epochCount: 2}", "{epochCount: 2}\n    job_tags: {'a b.c:d/e=f+g@h-i_': v}", True),
        ("{epochCount: 2}", "{epochCount: 2}\n    job_tags: {'a#b': v}", False),
        ("{epochCount: 2}", "{epochCount: 2}\n    job_tags: {k: 'a#b'}", False),
        # "Tagging your AWS resources": keys that start with aws:, in any case, are AWS's own.
        ("{epochCount: 2}", "{epochCount: 2}\n    job_tags: {'aWs:team': v}", False),
        ("{epochCount: 2}", "{epochCount: 2}\n    job_tags: {'team-aws:': 'aws:v'}", True),
        ("    model: support\n", "    model: support\n    tags: {'AWS:cost': v}\n", False),
        ("    model: support\n", "    model: support\n    tags: {" + "k" * (TAG_KEY["max"] + 1) + ": v}\n", False),
        (
            "{epochCount: 2}",
            "{epochCount: 2}\n    validation_data: [" + "s3://b-1/v.jsonl, " * VALIDATORS["max"] + "]",
            True,
        ),
        (
            "{epochCount: 2}",
            "{epochCount: 2}\n    validation_data: [" + "s3://b-1/v.jsonl, " * (VALIDATORS["max"] + 1) + "]",
            False,
        ),
    ],
)
def test_the_editor_bounds_tags_and_validators_as_botocore_and_validate_do(tmp_path, replaced, by, accepted):
    """Bounds from botocore's service model (TagKey 1-128 characters of a pattern, TagValue up to 256, Validators up
    to 10), which the shipped schema (an editor, with stock jsonschema) states as validate does."""
    assert re.fullmatch(TAG_KEY["pattern"], "a b.c:d/e=f+g@h-i_") and not re.fullmatch(TAG_KEY["pattern"], "a#b")
    assert not re.fullmatch(TAG_VALUE["pattern"], "a#b")
    text = GOOD.replace(replaced, by, 1)
    assert text != GOOD
    path = write(tmp_path, text)
    shipped = jsonschema.Draft202012Validator(json.loads(SHIPPED_SCHEMA.read_text()))
    assert (not list(shipped.iter_errors(json.loads(json.dumps(ModelsFile.read(path).data))))) is accepted
    assert (problems(path) == []) is accepted


@pytest.mark.parametrize(("length", "accepted"), [(2**31 - 1, True), (2**31, False), (-(2**31) - 1, False)])
def test_the_editor_bounds_max_response_length_as_a_32_bit_integer(tmp_path, length, accepted):
    """maxResponseLengthForInference is a Smithy integer (botocore's type_name "integer"): 32-bit."""
    member = ("customizationConfig", "distillationConfig", "teacherModelConfig", "maxResponseLengthForInference")
    assert service_shape("CreateModelCustomizationJob", *member).type_name == "integer"
    path = write(
        tmp_path, DISTILLATION.replace("{epochCount: 2}", f"{{}}\n    max_response_length_for_inference: {length}")
    )
    shipped = jsonschema.Draft202012Validator(json.loads(SHIPPED_SCHEMA.read_text()))
    assert (not list(shipped.iter_errors(ModelsFile.read(path).data))) is accepted
    assert (problems(path) == []) is accepted


def test_a_tag_problem_is_at_its_key_in_the_file(tmp_path, capsys):
    text = GOOD.replace("{epochCount: 2}", "{epochCount: 2}\n    job_tags: {ok: v, 'a#b': v, k: 'x#y'}")
    code, lines = validate(capsys, write(tmp_path, text))
    assert code == 1
    assert [line.split(": ")[:2] for line in lines] == [
        ["8:23", "models.support.job_tags.a#b"],
        ["8:36", "models.support.job_tags.k"],
    ]


def test_a_tag_key_that_aws_reserves_is_named_at_its_key(tmp_path, capsys):
    text = GOOD.replace("{epochCount: 2}", "{epochCount: 2}\n    job_tags: {ok: v, 'aws:team': v}")
    code, lines = validate(capsys, write(tmp_path, text))
    assert code == 1
    assert lines == [
        "8:23: models.support.job_tags.'aws:team': the tag key 'aws:team' starts with 'aws:', which AWS reserves "
        "for its own tags"
    ]


def test_the_shipped_schema_is_the_generated_one(capsys):
    assert json.loads(SHIPPED_SCHEMA.read_text()) == json_schema()
    cli.main(["schema"])
    assert json.loads(capsys.readouterr().out) == json_schema()


RFT_ENTRY = """\
version: 1
models:
  rft:
    base_model: amazon.nova-2-lite-v1:0:256k
    customization: reinforcement_fine_tuning
    grader: arn:aws:lambda:us-east-1:111122223333:function:grader
    training_data: s3://my-bucket/train.jsonl
    output_data: s3://my-bucket/output/
    rft_hyper_parameters: """
RFT_SHAPE = botocore.session.get_session().get_service_model("bedrock").shape_for("RFTHyperParameters")


@st.composite
def rft_hyper_parameters(draw: st.DrawFn) -> dict[str, Any]:
    """Members of botocore's RFTHyperParameters (and unknown names), each a value of its type in or out of its
    bounds, or true; reasoningEffort one of its enum or not."""
    names = st.sampled_from([*RFT_SHAPE.members, "batchsize", "foo"])
    drawn: dict[str, Any] = {}
    for name in draw(st.lists(names, max_size=4, unique=True)):
        shape = RFT_SHAPE.members.get(name)
        kind = shape.type_name if shape is not None else "integer"
        typed = {
            "integer": st.integers(min_value=-5, max_value=600),
            "float": st.floats(min_value=0, max_value=0.01, allow_nan=False) | st.sampled_from([1e-07, 0.001, 1e-08]),
            "string": st.sampled_from(["low", "medium", "high", "LOW", "extreme", ""]),
        }[kind]
        drawn[name] = draw(typed | st.just(True))
    return drawn


@settings(derandomize=True, deadline=None, database=None, max_examples=150)
@given(hyper_parameters=rft_hyper_parameters())
def test_rft_hyper_parameters_the_shipped_schema_refuses_are_those_validate_refuses(tmp_path_factory, hyper_parameters):
    """The editor (stock jsonschema on the shipped schema) and validate agree; and what validate accepts, botocore's
    own validation of the service model accepts."""
    path = write(tmp_path_factory.mktemp("rft"), RFT_ENTRY + json.dumps(hyper_parameters) + "\n")
    shipped = jsonschema.Draft202012Validator(json.loads(SHIPPED_SCHEMA.read_text()))
    schema_accepts = not list(shipped.iter_errors(ModelsFile.read(path).document))
    found = problems(path)
    assert schema_accepts == (found == []), found
    if not found:
        assert not ParamValidator().validate(hyper_parameters, RFT_SHAPE).has_errors()


def test_rft_hyper_parameters_may_be_numbers_written_as_strings_and_nothing_else(tmp_path):
    """As hyper_parameters: a template sends every number as a string. Other members and types are refused."""
    assert (
        problems(write(tmp_path, RFT_ENTRY + "{epochCount: '2', learningRate: '1e-4', reasoningEffort: low}\n")) == []
    )
    found = problems(write(tmp_path, RFT_ENTRY + "{batchSize: 2, reasoningEffort: extreme, foo: 1}\n"))
    assert [line.split(": ", 2)[1:] for line in found] == [
        ["models.rft.rft_hyper_parameters.batchSize", "2 must be at least 16"],
        ["models.rft.rft_hyper_parameters.reasoningEffort", "'extreme' is not one of ['low', 'medium', 'high']"],
        [
            "models.rft.rft_hyper_parameters.foo",
            "unknown field; expected one of batchSize, epochCount, evalInterval, inferenceMaxTokens, learningRate, "
            "maxPromptLength, reasoningEffort, trainingSamplePerPrompt",
        ],
    ]


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
    # The datasets as the file names them (the position already says which file and where).
    assert f":4:20: models.llama.training_data: train.jsonl, validation.jsonl: {minimum - 1} records;" in problem
    (tmp_path / "validation.jsonl").write_text((record + "\n") * (minimum // 2))
    assert problems(write(tmp_path, text)) == []


def test_each_bad_record_of_a_local_dataset_is_a_problem_of_its_own(tmp_path):
    """One line each, at the field that names the dataset; as the file names it."""
    good = json.dumps({"prompt": "What is the capital of France?", "completion": "Paris."})
    bad = json.dumps({"prompt": "What is the capital of Spain?"})
    (tmp_path / "train.jsonl").write_text("\n".join([good, bad, good, bad]) + "\n")
    text = """\
    models:
      titan:
        base_model: amazon.titan-text-express-v1:0:8k
        training_data: train.jsonl
        output_data: s3://my-bucket/output/
    """
    path = write(tmp_path, text)
    where = f"{path}:4:20: models.titan.training_data: train.jsonl"
    assert problems(path) == [
        f"{where}:2: completion: expected a string, got nothing",
        f"{where}:4: completion: expected a string, got nothing",
    ]


# --- Issue 15: every problem is one line, whatever the file holds ---------------------------------------------

# What every line the command prints for a bad file looks like: file:line:column: path: message.
LINE = re.compile(r"^[^:]+:\d+:\d+: \S.*$")
# Bounds this module promises (models_file.py states them): a line is at most LINE_BOUND characters beyond
# the file's name; a value it echoes is cut to SHOWN_VALUE characters (the contract's messages to 120).
LINE_BOUND = 500


def validate(capsys: pytest.CaptureFixture[str], path: Path, *options: str) -> tuple[int, list[str]]:
    """Run the command in-process: its exit code and the lines it printed, each checked for the shape."""
    code = cli.main(["validate", str(path), *options])
    output = capsys.readouterr()
    lines = output.out.splitlines()
    assert output.err == ""
    if code == 1:
        assert lines
        for line in lines:
            assert LINE.match(line), line
            assert line.startswith(f"{path}:"), line
            assert len(line) - len(str(path)) <= LINE_BOUND, line
    return code, [line.removeprefix(f"{path}:") for line in lines]


def without_warnings(result: tuple[int, list[str]]) -> tuple[int, list[str]]:
    """validate's exit code and lines, but its warnings."""
    code, lines = result
    return code, [line for line in lines if ": warning: " not in line]


def construct_lines(path: Path, stage: str | None = None) -> list[str]:
    """The lines of the error that loading the file for a construct raises."""
    with pytest.raises(ModelsFileError) as raised:
        ModelsFile.load(path, stage)
    lines = str(raised.value).splitlines()
    assert lines == [str(problem) for problem in raised.value.problems]
    return [line.removeprefix(f"{path}:") for line in lines]


def test_a_stage_that_overrides_an_entry_the_file_does_not_have_is_one_line_at_its_key(tmp_path, capsys):
    text = (
        GOOD.replace(
            "    models:\n      support:\n",
            "    models:\n      suport:\n        output_data: s3://x-bucket/o/\n      support:\n",
        )
        + "      nova-ptt:\n        model_units: 3\n"
    )
    path = write(tmp_path, text)
    code, lines = validate(capsys, path)
    assert (code, lines) == (
        1,
        [
            "25:7: stages.prod.models.suport: models has no entry 'suport' to override; an entry that a stage adds "
            "needs base_model",
            "32:7: stages.prod.provisioned_throughput.nova-ptt: provisioned_throughput has no entry 'nova-ptt' to "
            "override; an entry that a stage adds needs model",
        ],
    )
    assert construct_lines(path, "prod") == lines


def test_a_stage_override_that_names_a_model_that_does_not_exist_is_one_line(tmp_path, capsys):
    text = GOOD + "    deployments:\n      support-on-demand: {model: suport}\n"
    path = write(tmp_path, text)
    code, lines = validate(capsys, path)
    assert (code, lines) == (
        1,
        [
            "31:34: deployments.support-on-demand.model: 'suport' is no key of models, imported_models or "
            "copied_models (stage prod)"
        ],
    )
    assert construct_lines(path, "prod") == lines
    assert validate(capsys, path, "--stage", "prod") == (code, lines)


def test_a_stage_may_add_a_complete_entry_and_an_incomplete_one_is_one_line(tmp_path, capsys):
    complete = GOOD + "    deployments:\n      prod-only: {model: support}\n"
    assert validate(capsys, write(tmp_path, complete))[0] == 0
    assert ModelsFile.load(tmp_path / "models.yaml", "prod").data["deployments"]["prod-only"] == {"model": "support"}
    incomplete = GOOD + "    deployments:\n      prod-only: {description: no model}\n"
    path = write(tmp_path, incomplete)
    code, lines = validate(capsys, path)
    assert (code, lines) == (
        1,
        [
            "31:7: stages.prod.deployments.prod-only: deployments has no entry 'prod-only' to override; an entry "
            "that a stage adds needs model"
        ],
    )
    assert construct_lines(path, "prod") == lines


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("12", "an integer: quote it, as in '12'"),
        ("1", "an integer: quote it, as in '1'"),  # not 'true', though 1 == True
        ("0", "an integer: quote it, as in '0'"),
        ("[support, v2]", "a list"),
        ("{name: support}", "a mapping"),
        ("true", "true or false: quote it, as in 'true'"),
        ("~", "null: quote it, as in 'null'"),
        ("1.5", "a number: quote it, as in '1.5'"),
    ],
    ids=["integer", "one", "zero", "list", "mapping", "boolean", "null", "float"],
)
def test_a_key_that_is_not_a_string_is_one_line_at_the_key(tmp_path, capsys, key, kind):
    path = write(tmp_path, GOOD.replace("  support-on-demand:", f"  {key}:"))
    code, lines = validate(capsys, path)
    assert code == 1
    (line,) = lines
    assert line.startswith("16:3: deployments.") and line.endswith(f": a key must be a string, and this one is {kind}")
    assert construct_lines(path) == lines


def test_keys_that_are_not_strings_are_each_reported_wherever_they_are(tmp_path, capsys):
    text = GOOD.replace("{epochCount: 2}", "{epochCount: 2, 3: 4}").replace("version: 1\n", "version: 1\n2: x\n")
    code, lines = validate(capsys, write(tmp_path, text))
    assert code == 1
    assert [line.split(": ", 1)[0] for line in lines] == ["2:1", "8:39"]
    assert (
        lines[1] == "8:39: models.support.hyper_parameters.3: a key must be a string, and this one is an integer: "
        "quote it, as in '3'"
    )


@pytest.mark.parametrize("key", ['"pt\\n"', '"pt\\n\\n"', '"\\npt"', '"p t"'])
def test_a_key_with_a_newline_is_refused_as_an_editor_refuses_it(tmp_path, capsys, key):
    """The key pattern is ECMA-262's (JSON Schema's), where $ holds only at the end, not before a final newline."""
    path = write(tmp_path, GOOD.replace("  support-on-demand:", f"  {key}:"))
    code, (line,) = validate(capsys, path)
    assert code == 1
    assert line.startswith("16:3: deployments.") and line.endswith(
        "is not a valid key: a letter, then up to 62 letters, digits, '-' or '_'"
    )
    with pytest.raises(ModelsFileError):
        ModelsFromFile(cdk.Stack(cdk.App(), "S"), "Models", path=path)


# YAML 1.2.2, section 10.3.2 (the core schema's tag resolution), as the spec writes each tag's regular expressions.
CORE_INT = r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
CORE_FLOAT = r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"
CORE_INFINITY_OR_NAN = r"[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("1_000", "1_000"),  # YAML 1.1's forms are strings in 1.2
        ("0b101", "0b101"),
        ("+0o7", "+0o7"),
        ("-0x1F", "-0x1F"),
        ("1_000.5", "1_000.5"),
        ("190:20:30", "190:20:30"),
        ("yes", "yes"),
        ("0o17", 15),
        ("0x1F", 31),
        ("012", 12),  # octal only with 0o
        ("+12", 12),
        ("-.5", -0.5),
        (".5e3", 500.0),
        ("1.", 1.0),
        ("1e3", 1000.0),
        ("TRUE", True),
        ("~", None),
    ],
)
def test_plain_scalars_resolve_by_the_yaml_1_2_core_schema(tmp_path, written, expected):
    value = ModelsFile.read(write(tmp_path, f"value: {written}\n")).data["value"]
    assert (type(value), value) == (type(expected), expected)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(written=st.text("0123456789+-._oxbeEaAfFinINT", min_size=1, max_size=8))
def test_any_numeric_looking_plain_scalar_is_what_the_core_schema_regexes_say(tmp_path_factory, written):
    """An integer where CORE_INT matches, else a number where the float's do, else the text as written."""
    path = write(tmp_path_factory.mktemp("core"), f"value: {written}\n")
    try:
        value = ModelsFile.read(path).data["value"]
    except ModelsFileError:  # not a plain scalar at all ("- ", "-", "..."), which YAML's syntax decides
        return
    if re.fullmatch(CORE_INT, written):
        base = {"0o": 8, "0x": 16}.get(written[:2])
        assert (type(value), value) == (int, int(written[2:], base) if base else int(written, 10))
    elif re.fullmatch(CORE_FLOAT, written) and math.isfinite(float(written)):
        assert (type(value), value) == (float, float(written))
    elif re.fullmatch(CORE_FLOAT, written) or re.fullmatch(CORE_INFINITY_OR_NAN, written):
        assert value is None  # 1e999, .inf or .nan: read as a number, and refused as not finite
    else:
        assert value == written


def test_a_yaml_1_1_integer_form_is_a_string_of_the_file(tmp_path, capsys):
    """1_000 is a valid custom model name, and 0b11 a hyper-parameter that Bedrock reads as it is written."""
    text = GOOD.replace("{epochCount: 2}", "{epochCount: 0b11}\n    custom_model_name: 1_000")
    path = write(tmp_path, text)
    code, lines = validate(capsys, path)
    assert (code, lines[-1]) == (0, " OK")
    # cm-hp-nova-mm.html types epochCount as an integer, which no page writes as 0b11: a warning says so.
    assert [line.split(", the type")[0] for line in lines[:-1]] == [
        "7:36: models.support.hyper_parameters.epochCount: warning: '0b11' is not an integer"
    ]
    support = ModelsFile.load(path).data["models"]["support"]
    assert (support["hyper_parameters"], support["custom_model_name"]) == ({"epochCount": "0b11"}, "1_000")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("!!str 12", "12"),
        ("!!str", ""),
        ("!!str true", "true"),
        ("!!int '2'", 2),
        ("!!int 0x1F", 31),
        ("!!float '1'", 1.0),
        ("!!float 1e3", 1000.0),
        ("!!bool 'true'", True),
        ("!!null ''", None),
    ],
)
def test_the_core_schemas_tags_force_a_scalars_type(tmp_path, written, expected):
    value = ModelsFile.read(write(tmp_path, f"value: {written}\n")).data["value"]
    assert (type(value), value) == (type(expected), expected)


@pytest.mark.parametrize(
    ("written", "kind"),
    [
        ("!!int 1_000", "integer"),
        ("!!int 1.5", "integer"),
        ("!!bool yes", "boolean"),
        ("!!float x", "number"),
        ("!!null x", "null"),
    ],
)
def test_a_core_tag_on_text_none_of_its_forms_is_one_line(tmp_path, capsys, written, kind):
    path = write(tmp_path, GOOD.replace("    hyper_parameters: {epochCount: 2}", f"    job_name: {written}"))
    code, lines = validate(capsys, path)
    text = written.split(" ", 1)[1]
    assert (code, lines) == (1, [f"7:15: models.support.job_name: {text!r} is not a valid {kind}"])
    assert construct_lines(path) == lines


def test_a_name_forced_to_a_string_with_the_str_tag_is_a_name(tmp_path, capsys):
    path = write(tmp_path, GOOD.replace("    hyper_parameters: {epochCount: 2}", "    job_name: !!str 12"))
    assert validate(capsys, path) == (0, [" OK"])
    assert ModelsFile.load(path).data["models"]["support"]["job_name"] == "12"


@pytest.mark.parametrize("written", ["2024-1-1 1:00:00", "2024-01-01T10:00:00Z", "2001-12-14t21:59:43.10-05:00"])
def test_a_date_or_time_is_text_as_written_as_yaml_1_2_reads_it(tmp_path, capsys, written):
    """YAML 1.2's core schema (an editor's, with the shipped schema) has no timestamps: the tag deploys as written."""
    text = GOOD.replace("{epochCount: 2}", "{epochCount: 2}\n    job_tags: {release: " + written + "}")
    path = write(tmp_path, text)
    assert validate(capsys, path)[0] == 0
    assert ModelsFile.load(path).data["models"]["support"]["job_tags"] == {"release": written}
    stack = cdk.Stack(cdk.App(), "S")
    ModelsFromFile(stack, "Models", path=path)
    jobs = Template.from_stack(stack).find_resources("Custom::BedrockModelCustomizationJob")
    assert [{"key": "release", "value": written}] in [job["Properties"].get("jobTags") for job in jobs.values()]
    capsys.readouterr()  # the synth's "Bundling asset" line
    as_key = write(tmp_path, GOOD.replace("  support-on-demand:", f"  {written}:"))
    code, (line,) = validate(capsys, as_key)
    assert code == 1
    assert line.endswith(f"{written!r} is not a valid key: a letter, then up to 62 letters, digits, '-' or '_'")


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("value", GOOD.replace("epochCount: 2", "epochCount: " + "9" * 4301)),
        ("units", GOOD.replace("model_units: 1", "model_units: " + "1" * 5000)),
        ("negative", GOOD.replace("epochCount: 2", "epochCount: -" + "9" * 4301)),
        ("hex", GOOD.replace("epochCount: 2", "epochCount: 0x" + "f" * 3600)),
        ("octal", GOOD.replace("epochCount: 2", "epochCount: 0o" + "7" * 4800)),
        ("key", GOOD.replace("{epochCount: 2}", "{? " + "9" * 4301 + " : 2}")),  # an explicit key: no length limit
    ],
)
def test_an_integer_of_more_than_4300_digits_is_one_line(tmp_path, capsys, where, text):
    """Python refuses to print such an integer (ValueError: Exceeds the limit (4300 digits))."""
    path = write(tmp_path, text)
    code, lines = validate(capsys, path)
    assert code == 1
    (line,) = lines
    assert line.endswith("an integer of more than 4300 digits")
    position = line.split(": ", 1)[0]
    assert position == {"units": "21:18", "key": "7:26"}.get(where, "7:36")
    assert construct_lines(path) == lines


def test_an_integer_of_4300_digits_is_read_and_then_refused_by_its_bound(tmp_path, capsys):
    path = write(tmp_path, GOOD.replace("model_units: 1", "model_units: " + "1" * 4300))
    code, lines = validate(capsys, path)
    (line,) = lines
    assert code == 1 and line.startswith("21:18: provisioned_throughput.nova-pt.model_units: 1111111")
    # A number beyond 2**53 would change, or vanish, in the template (jsii and CloudFormation carry doubles).
    assert line.endswith("... is beyond ±9007199254740991: a template cannot carry it exactly")
    # Within the template's bound, the service model's own: modelUnits is a 32-bit integer (the schema says so too).
    path = write(tmp_path, GOOD.replace("model_units: 1", "model_units: 9007199254740991"))
    code, (line,) = validate(capsys, path)
    assert code == 1 and line.endswith("model_units: 9007199254740991 must be at most 2147483647")
    path = write(tmp_path, GOOD.replace("model_units: 1", "model_units: 2147483647"))
    assert validate(capsys, path)[0] == 0


def test_a_float_and_a_hyper_parameter_are_not_bounded_by_what_a_json_number_carries(tmp_path, capsys):
    """A float is a double, which the template carries exactly; hyper-parameters reach the template as strings, as
    the Python API writes them (hyper_parameters={"x": 1e16, "seed": 2**64 - 1} gives these same strings)."""
    text = GOOD.replace("{epochCount: 2}", "{x: 1.0e16, seed: 18446744073709551615}").replace(
        "        output_data: s3://prod-bucket/output/",
        "        output_data: s3://prod-bucket/output/\n        hyper_parameters: {seed: 18446744073709551616}",
    )
    path = write(tmp_path, text)
    assert without_warnings(validate(capsys, path)) == (0, [" OK"])  # x and seed are no Nova hyperparameters
    assert ModelsFile.load(path, "prod").data["models"]["support"]["hyper_parameters"]["seed"] == 2**64
    stack = cdk.Stack(cdk.App(), "S")
    ModelsFromFile(stack, "Models", path=path)
    jobs = Template.from_stack(stack).find_resources("Custom::BedrockModelCustomizationJob")
    expected = {"x": "1e+16", "seed": "18446744073709551615"}
    assert expected in [job["Properties"].get("hyperParameters") for job in jobs.values()]
    capsys.readouterr()  # the synth's "Bundling asset" line
    # An integer the template carries as a JSON number is still bounded.
    path = write(tmp_path, GOOD.replace("model_units: 1", "model_units: 9007199254740992"))
    assert validate(capsys, path) == (
        1,
        [
            "21:18: provisioned_throughput.nova-pt.model_units: 9007199254740992 is beyond ±9007199254740991: a "
            "template cannot carry it exactly"
        ],
    )


EVALUATION = {
    "model": "amazon.nova-lite-v1:0",
    "datasets": [{"name": "Builtin.BoolQ", "task_type": "QuestionAndAnswer", "metric_names": ["Builtin.Accuracy"]}],
    "output_data": "s3://my-bucket/evaluations/",
}


@pytest.mark.parametrize(
    ("section", "value", "expected"),
    [
        (
            {"dataset_quotas": {"max_record_chars": 9007199254740992}},
            9007199254740992,
            "must be at most 9007199254740991",
        ),
        (
            {"stages": {"prod": {"dataset_quotas": {"max_record_chars": 2**60}}}},
            2**60,
            "must be at most 9007199254740991",
        ),
        (
            {"evaluations": {"e": {**EVALUATION, "require": [{"metric": "Builtin.Accuracy", "at_most": 2**53}]}}},
            2**53,
            "is beyond ±9007199254740991: a template cannot carry it exactly",
        ),
        (
            {"evaluations": {"e": {**EVALUATION, "require": [{"metric": "Builtin.Accuracy", "at_least": -(2**53)}]}}},
            -(2**53),
            "is beyond ±9007199254740991: a template cannot carry it exactly",
        ),
        (
            {"evaluations": {"e": {**EVALUATION, "require": [{"metric": "Builtin.Accuracy", "at_least": 1e300}]}}},
            1e300,
            "must be at most 9007199254740991",
        ),
    ],
    ids=["dataset-quota", "a-stages-dataset-quota", "at-most", "at-least", "a-float-threshold"],
)
def test_the_shipped_schema_bounds_quotas_and_thresholds_where_validate_does(
    tmp_path, capsys, section, value, expected
):
    """An integer beyond 2**53 - 1 is refused by validate: the shipped schema refuses it too, and a dataset quota,
    which no template carries, is refused for the bound the schema states."""
    document = {"version": 1, **section}
    assert not jsonschema.Draft202012Validator(json.loads(SHIPPED_SCHEMA.read_text())).is_valid(document)
    code, lines = validate(capsys, write(tmp_path, json.dumps(document), "models.json"))
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].endswith(f": {value!r} {expected}"), lines


def test_a_huge_integer_in_a_json_file_is_one_line(tmp_path, capsys):
    document = {
        "models": {
            "support": {
                "base_model": "amazon.nova-micro-v1:0:128k",
                "training_data": "s3://my-bucket/train.jsonl",
                "output_data": "s3://my-bucket/output/",
                "hyper_parameters": {"epochCount": 2},
            }
        }
    }
    text = json.dumps(document, indent=2).replace('"epochCount": 2', '"epochCount": ' + "7" * 5000)
    assert text.splitlines()[7] == '        "epochCount": ' + "7" * 5000
    path = write(tmp_path, text, "models.json")
    code, lines = validate(capsys, path)
    assert (code, lines) == (
        1,
        ["8:23: models.support.hyper_parameters.epochCount: an integer of more than 4300 digits"],
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "models: [unclosed\n  b: 1\n",
            "2:4: (file): is not valid YAML or JSON: expected ',' or ']', but got ':' (while parsing a flow "
            "sequence, at line 1, column 9)",
        ),
        (
            "models:\n\t support: {}\n",
            "2:1: (file): is not valid YAML or JSON: found character '\\t' that cannot start any token",
        ),
        (
            "models: {}\nmodels: {}\n",
            "2:1: (file): is not valid YAML or JSON: duplicate key; a mapping holds each key once"
            " (while constructing a mapping, at line 1, column 1)",
        ),
        (
            "version: 1\n---\nversion: 1\n",
            "2:1: (file): is not valid YAML or JSON: a second document; a models file is one YAML document",
        ),
        (
            "models:\n  a: 1\n b: 2\n",
            "3:2: (file): is not valid YAML or JSON: expected <block end>, but found '<block mapping start>'"
            " (while parsing a block mapping, at line 1, column 1)",
        ),
        (
            '{"models": {"a" 1}}',
            "1:17: (file): is not valid YAML or JSON: expected ',' or '}', but got '<scalar>' (while parsing a flow "
            "mapping, at line 1, column 12)",
        ),
        (
            "models: 'unterminated\n",
            "2:1: (file): is not valid YAML or JSON: found unexpected end of stream"
            " (while scanning a quoted scalar, at line 1, column 9)",
        ),
        (
            'models: "\\q"\n',
            "1:11: (file): is not valid YAML or JSON: found unknown escape character 'q'"
            " (while scanning a double-quoted scalar, at line 1, column 9)",
        ),
        (
            "models:\n  support: a\x01b\n",
            "2:13: (file): is not valid YAML or JSON: the character U+0001 is not allowed in YAML",
        ),
    ],
    ids=["flow", "tab", "duplicate", "documents", "indentation", "json", "quote", "escape", "character"],
)
def test_a_syntax_error_is_one_line_where_the_parser_found_it(tmp_path, capsys, text, expected):
    path = write(tmp_path, text)
    code, lines = validate(capsys, path)
    assert code == 1
    (line,) = lines
    assert line == expected or (expected.endswith("...") and line.startswith(expected[:-3])), line
    assert construct_lines(path) == lines


def nested_aliases(levels: int, fanout: int) -> str:
    """A few hundred bytes that expand to fanout ** levels values: each anchor lists the one before fanout
    times."""
    lines = ["a0: &a0 [" + ", ".join(["1"] * fanout) + "]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * fanout) + "]" for n in range(1, levels)]
    return "\n".join([*lines, f"models: *a{levels - 1}", ""])


def test_aliases_that_expand_past_the_bound_are_refused_before_anything_is_built(tmp_path, capsys, monkeypatch):
    """Ten million values from 700 bytes took 1 GB and 15 s: now the parser's events are counted first, and
    the file is never built (the loader is not called)."""
    text = nested_aliases(7, 10)  # 10 ** 7 values
    assert len(text) < 800
    path = write(tmp_path, text)

    def must_not_build(_text: str) -> None:
        raise AssertionError("the file was built")

    monkeypatch.setattr(models_file, "_load", must_not_build)
    code, lines = validate(capsys, path)
    assert (code, lines) == (
        1,
        [
            "5:45: (file): the file holds more than 100000 values once its aliases are expanded; a models file "
            "needs far fewer"
        ],
    )
    assert construct_lines(path) == lines


def test_aliases_within_the_bound_are_read_and_the_bound_counts_every_use(tmp_path, capsys):
    # The anchors hold 12,344 values (a3 alone 11,111); used 5 more times, 67,902 in all: within the bound.
    within = nested_aliases(4, 10).replace("models: *a3", "models: [" + ", ".join(["*a3"] * 5) + "]")
    code, lines = validate(capsys, write(tmp_path, within))
    assert code == 1 and all("aliases" not in line for line in lines)
    beyond = within.replace("*a3]", "*a3, *a3, *a3, *a3, *a3]")  # 9 more times: 112,346
    code, lines = validate(capsys, write(tmp_path, beyond))
    assert code == 1 and lines[0].endswith("once its aliases are expanded; a models file needs far fewer")


def test_anchors_and_merge_keys_are_fine_and_problems_in_them_point_at_the_anchor(tmp_path, capsys):
    text = GOOD.replace("  support:\n", "  support: &job\n").replace(
        "  support-v2:\n    base_model: support\n", "  support-v2:\n    <<: *job\n    base_model: support\n"
    )
    assert validate(capsys, write(tmp_path, text))[0] == 0
    bad = text.replace("output_data: s3://my-bucket/output/\n    hyper", "output_data: nowhere\n    hyper")
    code, lines = validate(capsys, write(tmp_path, bad))
    # The one mistake, once, where it is written (support-v2 takes it from the anchor, but overrides it).
    assert (code, lines) == (
        1,
        [
            "6:18: models.support.output_data: 'nowhere' does not match the pattern of this field: an S3 URI starts "
            "with s3://"
        ],
    )


def test_a_stage_override_made_only_of_a_merge_key_loads_and_synthesizes(tmp_path, capsys):
    # A mapping holding only <<: *anchor has no line table in ruamel.yaml (lc.data is None).
    text = GOOD.replace("      support:\n        output_data", "      support: &prod\n        output_data") + (
        "  staging:\n    models:\n      support:\n        <<: *prod\n"
    )
    path = write(tmp_path, text)
    assert validate(capsys, path) == (0, [" OK"])
    staging = ModelsFile.load(path, "staging")
    assert dict(staging.entries("models"))["support"]["output_data"] == "s3://prod-bucket/output/"
    stack = cdk.Stack(cdk.App(), "S")
    ModelsFromFile(stack, "Models", path=path, stage="staging")
    assert "s3://prod-bucket/output/" in json.dumps(Template.from_stack(stack).to_json())


def test_a_problem_reached_through_a_mapping_made_only_of_a_merge_key_is_one_line_at_the_anchor(tmp_path, capsys):
    text = GOOD.replace("  support:\n", "  support: &job\n").replace(
        "  support-v2:\n    base_model: support\n    training_data: s3://my-bucket/train-v2.jsonl\n"
        "    output_data: s3://my-bucket/output-v2/\n",
        "  support-v2:\n    <<: *job\n",
    )
    assert validate(capsys, write(tmp_path, text))[0] == 0
    bad = text.replace("output_data: s3://my-bucket/output/\n    hyper", "output_data: nowhere\n    hyper")
    code, lines = validate(capsys, write(tmp_path, bad))
    # Once, where it is written (either entry may name it: support-v2 has it from the anchor, at the same place).
    assert code == 1 and len(lines) == 1, lines
    message = "output_data: 'nowhere' does not match the pattern of this field: an S3 URI starts with s3://"
    assert lines[0] in (f"6:18: models.support.{message}", f"6:18: models.support-v2.{message}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nmodels: !!omap [a: 1]\n", (1, ["2:9: models.a: expected a mapping, got 1"])),
        (
            "version: 1\nmodels:\n  a: !!omap [base_model: amazon.nova-micro-v1:0, training_data: s3://bucket-aa/t.jsonl,"
            " output_data: s3://bucket-aa/o/]\nstages:\n  prod: {models: {a: {job_name: j}}}\n",
            (0, [" OK"]),
        ),
        ("!!omap\n- version: 1\n- stages: {prod: {}}\n", (0, [" OK"])),
    ],
    ids=["entry", "overridden-by-a-stage", "whole-file"],
)
def test_an_ordered_mapping_tag_is_read_as_a_mapping(tmp_path, capsys, text, expected):
    # !!omap also has no line table: a problem in it is at the mapping itself.
    assert validate(capsys, write(tmp_path, text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("models: &m {a: *m}\n", "1:16: (file): the alias *m is inside its own anchor"),
        ("models: *nothing\n", "1:9: (file): the alias *nothing has no anchor before it"),
        ("models: " + "[" * 40 + "]" * 40 + "\n", "1:40: (file): mappings and lists are nested more than 32 deep"),
        (
            "x: &x " + "[" * 20 + "]" * 20 + "\nmodels: " + "[" * 15 + "*x" + "]" * 15 + "\n",
            "2:24: (file): this alias nests mappings and lists more than 32 deep",
        ),
    ],
    ids=["recursive", "undefined", "deep", "deep-through-an-alias"],
)
def test_recursive_undefined_and_deep_structures_are_one_line(tmp_path, capsys, text, expected):
    path = write(tmp_path, text)
    assert validate(capsys, path) == (1, [expected])
    assert construct_lines(path) == [expected]


def test_an_echoed_value_is_cut_and_every_line_is_printable(tmp_path, capsys):
    long = "q" * 10_000
    text = (
        GOOD.replace("s3://my-bucket/output/\n    hyper", f"s3://{long}/\n    hyper")
        .replace("model_units: 1", f"model_units: {long}")
        .replace("  support-on-demand:", '  "new\\nline\\ud800":')
    )
    path = write(tmp_path, text)
    code, lines = validate(capsys, path)
    assert code == 1
    assert all("q" * (models_file.SHOWN_VALUE + 1) not in line for line in lines)
    assert "6:18: models.support.output_data: 's3://qqqqqqqqq" in "\n".join(lines)
    assert any(line.startswith("16:3: deployments.'new\\nline\\ud800': ") for line in lines), lines
    assert construct_lines(path) == lines
    # A tag key longer than Bedrock's 128: at the key, cut as this module cuts.
    tag_text = GOOD.replace("{epochCount: 2}", "{epochCount: 2}\n    job_tags: {? " + "k" * 2000 + " : v}")
    code, lines = validate(capsys, write(tmp_path, tag_text))
    (line,) = lines
    assert line.startswith("8:18: models.support.job_tags.'kkkkk")
    assert line.endswith("... has 2000 characters; it must have at most 128")
    assert code == 1 and "k" * (models_file.SHOWN_VALUE + 1) not in line
    # The contract's own messages cut values at 120 characters: a base model's pattern, which only the contract checks.
    contract_text = GOOD.replace("base_model: amazon.nova-micro-v1:0:128k", "base_model: " + "k" * 1000 + "#", 1)
    code, lines = validate(capsys, write(tmp_path, contract_text))
    (line,) = (line for line in lines if line.endswith("does not match the pattern of BaseModelIdentifier"))
    assert line.startswith("4:17: models.support.base_model: 'kkkkk")
    assert code == 1 and "k" * 110 in line and "k" * 121 not in line and len(line) < 250


@pytest.mark.parametrize(
    ("tags", "why"),
    [
        (
            "{cdk-bedrock-customization:stack: x}",
            "models.support.job_tags: the tag key 'cdk-bedrock-customization:stack'",
        ),
        ("{" + ", ".join(f"t{i}: v" for i in range(46)) + "}", "models.support.job_tags: 46 tags; at most 45"),
    ],
    ids=["reserved", "too-many"],
)
def test_tags_the_handler_would_refuse_are_problems(tmp_path, capsys, tags, why):
    code, lines = validate(
        capsys, write(tmp_path, GOOD.replace("{epochCount: 2}", "{epochCount: 2}\n    job_tags: " + tags))
    )
    assert code == 1
    assert any(why in line for line in lines), lines


def test_too_many_items_are_one_problem_that_counts_them_without_echoing_the_request(tmp_path, capsys):
    """A request's TagList allows 200 tags (botocore's model), a resource keeps 50, of which a job's five handler tags
    leave 45: 201 tags are one problem that says so, not two limits; 11 validation datasets (at most 10, which the
    schema says too) are counted, not listed."""
    tags = "{" + ", ".join(f"t{i}: v" for i in range(201)) + "}"
    code, lines = validate(
        capsys, write(tmp_path, GOOD.replace("{epochCount: 2}", "{epochCount: 2}\n    job_tags: " + tags))
    )
    assert code == 1
    assert [line.split(": ", 2)[1:] for line in lines] == [
        [
            "models.support.job_tags",
            "201 tags; at most 45 (Bedrock keeps 50 on a resource, and 'cdk-bedrock-customization:configuration', "
            "'cdk-bedrock-customization:stack', 'cdk-bedrock-customization:logical-id', "
            "'cdk-bedrock-customization:origin', 'cdk-bedrock-customization:what-it-makes' are "
            "cdk-bedrock-customization's)",
        ]
    ]
    datasets = "[" + ", ".join(f"s3://my-bucket/v{i}.jsonl" for i in range(11)) + "]"
    text = GOOD.replace("{epochCount: 2}", "{epochCount: 2}\n    validation_data: " + datasets)
    assert validate(capsys, write(tmp_path, text)) == (
        1,
        ["8:22: models.support.validation_data: a list of 11 items; it must have at most 10"],
    )


def test_a_problem_of_a_listed_uri_is_at_its_item_as_the_file_names_it(tmp_path, capsys):
    """The request wraps each validation_data item ({"s3Uri": ...}); the problem is at the item, named as the file
    names it (validation_data.1), not as the request does."""
    uri = "s3://my-bucket/" + "w" * 1010 + ".jsonl"  # 1031 characters; S3Uri allows 1024
    text = GOOD.replace(
        "{epochCount: 2}", "{epochCount: 2}\n    validation_data:\n      - s3://my-bucket/v.jsonl\n      - " + uri
    )
    code, (line,) = validate(capsys, write(tmp_path, text))
    assert code == 1
    assert line.startswith("10:9: models.support.validation_data.1: 's3://my-bucket/www")
    assert line.endswith("has 1031 characters; it must have at most 1024")


def test_exactly_one_model_source_points_at_the_sources_given_or_at_the_entry(tmp_path, capsys):
    both = GOOD.replace("    model_package_arn:", "    source_uri: s3://customer-escrow/nova/\n    model_package_arn:")
    code, lines = validate(capsys, write(tmp_path, both))
    assert (code, lines) == (
        1,
        [
            "15:24: imported_models.nova.model_package_arn: give exactly one model source; source_uri (line 14) "
            "is also given"
        ],
    )
    # Given in the other order, the line is the later one's.
    swapped = GOOD.replace(
        "    model_package_arn: arn:aws:sagemaker:us-east-1:111122223333:model-package/nova/1\n",
        "    model_package_arn: arn:aws:sagemaker:us-east-1:111122223333:model-package/nova/1\n"
        "    source_uri: s3://customer-escrow/nova/\n",
    )
    code, lines = validate(capsys, write(tmp_path, swapped))
    assert lines == [
        "15:17: imported_models.nova.source_uri: give exactly one model source; model_package_arn (line 14) is also "
        "given"
    ]
    neither = GOOD.replace(
        "    model_package_arn: arn:aws:sagemaker:us-east-1:111122223333:model-package/nova/1\n",
        "    model_name: nova\n",
    )
    path = write(tmp_path, neither)
    code, lines = validate(capsys, path)
    assert lines == ["14:5: imported_models.nova: give exactly one model source: source_uri or model_package_arn"]
    assert construct_lines(path) == lines


def test_a_dangling_reference_is_reported_once(tmp_path, capsys):
    text = GOOD.replace("    model: support\n", "    model: supprt\n").replace("    model: nova\n", "    model: nva\n")
    path = write(tmp_path, text)
    code, lines = validate(capsys, path)
    assert (code, lines) == (
        1,
        [
            "17:12: deployments.support-on-demand.model: 'supprt' is no key of models, imported_models or "
            "copied_models",
            "20:12: provisioned_throughput.nova-pt.model: 'nva' is no key of models, imported_models or copied_models",
        ],
    )
    assert construct_lines(path) == lines


@pytest.mark.parametrize(
    "value",
    ['"\\ud800"', ".nan", ".inf", "!!binary aGVsbG8=", "!Ref other", "!!set {a}", "2024-02-30", "!!int nine"],
)
def test_values_no_models_file_holds_are_one_line_at_the_value(tmp_path, capsys, value):
    path = write(tmp_path, GOOD.replace("model_units: 1", f"model_units: {value}"))
    code, lines = validate(capsys, path)
    assert code == 1
    (line,) = lines
    assert line.startswith("21:18: provisioned_throughput.nova-pt.model_units: "), line
    assert construct_lines(path) == lines


def test_an_unknown_stage_and_an_unreadable_file_are_one_line(tmp_path, capsys):
    path = write(tmp_path, GOOD)
    assert validate(capsys, path, "--stage", "staging") == (
        1,
        ["23:3: stages: no stage 'staging'; the file has 'prod'"],
    )
    (tmp_path / "models.yaml").write_bytes(b"models: \xed\xa0\x80\n")  # an encoded lone surrogate: not UTF-8
    code, lines = validate(capsys, path)
    assert code == 1 and lines[0].startswith("1:1: (file): cannot be read: 'utf-8' codec can't decode byte 0xed")
    assert validate(capsys, tmp_path)[1][0].startswith("1:1: (file): cannot be read: Is a directory")


def test_a_name_that_makes_pythons_re_backtrack_is_reported_at_once(tmp_path):
    """'a', 40 hyphens and '_' takes Python's re hours on the JobName pattern (DESIGN.md, fact 15); the schema's
    pattern check runs in linear time, so this returns with the problem."""
    name = "a" + "-" * 40 + "_"
    text = GOOD.replace(
        "    base_model: amazon.nova-micro-v1:0:128k\n",
        f"    base_model: amazon.nova-micro-v1:0:128k\n    job_name: {name}\n",
        1,
    )
    assert text != GOOD
    found = problems(write(tmp_path, text))
    assert any("job_name" in problem and "does not match" in problem for problem in found), found


# --- fields that the entry's other fields leave unread ----------------------------------------------------------

UNREAD = """\
version: 1
models:
  support:
    base_model: amazon.nova-micro-v1:0:128k
    training_data: s3://my-bucket/train.jsonl
    output_data: s3://my-bucket/output/
    {fields}
"""


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            "teacher_model: us.amazon.nova-premier-v1:0",
            "models.support.teacher_model: read only with customization: distillation, and this entry's "
            "customization is fine_tuning (the default): set customization: distillation, or remove teacher_model",
        ),
        (
            "{customization: continued_pre_training, max_response_length_for_inference: 1000}",
            "models.support.max_response_length_for_inference: read only with customization: distillation, and this "
            "entry's customization is continued_pre_training: set customization: distillation, or remove "
            "max_response_length_for_inference",
        ),
        (
            "grader: arn:aws:lambda:us-east-1:111122223333:function:grade",
            "models.support.grader: read only with customization: reinforcement_fine_tuning, and this entry's "
            "customization is fine_tuning (the default): set customization: reinforcement_fine_tuning, or remove "
            "grader",
        ),
        (
            "{completion: polling, completion_timeout_hours: 2}",
            "models.support.completion_timeout_hours: read only with completion: event_driven, and this entry's "
            "completion is polling: set completion: event_driven, or remove completion_timeout_hours",
        ),
        (
            "invocation_logs: {source: s3://my-bucket/logs/}",
            "models.support.training_data: the invocation logs are the job's training data: give training_data or "
            "invocation_logs, not both",
        ),
    ],
    ids=["teacher", "max-response-length", "grader", "timeout", "logs-and-data"],
)
def test_a_field_the_entry_would_not_read_is_refused_naming_what_reads_it(
    tmp_path: Path, fields: str, expected: str
) -> None:
    inline = fields.startswith("{")
    text = UNREAD.format(fields="" if inline else fields)
    if inline:
        for pair in fields.strip("{}").split(", "):
            text += f"    {pair}\n"
    path = write(tmp_path, text)
    (problem,) = problems(path)
    assert problem.split(": ", 1)[1] == expected


def test_the_fields_a_distillation_reads_are_accepted_with_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        UNREAD.format(fields="customization: distillation")
        + "    teacher_model: us.amazon.nova-premier-v1:0\n    max_response_length_for_inference: 1000\n",
    )
    assert [problem for problem in problems(path) if "read only with" in problem] == []


# --- a foundation model's ARN and the stack's Region -----------------------------------------------------------

FOUNDATION_THROUGHPUT = """\
version: 1
provisioned_throughput:
  micro-pt:
    model: arn:aws:bedrock:{region}::foundation-model/amazon.nova-micro-v1:0:128k
    model_units: 1
"""


def throughput_model_id(region: str, stack_env: cdk.Environment | None, tmp_path: Path) -> Any:
    """The modelId the template sends for the file's throughput, in a stack of that environment."""
    stack = cdk.Stack(cdk.App(), "S", env=stack_env)
    ModelsFromFile(stack, "Models", path=write(tmp_path, FOUNDATION_THROUGHPUT.format(region=region)))
    (throughput,) = Template.from_stack(stack).find_resources("Custom::BedrockProvisionedModelThroughput").values()
    return throughput["Properties"]["modelId"]


def refused_in_us_east_1(path: Path) -> str:
    """The error of building the file in a stack of us-east-1 (validate cannot know the stack's Region: it passes)."""
    assert problems(path) == []
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="111122223333", region="us-east-1"))
    with pytest.raises(ModelsFileError) as raised:
        ModelsFromFile(stack, "Models", path=path)
    return str(raised.value)


def test_a_custom_model_arn_of_another_region_than_the_stacks_is_refused_at_its_line(tmp_path: Path) -> None:
    elsewhere = "arn:aws:bedrock:us-west-2:111122223333:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
    path = write(tmp_path, f"version: 1\ndeployments:\n  served:\n    model: {elsewhere}\n")
    assert refused_in_us_east_1(path).startswith(
        f"{path}:4:12: deployments.served.model: '{elsewhere}' is a model of us-west-2, and this stack deploys to "
        "us-east-1: Bedrock serves a model in its own Region"
    )


CUSTOMIZED = """\
version: 1
models:
  m:
    customization: {customization}
    base_model: amazon.nova-micro-v1:0:128k
    training_data: s3://my-bucket/train.jsonl
    output_data: s3://my-bucket/o/
"""


@pytest.mark.parametrize(
    ("customization", "customization_type"),
    [("fine_tuning", "FINE_TUNING"), ("continued_pre_training", "CONTINUED_PRE_TRAINING")],
)
def test_a_customization_is_the_jobs_customization_type(tmp_path: Path, customization, customization_type) -> None:
    """Each is botocore's CustomizationType value of its name: a swap would train something else than declared."""
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="111122223333", region="us-east-1"))
    ModelsFromFile(stack, "Models", path=write(tmp_path, CUSTOMIZED.format(customization=customization)))
    (job,) = Template.from_stack(stack).find_resources("Custom::BedrockModelCustomizationJob").values()
    assert job["Properties"]["customizationType"] == customization_type


@pytest.mark.parametrize(
    ("customization", "record"),
    [
        ("fine_tuning", {"prompt": "Where is my order?", "completion": "In transit."}),
        ("continued_pre_training", {"input": "Orders ship within two days."}),
    ],
)
def test_a_customizations_local_data_is_checked_in_its_own_format(tmp_path: Path, customization, record) -> None:
    """Titan Text G1 - Express takes {"prompt", "completion"} records to fine-tune, {"input"} ones to continue
    pre-training (the user guide's model-customization-prepare.html): each file passes as its own customization's."""
    (tmp_path / "train.jsonl").write_text(json.dumps(record) + "\n")
    text = CUSTOMIZED.format(customization=customization).replace("s3://my-bucket/train.jsonl", "train.jsonl")
    assert (
        problems(write(tmp_path, text.replace("amazon.nova-micro-v1:0:128k", "amazon.titan-text-express-v1:0:8k")))
        == []
    )


def test_a_customization_of_no_known_name_is_a_problem_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, CUSTOMIZED.format(customization="fine-tuning"))
    assert problems(path) == [
        f"{path}:4:20: models.m.customization: 'fine-tuning' is not one of ['fine_tuning', 'continued_pre_training', "
        "'distillation', 'reinforcement_fine_tuning']"
    ]


def test_a_base_model_that_is_no_model_id_is_one_problem_not_a_second_of_its_datasets(tmp_path: Path) -> None:
    """Datasets are checked against the base model's documented format: with no valid base model there is none to
    check against, and the one problem is the base model's (not a second of its local training data)."""
    (tmp_path / "train.jsonl").write_text('{"prompt": "Where is my order?", "completion": "In transit."}\n')
    path = write(
        tmp_path,
        "version: 1\nmodels:\n  m:\n    base_model: amazon.Nova-Micro\n    training_data: train.jsonl\n"
        "    output_data: s3://my-bucket/o/\n",
    )
    assert problems(path) == [
        f"{path}:4:17: models.m.base_model: 'amazon.Nova-Micro' does not match the pattern of BaseModelIdentifier"
    ]


def test_a_model_that_the_stack_does_not_wait_for_cannot_be_trained_further(tmp_path: Path) -> None:
    """A no_wait job's model exists only once the job completes, after the deploy: a model of the file that continues
    training it would start its job from a model not made yet."""
    path = write(
        tmp_path,
        "version: 1\nmodels:\n"
        "  first:\n    base_model: amazon.nova-micro-v1:0:128k\n    training_data: s3://my-bucket/train.jsonl\n"
        "    output_data: s3://my-bucket/first/\n    completion: no_wait\n"
        "  second:\n    base_model: first\n    training_data: s3://my-bucket/train.jsonl\n"
        "    output_data: s3://my-bucket/second/\n",
    )
    assert problems(path) == [
        f"{path}:9:17: models.second.base_model: 'first' is a model of models whose completion is no_wait: the stack "
        "does not wait for its job, so has no model to use; use event_driven or polling"
    ]


def test_a_teacher_model_arn_of_another_region_than_the_stacks_is_refused_at_its_line(tmp_path: Path) -> None:
    """A distillation job calls its teacher in the job's Region: an ARN of another Region is refused at its field."""
    elsewhere = "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-premier-v1:0"
    path = write(
        tmp_path,
        "version: 1\nmodels:\n  router:\n    customization: distillation\n"
        "    base_model: amazon.nova-micro-v1:0:128k\n"
        f"    teacher_model: {elsewhere}\n"
        "    invocation_logs: {source: s3://my-bucket/logs/}\n"
        "    output_data: s3://my-bucket/router/output/\n",
    )
    assert refused_in_us_east_1(path).startswith(
        f"{path}:6:20: models.router.teacher_model: '{elsewhere}' is a model of us-west-2, and this stack deploys to "
        "us-east-1"
    )


def test_a_foundation_model_arn_of_another_region_than_the_stacks_is_refused_at_its_line(tmp_path: Path) -> None:
    """A throughput serves a model of its own Region: the file's ARN of another Region would be rebuilt as the stack's
    Region's model, which is not what the file says."""
    path = write(tmp_path, FOUNDATION_THROUGHPUT.format(region="us-west-2"))
    assert problems(path) == []  # validate cannot know the stack's Region
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="111122223333", region="us-east-1"))
    with pytest.raises(ModelsFileError) as raised:
        ModelsFromFile(stack, "Models", path=path)
    assert str(raised.value) == (
        f"{path}:4:12: provisioned_throughput.micro-pt.model: "
        "'arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-micro-v1:0:128k' is a model of us-west-2, and this "
        "stack deploys to us-east-1: Bedrock serves a model in its own Region; give the model's id, or its ARN in this "
        "Region"
    )
    same = cdk.Environment(account="111122223333", region="us-west-2")
    assert "us-west-2" in json.dumps(throughput_model_id("us-west-2", same, tmp_path))
    # A stack of no Region (env-agnostic) deploys the model of the Region it is deployed to.
    assert "AWS::Region" in json.dumps(throughput_model_id("us-west-2", None, tmp_path))


def test_the_schema_command_ends_quietly_when_its_reader_has_gone():
    """`schema | head`: the reader closes the pipe before all is written; the command still exits 0, silently."""
    assert with_reader_gone(CLI_MAIN, "schema") == (0, "")


@pytest.mark.parametrize("command", ["validate", "validate-weights"])
def test_the_validate_commands_end_quietly_with_their_exit_code_when_their_reader_has_gone(tmp_path, command):
    """`validate ... | head -1` on a file of many problems, or validate-weights on many folders: exit 1, silently."""
    if command == "validate":
        models = "".join(f"  m{index}: {{output_data: s3://bucket-aa/o/}}\n" for index in range(500))
        arguments = [str(write(tmp_path, "version: 1\nmodels:\n" + models))]
    else:
        arguments = [str(tmp_path / f"missing-{index}") for index in range(500)]
    assert with_reader_gone(CLI_MAIN, command, *arguments) == (1, "")


def _calls_to_check(text: str, path: Path) -> int:
    """How many Python function calls ModelsFile.check makes on this text: a measure of its work that no machine's
    speed changes."""
    import cProfile
    import pstats

    path.write_text(text)
    profile = cProfile.Profile()
    profile.runcall(ModelsFile.check, path)
    return int(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]


def test_a_long_merge_list_is_checked_in_time_linear_in_the_file(tmp_path):
    """An entry that merges in many anchors (<<: [*a0, *a1, ...]), each key of which is a problem placed in the file:
    finding where a merged key comes from once per mapping, not by scanning the merge list for each key."""

    def merging(anchors: int) -> str:
        defined = "".join(f"    a{i}: &a{i} {{u{i}: 1}}\n" for i in range(anchors))
        merged = ", ".join(f"*a{i}" for i in range(anchors))
        return f"models:\n  base:\n    base_model: amazon.nova-micro-v1:0:128k\n{defined}  m:\n    <<: [{merged}]\n"

    calls = [_calls_to_check(merging(anchors), tmp_path / f"merging-{anchors}.yaml") for anchors in (400, 800)]
    # Twice the anchors: twice the work (scanning the merge list for each key made it 2.36 times, and 4 times in the
    # limit).
    assert calls[1] < 2.15 * calls[0], calls


def test_many_entries_merging_one_anchor_are_read_in_time_linear_in_the_file(tmp_path):
    """Entries that each merge one anchor (<<: *a): ruamel.yaml's list of a mapping's referents, searched by value for
    each new one, made it quadratic (16,000 such entries, a 290 KB file, took minutes)."""

    def merging(entries: int) -> str:
        merged = "".join(f"  d{i}: {{<<: *a}}\n" for i in range(1, entries))
        return f"version: 1\ndeployments:\n  d0: &a {{model: m}}\n{merged}"

    calls = [_calls_to_check(merging(entries), tmp_path / f"merging-{entries}.yaml") for entries in (1000, 2000)]
    assert calls[1] < 2.15 * calls[0], calls


def test_what_the_parser_refuses_otherwise_is_said_with_its_reason(tmp_path, capsys):
    """The YAML spec asks a parser to read a later minor version (%YAML 1.3) with a warning; ruamel.yaml refuses it
    with an AssertionError, whose reason the problem gives rather than its type alone."""
    code, lines = validate(capsys, write(tmp_path, "%YAML 1.3\n---\n" + GOOD))
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("1:1: (file): cannot be read as YAML: ") and "(1, 3)" in lines[0]


GRADED = """\
version: 1
models:
  m:
    customization: reinforcement_fine_tuning
    base_model: amazon.nova-2-lite-v1:0:256k
    grader: {grader}
    training_data: s3://my-bucket/train.jsonl
    output_data: s3://my-bucket/o/
"""
TRAINED = """\
version: 1
models:
  m:
    base_model: amazon.nova-micro-v1:0:128k
    role: {role}
    training_data: s3://my-bucket/train.jsonl
    output_data: s3://my-bucket/o/
"""


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        (
            TRAINED.format(role="arn:aws:iam::999999999999:role/r"),
            "5:11: models.m.role",
            "'arn:aws:iam::999999999999:role/r' is a role of account 999999999999, and this stack deploys to account "
            "111122223333",
        ),
        (
            TRAINED.format(role="arn:aws-cn:iam::111122223333:role/r"),
            "5:11: models.m.role",
            "'arn:aws-cn:iam::111122223333:role/r' is a role of partition aws-cn, and this stack deploys to us-east-1, "
            "of partition aws",
        ),
        (
            GRADED.format(grader="arn:aws-cn:lambda:cn-north-1:111122223333:function:grader"),
            "6:13: models.m.grader",
            "is a grader function of partition aws-cn",
        ),
        (
            GRADED.format(grader="arn::lambda:us-east-1:111122223333:function:grader"),
            "6:13: models.m.grader",
            "'arn::lambda:us-east-1:111122223333:function:grader' names no partition",
        ),
        (
            "version: 1\ncopied_models:\n  c:\n"
            "    source_model: arn:aws-cn:bedrock:cn-north-1:111122223333:custom-model/amazon.nova-micro-v1:0:128k/"
            "a1b2c3d4e5f6\n",
            "4:19: copied_models.c.source_model",
            "is a model of partition aws-cn",
        ),
        (
            "version: 1\nevaluations:\n  e:\n    model: amazon.nova-micro-v1:0\n"
            "    role: arn:aws:iam::999999999999:role/r\n"
            "    output_data: s3://my-bucket/e/\n"
            "    datasets: [{name: Builtin.BoolQ, task_type: QuestionAndAnswer, metric_names: [Builtin.Accuracy]}]\n"
            "    require: [{metric: Builtin.Accuracy, at_least: 0.5}]\n",
            "5:11: evaluations.e.role",
            "is a role of account 999999999999",
        ),
    ],
    ids=["role-account", "role-partition", "grader-partition", "grader-no-partition", "copy-partition", "eval-role"],
)
def test_an_arn_of_another_account_or_partition_is_refused_at_its_line_before_anything_is_made(
    tmp_path: Path, text, field, problem
) -> None:
    """validate cannot know the stack's account or partition: the synth refuses at the entry's line, not with a
    construct's error naming no entry (nor aws-cdk-lib's ArnPartitionRequired for a grader of no partition)."""
    path = write(tmp_path, text)
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="111122223333", region="us-east-1"))
    with pytest.raises(ModelsFileError) as raised:
        ModelsFromFile(stack, "Models", path=path)
    assert str(raised.value).startswith(f"{path}:{field}: ")
    assert problem in str(raised.value)
    assert stack.node.try_find_child("Models") is None
