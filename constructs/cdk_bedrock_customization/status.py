"""cdk-bedrock-customization status: every model resource of a deployed stack, as Bedrock describes it now.

    cdk-bedrock-customization status STACK [--watch [--interval SECONDS]] [--plot DIR] [--region R] [--profile P]

``read_stack`` lists the stack's resources (CloudFormation ListStackResources, every page; a nested stack's too, by
its id, its rows labelled with the path of logical ids), keeps those whose type ``contract.CONTRACTS`` declares, and
reads each with the Bedrock operation its declaration names (``managed.read``): its one required request member
(taken from the service model) is the resource's physical id, the ARN of the job, model, deployment or throughput.
Each becomes a ``Row``, its fields named and read as the API names them; any other resource that failed becomes a
row too. ``StackReader`` reads the stack again and again by its unique id (DescribeStacks, which also gives the
stack's own status): a deleted stack can only be listed by its id.

``render`` is pure: a ``Snapshot`` (rows) becomes text. ``watch`` reads and renders again every ``interval`` seconds
(the sleep is injected), redrawing in place on a terminal (ANSI cursor movement) and appending otherwise, until
nothing is in progress.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.session
from bedrock_custom_resource import aws, contract, customization_job, model_evaluation
from botocore import xform_name
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import BotoCoreError, ClientError
from botocore.retries.standard import RetryContext, ThrottledRetryableChecker, TransientRetryableChecker

# Statuses of the read operations' status members (their enums in the service model) and of a deployment's update
# (updateDetails.updateStatus): what is still moving, what has failed, and what has settled (ended, or a sub-task
# not started); the tests check that every enum value of every read is one of them. A value in none (one Bedrock
# added since) counts as failed, so that a gate on the command's exit code does not pass on what it cannot judge.
IN_PROGRESS = frozenset({"InProgress", "Stopping", "Creating", "Updating", "Deleting"})
FAILED = frozenset({"Failed", "UpdateFailed"})
SETTLED = frozenset({"Completed", "Stopped", "Active", "InService", "UpdateCompleted", "NotStarted"})
# The read responses' members, as the API names them.
_START_MEMBERS = ("creationTime", "createdAt")
_END_MEMBERS = ("endTime",)
_LAST_CHANGE_MEMBERS = ("lastModifiedTime", "lastUpdatedAt")
_PROGRESS_WIDTH = 20


class StatusError(Exception):
    """The stack cannot be read: no such stack, no credentials, access denied."""


class TemporaryStatusError(StatusError):
    """The stack cannot be read for now: throttled, a 5xx, a connection error (a watch reads it again later)."""


@dataclass(frozen=True)
class Clients:
    cloudformation: Any
    bedrock: Any
    s3: Any


def make_clients(region: str | None = None, profile: str | None = None) -> Clients:
    """Clients of one session (the profile's, or the environment's), Bedrock's speaking the service model that the
    handler ships (so that it knows the members it reads whatever botocore is installed)."""
    try:
        core = botocore.session.Session(profile=profile)
        core.set_config_variable("data_path", str(contract.SERVICE_DATA_PATH))
        session = boto3.session.Session(botocore_session=core, region_name=region)
        return Clients(
            cloudformation=session.client("cloudformation", config=aws.RETRY_CONFIG),
            bedrock=session.client("bedrock", config=aws.RETRY_CONFIG),
            s3=session.client("s3", config=aws.RETRY_CONFIG),
        )
    except BotoCoreError as error:  # no Region, no such profile
        raise StatusError(f"{error} (--region, --profile)") from error


@dataclass(frozen=True)
class Row:
    """One model resource of the stack: what CloudFormation says of it and what Bedrock says of what it names."""

    logical_id: str
    resource_type: str
    cloudformation_status: str
    cloudformation_reason: str = ""
    arn: str | None = None  # the physical id, when it is an ARN of what the resource type manages
    arn_type: str = ""  # the resource type that ARN names (managed.arn_type)
    name: str = ""
    status: str = ""  # Bedrock's; empty when not read
    update_status: str = ""  # a deployment's update in progress or done (updateDetails.updateStatus)
    # The sub-tasks of a customization job (statusDetails' members, in the service model's order) and their statuses.
    sub_tasks: tuple[tuple[str, str], ...] = ()
    elapsed: timedelta | None = None
    training_loss: float | None = None
    validation_losses: tuple[float, ...] = ()
    failure: str = ""  # Bedrock's failure message(s), or why it could not be read
    temporary: bool = False  # it could not be read for now (throttled, a 5xx, no connection): not known, not failed
    output_s3_uri: str = ""  # a customization job's outputDataConfig.s3Uri, where its metrics are

    @property
    def kind(self) -> str:
        """The resource type without its Custom::Bedrock prefix (ModelCustomizationJob, ProvisionedModelThroughput)."""
        return self.resource_type.removeprefix("Custom::Bedrock")

    @property
    def in_progress(self) -> bool:
        moving = self.status in IN_PROGRESS or self.update_status in IN_PROGRESS or self.temporary
        return self.cloudformation_status.endswith("_IN_PROGRESS") or (moving and not self.left_the_stack)

    @property
    def left_the_stack(self) -> bool:
        """Deleted, or kept outside the stack by its policy: what Bedrock says of it no longer moves or fails the
        stack (a job its Delete stopped is Stopped; one RETAIN kept runs on)."""
        return self.cloudformation_status in ("DELETE_COMPLETE", "DELETE_SKIPPED")

    @property
    def failed(self) -> bool:
        """Failed as CloudFormation or Bedrock says (a status the handler takes for a failure of its kind, a Stopped
        customization job too, or one this version does not know), or named by an ARN that could not be read (an
        AccessDenied, say): nothing can be said of it, so nothing is settled."""
        statuses = {self.status, self.update_status}
        failed_in_bedrock = bool(statuses & _failed_statuses(self.arn_type) or unknown_statuses(statuses))
        return (
            self.cloudformation_status.endswith("_FAILED")
            or (failed_in_bedrock and not self.left_the_stack)
            or self.unread
        )

    @property
    def unread(self) -> bool:
        """Named by an ARN that could not be read, though the stack holds it (not one it deletes or deleted)."""
        return (
            self.arn is not None
            and not self.status
            and bool(self.failure)
            and not self.temporary
            and not self.cloudformation_status.startswith("DELETE_")
        )

    @property
    def is_customization_job(self) -> bool:
        return self.arn is not None and self.arn_type == _customization_job_arn_type()


def unknown_statuses(statuses: Iterable[str]) -> list[str]:
    """Those of statuses this version does not know (nor moving, nor failed, nor settled); "" is no status."""
    return sorted(set(statuses) - IN_PROGRESS - FAILED - SETTLED - {""})


@functools.cache
def _failed_statuses(arn_type: str) -> frozenset[str]:
    """FAILED, and the statuses the handler itself takes for a failure of what an ARN of that type names."""
    unsuccessful = {
        contract.CONTRACTS[contract.CUSTOMIZATION_JOB].managed.arn_type: customization_job.UNSUCCESSFUL,
        contract.CONTRACTS[contract.MODEL_EVALUATION].managed.arn_type: model_evaluation.UNSUCCESSFUL,
    }
    return FAILED | unsuccessful.get(arn_type, frozenset())


@dataclass(frozen=True)
class Snapshot:
    stack: str
    read_at: datetime
    rows: tuple[Row, ...] = ()
    # The stack's other resources still in progress (logical ids): its wait conditions (a job may have ended and its
    # wait not yet be signalled: a lost event, until the backstop), a nested stack that holds models, what the
    # models are made after (the provider's function): the deployment still goes on.
    waiting: tuple[str, ...] = ()
    stack_status: str = ""  # the stack's own (DescribeStacks), when read
    stack_reason: str = ""

    @property
    def busy(self) -> bool:
        # REVIEW_IN_PROGRESS: a change set made and not executed, which nothing moves on from until someone does.
        moving = self.stack_status.endswith("_IN_PROGRESS") and self.stack_status != "REVIEW_IN_PROGRESS"
        return bool(self.in_progress or self.waiting or moving)

    @property
    def stack_failed(self) -> bool:
        """The stack's last operation failed, though a rollback may since have undone what it made
        (ROLLBACK_COMPLETE, UPDATE_ROLLBACK_COMPLETE)."""
        return self.stack_status.endswith("_FAILED") or "ROLLBACK" in self.stack_status

    @property
    def unknown(self) -> list[Row]:
        """Rows that could not be read for now, and whose reading counts (not one that left the stack)."""
        return [row for row in self.rows if row.temporary and not row.left_the_stack]

    @property
    def in_progress(self) -> list[Row]:
        return [row for row in self.rows if row.in_progress]

    @property
    def failed(self) -> list[Row]:
        return [row for row in self.rows if row.failed]


# --- reading ------------------------------------------------------------------------------------------------------


# What another resource of the stack being made or changed is in: the deployment goes on. One being deleted is not
# waited for (the stack's delete outlives its models: StackReader waits for the stack's own status).
STILL_MAKING = frozenset({"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "IMPORT_IN_PROGRESS"})
NESTED_STACK = "AWS::CloudFormation::Stack"


def read_stack(clients: Clients, stack: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Snapshot:
    """The stack's model resources (its nested stacks' too), each read from Bedrock (each ARN once, though a result
    reader names it again), and its other resources that failed."""
    summaries = _stack_resources(clients.cloudformation, stack)
    read_at = now()
    reads: dict[str, Mapping[str, Any] | _Unread] = {}
    rows = []
    for summary in summaries:
        declared = contract.CONTRACTS.get(summary.get("ResourceType", ""))
        if declared is not None:
            rows.append(_row(clients.bedrock, declared, summary, read_at, reads))
        elif str(summary.get("ResourceStatus", "")).endswith("_FAILED"):
            rows.append(_other_row(summary))
    waiting = tuple(
        str(summary["LogicalResourceId"])
        for summary in summaries
        if summary.get("ResourceType") not in contract.CONTRACTS
        and str(summary.get("ResourceStatus", "")) in STILL_MAKING
    )
    return Snapshot(stack, read_at, tuple(rows), waiting)


def _stack_resources(cloudformation: Any, stack: str, path: str = "") -> list[Mapping[str, Any]]:
    """The resources of the stack and of its nested stacks (ListStackResources lists a stack's own only), each
    nested one's logical id prefixed with the path of the nested stacks that hold it (Models/Job)."""
    summaries: list[Mapping[str, Any]] = []
    try:
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack):
            summaries.extend(page.get("StackResourceSummaries", []))
    except (ClientError, BotoCoreError) as error:  # no such stack, no credentials, no Region, no connection
        raise _stack_error(stack, error) from error
    labelled: list[Mapping[str, Any]] = []
    for summary in summaries:
        logical_id = f"{path}{summary['LogicalResourceId']}"
        labelled.append({**summary, "LogicalResourceId": logical_id})
        if summary.get("ResourceType") == NESTED_STACK and summary.get("PhysicalResourceId"):
            labelled.extend(_stack_resources(cloudformation, str(summary["PhysicalResourceId"]), f"{logical_id}/"))
    return labelled


