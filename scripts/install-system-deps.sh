#!/usr/bin/env bash
# Debian tools the test suite calls: poppler-utils (pdffonts, pdftotext, pdftoppm for the PDF reports),
# file (media-type cross-check), unzip, 7z (p7zip-full) and bsdtar (libarchive-tools) as independent readers of
# every package, faketime for clocks that lie, postgresql (initdb, pg_ctl: the tests start their own server for
# the team registry). Installed only when missing; needs root (as in CI) or sudo.
set -euo pipefail
missing=()
command -v pdffonts >/dev/null 2>&1 || missing+=(poppler-utils)
command -v file >/dev/null 2>&1 || missing+=(file)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
command -v 7z >/dev/null 2>&1 || missing+=(p7zip-full)
command -v bsdtar >/dev/null 2>&1 || missing+=(libarchive-tools)
command -v faketime >/dev/null 2>&1 || missing+=(faketime)
# Debian keeps initdb and pg_ctl off PATH, under /usr/lib/postgresql/VERSION/bin.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${missing[*]} (Debian packages)"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
