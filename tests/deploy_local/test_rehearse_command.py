"""The rehearse command's evaluation scores: the example app's (its gate passes), and --evaluation-score, which
changes the evaluated models' (any model's but those the example names: the base model keeps its own)."""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys
from typing import Any
from unittest import mock

import pytest
from cdk_bedrock_customization.rehearsal import __main__ as command
from cdk_bedrock_customization.rehearsal.__main__ import EXAMPLE_EVALUATION_SCORES
from cdk_bedrock_customization.rehearsal.cloud import SynthesisFailed, synthesize
from cdk_bedrock_customization.rehearsal.engine import Outcome
from hypothesis import given
from hypothesis import strategies as st


def test_the_example_scores_pass_its_gate():
    evaluated, base = EXAMPLE_EVALUATION_SCORES[None], EXAMPLE_EVALUATION_SCORES["amazon.nova-micro-v1:0"]
    # app.py: Correctness at least 0.7, Helpfulness at least the base model's + 0.05.
    assert evaluated["Builtin.Correctness"] >= 0.7
    assert evaluated["Builtin.Helpfulness"] >= base["Builtin.Helpfulness"] + 0.05


def test_an_evaluation_score_changes_the_evaluated_models_and_leaves_the_base_models():
    scores = command._evaluation_scores(["Builtin.Correctness=0.4"], example=True)

    assert scores[None] == {**EXAMPLE_EVALUATION_SCORES[None], "Builtin.Correctness": 0.4}
    assert scores["amazon.nova-micro-v1:0"] == EXAMPLE_EVALUATION_SCORES["amazon.nova-micro-v1:0"]
    assert EXAMPLE_EVALUATION_SCORES[None]["Builtin.Correctness"] == 0.86  # the constant is not changed
    # Another app has no scores of its own: those given apply to every model.
    assert command._evaluation_scores(["Builtin.Accuracy=1"], example=False) == {None: {"Builtin.Accuracy": 1.0}}
    assert command._evaluation_scores([], example=False) == {}


@pytest.mark.parametrize(
    "given", ["Builtin.Correctness", "Builtin.Correctness=high", "=0.4", "Builtin.Correctness=nan"]
)
def test_an_evaluation_score_that_is_not_metric_equals_a_number_is_refused(given, capsys):
    with pytest.raises(SystemExit) as refused:
        command.main(["--app", "true", "--evaluation-score", given])

    assert refused.value.code == 2
    assert f"--evaluation-score takes METRIC=VALUE, a number: {given!r}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "given", "wanted"),
    [
        ("--job-minutes", "nan", "give a positive number of minutes"),
        ("--job-minutes", "inf", "give a positive number of minutes"),
        ("--job-minutes", "-5", "give a positive number of minutes"),
        ("--job-minutes", "0", "give a positive number of minutes"),
        ("--template-job-minutes", "nan", "give a positive number of minutes"),
        ("--job-quota", "0", "give a whole number, at least 1"),
        ("--job-quota", "-2", "give a whole number, at least 1"),
        ("--job-quota", "1.5", "give a whole number, at least 1"),
        ("--update-context", "{epochs: 2}", "give a JSON object"),
        ("--update-context", "[1, 2]", "give a JSON object"),
        ("--update-context", "null", "give a JSON object"),
    ],
)
def test_an_option_value_that_cannot_be_rehearsed_is_refused_before_anything_is_synthesized(
    option, given, wanted, capsys, monkeypatch
):
    synthesized = []
    monkeypatch.setattr(command, "synthesize", lambda *args: synthesized.append(args))
    with pytest.raises(SystemExit) as refused:
        command.main(["--app", "true", option, given])

    assert refused.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {option}: {wanted}" in error and repr(given) in error
    assert synthesized == []