def _stack_error(stack: str, error: Exception) -> StatusError:
    message = f"{aws.error_code(error)}: {aws.error_message(error)}" if isinstance(error, ClientError) else error
    return (TemporaryStatusError if temporary(error) else StatusError)(f"{stack}: {message}")


_TEMPORARY_CHECKERS = (ThrottledRetryableChecker(), TransientRetryableChecker())


def temporary(error: Exception) -> bool:
    """Throttled, a 5xx, a connection error: what botocore's standard retry mode takes for one that may pass
    (botocore.retries.standard), though the client's own retries have run out."""
    response: Mapping[str, Any] | None = getattr(error, "response", None) if isinstance(error, ClientError) else None
    metadata: Mapping[str, Any] = (response or {}).get("ResponseMetadata") or {}
    code = int(metadata.get("HTTPStatusCode") or 0)
    context = RetryContext(
        attempt_number=1,
        parsed_response=response,
        http_response=AWSResponse("", code, HTTPHeaders(), None) if code else None,
        caught_exception=None if response is not None else error,
    )
    return any(checker.is_retryable(context) for checker in _TEMPORARY_CHECKERS)


def _other_row(summary: Mapping[str, Any]) -> Row:
    """Another resource of the stack that failed (a wait condition, a nested stack): a row, so that its reason is
    shown and the failure counted."""
    return Row(
        logical_id=str(summary["LogicalResourceId"]),
        resource_type=str(summary.get("ResourceType", "")),
        cloudformation_status=str(summary.get("ResourceStatus", "")),
        cloudformation_reason=_one_line(str(summary.get("ResourceStatusReason", ""))),
    )


