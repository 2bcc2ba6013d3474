"""The status tables a rehearsal prints while a step deploys (``rehearse --status-every MINUTES``): what
``cdk-bedrock-customization status STACK`` shows of each stack being deployed, read by ``status.read_stack``
through the rehearsal's own clients (its local CloudFormation, which answers ListStackResources from the stacks'
records, and the Bedrock stand-in), rendered by ``status.render`` and printed through the rehearsal's printer.

StatusReports is an actor of the virtual clock, as BedrockWorld is (clock.py): it sleeps through the clock to
each table, due every so many simulated minutes from the start of the step, and ends with the step. So the
tables come at the same simulated instants, after Bedrock's moves of that instant (those wake first), and say
the same on every run, however fast or loaded the machine.

BedrockTimes: the stand-in stamps what it does with the machine's clock (a job made at simulated hour 3 was
"created" a few real seconds after one made at hour 0), so the times of a status read are moved onto the
simulated clock: a resource was created when the rehearsal first saw it, and ended or last changed when it last
saw it change. It looks after every tick of Bedrock's world, which runs at the simulated instant of every change
(its own moves, and each handler call, which wakes it: time stands still until it has run), and before each read.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3

from .. import status
from ..emulation.bedrock_stand_in import BedrockStandIn
from .clock import EPOCH, VirtualClock

# The stand-in's listings of what status reads (each item as its read describes it), and the member that is the
# item's ARN (the physical id the read is given).
_LISTINGS = (
    ("jobs", "jobArn"),
    ("models", "modelArn"),
    ("imported_models", "modelArn"),
    ("import_jobs", "jobArn"),
    ("copy_jobs", "jobArn"),
    ("evaluation_jobs", "jobArn"),
    ("deployments", "customModelDeploymentArn"),
    ("throughputs", "provisionedModelArn"),
)
# The times status reads of a resource, for its ELAPSED: when it was created; when it ended, or last changed.
_CREATED = ("creationTime", "createdAt")
_CHANGED = ("endTime", "lastModifiedTime", "lastUpdatedAt")
_IDENTIFIER = "rehearsal_status_identifier"  # the request context's key for the read's identifier


@dataclass
class _Seen:
    created: float  # simulated seconds
    changed: float
    signature: str  # the item as last seen


class BedrockTimes:
    """When, in simulated time, each resource of the stand-in was first seen and last changed."""

    def __init__(self, bedrock: BedrockStandIn, clock: VirtualClock) -> None:
        self.bedrock = bedrock
        self.clock = clock
        self._seen: dict[str, _Seen] = {}

    def observe(self) -> None:
        """Note each resource that is new, or changed since the last look, as new or changed now."""
        now = self.clock.now()
        for listing, member in _LISTINGS:
            for item in getattr(self.bedrock, listing)():
                arn, signature = str(item[member]), json.dumps(item, sort_keys=True, default=str)
                seen = self._seen.get(arn)
                if seen is None:
                    self._seen[arn] = _Seen(now, now, signature)
                elif seen.signature != signature:
                    seen.changed, seen.signature = now, signature

    def after(self, tick: Callable[[], None]) -> Callable[[], None]:
        """tick (BedrockWorld's), followed by a look."""

        def observed() -> None:
            tick()
            self.observe()

        return observed

    def client(self) -> Any:
        """A client of the stand-in whose reads answer the simulated times of the resource they read."""
        client = self.bedrock.client()
        client.meta.events.register("provide-client-params.bedrock", _remember_identifier)
        client.meta.events.register("after-call.bedrock", self._simulated)
        return client

    def _simulated(self, parsed: dict[str, Any], context: Mapping[str, Any], **_kwargs: Any) -> None:
        seen = self._seen.get(str(context.get(_IDENTIFIER)))
        if seen is None:
            return
        for members, at in ((_CREATED, seen.created), (_CHANGED, seen.changed)):
            for member in members:
                if member in parsed:
                    parsed[member] = EPOCH + timedelta(seconds=at)


def _remember_identifier(params: Mapping[str, Any], context: dict[str, Any], **_kwargs: Any) -> None:
    """A read's one request member is the resource's ARN (status passes the physical id)."""
    context[_IDENTIFIER] = next((value for value in params.values() if isinstance(value, str)), None)


class StatusReader:
    """status.read_stack of a rehearsal's stacks, through its CloudFormation client and the Bedrock stand-in, as
    of the simulated moment, with the lock that in-process functions and Bedrock's ticks hold."""

    def __init__(
        self, bedrock: BedrockStandIn, clock: VirtualClock, cloudformation: Any, lock: threading.RLock, region: str
    ) -> None:
        self.clock = clock
        self.times = BedrockTimes(bedrock, clock)
        self.lock = lock
        self.clients = status.Clients(cloudformation, self.times.client(), boto3.client("s3", region_name=region))

    def read(self, stack: str) -> status.Snapshot:
        with self.lock:
            self.times.observe()
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
