"""Loss curves: each customization job's training and validation loss over steps, read from the metrics files in moto's
S3 and drawn into a PNG, which the tests then open and look at.

The files are laid out and written as the Bedrock user guide describes them ("Analyze the results of a model
customization job", https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-analyze.html):

    <outputDataConfig.s3Uri>/model-customization-job-<job id>/training_artifacts/step_wise_training_metrics.csv
    <outputDataConfig.s3Uri>/model-customization-job-<job id>/validation_artifacts/post_fine_tuning_validation/
        validation_metrics.csv

with the columns step_number (from 0), epoch_number, training_loss (validation_loss), perplexity; and in the other
layout that AWS's samples read (post_fine_tuning_validation/validation/validation_metrics.csv), with blanks after the
commas as the API reference's sample of validation_metrics.csv has them. The jobs are created through the handler and
completed with the Bedrock stand-in; the values the tests expect are the ones they wrote into the files.
"""

from __future__ import annotations

import csv
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from bedrock_custom_resource import contract, index
from cdk_bedrock_customization import cli, loss_curves, status
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import image

from . import resource_kinds as kinds
from .conftest import REGION, SERVICE_TOKEN, CloudFormationEvents, fine_tuning_properties
from .test_status import STACK, CloudFormation, Resource

BUCKET = "my-data-bucket"  # fine_tuning_properties' outputDataConfig: s3://my-data-bucket/output/
GUIDE_VALIDATION = "validation_artifacts/post_fine_tuning_validation/validation_metrics.csv"
SAMPLES_VALIDATION = "validation_artifacts/post_fine_tuning_validation/validation/validation_metrics.csv"
TRAINING = "training_artifacts/step_wise_training_metrics.csv"
STEPS_PER_EPOCH = 16
EPOCHS = 3
TRAINING_RGB = (0x1F / 255, 0x77 / 255, 0xB4 / 255)
VALIDATION_RGB = (0xFF / 255, 0x7F / 255, 0x0E / 255)


@dataclass(frozen=True)
class Metrics:
    """A metrics file as Bedrock writes it, and the values in it."""

    text: str
    steps: list[float]
    epochs: list[float]
    losses: list[float]


def training_metrics() -> Metrics:
    """Three epochs of sixteen steps: a loss that falls fast, then slowly, with some noise; perplexity is exp(loss)."""
    lines = ["step_number,epoch_number,training_loss,perplexity"]
    steps, epochs, losses = [], [], []
    for step in range(EPOCHS * STEPS_PER_EPOCH):
        epoch = step // STEPS_PER_EPOCH + 1
        loss = round(0.35 + 1.9 * math.exp(-step / 9) + 0.04 * math.sin(step * 1.7), 6)
        lines.append(f"{step},{epoch},{loss},{round(math.exp(loss), 6)}")
        steps.append(float(step))
        epochs.append(float(epoch))
        losses.append(loss)
    return Metrics("\n".join(lines) + "\n", steps, epochs, losses)


def validation_metrics() -> Metrics:
    """One validation at the end of each epoch, with blanks after the commas."""
    lines = ["step_number, epoch_number, validation_loss, perplexity"]
    steps, epochs, losses = [], [], []
    for epoch in range(1, EPOCHS + 1):
        step = epoch * STEPS_PER_EPOCH - 1
        loss = [0.912345, 0.701234, 0.655432][epoch - 1]
        lines.append(f"{step}, {epoch}, {loss}, {round(math.exp(loss), 6)}")
        steps.append(float(step))
        epochs.append(float(epoch))
        losses.append(loss)
    return Metrics("\n".join(lines) + "\n", steps, epochs, losses)


@pytest.fixture
def s3(bedrock: BedrockStandIn) -> Any:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    return client


def trained_job(bedrock: BedrockStandIn, logical_id: str = "Model", *, validation: bool = True) -> dict[str, Any]:
    """A fine-tuning job created through the handler and completed: as GetModelCustomizationJob describes it."""
    properties = fine_tuning_properties()
    if not validation:
        del properties["validationDataConfig"]
    event = CloudFormationEvents(STACK).create(properties, logical_id)
    arn = index.on_event(event)["PhysicalResourceId"]
    bedrock.set_job_status(arn, "Completed", training_loss=0.40, validation_loss=0.66)
    return bedrock.client().get_model_customization_job(jobIdentifier=arn)


