#!/usr/bin/env bash
# Installs what is needed (once) and starts the console.
#
# With no board configured (no --port, no IONTO_BOARD_PORT) and no database
# (no --database, no IONTO_DATABASE_URL) this is the demo: it passes --demo,
# so the console starts the board simulator, keeps its records in
# ./.demo/records.sqlite3 (marked as the demo's inside itself; never a clinic's
# records), creates the public demo accounts there (therapist/therapist,
# engineer/engineer) and signs the therapist in without a prompt. Set
# IONTO_AUTOLOGIN=engineer for the Calibration tab, or IONTO_AUTOLOGIN= (empty)
# for the sign-in dialog. Anything configured: a clinical console (no simulator).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh"
# a window needs Qt's X11 system libraries (pip cannot install them): name (or install) what is missing
if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" && "${QT_QPA_PLATFORM:-}" != offscreen ]]; then
  bash "$root/scripts/qt_system_libs.sh" "$root/.venv" || exit 1
fi
demo=1
for arg in "$@"; do
  case "$arg" in --port|--port=*|--database|--database=*) demo=0 ;; esac
done
if [[ -n "${IONTO_BOARD_PORT:-}" || -n "${IONTO_DATABASE_URL:-}" ]]; then demo=0; fi
if [[ $demo == 1 ]]; then
  mkdir -p "$root/.demo"
  exec "$root/.venv/bin/python" -m ionto_console --demo --database "sqlite:///$root/.demo/records.sqlite3" "$@"
fi
exec "$root/.venv/bin/python" -m ionto_console "$@"
