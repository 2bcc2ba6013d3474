"""What a rehearsal tells: the stack events as the console and `cdk deploy` show them, stamped with the
simulated clock (Printer), and what each stack operation did (Outcome), for the report at its end."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .clock import VirtualClock


class Printer:
    """Stack events, as the console and `cdk deploy` show them, on the simulated clock."""

    def __init__(self, clock: VirtualClock, write: Callable[[str], None] = print) -> None:
        self.clock = clock
        self._write = write
        self._lock = threading.Lock()
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        seconds = int(self.clock.now())
        stamp = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        with self._lock:
            self.lines.append(text)
            self._write(f"[{stamp}] {text}")

    def event(self, status: str, deployed_type: str, logical_id: str, reason: str = "") -> None:
        self.line(f"{status:<28} {deployed_type:<46} {logical_id}" + (f"  {reason}" if reason else ""))


@dataclass
class Outcome:
    """What a stack operation did, for the report.

    status: the stack's status at the end (UPDATE_COMPLETE, ROLLBACK_COMPLETE, UPDATE_ROLLBACK_FAILED...);
    update_started: every resource whose update started, whether it completed (updated in place, replaced)
    or failed; after a failed update, each got a rollback Update, and those that completed are rolled_back;
    rollback_reason: why the rollback failed; delete_failed: the resources whose delete failed (DELETE_FAILED:
    what DeleteStack's RetainResources may then name)."""

    operation: str
    succeeded: bool
    reason: str = ""
    created: list[str] = field(default_factory=list)
    updated_in_place: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    retained: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    status: str = ""
    update_started: list[str] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)
    rollback_reason: str = ""
    delete_failed: list[str] = field(default_factory=list)

    @property
    def rollback_failed(self) -> bool:
        return self.status.endswith("ROLLBACK_FAILED")