def job_folder(described: dict[str, Any], prefix: str = "output/") -> str:
    """The job's artifacts folder, built as the user guide shows it (the job id: the ARN's last part)."""
    return f"{prefix}model-customization-job-{described['jobArn'].split('/')[-1]}/"


def put(s3: Any, key: str, text: str) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=text.encode())


def labelled(drawn: Any, label: str) -> Any:
    (line,) = [line for line in drawn.axes[0].lines if line.get_label() == label]
    return line


def pixels_near(picture: np.ndarray, rgb: tuple[float, float, float], tolerance: float = 0.08) -> np.ndarray:
    """The (row, column) of every pixel of about that colour."""
    distance = np.abs(picture[:, :, :3] - np.array(rgb)).max(axis=2)
    return np.argwhere(distance < tolerance)


def test_a_completed_jobs_loss_curves_are_drawn_from_its_metrics_files(bedrock, s3, tmp_path, monkeypatch):
    described = trained_job(bedrock)
    folder = job_folder(described)
    training, validation = training_metrics(), validation_metrics()
    put(s3, folder + TRAINING, training.text)
    put(s3, folder + GUIDE_VALIDATION, validation.text)
    for index_ in range(5):  # other artifacts of the job, and of another job whose id shares a prefix
        put(s3, f"{folder}training_artifacts/checkpoint-{index_}.json", "{}")
    put(s3, f"{folder[:-1]}0/{TRAINING}", "step_number,epoch_number,training_loss\n0,1,99\n")
    listings: list[dict[str, Any]] = []
    s3.meta.events.register("provide-client-params.s3.ListObjectsV2", lambda params, **_: listings.append(params))
    monkeypatch.setattr(loss_curves, "LIST_PAGE_SIZE", 2)  # so that the listing takes several pages
    job = loss_curves.Job.described(described)

    (plotted,) = loss_curves.plot_jobs(s3, [job], tmp_path / "curves")

    assert len(listings) == 4  # seven objects, two a page
    assert {params["Prefix"] for params in listings} == {folder}
    assert plotted.path == tmp_path / "curves" / f"{described['jobName']}.png"
    assert plotted.line == (
        f"{described['jobName']}: wrote {plotted.path} ({EPOCHS * STEPS_PER_EPOCH} training steps, "
        f"{EPOCHS} validation points)"
    )
    # What is plotted is what the files hold.
    _, drawn = loss_curves.draw(plotted.metrics, tmp_path / "again")
    assert list(labelled(drawn, "training loss").get_xdata()) == training.steps
    assert list(labelled(drawn, "training loss").get_ydata()) == training.losses
    assert list(labelled(drawn, "validation loss").get_xdata()) == validation.steps
    assert list(labelled(drawn, "validation loss").get_ydata()) == validation.losses
    epoch_starts = [line.get_xdata()[0] for line in drawn.axes[0].lines if line.get_label() == "_epoch start"]
    assert epoch_starts == [16.0, 32.0]
    assert [text.get_text() for text in drawn.axes[0].get_legend().get_texts()] == ["training loss", "validation loss"]
    assert drawn.axes[0].get_title() == f"{described['jobName']} (Completed)"

    look_at(plotted.path, validation=True)


