"""rehearse --status-every: while a step deploys, every so many simulated minutes, the table that
`cdk-bedrock-customization status` shows of each stack being deployed, read from the rehearsal's own CloudFormation
and Bedrock, printed through its printer.

The event-driven app under test has one model: one customization job, whose deploy waits for it. Expected values
come from the timings the tests give (when the job's validation ends, when its training does), the status table's
documented layout and the job as Bedrock holds it, never from the code under test.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cdk_bedrock_customization import status
from cdk_bedrock_customization.rehearsal import __main__ as command
from cdk_bedrock_customization.rehearsal.bedrock_world import BedrockWorld, Timings
from cdk_bedrock_customization.rehearsal.clock import VirtualClock
from cdk_bedrock_customization.rehearsal.cloud import LocalCloud
from cdk_bedrock_customization.rehearsal.engine import LocalStack
from cdk_bedrock_customization.rehearsal.status_reports import StatusReports

STACK = "RehearsalUnderTest"
JOB = "Custom::BedrockModelCustomizationJob"
EVERY = 15  # simulated minutes between tables
# The job validates (and processes its data) for 20 simulated minutes, then trains until minute 60: the deploy
# ends at 01:00:00, when the job completes.
VALIDATION_MINUTES, JOB_MINUTES = 20, 60
AFTER_THE_STEP = 3 * 3600.0  # simulated seconds that pass once the deploy has ended
HEADINGS = ["RESOURCE", "KIND", "NAME", "CLOUDFORMATION", "STATUS"]  # the columns every table has
STAMP = re.compile(r"^\[(\d\d:\d\d:\d\d)\] ")


@dataclass
class Rehearsed:
    lines: list[str]  # everything the rehearsal printed, stamped
    succeeded: bool
    ended_at: float  # simulated seconds
    job_name: str
    job_logical_id: str


def rehearse(assembly: Path, status_every: float | None) -> Rehearsed:
    """Deploy the assembly, then let three simulated hours pass."""
    lines: list[str] = []
    timings = Timings(job_minutes=JOB_MINUTES, validation_minutes=VALIDATION_MINUTES)
    with LocalCloud(timings=timings, write=lines.append, status_every=status_every) as local:
        (outcome,) = local.deploy(assembly).values()
        ended_at = local.clock.now()
        local.clock.sleep(AFTER_THE_STEP)
        (job,) = local.bedrock.jobs()
        (resource,) = local.stacks[STACK].resources.of_type(JOB)
    return Rehearsed(lines, outcome.succeeded, ended_at, str(job["jobName"]), resource.logical_id)


def is_table(line: str) -> bool:
    """A status table of the stack, printed as one stamped entry (its summary line first)."""
    match = STAMP.match(line)
    return match is not None and line[match.end() :].startswith(f"{STACK}: [")


def tables(lines: list[str]) -> list[tuple[str, list[str]]]:
    """The status tables printed: (the stamp, the table's lines without it), in order."""
    return [(line[1:9], line[11:].splitlines()) for line in lines if is_table(line)]


@pytest.fixture(scope="module")
def rehearsed(assemblies: dict[str, Path]) -> Rehearsed:
    return rehearse(assemblies["event-driven"], status_every=EVERY)


@pytest.mark.slow
def test_a_table_comes_every_interval_of_simulated_time_until_the_step_ends(rehearsed):
    assert rehearsed.succeeded
    assert rehearsed.ended_at == JOB_MINUTES * 60
    # Every 15 minutes from the step's start, while it deploys: none at 01:00:00 (the step ended at that instant,
    # before the table was due to be read) nor in the three hours after it.
    assert [stamp for stamp, _ in tables(rehearsed.lines)] == ["00:15:00", "00:30:00", "00:45:00"]


@pytest.mark.slow
def test_a_table_shows_the_job_in_progress_with_its_sub_task_statuses_and_simulated_elapsed_time(rehearsed):
    by_stamp = dict(tables(rehearsed.lines))
    # Each as the status command lays it out: a summary, a blank line, the header, one row per model resource.
    expected = {
        "00:15:00": ("InProgress", "NotStarted", "NotStarted", "15m00s"),  # validating
        "00:30:00": ("Completed", "Completed", "InProgress", "30m00s"),  # training
        "00:45:00": ("Completed", "Completed", "InProgress", "45m00s"),
    }
    for stamp, (validation, data_processing, training, elapsed) in expected.items():
        summary, blank, header, row, *rest = by_stamp[stamp]
        assert summary == (
            f"{STACK}: [--------------------] 0/1 settled, 1 in progress, 0 failed (as of 2026-01-01 {stamp} UTC)"
        )
        assert (blank, rest) == ("", [])
        assert header.split() == [*HEADINGS, "VALIDATION", "DATA", "PROCESSING", "TRAINING", "ELAPSED"]
        assert row.split() == [
            rehearsed.job_logical_id,
            "ModelCustomizationJob",
            rehearsed.job_name,
            "CREATE_COMPLETE",  # the job's resource; CloudFormation waits for it on a wait condition
            "InProgress",
            validation,
            data_processing,
            training,
            elapsed,
        ]


def stalled(original: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.02)  # a thread held up, as on a loaded machine
        return original(*args, **kwargs)

    return run


@pytest.mark.slow
def test_the_output_is_the_same_on_a_loaded_machine(rehearsed, assemblies, monkeypatch):
    """Every printed line, the tables and their simulated stamps and times included, in the same order, when every
    in-process function and every move of Bedrock is held up in real time."""
    monkeypatch.setattr(LocalStack, "_invoke_python", stalled(LocalStack._invoke_python))
    monkeypatch.setattr(BedrockWorld, "tick", stalled(BedrockWorld.tick))

    again = rehearse(assemblies["event-driven"], status_every=EVERY)

    assert again.lines == rehearsed.lines


@pytest.mark.slow
def test_the_tables_change_nothing_else_and_are_off_by_default(rehearsed, assemblies):
    without = rehearse(assemblies["event-driven"], status_every=None)

    assert tables(without.lines) == []
    assert (without.succeeded, without.ended_at) == (rehearsed.succeeded, rehearsed.ended_at)
    assert without.lines == [line for line in rehearsed.lines if not is_table(line)]


# --- the command ----------------------------------------------------------------------------------------------


def test_the_command_gives_the_rehearsal_the_interval(monkeypatch, tmp_path):
    given: list[float | None] = []

    def rehearse_steps(_steps: Any, local: LocalCloud, _templates: Any = ()) -> int:
        given.append(local.status_every)
        return 0

    monkeypatch.setattr(command, "synthesize", lambda _app, outdir, _context=None, **_printing: outdir)
    monkeypatch.setattr(command, "rehearse", rehearse_steps)

    assert command.main(["--app", "true", "--status-every", "7.5"]) == 0
    assert command.main(["--app", "true"]) == 0
    assert given == [7.5, None]


@pytest.mark.parametrize("given", ["0", "-5", "nan", "inf", "soon"])
def test_an_interval_that_is_not_a_positive_number_of_minutes_is_refused(given, capsys):
    with pytest.raises(SystemExit) as refused:
        command.main(["--app", "true", "--status-every", given])

    assert refused.value.code == 2
    assert f"--status-every: give a positive number of minutes: {given!r}" in capsys.readouterr().err


@pytest.mark.parametrize("given", ["0.5", "1e-9"])
def test_an_interval_under_a_minute_is_refused(given, capsys):
    """A table for each simulated second (or less) of a job that runs for hours would never end."""
    with pytest.raises(SystemExit) as refused:
        command.main(["--app", "true", "--status-every", given])

    assert refused.value.code == 2
    assert f"--status-every: give a number of minutes, at least 1: {given!r}" in capsys.readouterr().err


def _unreadable(stack: str) -> Any:
    raise status.StatusError(f"Stack with id {stack} does not exist")


def test_tables_come_every_interval_from_the_steps_own_start_and_an_unreadable_stack_says_why():
    """--status-every MINUTES counts from the step's start (the README: every MINUTES of simulated time while a step
    deploys): an update step starting at minute 100 gets its first table at 115, not every one overdue since 0. A
    stack that cannot be read prints the status command's error line, and the tables go on."""
    clock = VirtualClock()
    written: list[tuple[float, str]] = []
    with clock.actor():
        clock.sleep(100 * 60)  # the step before took 100 simulated minutes
        with StatusReports(
            clock, 15 * 60, lambda: ["Second"], _unreadable, lambda line: written.append((clock.now(), line))
        ):
            clock.sleep(40 * 60)
    line = "status: Stack with id Second does not exist"
    assert written == [(115 * 60, line), (130 * 60, line)]


def test_a_step_longer_than_twelve_simulated_hours_keeps_its_tables():
    """A step's stacks deploy one after another, each waiting up to 12 hours on a wait condition (CloudFormation's
    WaitCondition Timeout maximum, 43200 s): a 13-hour step gets a table every interval to its end."""
    clock = VirtualClock()
    written: list[tuple[float, str]] = []
    with (
        clock.actor(),
        StatusReports(clock, 3600, lambda: ["Long"], _unreadable, lambda line: written.append((clock.now(), line))),
    ):
        clock.sleep(13 * 3600 + 1)
    assert written == [(hour * 3600, "status: Stack with id Long does not exist") for hour in range(1, 14)]
