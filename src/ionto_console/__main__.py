"""``python -m ionto_console``: start the console (simulated bench unless --port is given)."""

import sys

from .app import main

if __name__ == "__main__":
    sys.exit(main())
