"""Loss curves of model customization jobs: each job's training and validation loss over its steps, read from the
metrics files Bedrock writes under the job's output prefix and drawn into one PNG per job with matplotlib, an
optional extra (pip install 'cdk-bedrock-customization[plot]').

Where the files are and what they hold (Bedrock user guide, "Analyze the results of a model customization job",
https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-analyze.html):

    <outputDataConfig.s3Uri>/model-customization-job-<training job id>/
        training_artifacts/step_wise_training_metrics.csv
        validation_artifacts/post_fine_tuning_validation/validation_metrics.csv   (only with a validation dataset)

- step_wise_training_metrics.csv: step_number (the step of training, from 0), epoch_number, training_loss,
  perplexity;
- validation_metrics.csv: the same columns, with validation_loss in place of training_loss.

The job id is the last part of the job's ARN (arn:...:model-customization-job/<base model>/<job id>), as AWS's own
samples build the prefix. The validation file's folder is not named the same everywhere: the user guide shows
post_fine_tuning_validation/validation_metrics.csv; AWS samples read post_fine_tuning_validation/validation/
validation_metrics.csv; the API reference's earlier description of OutputDataConfig.s3Uri (kept in aws-sdk-net's
generated sdk/src/Services/Bedrock/Generated/Model/OutputDataConfig.cs) says post_training_validation/, with a
sample whose values have blanks after the commas. So the job's prefix is listed, every page of it, and the files are
found by name: step_wise_training_metrics.csv under training_artifacts/, every validation_metrics.csv under
validation_artifacts/; values may have blanks around them. Validation metrics may be missing (no validation
dataset, or a model that does not validate): then only the training curve is drawn.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bedrock_custom_resource import aws
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TRAINING_METRICS = "step_wise_training_metrics.csv"
VALIDATION_METRICS = "validation_metrics.csv"
TRAINING_FOLDER = "training_artifacts/"
VALIDATION_FOLDER = "validation_artifacts/"
STEP_COLUMN = "step_number"
EPOCH_COLUMN = "epoch_number"
TRAINING_LOSS = "training_loss"
VALIDATION_LOSS = "validation_loss"
PLOT_EXTRA = "pip install 'cdk-bedrock-customization[plot]'"
# The statuses of a job that may still write metrics (botocore's ModelCustomizationJobStatus: the others have ended).
RUNNING_STATUSES = frozenset({"InProgress", "Stopping"})
LIST_PAGE_SIZE = 1000  # ListObjectsV2's largest page
# The picture: 10 x 6 inches at 100 dots per inch, 1000 x 600 pixels.
FIGURE_INCHES = (10.0, 6.0)
DPI = 100
TRAINING_COLOR = "#1f77b4"
VALIDATION_COLORS = ("#ff7f0e", "#2ca02c", "#d62728", "#9467bd")


class MetricsError(Exception):
    """A job's metrics cannot be read: a file that is not the CSV Bedrock writes, or S3 refused."""


class PlotUnavailable(Exception):
    """matplotlib is not installed."""

    def __init__(self) -> None:
        super().__init__(f"drawing loss curves needs matplotlib: {PLOT_EXTRA}")


@dataclass(frozen=True)
class Job:
    """A model customization job, as GetModelCustomizationJob describes it: what finding its metrics needs."""

    arn: str
    name: str
    status: str
    output_s3_uri: str

    @classmethod
    def described(cls, response: Mapping[str, Any]) -> Job:
        output = response.get("outputDataConfig") or {}
        # status is not a required member of GetModelCustomizationJob's response (botocore's service model).
        status = str(response.get("status") or "status unknown")
        return cls(str(response["jobArn"]), str(response["jobName"]), status, str(output["s3Uri"]))

    @property
    def job_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    @property
    def metrics_prefix(self) -> tuple[str, str]:
        """(bucket, key prefix) of the job's artifacts: <output prefix>/model-customization-job-<job id>/."""
        if not self.output_s3_uri.startswith("s3://"):
            raise MetricsError(f"{self.name}: its output location {self.output_s3_uri!r} is not an s3:// URI")
        bucket, _, key = self.output_s3_uri.removeprefix("s3://").partition("/")
        key = key.rstrip("/")
        return bucket, f"{key}/" * bool(key) + f"model-customization-job-{self.job_id}/"

    @property
    def metrics_uri(self) -> str:
        bucket, prefix = self.metrics_prefix
        return f"s3://{bucket}/{prefix}"


@dataclass(frozen=True)
class Series:
    """One metrics file's loss over steps, in the file's order."""

    label: str
    source: str  # its s3:// URI
    steps: tuple[float, ...]
    losses: tuple[float, ...]
    epochs: tuple[float | None, ...]


@dataclass(frozen=True)
class JobMetrics:
    job: Job
    training: Series | None
    validation: tuple[Series, ...] = ()


