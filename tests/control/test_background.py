"""The screens' worker: jobs run off the caller's thread, results come back only through drain()."""

from __future__ import annotations

import threading

from ionto_console.control.background import Outcome, Worker


def test_jobs_run_on_the_worker_and_callbacks_on_the_draining_thread():
    worker = Worker("test")
    ran_on: list[threading.Thread] = []
    called_on: list[threading.Thread] = []
    results: list[Outcome] = []

    def job() -> int:
        ran_on.append(threading.current_thread())
        return 42

    worker.submit(job, lambda outcome: (called_on.append(threading.current_thread()), results.append(outcome)))
    assert worker.wait_idle(10)
    assert results == [] and worker.pending == 1  # nothing is delivered until the caller drains
    assert worker.drain() == 1
    assert ran_on[0] is not threading.current_thread()
    assert called_on == [threading.current_thread()]
    assert results == [Outcome(value=42)] and results[0].ok and worker.pending == 0
    worker.shutdown()


def test_a_failing_job_becomes_a_plain_message_in_order():
    worker = Worker("test")
    seen: list[Outcome] = []

    def broken() -> None:
        raise OSError("disk on fire")

    worker.submit(lambda: 1, seen.append)
    worker.submit(broken, seen.append, describe=lambda exc: f"Could not save: {exc}")
    worker.submit(lambda: 3, seen.append)
    assert worker.wait_idle(10)
    worker.drain()
    assert [o.value for o in seen] == [1, None, 3]
    assert seen[1].error == "Could not save: disk on fire" and not seen[1].ok
    worker.shutdown()


def test_a_raising_callback_does_not_stop_the_others():
    worker = Worker("test")
    seen: list[int] = []

    def bad(_outcome: Outcome) -> None:
        raise RuntimeError("widget gone")

    worker.submit(lambda: 1, bad)
    worker.submit(lambda: 2, lambda outcome: seen.append(outcome.value))
    assert worker.wait_idle(10)
    assert worker.drain() == 2 and seen == [2]
    worker.shutdown()


def test_after_shutdown_a_submission_is_refused_with_a_message():
    worker = Worker("test")
    worker.shutdown()
    seen: list[Outcome] = []
    worker.submit(lambda: 1, seen.append)
    assert seen and "shutting down" in seen[0].error
