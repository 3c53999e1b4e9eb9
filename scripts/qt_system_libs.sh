#!/usr/bin/env bash
# Checks that the system libraries Qt needs to open a window (its "xcb"
# platform plugin) are installed, names the Debian/Ubuntu packages that provide
# the missing ones, and installs them with apt-get when run as root.
#
# WHY: pip installs Qt itself but not these system libraries; without them the
# console aborted with 'Could not load the Qt platform plugin "xcb"', which
# does not say what to install. Sourced by console.sh when a display is set.
# Usage: bash scripts/qt_system_libs.sh [path/to/.venv]   (exit 1: still missing)
set -uo pipefail
venv="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv}"
plugin="$(ls "$venv"/lib/python3*/site-packages/PySide6/Qt/plugins/platforms/libqxcb.so 2>/dev/null | head -1)"
[ -n "$plugin" ] || exit 0  # no Qt installed yet: nothing to check
qtlib="$(dirname "$plugin")/../../lib"

# library (as ldd names it) -> Debian package (bookworm / Ubuntu 22.04+)
declare -A package=(
  [libxcb-cursor.so.0]=libxcb-cursor0 [libxcb-icccm.so.4]=libxcb-icccm4 [libxcb-image.so.0]=libxcb-image0
  [libxcb-keysyms.so.1]=libxcb-keysyms1 [libxcb-randr.so.0]=libxcb-randr0
  [libxcb-render-util.so.0]=libxcb-render-util0 [libxcb-shape.so.0]=libxcb-shape0 [libxcb-shm.so.0]=libxcb-shm0
  [libxcb-sync.so.1]=libxcb-sync1 [libxcb-xfixes.so.0]=libxcb-xfixes0 [libxcb-render.so.0]=libxcb-render0
  [libxcb-xkb.so.1]=libxcb-xkb1 [libxcb-util.so.1]=libxcb-util1 [libxcb.so.1]=libxcb1
  [libxcb-xinerama.so.0]=libxcb-xinerama0 [libX11-xcb.so.1]=libx11-xcb1 [libX11.so.6]=libx11-6
  [libxkbcommon.so.0]=libxkbcommon0 [libxkbcommon-x11.so.0]=libxkbcommon-x11-0
  [libGL.so.1]=libgl1 [libEGL.so.1]=libegl1 [libGLX.so.0]=libglx0 [libGLdispatch.so.0]=libglvnd0
  [libOpenGL.so.0]=libopengl0 [libfontconfig.so.1]=libfontconfig1 [libfreetype.so.6]=libfreetype6
  [libdbus-1.so.3]=libdbus-1-3 [libglib-2.0.so.0]=libglib2.0-0 [libgthread-2.0.so.0]=libglib2.0-0
)

# Libraries the loader cannot use: "not found", or present but unusable (an empty or truncated file,
# another architecture), where ldd stops with "error while loading shared libraries: PATH: file too
# short" and lists nothing (a new-user pass hid libxcb-cursor.so.0 that way: the check passed and
# Qt aborted with its own message).
unusable_libraries() {
  local out
  out="$(LD_LIBRARY_PATH="$qtlib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "${LDD:-ldd}" "$plugin" \
      "$qtlib"/libQt6XcbQpa.so.6 "$qtlib"/libQt6Gui.so.6 2>&1)"
  echo "$out" | awk '/not found/ {print $1}'
  echo "$out" | sed -n 's/.*error while loading shared libraries: \([^:]*\):.*/\1/p' | while read -r path; do
    basename "$path"
  done
}

missing_packages() {
  unusable_libraries | sort -u | while read -r lib; do
    case "$lib" in libQt6*|libpyside6*|libshiboken6*) continue ;; esac  # pip's own part: bootstrap.sh
    echo "${package[$lib]:-"?$lib"}"
  done | sort -u
}

missing="$(missing_packages | tr '\n' ' ')"
[ -z "${missing// /}" ] && exit 0
known="$(echo "$missing" | tr ' ' '\n' | grep -v '^?' | tr '\n' ' ')"
unknown="$(echo "$missing" | tr ' ' '\n' | grep '^?' | tr -d '?' | tr '\n' ' ')"
[ -n "${unknown// /}" ] && echo "Qt cannot open a window: these libraries are missing: $unknown" >&2
missing="$known"
[ -z "${missing// /}" ] && exit 1
echo "Qt cannot open a window: these system packages are missing: $missing" >&2
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ -z "${IONTO_NO_APT:-}" ]; then
  echo "Installing them with apt-get (running as root)..." >&2
  # shellcheck disable=SC2086
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
  missing="$(missing_packages | tr '\n' ' ')"
  [ -z "${missing// /}" ] && exit 0
fi
echo "Install them, then start again:  sudo apt-get install $missing" >&2
exit 1
