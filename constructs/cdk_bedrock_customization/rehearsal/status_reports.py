"""The status tables a rehearsal prints while a step deploys (``rehearse --status-every MINUTES``): what
``cdk-bedrock-customization status STACK`` shows of each stack being deployed, read by ``status.read_stack``
through the rehearsal's own clients (its local CloudFormation, which answers ListStackResources from the stacks'
records, and the Bedrock stand-in), rendered by ``status.render`` and printed through the rehearsal's printer.

StatusReports is an actor of the virtual clock, as BedrockWorld is (clock.py): it sleeps through the clock to
each table, due every so many simulated minutes from the start of the step, and ends with the step. So the
tables come at the same simulated instants, after Bedrock's moves of that instant (those wake first), and say
the same on every run, however fast or loaded the machine.

The stand-in stamps what it does on the simulated clock too (BedrockStandIn.use_clock), so a read's times are
simulated ones.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from typing import Any

import boto3

from .. import status
from ..emulation.bedrock_stand_in import BedrockStandIn
from .clock import VirtualClock


class StatusReader:
    """status.read_stack of a rehearsal's stacks, through its CloudFormation client and the Bedrock stand-in, as
    of the simulated moment, with the lock that in-process functions and Bedrock's ticks hold."""

    def __init__(
        self, bedrock: BedrockStandIn, clock: VirtualClock, cloudformation: Any, lock: threading.RLock, region: str
    ) -> None:
        self.clock = clock
        self.lock = lock
        self.clients = status.Clients(cloudformation, bedrock.client(), boto3.client("s3", region_name=region))

    def read(self, stack: str) -> status.Snapshot:
        with self.lock:
            return status.read_stack(self.clients, stack, now=self.clock.moment)


# Longer than any step can last: a wait condition waits at most 12 hours, and a step's stacks one after another.
MAX_REPORTED_SECONDS = 48 * 3600


class StatusReports:
    """Every ``every`` simulated seconds from its start, until it is left: the status table of each stack that
    stacks() names, read by read(stack), printed by write. A context manager, entered and left by an actor (it
    waits for the reports' end through the clock)."""

    def __init__(
        self,
        clock: VirtualClock,
        every: float,
        stacks: Callable[[], Iterable[str]],
        read: Callable[[str], status.Snapshot],
        write: Callable[[str], None],
    ) -> None:
        self.clock = clock
        self.every = every
        self.stacks = stacks
        self.read = read
        self.write = write
        self._stop = clock.event()
        self._ended = clock.event()

    def __enter__(self) -> StatusReports:
        self.clock.spawn(self._run, self.clock.now(), name="status-reports")
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self.clock.wait(self._ended)

    def _run(self, start: float) -> None:
        try:
            for count in itertools.count(1):
                due = start + count * self.every
                if due - start > MAX_REPORTED_SECONDS:
                    # A step stuck with every other actor waiting forever would otherwise never end: the clock
                    # reports such a deadlock once nothing is due, which these reports would always be.
                    self.write(f"status: no more tables after {MAX_REPORTED_SECONDS // 3600} simulated hours")
                    return
                if self.clock.sleep(due - self.clock.now(), until=self._stop):
                    return
                for stack in list(self.stacks()):
                    self.write(self._table(stack))
        finally:
            self._ended.set()

    def _table(self, stack: str) -> str:
        try:
            return status.render(self.read(stack)).rstrip("\n")
        except status.StatusError as error:
            return f"status: {error}"