@pytest.mark.parametrize(
    ("body", "wanted"),
    [
        (None, "Template file not found"),
        ("Resources: {\n", "Parsing error"),
        ("Parameters:\n  Bucket: {Type: String}\nResources: {}\n", "Parameters: [Bucket] must have values"),
    ],
    ids=["missing", "not-yaml", "parameter-without-value"],
)
def test_a_template_that_cannot_be_deployed_is_refused_before_anything_is_synthesized(
    body, wanted, tmp_path, capsys, monkeypatch
):
    """Refused as CloudFormation would refuse it, before the app's rehearsal, which takes minutes."""
    template = tmp_path / "template.yaml"
    if body is not None:
        template.write_text(body)
    synthesized = []
    monkeypatch.setattr(command, "synthesize", lambda *args: synthesized.append(args))
    with pytest.raises(SystemExit) as refused:
        command.main(["--app", "true", "--template", str(template)])

    assert refused.value.code == 2
    error = capsys.readouterr().err
    assert f"--template {template}: " in error and wanted in error
    assert synthesized == []


@pytest.mark.parametrize(
    ("app", "wanted"),
    [
        ("echo 'app.py: line 3: NameError' >&2; exit 3", "failed (exit status 3):\napp.py: line 3: NameError"),
        ("true", "wrote no cloud assembly to CDK_OUTDIR: give a CDK app's command (--app)"),
    ],
    ids=["fails", "no-assembly"],
)
def test_an_app_that_does_not_synthesize_ends_the_rehearsal_with_its_error_and_no_traceback(app, wanted, capsys):
    assert command.main(["--app", app]) == 1

    output = capsys.readouterr()
    assert f"cdk-bedrock-customization rehearse: {app} {wanted}" in output.err
    assert "Traceback" not in output.err + output.out


# The README's rules: durations are positive numbers of minutes, --status-every at least 1, --job-quota a whole
# number from 1 (as Python reads a number).
def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _whole(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


ACCEPTS = {
    "--job-minutes": lambda text: math.isfinite(_number(text)) and _number(text) > 0,
    "--template-job-minutes": lambda text: math.isfinite(_number(text)) and _number(text) > 0,
    "--status-every": lambda text: math.isfinite(_number(text)) and _number(text) >= 1,
    "--job-quota": lambda text: (_whole(text) or 0) >= 1,
}
NUMBER_LIKE = st.one_of(
    st.text(),
    st.floats().map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["1e-300", "1e309", "-0", "0x10", "1_000", " 2 ", "١٢", "NaN", "Infinity"]),
)


@given(option=st.sampled_from(sorted(ACCEPTS)), text=NUMBER_LIKE)
def test_a_numeric_option_takes_exactly_the_values_its_rule_allows(option: str, text: str) -> None:
    """Fuzzed: any text is either taken, as the number it reads as, or refused naming the option and the text,
    before anything is synthesized."""
    rehearsed: list[Any] = []
    errors = io.StringIO()
    with (
        mock.patch.object(command, "synthesize", lambda _app, outdir, _context=None, **_printing: outdir),
        mock.patch.object(command, "rehearse", lambda steps, local, templates=(): rehearsed.append(local) or 0),
        contextlib.redirect_stderr(errors),
    ):
        try:
            code = command.main(["--app", "true", f"{option}={text}"])
        except SystemExit as refused:
            code = refused.code

    if ACCEPTS[option](text):
        assert (code, len(rehearsed)) == (0, 1)
        taken = vars(command._parser().parse_args([f"{option}={text}"]))[option.removeprefix("--").replace("-", "_")]
        assert taken == (_whole(text) if option == "--job-quota" else _number(text))
    else:
        assert (code, rehearsed) == (2, [])
        assert f"argument {option}: " in errors.getvalue() and repr(text) in errors.getvalue()


def test_the_options_take_what_a_rehearsal_can_use():
    args = command._parser().parse_args(
        ["--job-minutes", "0.5", "--template-job-minutes", "720", "--job-quota", "3", "--update-context", '{"a": 1}']
    )
    assert (args.job_minutes, args.template_job_minutes, args.job_quota) == (0.5, 720.0, 3)
    assert args.update_context == {"a": 1}


