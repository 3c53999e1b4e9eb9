#!/usr/bin/env bash
# Installs what is needed (once) and starts the console against the simulated bench.
#
# With no board configured (no --port, no IONTO_BOARD_PORT) this is the demo:
# its records go to ./.demo/records.sqlite3 (never a clinic's records), the
# public demo accounts exist there (therapist/therapist, engineer/engineer) and
# the therapist is signed in without a prompt. Set IONTO_AUTOLOGIN=engineer
# for the calibration tab, or IONTO_AUTOLOGIN= (empty) for the sign-in dialog.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh"
demo=1
for arg in "$@"; do
  case "$arg" in --port|--port=*|--database|--database=*) demo=0 ;; esac
done
if [[ -n "${IONTO_BOARD_PORT:-}" || -n "${IONTO_DATABASE_URL:-}" ]]; then demo=0; fi
if [[ $demo == 1 ]]; then
  mkdir -p "$root/.demo"
  export IONTO_DATABASE_URL="sqlite:///$root/.demo/records.sqlite3"
  export IONTO_DEMO_USERS=1
  export IONTO_AUTOLOGIN="${IONTO_AUTOLOGIN-therapist}"
fi
exec "$root/.venv/bin/python" -m ionto_console "$@"
