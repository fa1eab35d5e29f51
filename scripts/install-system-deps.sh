#!/usr/bin/env bash
# Debian tools the test suite calls: poppler-utils (pdffonts, pdftotext, pdftoppm for the PDF reports),
# file (media-type cross-check). Installed only when missing; needs root (as in CI) or sudo.
set -euo pipefail
missing=()
command -v pdffonts >/dev/null 2>&1 || missing+=(poppler-utils)
command -v file >/dev/null 2>&1 || missing+=(file)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${missing[*]} (Debian packages)"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