def read_job_metrics(s3: Any, job: Job) -> JobMetrics:
    """The job's training and validation loss, from the files found under its prefix (see the module's doc)."""
    bucket, prefix = job.metrics_prefix
    keys = _listed(s3, bucket, prefix)
    training_keys = [key for key in keys if key == f"{prefix}{TRAINING_FOLDER}{TRAINING_METRICS}"]
    training_keys = training_keys or [
        key for key in keys if key.startswith(f"{prefix}{TRAINING_FOLDER}") and key.endswith(f"/{TRAINING_METRICS}")
    ]
    validation_keys = [
        key for key in keys if key.startswith(f"{prefix}{VALIDATION_FOLDER}") and key.endswith(f"/{VALIDATION_METRICS}")
    ]
    training = None
    if training_keys:
        training = parse_metrics(
            _text(s3, bucket, training_keys[0]), TRAINING_LOSS, f"s3://{bucket}/{training_keys[0]}"
        )
    validation = []
    for key in validation_keys:
        where = key.removeprefix(f"{prefix}{VALIDATION_FOLDER}").removesuffix(VALIDATION_METRICS).strip("/")
        series = parse_metrics(_text(s3, bucket, key), VALIDATION_LOSS, f"s3://{bucket}/{key}")
        label = "validation loss" if len(validation_keys) == 1 else f"validation loss ({where})"
        validation.append(Series(label, series.source, series.steps, series.losses, series.epochs))
    return JobMetrics(job, training, tuple(validation))


def _listed(s3: Any, bucket: str, prefix: str) -> list[str]:
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE}
        )
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
    except (ClientError, BotoCoreError) as error:
        raise MetricsError(f"s3://{bucket}/{prefix}: {_reason(error)}") from error


def _text(s3: Any, bucket: str, key: str) -> str:
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except (ClientError, BotoCoreError) as error:
        raise MetricsError(f"s3://{bucket}/{key}: {_reason(error)}") from error
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MetricsError(f"s3://{bucket}/{key}: not UTF-8 text: {error}") from error


def _reason(error: Exception) -> str:
    return f"{aws.error_code(error)}: {aws.error_message(error)}" if isinstance(error, ClientError) else str(error)


def parse_metrics(text: str, loss_column: str, source: str) -> Series:
    """A metrics file's steps and losses (and epochs, when it has them), in its order. Blank lines, rows without a
    loss and a last row with fewer fields than the header (a file being written) are skipped, and so is an empty
    file; anything else that is not a number, or not CSV, is an error naming the file and the line."""
    if not text.strip():
        return Series(_label(loss_column), source, (), (), ())
    # newline="": the csv module reads line endings itself (\r\n, \r, or \n), and newlines in quoted fields.
    rows = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), skipinitialspace=True)
    try:
        return _series(rows, loss_column, source)
    except csv.Error as error:  # a field too large, say: no file Bedrock writes
        raise MetricsError(f"{source}: line {rows.line_num}: not CSV: {error}") from error


def _series(rows: Any, loss_column: str, source: str) -> Series:
    header = [name.strip() for name in next(rows, [])]
    missing = [name for name in (STEP_COLUMN, loss_column) if name not in header]
    if missing:
        raise MetricsError(f"{source}: no {' or '.join(missing)} column; its header is {header}")
    step_at, loss_at = header.index(STEP_COLUMN), header.index(loss_column)
    epoch_at = header.index(EPOCH_COLUMN) if EPOCH_COLUMN in header else None
    steps: list[float] = []
    losses: list[float] = []
    epochs: list[float | None] = []
    for values, line, last in _rows_with_the_last_marked(rows):
        if not any(values) or (last and len(values) < len(header)):  # blank, or still being written
            continue
        if len(values) <= loss_at or not values[loss_at]:
            continue
        steps.append(_number(values, step_at, STEP_COLUMN, source, line))
        losses.append(_number(values, loss_at, loss_column, source, line))
        has_epoch = epoch_at is not None and epoch_at < len(values) and values[epoch_at] != ""
        epochs.append(_number(values, epoch_at, EPOCH_COLUMN, source, line) if has_epoch else None)
    return Series(_label(loss_column), source, tuple(steps), tuple(losses), tuple(epochs))


def _label(loss_column: str) -> str:
    return "training loss" if loss_column == TRAINING_LOSS else "validation loss"


def _rows_with_the_last_marked(rows: Any) -> Iterator[tuple[list[str], int, bool]]:
    """Each row's stripped values and line number, and whether it is the file's last row."""
    held: tuple[list[str], int] | None = None
    for row in rows:
        if held is not None:
            yield (*held, False)
        held = ([value.strip() for value in row], rows.line_num)
    if held is not None:
        yield (*held, True)


def _number(values: list[str], index: int | None, column: str, source: str, line: int) -> float:
    text = values[index] if index is not None and index < len(values) else ""
    try:
        return float(text)  # nan and inf too: a diverging loss is written so
    except ValueError:
        raise MetricsError(f"{source}: line {line}: {column} {text!r} is not a number") from None