@dataclass
class StackReader:
    """Reads the stack again and again, by its unique id once DescribeStacks has given it (ListStackResources and
    DescribeStacks find a deleted stack by its id only), with the stack's own status."""

    clients: Clients
    stack: str
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    stack_id: str = ""

    def __call__(self) -> Snapshot:
        described = self._describe(self.stack_id or self.stack)
        self.stack_id = str(described["StackId"])
        snapshot = read_stack(self.clients, self.stack_id, self.now)
        return dataclasses.replace(
            snapshot,
            stack=self.stack,
            stack_status=str(described.get("StackStatus", "")),
            stack_reason=_one_line(str(described.get("StackStatusReason", ""))),
        )

    def _describe(self, stack: str) -> Mapping[str, Any]:
        try:
            (described,) = self.clients.cloudformation.describe_stacks(StackName=stack)["Stacks"]
        except (ClientError, BotoCoreError) as error:
            raise _stack_error(stack, error) from error
        return described  # type: ignore[no-any-return]


def _row(
    bedrock: Any,
    declared: contract.ResourceContract,
    summary: Mapping[str, Any],
    read_at: datetime,
    reads: dict[str, Mapping[str, Any] | _Unread],
) -> Row:
    managed = declared.managed
    physical_id = str(summary.get("PhysicalResourceId", ""))
    row = Row(
        logical_id=str(summary["LogicalResourceId"]),
        resource_type=declared.resource_type,
        cloudformation_status=str(summary.get("ResourceStatus", "")),
        cloudformation_reason=_one_line(str(summary.get("ResourceStatusReason", ""))),
        arn_type=managed.arn_type,
    )
    # Not yet created, or a create that failed (the Provider framework's CREATE_FAILED id): nothing to read.
    if not (physical_id.startswith("arn:") and f":{managed.arn_type}/" in physical_id):
        return row
    if physical_id not in reads:
        reads[physical_id] = _read(bedrock, managed.read, physical_id)
    described = reads[physical_id]
    if isinstance(described, _Unread):
        return dataclasses.replace(row, arn=physical_id, failure=described.message, temporary=described.temporary)
    return _described(dataclasses.replace(row, arn=physical_id), declared, described, read_at)


