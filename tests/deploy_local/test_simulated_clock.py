"""The simulated clock, which stands still while in-process single functions run."""

from __future__ import annotations

import threading
import time

from deploy_local.bedrock_world import SimulatedClock


def test_the_clock_stands_still_while_any_paused_block_runs() -> None:
    clock = SimulatedClock(time_scale=0.001)  # a real millisecond is a simulated second
    time.sleep(0.02)
    first = clock.now()
    assert first >= 20
    inner_done = threading.Event()

    def pause_elsewhere() -> None:
        with clock.paused():
            inner_done.wait(5)

    other = threading.Thread(target=pause_elsewhere)
    with clock.paused():
        other.start()
        time.sleep(0.05)
        stopped = clock.now()
        assert stopped - first < 5
    time.sleep(0.05)  # still paused by the other thread
    assert clock.now() == stopped
    inner_done.set()
    other.join()
    time.sleep(0.02)
    assert clock.now() - stopped >= 20  # running again
    assert clock.now() - first < 100  # of the 120 ms slept since first, the 100 ms paused did not count