def look_at(path: Path, *, validation: bool) -> None:
    """Open the PNG and look: its size, that it is not blank, the training curve falling from left to right, and
    the validation markers there (or not)."""
    picture = image.imread(path)
    assert picture.shape == (600, 1000, 4)  # 10 x 6 inches at 100 dpi
    colours = np.unique((picture[:, :, :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 20
    assert (picture[:, :, :3] < 0.9).any(axis=2).mean() > 0.01  # not white all over
    curve = pixels_near(picture, TRAINING_RGB)
    assert len(curve) > 500
    columns = curve[:, 1]
    left = curve[columns < np.percentile(columns, 20)][:, 0].mean()
    right = curve[columns > np.percentile(columns, 80)][:, 0].mean()
    assert left < right - 100  # rows grow downwards: the loss falls by far
    markers = pixels_near(picture, VALIDATION_RGB)
    if validation:
        assert len(markers) > 100
    else:
        assert len(markers) == 0


def test_the_validation_file_is_found_in_the_samples_layout_too(bedrock, s3, tmp_path):
    described = trained_job(bedrock)
    folder = job_folder(described)
    put(s3, folder + TRAINING, training_metrics().text)
    put(s3, folder + SAMPLES_VALIDATION, validation_metrics().text)

    (plotted,) = loss_curves.plot_jobs(s3, [loss_curves.Job.described(described)], tmp_path)

    assert plotted.metrics is not None
    (series,) = plotted.metrics.validation
    assert series.source == f"s3://{BUCKET}/{folder}{SAMPLES_VALIDATION}"
    assert list(series.losses) == validation_metrics().losses


def test_without_validation_metrics_only_the_training_curve_is_drawn(bedrock, s3, tmp_path):
    described = trained_job(bedrock, validation=False)
    put(s3, job_folder(described) + TRAINING, training_metrics().text)

    (plotted,) = loss_curves.plot_jobs(s3, [loss_curves.Job.described(described)], tmp_path)

    assert plotted.line.endswith(f"({EPOCHS * STEPS_PER_EPOCH} training steps, no validation metrics)")
    assert plotted.path is not None
    look_at(plotted.path, validation=False)


def test_a_job_named_by_two_rows_is_drawn_once(bedrock, s3, tmp_path):
    """A job and its result reader (Custom::BedrockModelCustomizationJobResult) name the same job: status --plot hands
    both rows over, and the job gets one picture and one line."""
    described = trained_job(bedrock, validation=False)
    put(s3, job_folder(described) + TRAINING, training_metrics().text)
    job = loss_curves.Job.described(described)

    plotted = loss_curves.plot_jobs(s3, [job, job], tmp_path)

    assert [drawn.path for drawn in plotted] == [tmp_path / f"{described['jobName']}.png"]
    assert list(tmp_path.iterdir()) == [tmp_path / f"{described['jobName']}.png"]


def test_a_job_without_metrics_yet_gets_no_picture(bedrock, s3, tmp_path):
    event = CloudFormationEvents(STACK).create(fine_tuning_properties(), "Model")
    arn = index.on_event(event)["PhysicalResourceId"]
    described = bedrock.client().get_model_customization_job(jobIdentifier=arn)

    (plotted,) = loss_curves.plot_jobs(s3, [loss_curves.Job.described(described)], tmp_path)

    assert plotted.path is None
    assert plotted.line == (
        f"{described['jobName']}: no training metrics under s3://{BUCKET}/{job_folder(described)} yet (InProgress)"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", ["", "step_number,epoch_number,training_loss\n"], ids=["empty", "header-only"])
def test_a_metrics_file_without_rows_gets_no_picture(bedrock, s3, tmp_path, text):
    """The user guide's rows start at step 0: a file with none has no metrics yet (was an empty chart, exit 0)."""
    event = CloudFormationEvents(STACK).create(fine_tuning_properties(), "Model")
    arn = index.on_event(event)["PhysicalResourceId"]
    described = bedrock.client().get_model_customization_job(jobIdentifier=arn)
    put(s3, f"{job_folder(described)}{TRAINING}", text)

    (plotted,) = loss_curves.plot_jobs(s3, [loss_curves.Job.described(described)], tmp_path)

    assert plotted.path is None
    assert plotted.line.endswith(" yet (InProgress)")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("status", ["Failed", "Stopped", "Completed"])
def test_a_job_that_has_ended_without_metrics_is_not_said_to_have_none_yet(bedrock, s3, tmp_path, status):
    event = CloudFormationEvents(STACK).create(fine_tuning_properties(), "Model")
    arn = index.on_event(event)["PhysicalResourceId"]
    bedrock.set_job_status(arn, status)
    described = bedrock.client().get_model_customization_job(jobIdentifier=arn)
    (plotted,) = loss_curves.plot_jobs(s3, [loss_curves.Job.described(described)], tmp_path)
    assert plotted.line == (
        f"{described['jobName']}: no training metrics under s3://{BUCKET}/{job_folder(described)} ({status})"
    )


def test_a_job_described_without_a_status_is_plotted_as_of_an_unknown_status():
    """status is not a required member of GetModelCustomizationJob's response in botocore's service model."""
    shape = contract.shape("GetModelCustomizationJobResponse")
    assert "status" not in shape.required_members
    described = {"jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/m/abc", "jobName": "j"}
    job = loss_curves.Job.described(described | {"outputDataConfig": {"s3Uri": "s3://b/o/"}})
    assert job.status == "status unknown"


def test_a_file_that_is_not_bedrocks_csv_is_an_error_naming_its_line(bedrock, s3, tmp_path):
    described = trained_job(bedrock)
    key = job_folder(described) + TRAINING
    put(s3, key, "step_number,epoch_number,training_loss,perplexity\n0,1,2.5,12.18\n1,1,n/a,1.0\n")

    (plotted,) = loss_curves.plot_jobs(s3, [loss_curves.Job.described(described)], tmp_path)

    assert plotted.error == f"s3://{BUCKET}/{key}: line 3: training_loss 'n/a' is not a number"
    assert plotted.path is None


def test_a_bucket_that_cannot_be_listed_is_named(bedrock, tmp_path):
    job = loss_curves.Job(
        "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.titan-text-express-v1:0:8k/abcdefabcdef",
        "gone",
        "Completed",
        "s3://no-such-bucket/out",
    )

    (plotted,) = loss_curves.plot_jobs(boto3.client("s3", region_name=REGION), [job], tmp_path)

    assert plotted.error.startswith("s3://no-such-bucket/out/model-customization-job-abcdefabcdef/: NoSuchBucket: ")


@pytest.mark.parametrize(
    ("uri", "bucket", "prefix"),
    [
        ("s3://b/output/", "b", "output/model-customization-job-abcdefabcdef/"),
        ("s3://b/output", "b", "output/model-customization-job-abcdefabcdef/"),
        ("s3://b/a/b/", "b", "a/b/model-customization-job-abcdefabcdef/"),
        ("s3://b", "b", "model-customization-job-abcdefabcdef/"),
        ("s3://b/", "b", "model-customization-job-abcdefabcdef/"),
    ],
)
def test_the_metrics_prefix_is_the_output_prefix_and_the_job_id(uri, bucket, prefix):
    arn = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro-v1:0:128k/abcdefabcdef"
    assert loss_curves.Job(arn, "j", "Completed", uri).metrics_prefix == (bucket, prefix)


def test_parsing_tolerates_a_bom_blanks_blank_lines_and_rows_without_a_loss():
    text = "\ufeffstep_number , epoch_number , training_loss\n\n0, 1, 2.5\n1, 1,\n2, 2, 1.25\n"
    series = loss_curves.parse_metrics(text, "training_loss", "s3://b/k")
    assert (series.steps, series.losses, series.epochs) == ((0.0, 2.0), (2.5, 1.25), (1.0, 2.0))


# The user guide's columns of step_wise_training_metrics.csv (model-customization-analyze.html).
GUIDE_HEADER = "step_number,epoch_number,training_loss,perplexity"


@pytest.mark.parametrize("cut", ["2,0,1", "2,0,0.", "2,0"], ids=["inside-the-loss", "inside-a-number", "before-it"])
def test_a_last_row_still_being_written_is_left_out(cut):
    """A row with fewer fields than the header, last in the file: its loss may be cut short (1 of 1.25)."""
    series = loss_curves.parse_metrics(f"{GUIDE_HEADER}\n0,0,2.5,12.2\n1,0,1.5,4.5\n{cut}", "training_loss", "s3://b/k")
    assert (series.steps, series.losses) == ((0.0, 1.0), (2.5, 1.5))


def test_a_row_with_fewer_fields_than_the_header_within_the_file_is_read_as_before():
    """Only the last row can be one still being written: a short row with its loss, within the file, is read."""
    text = f"{GUIDE_HEADER}\n0,0,2.5,12.2\n1,0,1.5\n2,0,1.25,3.5\n"
    assert loss_curves.parse_metrics(text, "training_loss", "s3://b/k").losses == (2.5, 1.5, 1.25)


def test_a_diverging_loss_is_a_number_and_an_empty_file_has_no_steps():
    series = loss_curves.parse_metrics(f"{GUIDE_HEADER}\n0,0,2.5,12.2\n1,0,inf,inf\n2,0,-inf,0\n", "training_loss", "k")
    assert series.losses == (2.5, math.inf, -math.inf)
    empty = loss_curves.parse_metrics("", "training_loss", "s3://b/k")
    assert (empty.steps, empty.losses, empty.label) == ((), (), "training loss")


def test_a_file_without_the_loss_column_is_an_error():
    with pytest.raises(loss_curves.MetricsError) as error:
        loss_curves.parse_metrics("step_number,epoch_number,loss\n0,1,2\n", "training_loss", "s3://b/k")
    assert str(error.value) == (
        "s3://b/k: no training_loss column; its header is ['step_number', 'epoch_number', 'loss']"
    )


@pytest.mark.parametrize("loss_column", ["training_loss", "validation_loss"])
def test_a_file_without_the_step_number_column_is_an_error_naming_it(loss_column):
    """The user guide's files have step_number beside the loss: without it, an error naming the file, not a crash."""
    with pytest.raises(loss_curves.MetricsError) as error:
        loss_curves.parse_metrics(f"epoch_number,{loss_column},perplexity\n0,2.5,12.2\n", loss_column, "s3://b/k")
    assert str(error.value).startswith("s3://b/k: no step_number column")


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["CRLF", "CR"])
def test_a_file_with_other_line_endings_reads_as_with_newlines(ending):
    lines = ["step_number,epoch_number,training_loss", "0,1,2.5", "1,1,2.0", "2,2,1.25"]
    series = loss_curves.parse_metrics(ending.join(lines) + ending, "training_loss", "s3://b/k")
    assert (series.steps, series.losses, series.epochs) == ((0.0, 1.0, 2.0), (2.5, 2.0, 1.25), (1.0, 1.0, 2.0))


def test_a_field_too_large_for_csv_is_an_error_naming_its_line():
    text = "step_number,training_loss\n0,1.5\n1," + "9" * (csv.field_size_limit() + 1) + "\n"
    with pytest.raises(loss_curves.MetricsError) as error:
        loss_curves.parse_metrics(text, "training_loss", "s3://b/k")
    assert str(error.value).startswith("s3://b/k: line 3: not CSV: field larger than field limit")


_CELLS = st.one_of(st.text(max_size=6), st.sampled_from(["0", "1.5", "nan", "inf", "-1e9", " 2 ", "", '"', "\r"]))
_ROWS = st.lists(st.lists(_CELLS, max_size=5).map(",".join), max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), _ROWS.map(lambda rows: "\n".join(["step_number,epoch_number,training_loss", *rows]))))
def test_any_text_gives_a_curve_or_an_error_naming_the_file(text):
    try:
        series = loss_curves.parse_metrics(text, "training_loss", "s3://b/k")
    except loss_curves.MetricsError as error:
        assert str(error).startswith("s3://b/k: ")
    else:
        assert len(series.steps) == len(series.losses) == len(series.epochs)


# --- the commands -------------------------------------------------------------------------------------------------


@pytest.fixture
def command_clients(bedrock: BedrockStandIn, s3: Any, monkeypatch: pytest.MonkeyPatch) -> CloudFormation:
    stubbed = CloudFormation()
    clients = status.Clients(stubbed.client, bedrock.client(), s3)
    monkeypatch.setattr(status, "make_clients", lambda region=None, profile=None: clients)
    return stubbed


@pytest.mark.parametrize("by", ["jobName", "jobArn"])
def test_plot_draws_one_job_by_its_name_or_arn(bedrock, s3, command_clients, tmp_path, capsys, by):
    described = trained_job(bedrock)
    put(s3, job_folder(described) + TRAINING, training_metrics().text)

    code = cli.main(["plot", described[by], "--out", str(tmp_path)])

    path = tmp_path / f"{described['jobName']}.png"
    assert code == 0
    assert capsys.readouterr().out.startswith(f"{described['jobName']}: wrote {path} (48 training steps")
    look_at(path, validation=False)


def test_plot_into_a_path_that_is_a_file_exits_1_naming_it(bedrock, s3, command_clients, tmp_path, capsys):
    described = trained_job(bedrock)
    put(s3, job_folder(described) + TRAINING, training_metrics().text)
    taken = tmp_path / "plot.png"
    taken.write_bytes(b"an earlier picture")

    code = cli.main(["plot", described["jobName"], "--out", str(taken)])

    assert code == 1
    assert capsys.readouterr().out == f"{described['jobName']}: cannot write into {taken}: File exists\n"
    assert taken.read_bytes() == b"an earlier picture"


def test_plot_exits_1_when_there_is_nothing_to_draw_and_2_for_an_unknown_job(bedrock, s3, command_clients, capsys):
    described = trained_job(bedrock)
    assert cli.main(["plot", described["jobName"]]) == 1
    assert "no training metrics under" in capsys.readouterr().out

    assert cli.main(["plot", "no-such-job"]) == 2
    assert capsys.readouterr().err.startswith(
        "cdk-bedrock-customization plot: no-such-job: GetModelCustomizationJob: ResourceNotFoundException"
    )


def test_status_plot_draws_each_job_of_the_stack_once(bedrock, s3, command_clients, tmp_path, capsys):
    trained = trained_job(bedrock, "Trained")
    other = trained_job(bedrock, "Other")
    put(s3, job_folder(trained) + TRAINING, training_metrics().text)
    put(s3, job_folder(trained) + GUIDE_VALIDATION, validation_metrics().text)
    reader = CloudFormationEvents(STACK, "Custom::BedrockModelCustomizationJobResult").create(
        {"ServiceToken": SERVICE_TOKEN, "jobIdentifier": trained["jobArn"]}, "TrainedResult"
    )
    index.on_event(reader)
    serving = kinds.DEPLOYMENT.properties(bedrock)
    deployment = index.on_event(CloudFormationEvents(STACK, kinds.DEPLOYMENT.resource_type).create(serving, "Serving"))
    bedrock.set_deployment_status(deployment["PhysicalResourceId"], "Active")
    command_clients.expect_read(
        [
            Resource("Trained", kinds.JOB.resource_type, trained["jobArn"]),
            Resource("TrainedResult", "Custom::BedrockModelCustomizationJobResult", trained["jobArn"]),
            Resource("Other", kinds.JOB.resource_type, other["jobArn"]),
            Resource("Serving", kinds.DEPLOYMENT.resource_type, deployment["PhysicalResourceId"]),
        ]
    )

    code = cli.main(["status", STACK, "--plot", str(tmp_path / "curves")])

    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[-2:] == [
        f"{trained['jobName']}: wrote {tmp_path / 'curves' / trained['jobName']}.png (48 training steps, "
        "3 validation points)",
        f"{other['jobName']}: no training metrics under s3://{BUCKET}/{job_folder(other)} (Completed)",
    ]
    assert sorted(path.name for path in (tmp_path / "curves").iterdir()) == [f"{trained['jobName']}.png"]
    look_at(tmp_path / "curves" / f"{trained['jobName']}.png", validation=True)


def test_a_watch_with_plot_draws_once_the_job_has_ended(bedrock, s3, command_clients, tmp_path, capsys):
    event = CloudFormationEvents(STACK).create(fine_tuning_properties(), "Model")
    arn = index.on_event(event)["PhysicalResourceId"]
    described = bedrock.client().get_model_customization_job(jobIdentifier=arn)
    command_clients.expect_read([Resource("Model", kinds.JOB.resource_type, arn, "CREATE_IN_PROGRESS")])
    command_clients.expect_read([Resource("Model", kinds.JOB.resource_type, arn)])

    def sleep(_seconds: float) -> None:  # the job ends, and its metrics appear, while the watch sleeps
        bedrock.set_job_status(arn, "Completed", training_loss=0.36)
        put(s3, job_folder(described) + TRAINING, training_metrics().text)

    code = cli.status_command(STACK, True, 60, str(tmp_path), None, None, sleep=sleep)

    out = capsys.readouterr().out
    assert code == 0
    assert out.count("refreshing every 60 s") == 1
    assert out.endswith(
        f"{described['jobName']}: wrote {tmp_path / described['jobName']}.png (48 training steps, "
        "no validation metrics)\n"
    )
    look_at(tmp_path / f"{described['jobName']}.png", validation=False)


def test_without_matplotlib_both_commands_name_the_extra_and_read_nothing(monkeypatch, capsys, tmp_path):
    for name in [module for module in sys.modules if module == "matplotlib" or module.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails

    def no_clients(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("nothing is read without matplotlib")

    monkeypatch.setattr(status, "make_clients", no_clients)

    assert cli.main(["status", STACK, "--watch", "--plot", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "cdk-bedrock-customization status: drawing loss curves needs matplotlib: "
        "pip install 'cdk-bedrock-customization[plot]'\n"
    )
    assert cli.main(["plot", "some-job"]) == 2
    assert capsys.readouterr().err == (
        "cdk-bedrock-customization plot: drawing loss curves needs matplotlib: "
        "pip install 'cdk-bedrock-customization[plot]'\n"
    )
    assert list(tmp_path.iterdir()) == []