# --- drawing ------------------------------------------------------------------------------------------------------


def require_matplotlib() -> None:
    """PlotUnavailable unless matplotlib can be imported: checked before anything is read."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise PlotUnavailable() from error


def figure(metrics: JobMetrics) -> Figure:
    """The job's loss over steps: the training loss as a line, each validation file's as a line with markers, and
    a dotted vertical line where a new epoch starts. Made on the Agg canvas, without pyplot's global state."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drawn = Figure(figsize=FIGURE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(drawn)
    axes = drawn.add_subplot()
    job = metrics.job
    axes.set_title(f"{job.name} ({job.status})")
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.grid(True, linestyle=":", alpha=0.6)
    training = metrics.training
    if training is not None:
        axes.plot(training.steps, training.losses, color=TRAINING_COLOR, linewidth=1.5, label=training.label)
        for step, epoch in _epoch_starts(training):
            axes.axvline(step, color="#999999", linestyle=":", linewidth=1, label="_epoch start")
            where = axes.get_xaxis_transform()  # x in data, y in axes coordinates
            axes.text(step, 0.99, f" epoch {epoch:g}", transform=where, fontsize=8, color="#666666", va="top")
    for index, series in enumerate(metrics.validation):
        color = VALIDATION_COLORS[index % len(VALIDATION_COLORS)]
        axes.plot(series.steps, series.losses, color=color, marker="o", linewidth=1.5, label=series.label)
    if training is not None or metrics.validation:
        axes.legend(loc="upper right")
    drawn.text(0.01, 0.005, job.metrics_uri, fontsize=7, color="#666666", ha="left", va="bottom")
    return drawn


def _epoch_starts(series: Series) -> list[tuple[float, float]]:
    """(step, epoch) where each new epoch starts, after the first."""
    epochs = series.epochs
    starts = []
    for index in range(1, len(epochs)):
        epoch, before = epochs[index], epochs[index - 1]
        if epoch is not None and before is not None and epoch != before:
            starts.append((series.steps[index], epoch))
    return starts


def file_name(job: Job) -> str:
    """<job name>.png: a job name is letters, digits and '-+.', and unique in its account and Region."""
    return f"{job.name}.png"


def draw(metrics: JobMetrics, directory: Path | str) -> tuple[Path, Figure]:
    """Write the job's figure to directory/<job name>.png (the directory made if need be): the path and figure."""
    drawn = figure(metrics)
    path = Path(directory) / file_name(metrics.job)
    path.parent.mkdir(parents=True, exist_ok=True)
    drawn.savefig(path, format="png", dpi=DPI)
    return path, drawn


@dataclass(frozen=True)
class Plotted:
    """What plotting one job did: the PNG written (None: no training metrics yet), or the error."""

    job: Job
    path: Path | None = None
    metrics: JobMetrics | None = None
    error: str = ""

    @property
    def line(self) -> str:
        if self.error:
            return f"{self.job.name}: {self.error}"
        if self.path is None or self.metrics is None or self.metrics.training is None:
            # A job that has ended writes no more: "yet" only while it runs (ModelCustomizationJobStatus).
            still = " yet" if self.job.status in RUNNING_STATUSES else ""
            return f"{self.job.name}: no training metrics under {self.job.metrics_uri}{still} ({self.job.status})"
        points = len(self.metrics.training.steps)
        validation = sum(len(series.steps) for series in self.metrics.validation)
        extra = f", {validation} validation points" if validation else ", no validation metrics"
        return f"{self.job.name}: wrote {self.path} ({points} training steps{extra})"


def plot_jobs(s3: Any, jobs: Iterable[Job], directory: Path | str) -> list[Plotted]:
    """Each job's PNG in directory (each job once); a job without training metrics yet gets none."""
    results = []
    seen: set[str] = set()
    for job in jobs:
        if job.arn in seen:
            continue
        seen.add(job.arn)
        try:
            metrics = read_job_metrics(s3, job)
        except MetricsError as error:
            results.append(Plotted(job, error=str(error)))
            continue
        if metrics.training is None or not metrics.training.steps:  # an empty file (or its header alone) has none
            results.append(Plotted(job, metrics=metrics))
            continue
        try:
            path, _ = draw(metrics, directory)
        except OSError as error:  # directory is a file, or may not be written
            results.append(
                Plotted(job, metrics=metrics, error=f"cannot write into {directory}: {error.strerror or error}")
            )
            continue
        results.append(Plotted(job, path, metrics))
    return results


def describe_job(bedrock: Any, identifier: str) -> Job:
    """The job of this name or ARN, as GetModelCustomizationJob describes it."""
    try:
        return Job.described(bedrock.get_model_customization_job(jobIdentifier=identifier))
    except (ClientError, BotoCoreError) as error:
        raise MetricsError(f"{identifier}: GetModelCustomizationJob: {_reason(error)}") from error
