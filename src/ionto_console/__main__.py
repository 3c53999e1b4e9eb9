"""``python -m ionto_console`` and ``ionto-console``: start the console (simulated bench unless --port is given)."""

import time

LAUNCHED = time.perf_counter()  # the console's start-up time is measured from here, imports included

import gc  # noqa: E402
import sys  # noqa: E402

# WHY off: start-up creates hundreds of thousands of objects that live as long as
# the process (Qt bindings, plots, ORM), and the collector would scan them again
# and again while the user waits (~0.1 s). It is switched on again, after a
# freeze of those objects, once the window is up (app.freeze_start_up_objects).
gc.disable()

from .app import main as start  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    return start(argv, launched=LAUNCHED)


if __name__ == "__main__":
    sys.exit(main())