@pytest.mark.parametrize(("example", "wanted"), [(False, {}), (True, command.EXAMPLE_UPDATE)], ids=["yours", "example"])
def test_without_update_context_the_update_step_changes_only_the_examples_knobs(example, wanted, monkeypatch):
    """The example app's knobs (a generic "team" among them) are not an app of yours: its update synthesizes it
    with its own context again."""
    contexts = []

    def synthesize(app: str, outdir: Any, context: Any = None, **_printing: Any) -> Any:
        contexts.append(context)
        if len(contexts) == 2:
            raise SynthesisFailed("recorded")
        return outdir

    monkeypatch.setattr(command, "synthesize", synthesize)
    monkeypatch.setattr(command, "_is_example", lambda app: example)
    assert command.main([] if example else ["--app", "python3 app.py"]) == 1
    assert contexts == [None, wanted]


@pytest.mark.parametrize(
    ("operation", "status", "label"),
    [
        ("DELETE", "DELETE_FAILED", "delete failed"),
        ("CREATE", "ROLLBACK_FAILED", "delete failed"),
        ("UPDATE", "UPDATE_COMPLETE", "left outside the stack, still existing (DELETE_FAILED)"),
        ("UPDATE", "UPDATE_ROLLBACK_COMPLETE", "left outside the stack, still existing (DELETE_FAILED)"),
    ],
)
def test_the_report_says_whether_a_failed_delete_left_the_resource_in_the_stack(operation, status, label):
    outcome = Outcome(operation, status.endswith("_COMPLETE"), status=status, delete_failed=["Throughput"])
    assert command.delete_failed_label(outcome) == label


# An app command that records the context it is given, and writes an empty cloud assembly.
CONTEXT_RECORDER = """\
import json, os, pathlib, sys
outdir = pathlib.Path(os.environ["CDK_OUTDIR"])
outdir.mkdir(parents=True)
(outdir / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": {}}))
pathlib.Path(sys.argv[1]).write_text(os.environ["CDK_CONTEXT_JSON"])
"""


