#!/usr/bin/env bash
# Installs what is needed (once) and starts the console against the simulated bench.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh"
exec "$root/.venv/bin/python" -m ionto_console "$@"
