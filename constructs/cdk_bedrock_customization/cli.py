"""cdk-bedrock-customization: validate models files or model folders offline, print the JSON Schema, or rehearse.

    cdk-bedrock-customization validate models.yaml [more.yaml ...] [--stage NAME]
    cdk-bedrock-customization validate-weights DIR [DIR ...]
    cdk-bedrock-customization schema
    cdk-bedrock-customization rehearse [--app "python app.py"] [options: rehearse --help]
    cdk-bedrock-customization status STACK [--watch [--interval SECONDS]] [--plot DIR] [--region R] [--profile P]
    cdk-bedrock-customization plot JOB [--out DIR] [--region R] [--profile P]
    cdk-bedrock-customization emulate-bedrock [--port N] [--job-seconds S] [--events-endpoint URL] [--failing-job TEXT]

validate checks each file as written and with each of its stages' overrides (or only --stage), and prints
every problem as one line, file:line:column: path.to.field: message, then the warnings (a local record that may
exceed its model's token limit, by the published validators' estimate; a hyperparameter that the user guide does
not document for the base model), which change nothing.
--count-tokens then counts each local record's tokens with Bedrock Runtime's CountTokens (with AWS credentials),
and a record over its model's limit is a problem. It exits 1 on any problem, 2 on bad usage. No AWS account and
no CDK app are needed (but for --count-tokens).

validate-weights checks each folder of open-weight model files as Custom Model Import (CreateModelImportJob)
takes it from S3 (config.json, tokenizer files, .safetensors headers: weights.py lists the rules and their
sources), and prints every problem as one line, DIR/file: message (DIR: message for the folder as a whole), and
nothing else; when no folder has one, DIR: OK (architecture, N parameters, size) for each. It exits 1 on any
problem, 2 on bad usage.

status shows every model resource of a deployed stack (status.py): its kind, name, CloudFormation and Bedrock status,
a customization job's sub-task statuses, the time elapsed, the training and validation loss, any failure message.
--watch refreshes it every --interval seconds (30 by default) until nothing is in progress: in place on a terminal,
appended otherwise. --plot DIR then draws each customization job's loss curves into DIR/<job name>.png
(loss_curves.py; needs the plot extra, matplotlib), as plot does for one job (its name or ARN). status exits 1 when a
resource (a nested stack's too) or the stack's last operation has failed, a resource cannot be read, or a job's
metrics cannot be read, plot when it drew nothing; both exit 2 when the stack or job cannot be read or matplotlib is
missing, and 130 on Ctrl-C.

emulate-bedrock serves the rehearsal's Bedrock (the stand-in, on moto) over HTTP on 127.0.0.1 for a local AWS
emulator's functions (AWS_ENDPOINT_URL_BEDROCK), its jobs moving on in real time (emulation/http_emulator.py), and
prints the URL it listens on; it needs the rehearse extra and stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import loss_curves, status
from .models_file import DatasetFindings, ModelsFile, Problem, json_schema
from .weights import WeightsError, WeightsSummary, format_size, validate_weights


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["rehearse"]:  # its own options, parsed by the rehearsal
        return rehearse(arguments[1:])
    parser = argparse.ArgumentParser(prog="cdk-bedrock-customization", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("rehearse", help="rehearse a CDK app's create, update and delete locally, without AWS")
    validate = commands.add_parser("validate", help="validate models files offline")
    validate.add_argument("files", nargs="+")
    validate.add_argument("--stage", help="validate only with this stage's overrides")
    validate.add_argument(
        "--count-tokens",
        action="store_true",
        help="count each local dataset record's tokens with Bedrock Runtime's CountTokens (needs AWS credentials)",
    )
    commands.add_parser("schema", help="print the models file's JSON Schema")
    weights = commands.add_parser("validate-weights", help="check model folders for Custom Model Import offline")
    weights.add_argument("folders", nargs="+", metavar="DIR")
    stack_status = commands.add_parser("status", help="show the model resources of a deployed stack")
    stack_status.add_argument("stack", metavar="STACK", help="the stack's name or id")
    stack_status.add_argument("--watch", action="store_true", help="refresh until nothing is in progress")
    stack_status.add_argument("--interval", type=_seconds, default=30.0, help="seconds between refreshes (30)")
    stack_status.add_argument("--plot", metavar="DIR", help="draw each customization job's loss curves into DIR")
    plot = commands.add_parser("plot", help="draw a customization job's loss curves")
    plot.add_argument("job", metavar="JOB", help="the job's name or ARN")
    plot.add_argument("--out", metavar="DIR", default=".", help="where to write <job name>.png (.)")
    for command in (stack_status, plot):
        command.add_argument("--region", help="the AWS Region (default: the environment's)")
        command.add_argument("--profile", help="the AWS profile (default: the environment's)")
    _emulate_bedrock_parser(commands)
    args = parser.parse_args(arguments)
    if args.command == "emulate-bedrock":
        return emulate_bedrock(args.port, args.job_seconds, args.events_endpoint, args.failing_job)
    if args.command == "status":
        return status_command(args.stack, args.watch, args.interval, args.plot, args.region, args.profile)
    if args.command == "plot":
        return plot_command(args.job, args.out, args.region, args.profile)
    if args.command == "schema":
        _print(json.dumps(json_schema(), indent=2, sort_keys=True))
        return 0
    if args.command == "validate-weights":
        return validate_weights_command(args.folders)
    return validate_command(args.files, args.stage, args.count_tokens)


def validate_command(files: list[str], stage: str | None, count_tokens: bool) -> int:
    """Every problem of every file, one line each, then the warnings (which change nothing), and
    exit 1 on a problem; with count_tokens, each record over its model's token limit counts as one."""
    findings = DatasetFindings()
    problems: list[object] = [problem for path in files for problem in problems_of(path, stage, findings)]
    for line in [*map(str, problems), *dict.fromkeys(map(str, findings.warnings))]:
        _print(line)
    if count_tokens and not problems:
        over = exact_token_counts(findings)
        if over is None:
            return 2
        problems += over
    if problems:
        return 1
    for path in files:
        _print(f"{path}: OK")
    return 0


