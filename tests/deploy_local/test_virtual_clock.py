"""The virtual clock: time moves only when every actor waits, to the earliest deadline, and never past an actor
that was woken but has not run yet. Nothing here depends on how fast the machine runs the threads."""

from __future__ import annotations

import threading
import time

import pytest
from cdk_bedrock_customization.rehearsal.clock import EPOCH, NotAnActor, VirtualClock

HANG = 60.0  # real seconds: only so that a broken clock fails instead of hanging


@pytest.fixture
def clock() -> VirtualClock:
    """A clock of the test's own, at time 0, with no actor yet."""
    return VirtualClock()


def test_time_stands_still_while_any_actor_is_busy(clock: VirtualClock) -> None:
    released = threading.Event()
    woke_at: list[float] = []

    def sleeper() -> None:
        clock.sleep(600)
        woke_at.append(clock.now())

    def busy() -> None:
        released.wait(HANG)  # real work, however long it takes: not a clock wait

    with clock.actor():
        clock.spawn(busy)
        sleeping = clock.spawn(sleeper)
        assert clock.now() == 0
    # The test's thread left; the busy actor still holds time at 0, whatever the real time that passes.
    time.sleep(0.05)
    assert clock.now() == 0 and woke_at == []
    released.set()  # the busy actor ends: now every actor waits, and the clock jumps
    sleeping.join(HANG)
    assert woke_at == [600]
    assert clock.now() == 600


def test_sleeps_end_at_their_exact_simulated_times_in_order(clock: VirtualClock) -> None:
    ended: list[tuple[str, float]] = []
    lock = threading.Lock()

    def sleep(name: str, seconds: float) -> None:
        clock.sleep(seconds)
        with lock:
            ended.append((name, clock.now()))

    with clock.actor():
        for name, seconds in [("twelve hours", 43200), ("one hour", 3600), ("a minute", 60)]:
            clock.spawn(sleep, name, seconds)
        done = clock.event()
        clock.spawn(lambda: (clock.sleep(43200), done.set()))
        clock.wait(done)
    assert sorted(ended, key=lambda item: item[1]) == [("a minute", 60), ("one hour", 3600), ("twelve hours", 43200)]
    assert clock.now() == 43200
    assert clock.moment() == EPOCH.replace(day=1, hour=12)


def test_a_woken_actor_runs_before_time_moves_on(clock: VirtualClock) -> None:
    """The setter sleeps for an hour right after waking the waiter; the waiter, slowed down on purpose, still
    sees the instant it was woken at: it was counted busy when the event was set, not when it got to run."""
    signal = clock.event()
    seen: list[float] = []

    def waiter() -> None:
        clock.wait(signal)
        time.sleep(0.05)  # a stalled thread, as on a loaded machine
        seen.append(clock.now())

    def setter() -> None:
        clock.sleep(10)
        signal.set()
        clock.sleep(3600)

    with clock.actor():
        clock.spawn(waiter)
        clock.spawn(setter)
        clock.sleep(20)
        assert seen == [10]


def test_a_timeout_expires_after_everything_due_at_the_same_instant(clock: VirtualClock) -> None:
    """A response due at the very second its timeout expires is seen: sleeps wake before timeouts."""
    response = clock.event()
    outcome: list[bool] = []

    def responder() -> None:
        clock.sleep(3600)
        response.set()

    with clock.actor():
        clock.spawn(responder)
        outcome.append(clock.wait(response, 3600))
        assert outcome == [True] and clock.now() == 3600
        assert clock.wait(clock.event(), 60) is False  # nothing sets it: the timeout expires
        assert clock.now() == 3660


def test_a_sleep_until_an_event_ends_early_when_it_is_set(clock: VirtualClock) -> None:
    stop = clock.event()
    with clock.actor():
        clock.spawn(lambda: (clock.sleep(90), stop.set()))
        assert clock.sleep(900, until=stop) is True
        assert clock.now() == 90
        assert clock.sleep(30, until=stop) is True and clock.now() == 90  # already set: no wait
        stop.clear()
        assert clock.sleep(30, until=stop) is False and clock.now() == 120


def test_a_timer_fires_on_simulated_time_unless_cancelled(clock: VirtualClock) -> None:
    fired: list[float] = []
    with clock.actor():
        clock.timer(119.5, lambda: fired.append(clock.now())).start()
        cancelled = clock.timer(60, lambda: fired.append(-1.0))
        cancelled.start()
        cancelled.cancel()
        clock.sleep(200)
    assert fired == [119.5]


def test_only_actors_wait_on_the_clock(clock: VirtualClock) -> None:
    with pytest.raises(NotAnActor):
        clock.sleep(1)


def test_a_first_sleep_wakes_before_the_others_due_at_the_same_instant(clock: VirtualClock) -> None:
    """A service's progress (Bedrock finishing a job at 3780 s) comes before a poll due at that second."""
    state: list[str] = ["Stopping"]
    seen: list[str] = []

    def service() -> None:
        clock.sleep(3780, first=True)
        time.sleep(0.05)  # a stalled thread, as on a loaded machine
        state.append("Stopped")

    def poller() -> None:
        clock.sleep(3780)
        seen.append(state[-1])

    with clock.actor():
        clock.spawn(poller)
        clock.spawn(service)
        clock.sleep(4000)
    assert seen == ["Stopped"]


def test_actors_take_turns_in_the_order_they_became_ready(clock: VirtualClock) -> None:
    """Actors woken at the same instant run one at a time, in the order they started to wait, however long each
    takes in real time: what they print comes in the same order on every run."""
    printed: list[str] = []

    def actor(name: str, stall: float) -> None:
        clock.sleep(10)
        time.sleep(stall)  # the first ones are the slowest: they still print first
        printed.append(f"{clock.now():.0f} {name}")

    with clock.actor():
        for index, name in enumerate("abcde"):
            clock.spawn(actor, name, 0.01 * (5 - index))
        clock.sleep(20)
    assert printed == ["10 a", "10 b", "10 c", "10 d", "10 e"]