def _read(bedrock: Any, operation: str, arn: str) -> Mapping[str, Any] | _Unread:
    """What the read operation answers, or why it failed (one line)."""
    method = getattr(bedrock, xform_name(operation))
    try:
        response: Mapping[str, Any] = method(**{_identifier_member(operation): arn})
    except ClientError as error:
        message = f"{operation}: {aws.error_code(error)}: {_one_line(aws.error_message(error))}"
        return _Unread(message, temporary(error))
    except BotoCoreError as error:
        return _Unread(f"{operation}: {_one_line(str(error))}", temporary(error))
    return response


@dataclass(frozen=True)
class _Unread:
    """Why a read failed (one line), and whether that may pass."""

    message: str
    temporary: bool


def _described(row: Row, declared: contract.ResourceContract, described: Mapping[str, Any], read_at: datetime) -> Row:
    status = str(described.get(_status_member(declared.managed.read), ""))
    update_status = str((described.get("updateDetails") or {}).get("updateStatus", ""))
    details = described.get("statusDetails") or {}
    sub_tasks = tuple(
        (member, str((details.get(member) or {}).get("status", ""))) for member in _sub_task_members() if details
    )
    failures = [*(described.get("failureMessages") or [described.get("failureMessage") or ""])]
    failures += [
        f"Bedrock's status {unknown!r} is not one this version of cdk-bedrock-customization knows (counted as "
        "failed while the stack holds it)"
        for unknown in unknown_statuses([status, update_status])
    ]
    validation = [metric.get("validationLoss") for metric in described.get("validationMetrics") or []]
    return dataclasses.replace(
        row,
        name=next((str(described[m]) for m in _name_members(declared) if described.get(m)), ""),
        status=status,
        update_status=update_status,
        sub_tasks=sub_tasks,
        elapsed=_elapsed(described, status in IN_PROGRESS or update_status in IN_PROGRESS, read_at),
        training_loss=(described.get("trainingMetrics") or {}).get("trainingLoss"),
        validation_losses=tuple(float(loss) for loss in validation if loss is not None),
        failure=_one_line("; ".join(str(message) for message in failures if message)),
        output_s3_uri=str((described.get("outputDataConfig") or {}).get("s3Uri", ""))
        if row.is_customization_job
        else "",
    )


