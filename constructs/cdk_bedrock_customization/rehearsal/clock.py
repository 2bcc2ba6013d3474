"""Virtual time: a discrete-event clock that moves only when every actor of the rehearsal waits.

Actors are the threads that drive the rehearsal (``actor()``) and every thread it starts (``spawn``). An actor
is busy unless it waits through the clock: ``sleep`` (a scheduled move: a rate, a retry's interval, a job's
progress) or ``wait`` (for an event or a condition, with a timeout that expires only if nothing else happens
first). When no actor is busy, the clock jumps to the earliest deadline and wakes whoever waits for it.

Waking a waiter (an Event set, a condition that became true, a deadline reached) makes it ready at once, under
the clock's lock, before the waker can itself wait: time never jumps past work that has not run yet.

Busy actors take turns, one at a time, in the order they became ready (see VirtualClock): so the order of their
steps, and of the lines they print, does not depend on how the machine schedules threads either.

A wait on real I/O with another live party (a call into the Node process, an HTTP request to a local server)
is not a clock wait: its caller keeps its turn, so time stands still until the other side has answered (and
woken, through the clock, whoever waited for that answer). Such a wait must never need another actor to run.

Deadlines at the same instant wake in rank order, each rank once the earlier one's work is done: first the
sleeps marked ``first`` (the services' own progress: what any actor looks at in a given second has already
moved in it), then the other sleeps, then timeouts (a response, a signal or a poll due at the very second a
timeout would expire is seen before the timeout is declared). So nothing turns on the real machine's speed.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["EPOCH", "Event", "NotAnActor", "Timer", "VirtualClock"]

# What simulated second 0 is, when a timestamp needs a date (DescribeStackResource's LastUpdatedTimestamp).
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

_FIRST, _SLEEP, _TIMEOUT = -1, 0, 1  # ranks of deadlines at the same instant (see the module)


class NotAnActor(RuntimeError):
    """A thread that the clock does not count waited through it: time could jump while it works."""


class _Turn:
    """One actor's place in the clock: it runs only while it has the turn."""

    __slots__ = ("condition", "depth")

    def __init__(self, lock: threading.Lock) -> None:
        self.condition = threading.Condition(lock)
        self.depth = 1  # how many actor() blocks its thread is in (a spawned thread: 1)


class _Waiter:
    __slots__ = ("deadline", "outcome", "rank", "ready", "turn")

    def __init__(self, turn: _Turn, deadline: float | None, rank: int, ready: Callable[[], bool] | None) -> None:
        self.turn = turn
        self.deadline = deadline
        self.rank = rank
        self.ready = ready
        self.outcome: bool | None = None  # True: ready became true; False: the deadline was reached


