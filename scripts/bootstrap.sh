#!/usr/bin/env bash
# Creates ./.venv (once) and installs the pinned package with its test extras
# whenever pyproject.toml changed. Sourced by console.sh and test.sh so that
# each README command works on a fresh machine with only Python 3.11+.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Ionto Console needs Python 3.11 or newer")'
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
stamp="$venv/.installed-$(sha256sum "$root/pyproject.toml" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root[test]"
    rm -f "$venv"/.installed-* && touch "$stamp"
fi
# Byte-compile the package's own modules (up to date: ~0.07 s). An installed wheel ships them
# compiled; the editable install here would otherwise compile ~100 modules at every console start
# wherever PYTHONDONTWRITEBYTECODE is set (about 0.1 s of the 2 s start-up budget).
"$venv/bin/python" -m compileall -q "$root/src" >/dev/null