def _elapsed(described: Mapping[str, Any], moving: bool, read_at: datetime) -> timedelta | None:
    """From its creation until now (while it moves), or until it ended (endTime; else its last change)."""
    started = _first_time(described, _START_MEMBERS)
    if started is None:
        return None
    ended = read_at if moving else _first_time(described, _END_MEMBERS + _LAST_CHANGE_MEMBERS)
    return None if ended is None else max(ended - started, timedelta(0))


def _first_time(described: Mapping[str, Any], members: Sequence[str]) -> datetime | None:
    for member in members:
        value = described.get(member)
        if isinstance(value, datetime):
            return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return None


@functools.cache
def _identifier_member(operation: str) -> str:
    """The one member a read request requires: the resource's name or ARN (jobIdentifier, jobArn,
    customModelDeploymentIdentifier, provisionedModelId...)."""
    request = contract.service_model().operation_model(operation).input_shape
    assert request is not None
    (member,) = request.required_members
    return str(member)


@functools.cache
def _status_member(operation: str) -> str:
    """The member of a read response that holds the resource's status (status; modelStatus for a custom model)."""
    response = contract.service_model().operation_model(operation).output_shape
    assert response is not None
    members: Mapping[str, Any] = response.members
    (member,) = [
        name
        for name, shape in members.items()
        if (name == "status" or name.endswith("Status")) and shape.type_name == "string" and shape.enum
    ]
    return str(member)


@functools.cache
def _sub_task_members() -> tuple[str, ...]:
    """A customization job's sub-tasks: the members of its statusDetails, in the service model's order."""
    details: Any = contract.shape("StatusDetails")
    return tuple(details.members)