def test_the_app_gets_its_projects_context_as_the_cdk_cli_gives_it(tmp_path, monkeypatch):
    """cdk synth gives the app cdk.json's context (feature flags, the app's own settings) and cdk.context.json's
    (saved lookups); a rehearsal synthesizes what cdk deploy would deploy, with the update step's context over it."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "record.py").write_text(CONTEXT_RECORDER)
    (project / "cdk.json").write_text(
        json.dumps({"app": "python3 app.py", "context": {"dataBucket": "team-data", "@aws-cdk/core:flag": True}})
    )
    (project / "cdk.context.json").write_text(json.dumps({"vpc-provider:account=1": {"vpcId": "vpc-1"}}))
    monkeypatch.chdir(project)
    recorded = tmp_path / "context.json"
    app = f"{sys.executable} record.py {recorded}"

    synthesize(app, tmp_path / "create")
    assert json.loads(recorded.read_text()) == {
        "dataBucket": "team-data",
        "@aws-cdk/core:flag": True,
        "vpc-provider:account=1": {"vpcId": "vpc-1"},
    }
    synthesize(app, tmp_path / "update", {"dataBucket": "other-data", "epochs": 3})
    assert json.loads(recorded.read_text())["dataBucket"] == "other-data"
    assert json.loads(recorded.read_text())["epochs"] == 3

    (project / "cdk.json").write_text("{not json")
    with pytest.raises(SynthesisFailed, match=r"cdk\.json: Expecting property name"):
        synthesize(app, tmp_path / "broken")


# An app command that writes a cloud assembly of one stack whose metadata (in its own file, as aws-cdk-lib writes
# it) holds the annotations given as JSON.
ANNOTATED_APP = """\
import json, os, pathlib, sys
outdir = pathlib.Path(os.environ["CDK_OUTDIR"])
outdir.mkdir(parents=True)
stack = {
    "type": "aws:cloudformation:stack",
    "properties": {"templateFile": "Annotated.template.json"},
    "additionalMetadataFile": "Annotated.metadata.json",
}
(outdir / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": {"Annotated": stack}}))
(outdir / "Annotated.template.json").write_text(json.dumps({"Resources": {}}))
(outdir / "Annotated.metadata.json").write_text(sys.argv[1])
"""


def test_the_apps_warnings_are_printed_and_its_errors_fail_the_synthesis_as_cdk_synth_does(tmp_path, capsys):
    """cdk synth prints each annotation as [Warning at /path] message, and fails on an error (a polled job's
    one-hour limit is a warning the rehearsal's user must see too)."""
    (tmp_path / "annotated.py").write_text(ANNOTATED_APP)
    warning = {"type": "aws:cdk:warning", "data": "Deployments wait at most 1 hour [ack: jobLongerThanTotalTimeout]"}
    info = {"type": "aws:cdk:creationStack", "data": ["..."]}
    metadata = {"/Annotated": [info], "/Annotated/Provider": [warning]}
    app = f"{sys.executable} {tmp_path / 'annotated.py'} '{json.dumps(metadata)}'"

    synthesize(app, tmp_path / "warned")
    assert capsys.readouterr().err == (
        "[Warning at /Annotated/Provider] Deployments wait at most 1 hour [ack: jobLongerThanTotalTimeout]\n"
    )

    error = {"type": "aws:cdk:error", "data": "Cannot use a role from another account"}
    metadata["/Annotated/Model"] = [error]
    app = f"{sys.executable} {tmp_path / 'annotated.py'} '{json.dumps(metadata)}'"
    with pytest.raises(
        SynthesisFailed, match=r"found errors, as cdk synth does:\n\[Error at /Annotated/Model\] Cannot"
    ):
        synthesize(app, tmp_path / "failed")


# ANNOTATED_APP with its annotations fixed: a warning always, and one more with the context "epochs".
CONTEXT_WARNED_APP = ANNOTATED_APP.replace(
    "(sys.argv[1])",
    """(json.dumps({
    "/Annotated/Provider": [{"type": "aws:cdk:warning", "data": "in every synth"}],
    **({"/Annotated/Model": [{"type": "aws:cdk:warning", "data": "with epochs only"}]}
       if "epochs" in json.loads(os.environ["CDK_CONTEXT_JSON"]) else {}),
}))""",
)


def test_a_warning_of_both_synths_is_printed_once_and_the_updates_own_say_so(tmp_path, capsys, monkeypatch):
    """cdk synth prints an app's warnings once a synth; the rehearsal synthesizes twice before it deploys, so a
    warning of both would print twice, and one of the update context alone would not say where it comes from."""
    (tmp_path / "warned.py").write_text(CONTEXT_WARNED_APP)
    monkeypatch.setattr(command, "rehearse", lambda *_args: 0)
    app = f"{sys.executable} {tmp_path / 'warned.py'}"

    assert command.main(["--app", app, "--update-context", '{"epochs": 3}']) == 0
    assert capsys.readouterr().err == (
        "[Warning at /Annotated/Provider] in every synth\n[Warning at /Annotated/Model] with epochs only (update)\n"
    )


@pytest.mark.parametrize(
    ("given", "wanted"),
    [
        (["--template", "t.yaml", "--parameter", "Bucket"], "--parameter takes NAME=VALUE: 'Bucket'"),
        (
            ["--template", "t.yaml", "--parameter", "Bucket=a", "--parameter", "Bucket=b"],
            "--parameter Bucket given twice: 'a' and 'b'",
        ),
        (["--parameter", "Bucket=a"], "--parameter sets a plain template's parameters: give --template"),
    ],
    ids=["no-value", "twice", "no-template"],
)
def test_a_parameter_that_no_template_can_take_is_refused_by_name(given, wanted, capsys, monkeypatch):
    """A name given twice is a mistake to name, not a NAME=VALUE one; and with your own app and no --template,
    nothing takes a parameter (it was ignored)."""
    synthesized = []
    monkeypatch.setattr(command, "synthesize", lambda *args, **_printing: synthesized.append(args))
    with pytest.raises(SystemExit) as refused:
        command.main(["--app", "true", *given])

    assert refused.value.code == 2
    assert f"error: {wanted}\n" in capsys.readouterr().err
    assert synthesized == []


def test_an_app_that_defines_no_stack_ends_the_rehearsal_saying_so(tmp_path, capsys):
    """Nothing to deploy is a mistake in the app or --app (a rehearsal that reported nothing and exited 0 hid it)."""
    (tmp_path / "record.py").write_text(CONTEXT_RECORDER)
    app = f"{sys.executable} {tmp_path / 'record.py'} {tmp_path / 'context.json'}"
    assert command.main(["--app", app]) == 1
    assert capsys.readouterr().err.endswith(
        "cdk-bedrock-customization rehearse: the app defines no stack: nothing to rehearse\n"
    )


def test_a_model_evaluation_score_changes_that_models_jobs_only():
    """A user's app names its baseline's base model, so that a gate compares two scores, not one with itself."""
    scores = command._evaluation_scores(
        ["Builtin.Helpfulness=0.9"],
        example=False,
        given_for_models=[("amazon.nova-micro-v1:0", "Builtin.Helpfulness=0.6")],
    )
    assert scores == {None: {"Builtin.Helpfulness": 0.9}, "amazon.nova-micro-v1:0": {"Builtin.Helpfulness": 0.6}}
    example = command._evaluation_scores([], example=True, given_for_models=[("amazon.nova-micro-v1:0", "X=1")])
    assert example["amazon.nova-micro-v1:0"] == {**EXAMPLE_EVALUATION_SCORES["amazon.nova-micro-v1:0"], "X": 1.0}


def test_a_model_evaluation_score_takes_a_model_and_metric_equals_a_number(capsys):
    with pytest.raises(SystemExit) as refused:
        command.main(["--app", "true", "--model-evaluation-score", "amazon.nova-micro-v1:0", "Builtin.Helpfulness"])
    assert refused.value.code == 2
    assert (
        "--model-evaluation-score MODEL takes METRIC=VALUE, a number: 'Builtin.Helpfulness'" in capsys.readouterr().err
    )
    with pytest.raises(SystemExit) as refused:
        command.main(["--app", "true", "--model-evaluation-score", "Builtin.Helpfulness=0.6"])
    assert refused.value.code == 2
    assert "expected 2 arguments" in capsys.readouterr().err


@pytest.mark.parametrize("given_app", [False, True], ids=["no-app", "app-py-given"])
def test_only_the_default_app_beside_the_example_template_is_rehearsed_as_the_example(
    tmp_path, monkeypatch, capsys, given_app
):
    """A user's app.py given by --app, beside a copy of the README's template, is the user's: the example's scores
    (which pass the example's gate) and its template are not rehearsed with it. Without --app they are, and the
    report says so."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / command.EXAMPLE_TEMPLATE).parent.mkdir(parents=True)
    (tmp_path / command.EXAMPLE_TEMPLATE).write_text(
        "Parameters: {DataBucketName: {Type: String}}\nResources: {Topic: {Type: AWS::SNS::Topic}}\n"
    )
    synthesized: list[str] = []

    def synthesize_nothing(app: str, *_: Any, **_printing: Any) -> Any:
        synthesized.append(app)
        raise SynthesisFailed(f"{app}: stopped here")

    with mock.patch.object(command, "synthesize", synthesize_nothing):
        assert command.main(["--app", f"{sys.executable} app.py"] if given_app else []) == 1
    assert synthesized == [f"{sys.executable} app.py"]
    notice = "this is this repository's example app: its evaluation scores and its plain template are rehearsed too"
    assert (notice in capsys.readouterr().out) is not given_app
    assert command._is_example(f"{sys.executable} app.py" if given_app else None) is not given_app
    (tmp_path / command.EXAMPLE_TEMPLATE).unlink()
    assert not command._is_example(None)
