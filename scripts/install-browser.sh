#!/usr/bin/env bash
# Install Debian's Chromium (and ffmpeg, for `capture --video`) for `evidencectl capture` and its tests,
# unless they are already there.
# Idempotent and quiet; returns at once when /usr/bin/chromium runs. Playwright's own browser downloads are
# not used: captures drive the system browser.
set -euo pipefail

if [ -x /usr/bin/chromium ] && command -v ffmpeg >/dev/null 2>&1 && /usr/bin/chromium --version >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: no apt-get here; install Chromium at /usr/bin/chromium (and ffmpeg) yourself" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "install-browser: need root (or password-less sudo) to apt-get install chromium ffmpeg" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends chromium ffmpeg >/dev/null
/usr/bin/chromium --version >/dev/null