def exact_token_counts(findings: DatasetFindings) -> list[str] | None:
    """Each local dataset's records over their model's token limit, counted with Bedrock Runtime's CountTokens
    (printed); None when it cannot be asked (no Region). Without credentials it says so and counts nothing."""
    from .datasets import FAMILY_NAMES, format_rule, token_limits_for
    from .token_counts import TokenCountError, bedrock_runtime_client, count_tokens

    try:
        client = bedrock_runtime_client()
    except TokenCountError as error:
        print(f"--count-tokens: {error}", file=sys.stderr)
        return None
    if client is None:
        print("--count-tokens: no AWS credentials; exact token counts skipped", file=sys.stderr)
        return []
    over: list[str] = []
    for path, base_model, customization_type in dict.fromkeys(findings.datasets):
        family = format_rule(base_model, customization_type).family
        if not token_limits_for(family, customization_type, base_model):  # nothing to count against: not a problem
            print(
                f"--count-tokens: {path}: no token limit is documented for {FAMILY_NAMES[family]} "
                f"{customization_type}; not counted",
                file=sys.stderr,
            )
            continue
        try:
            over += map(str, count_tokens(path, base_model, client, customization_type=customization_type))
        except (TokenCountError, ValueError) as error:
            over.append(str(error))
    for line in over:
        _print(line)
    return over


def rehearse(arguments: list[str]) -> int:
    """The local rehearsal, which needs the emulated AWS of the ``rehearse`` extra (moto)."""
    try:
        from .rehearsal.__main__ import main as rehearsal_main
    except ModuleNotFoundError as missing:
        print(
            f"cdk-bedrock-customization rehearse needs {missing.name}: "
            "pip install 'cdk-bedrock-customization[rehearse]'",
            file=sys.stderr,
        )
        return 2
    return rehearsal_main(arguments)


def _emulate_bedrock_parser(commands: Any) -> None:
    emulate = commands.add_parser("emulate-bedrock", help="serve Bedrock's emulation over HTTP, moving on in real time")
    emulate.add_argument("--port", type=_port, default=0, metavar="N", help="the port to listen on (0: a free one)")
    emulate.add_argument(
        "--job-seconds", type=_job_seconds, default=30.0, metavar="S", help="seconds each job or deployment takes (30)"
    )
    emulate.add_argument("--events-endpoint", type=_endpoint, metavar="URL", help="an EventBridge endpoint for events")
    emulate.add_argument(
        "--failing-job", action="append", default=[], metavar="TEXT", help="jobs whose name has TEXT fail (repeatable)"
    )


def emulate_bedrock(port: int, job_seconds: float, events_endpoint: str | None, failing_jobs: list[str]) -> int:
    """Serve the Bedrock emulator until SIGTERM or SIGINT (0); 2 when moto is missing or the port is taken."""
    try:
        from .emulation.http_emulator import run
    except ModuleNotFoundError as missing:
        print(
            f"cdk-bedrock-customization emulate-bedrock needs {missing.name}: "
            "pip install 'cdk-bedrock-customization[rehearse]'",
            file=sys.stderr,
        )
        return 2
    return run(port, job_seconds, events_endpoint, failing_jobs)