def sub_task_heading(member: str) -> str:
    """dataProcessingDetails -> DATA PROCESSING."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", member.removesuffix("Details")).upper()


def _name_members(declared: contract.ResourceContract) -> tuple[str, ...]:
    """The response members that name what the resource manages: its declaration's name members (what a copy job
    makes names it: it has no name of its own); for a reader, those of the types that create what it reads."""
    return _names_of(declared.resource_type)


@functools.cache
def _names_of(resource_type: str) -> tuple[str, ...]:
    declared = contract.CONTRACTS[resource_type]
    own = _declared_names(declared)
    if own:
        return own
    return tuple(
        name
        for other in contract.CONTRACTS.values()
        if other.managed.arn_type == declared.managed.arn_type
        for name in _declared_names(other)
    )


def _declared_names(declared: contract.ResourceContract) -> tuple[str, ...]:
    managed = declared.managed
    names = [managed.name_member, managed.made.name_member if managed.made else None]
    return tuple(name for name in names if name is not None)


@functools.cache
def _customization_job_arn_type() -> str:
    return contract.CONTRACTS[contract.CUSTOMIZATION_JOB].managed.arn_type


def _one_line(text: str) -> str:
    """text without line breaks or control characters (which would break the table or move the cursor)."""
    return "".join(character if character.isprintable() else " " for character in text).strip()


# --- rendering ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    heading: str
    cell: Callable[[Row], str]
    always: bool = False  # shown even when no row has a value


def _columns() -> list[_Column]:
    columns = [
        _Column("RESOURCE", lambda row: row.logical_id, always=True),
        _Column("KIND", lambda row: row.kind, always=True),
        _Column("NAME", lambda row: row.name, always=True),
        _Column("CLOUDFORMATION", lambda row: row.cloudformation_status, always=True),
        _Column("STATUS", _status_cell, always=True),
    ]
    for member in _sub_task_members():
        columns.append(_Column(sub_task_heading(member), _sub_task_cell(member)))
    columns += [
        _Column("ELAPSED", lambda row: format_elapsed(row.elapsed) if row.elapsed is not None else ""),
        _Column("TRAINING LOSS", lambda row: _loss(row.training_loss)),
        _Column("VALIDATION LOSS", lambda row: ", ".join(_loss(loss) for loss in row.validation_losses)),
    ]
    return columns


def _sub_task_cell(member: str) -> Callable[[Row], str]:
    return lambda row: dict(row.sub_tasks).get(member, "")


def _status_cell(row: Row) -> str:
    return f"{row.status} (update {row.update_status})" if row.update_status else row.status


def _loss(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def format_elapsed(elapsed: timedelta) -> str:
    """45s, 12m05s, 3h07m, 2d04h."""
    seconds = int(elapsed.total_seconds())
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s"


def progress_bar(done: int, total: int, width: int = _PROGRESS_WIDTH) -> str:
    filled = width if total == 0 else width * done // total
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def render(snapshot: Snapshot) -> str:
    """The snapshot as text: a summary line with a progress bar, then a table of the resources (a column that no
    resource has a value for is left out; '-': not applicable), each failure on an indented line under its row."""
    rows = snapshot.rows
    stamp = snapshot.read_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    stack_failure = _stack_failure(snapshot)
    if not rows:
        return f"{snapshot.stack}: no model resources (as of {stamp})\n" + stack_failure
    moving, failed = len(snapshot.in_progress), len(snapshot.failed)
    settled = len(rows) - moving
    summary = (
        f"{snapshot.stack}: {progress_bar(settled, len(rows))} {settled}/{len(rows)} settled, "
        f"{moving} in progress, {failed} failed (as of {stamp})"
    )
    columns = [column for column in _columns() if column.always or any(column.cell(row) for row in rows)]
    cells = [[column.cell(row) or "-" for column in columns] for row in rows]
    widths = [max(len(column.heading), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    lines = [summary, "", _table_line([column.heading for column in columns], widths)]
    for row, line in zip(rows, cells, strict=True):
        lines.append(_table_line(line, widths))
        lines.extend(f"    ! {message}" for message in _failures(row))
    return "\n".join(lines) + "\n" + stack_failure


def _stack_failure(snapshot: Snapshot) -> str:
    if not snapshot.stack_failed:
        return ""
    reason = f": {snapshot.stack_reason}" if snapshot.stack_reason else ""
    return f"! the stack is {snapshot.stack_status}{reason}\n"


def _table_line(cells: Iterable[str], widths: Sequence[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def _failures(row: Row) -> list[str]:
    messages = []
    if row.failure:
        messages.append(row.failure)
    if row.cloudformation_reason and row.cloudformation_status.endswith("_FAILED"):
        messages.append(f"CloudFormation: {row.cloudformation_reason}")
    return messages


# --- watching -----------------------------------------------------------------------------------------------------


@dataclass
class Watch:
    """Reads and renders again every ``interval`` seconds until nothing is in progress. On a terminal (``tty``),
    each drawing replaces the previous one: the cursor moves up as many rows as that one took (its lines wrapped at
    the terminal's ``width``) and clears the screen below (ANSI CPL and ED); otherwise each drawing is appended."""

    read: Callable[[], Snapshot]
    write: Callable[[str], None]
    interval: float = 30.0
    sleep: Callable[[float], None] = field(default=lambda seconds: None)
    tty: bool = False
    width: Callable[[], int] = lambda: 80
    drawn: int = 0  # how many rows of the terminal the last drawing took

    def run(self) -> Snapshot:
        while True:
            try:
                snapshot = self.read()
            except TemporaryStatusError as error:  # what is shown stays; it may pass by the next refresh
                self.warn(f"! {error}; reading again in {self.interval:g} s")
            else:
                self.draw(snapshot)
                if not snapshot.busy:
                    return snapshot
            self.sleep(self.interval)

    def warn(self, line: str) -> None:
        """A line under the last drawing, which the next one replaces too."""
        self.write(line + "\n")
        if self.tty:
            self.drawn += terminal_rows(line, max(self.width(), 1))

    def draw(self, snapshot: Snapshot) -> None:
        footer = f"refreshing every {self.interval:g} s; Ctrl-C to stop" if snapshot.busy else "nothing in progress"
        waits = [f"the stack still waits: {', '.join(snapshot.waiting)}"] if snapshot.waiting else []
        lines = [*render(snapshot).splitlines(), *waits, footer]
        if not self.tty:
            self.write("\n".join(lines) + "\n\n")
            return
        erase = f"\x1b[{self.drawn}F\x1b[J" if self.drawn else ""
        self.write(erase + "\n".join(lines) + "\n")
        width = max(self.width(), 1)
        self.drawn = sum(terminal_rows(line, width) for line in lines)


def terminal_rows(line: str, width: int) -> int:
    """How many rows of a terminal width columns wide the line takes (East Asian wide characters take two columns)."""
    columns = sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in line)
    return max(1, math.ceil(columns / width))