class VirtualClock:
    """Simulated seconds since the start of a rehearsal, moved by the actors' waits (see the module).

    Actors take turns: one runs at a time (with every thread it waits for on real I/O), the others are ready
    (woken, in the order they were woken) or waiting. A waiting actor hands the turn to the first ready one;
    when none is ready, time jumps to the earliest deadline, whose waiters become ready in the order they
    started to wait. So the actors' steps, and what they print, come in the same order on every run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = 0.0
        self._actors: dict[int, _Turn] = {}  # thread id -> its turn
        self._ready: deque[_Turn] = deque()
        self._running: _Turn | None = None
        self._waiters: list[_Waiter] = []  # in the order they started to wait
        self._names = itertools.count(1)

    # --- reading -------------------------------------------------------------------------------------------

    def now(self) -> float:
        with self._lock:
            return self._now

    def moment(self) -> datetime:
        """now() as a date: EPOCH plus the simulated seconds."""
        return EPOCH + timedelta(seconds=self.now())

    # --- actors --------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def actor(self) -> Iterator[None]:
        """The calling thread is an actor for the block: it waits for its turn to start, and holds it but while
        it waits on the clock. Nested blocks, and blocks in spawned threads, change nothing."""
        ident = threading.get_ident()
        with self._lock:
            turn = self._actors.get(ident)
            if turn is not None:
                turn.depth += 1
            else:
                turn = self._actors[ident] = _Turn(self._lock)
                self._ready.append(turn)
                self._dispatch()
                self._await_turn(turn)
        try:
            yield
        finally:
            with self._lock:
                turn.depth -= 1
                if not turn.depth:
                    self._leave(ident, turn)

    def spawn(self, target: Callable[..., object], *args: Any, name: str | None = None) -> threading.Thread:
        """Start target(*args) on a new daemon thread that is an actor: ready from now (before it starts, so
        that time cannot move until it has run), running in its turn, until its end."""
        turn = _Turn(self._lock)
        with self._lock:
            self._ready.append(turn)
            self._dispatch()

        def run() -> None:
            ident = threading.get_ident()
            with self._lock:
                self._actors[ident] = turn
                self._await_turn(turn)
            try:
                target(*args)
            finally:
                with self._lock:
                    self._leave(ident, turn)

        thread = threading.Thread(target=run, name=name or f"actor-{next(self._names)}", daemon=True)
        try:
            thread.start()
        except BaseException:
            with self._lock:
                self._ready.remove(turn)
                if self._running is turn:
                    self._running = None
                self._dispatch()
            raise
        return thread

    # --- waiting -------------------------------------------------------------------------------------------

    def event(self) -> Event:
        return Event(self)

    def sleep(self, seconds: float | None, until: Event | None = None, *, first: bool = False) -> bool:
        """Sleep for seconds of simulated time (None: until the event only); True when ``until`` was set
        first (or already), False after the whole sleep. first: wake before the other sleeps that end at the
        same instant (for a service's own progress)."""
        ready = until.is_set if until is not None else None
        return self._wait(None if seconds is None else max(seconds, 0.0), _FIRST if first else _SLEEP, ready)

    def wait(self, ready: Event | Callable[[], bool], timeout: float | None = None) -> bool:
        """Wait until the event is set (or ready() is true: see notify), for at most timeout simulated seconds;
        False when the timeout expired first. A timeout expires after every sleep due at the same instant."""
        check = ready.is_set if isinstance(ready, Event) else ready
        return self._wait(None if timeout is None else max(timeout, 0.0), _TIMEOUT, check)

    def notify(self) -> None:
        """What the conditions of waits read has changed: wake the waiters whose condition now holds."""
        with self._lock:
            self._notify()

    def timer(self, interval: float, function: Callable[..., object], *args: Any, **kwargs: Any) -> Timer:
        """threading.Timer on simulated time."""
        return Timer(self, interval, function, *args, **kwargs)

    def _wait(self, after: float | None, rank: int, ready: Callable[[], bool] | None) -> bool:
        with self._lock:
            turn = self._actors.get(threading.get_ident())
            if turn is None or turn is not self._running:
                raise NotAnActor(f"{threading.current_thread().name} waits on the clock without being an actor")
            if ready is not None and ready():
                return True
            if after is None and ready is None:
                raise ValueError("a wait without a deadline needs something to wait for")
            waiter = _Waiter(turn, None if after is None else self._now + after, rank, ready)
            self._waiters.append(waiter)
            self._running = None
            self._dispatch()
            self._await_turn(turn)
            assert waiter.outcome is not None
            return waiter.outcome

    # --- moving on (the lock is held) ----------------------------------------------------------------------

    def _await_turn(self, turn: _Turn) -> None:
        while self._running is not turn:
            turn.condition.wait()

    def _leave(self, ident: int, turn: _Turn) -> None:
        del self._actors[ident]
        if self._running is turn:
            self._running = None
        self._dispatch()

    def _wake(self, waiter: _Waiter, outcome: bool) -> None:
        waiter.outcome = outcome
        self._waiters.remove(waiter)
        self._ready.append(waiter.turn)  # before the waker can wait: time stays until the woken actor has run

    def _notify(self) -> None:
        for waiter in [w for w in self._waiters if w.ready is not None]:
            if waiter.ready is not None and waiter.ready():
                self._wake(waiter, True)
        self._dispatch()

    def _dispatch(self) -> None:
        """Give the turn to the first ready actor if nobody has it; with nobody ready, move time on."""
        while self._running is None:
            if self._ready:
                self._running = self._ready.popleft()
                self._running.condition.notify()
                return
            timed = [w for w in self._waiters if w.deadline is not None]
            if not timed:
                return  # everyone waits for an event: only a thread outside the rehearsal could move on
            first = min((w.deadline, w.rank) for w in timed if w.deadline is not None)
            self._now = max(self._now, first[0])
            for waiter in timed:
                if (waiter.deadline, waiter.rank) == first:
                    self._wake(waiter, False)


class Event:
    """threading.Event for actors: set() wakes the actors waiting for it through the clock."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._flag = False

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        with self._clock._lock:
            self._flag = True
            self._clock._notify()

    def clear(self) -> None:
        with self._clock._lock:
            self._flag = False


class Timer:
    """threading.Timer on simulated time: function runs once interval simulated seconds have passed, unless
    cancelled first. Its thread is an actor."""

    def __init__(
        self, clock: VirtualClock, interval: float, function: Callable[..., object], *args: Any, **kwargs: Any
    ):
        self._clock = clock
        self.interval = interval
        self._function, self._args, self._kwargs = function, args, kwargs
        self._cancelled = clock.event()

    def start(self) -> None:
        self._clock.spawn(self._run, name="timer")

    def cancel(self) -> None:
        self._cancelled.set()

    def _run(self) -> None:
        if not self._clock.sleep(self.interval, until=self._cancelled):
            self._function(*self._args, **self._kwargs)