def validate_weights_command(folders: list[str]) -> int:
    """Every problem of every folder, one line each, and exit 1; or an OK line for each folder, and exit 0."""
    summaries: list[WeightsSummary] = []
    problems: list[str] = []
    for folder in folders:
        try:
            summaries.append(validate_weights(folder))
        except WeightsError as error:
            problems += error.problems
    for problem in problems:
        _print(problem)
    if problems:
        return 1
    for summary in summaries:
        size = format_size(summary.weight_bytes)
        _print(f"{summary.folder}: OK ({summary.architecture}, {summary.parameters:,} parameters, {size})")
    return 0


def status_command(
    stack: str,
    watch: bool,
    interval: float,
    plot: str | None,
    region: str | None,
    profile: str | None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Show the stack's model resources (watch them, plot their loss curves): 0; 1 when a resource or the stack's
    last operation has failed, a resource cannot be read, or a job's metrics cannot be read; 2 when the stack cannot
    be read or matplotlib is missing; 130 on Ctrl-C."""
    try:
        if plot is not None:
            loss_curves.require_matplotlib()  # before any waiting
        clients = status.make_clients(region, profile)
        watcher = status.Watch(
            read=status.StackReader(clients, stack),
            write=_write,
            interval=interval,
            sleep=sleep,
            tty=sys.stdout.isatty(),
            width=lambda: shutil.get_terminal_size().columns,
        )
        if watch:
            snapshot = watcher.run()
        else:
            snapshot = watcher.read()
            _write(status.render(snapshot))
    except (status.StatusError, loss_curves.PlotUnavailable) as error:
        print(f"cdk-bedrock-customization status: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _write("\n")
        return 130
    problems = bool(snapshot.failed or snapshot.unknown or snapshot.stack_failed)
    if plot is not None:
        jobs = [
            loss_curves.Job(row.arn, row.name, row.status, row.output_s3_uri)
            for row in snapshot.rows
            if row.arn is not None and row.is_customization_job and row.output_s3_uri
        ]
        unread = [row for row in snapshot.rows if row.is_customization_job and (row.unread or row.temporary)]
        for row in unread:
            _print(f"{stack}: {row.logical_id}: not plotted, its job could not be read: {row.failure}")
        if not jobs and not unread:
            _print(f"{stack}: no model customization jobs to plot")
        for plotted in loss_curves.plot_jobs(clients.s3, jobs, plot):
            _print(plotted.line)
            problems = problems or bool(plotted.error)
    return 1 if problems else 0


def plot_command(job: str, directory: str, region: str | None, profile: str | None) -> int:
    """Draw one job's loss curves: 0 when drawn; 1 when it has no training metrics yet or they cannot be read; 2 when
    the job cannot be read or matplotlib is missing."""
    try:
        loss_curves.require_matplotlib()
        clients = status.make_clients(region, profile)
        described = loss_curves.describe_job(clients.bedrock, job)
    except (loss_curves.PlotUnavailable, loss_curves.MetricsError, status.StatusError) as error:
        print(f"cdk-bedrock-customization plot: {error}", file=sys.stderr)
        return 2
    (plotted,) = loss_curves.plot_jobs(clients.s3, [described], Path(directory))
    _print(plotted.line)
    return 0 if plotted.path is not None else 1


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 1 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds from 1 to 3600")
    return seconds


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: give a port from 0 (any free port) to 65535")
    return int(text)


def _job_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86400:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds from 0 to 86400")
    return seconds


def _endpoint(text: str) -> str:
    url = urlsplit(text)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise argparse.ArgumentTypeError(f"{text!r}: give an http:// or https:// URL")
    return text


def _write(text: str) -> None:
    """Write text as it is (a redraw moves the cursor), whatever the terminal's encoding can show (the rest
    escaped); and when the reader has gone (| head), quietly nothing, the command going on to its exit code."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        sys.stdout.write(text.encode(encoding, "backslashreplace").decode(encoding, "replace"))
        # Flushed here, so that a reader gone is found here, not in Python's own flush at exit.
        sys.stdout.flush()
    except BrokenPipeError:  # what the reader read is what it wanted
        # Later output, and Python's flush at exit, would raise again (the signal module's documented idiom).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def problems_of(path: str, stage: str | None, findings: DatasetFindings | None = None) -> list[Problem]:
    """Every problem of the file, as written and with each stage (or only with stage), each once."""
    return ModelsFile.check(path, None if stage is None else [stage], findings)[1]


def _print(line: str) -> None:
    """Print a line as _write writes text."""
    _write(line + "\n")


if __name__ == "__main__":
    sys.exit(main())
