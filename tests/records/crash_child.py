"""Child process for the crash test: streams 1000 Hz samples into a session until it is killed.

Prints ``session <id>`` once, then ``t <seconds>`` (the last sample handed to
the writer) about every 10 ms, flushed, so the parent knows what was submitted
when it sends SIGKILL.
"""

from __future__ import annotations

import sys
import time

from ionto_console.records import SampleWriter, open_database, start_session

from records_helpers import new_patient, session_start

RATE_HZ = 1000


def main(url: str) -> None:
    db = open_database(url)
    sid = start_session(db, session_start(new_patient(db)))
    writer = SampleWriter(db, sid).start()
    print(f"session {sid}", flush=True)
    start = time.monotonic()
    n = 0
    while True:
        now = time.monotonic() - start
        while n / RATE_HZ <= now:
            writer.add(n / RATE_HZ, 2.0, 12.0, 6.0, 2.0, 0b11)
            n += 1
        print(f"t {(n - 1) / RATE_HZ:.3f}", flush=True)
        time.sleep(0.01)


if __name__ == "__main__":
    main(sys.argv[1])
