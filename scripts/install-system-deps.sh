#!/usr/bin/env bash
# Debian tools the test suite calls: poppler-utils (pdffonts, pdftotext, pdftoppm for the PDF reports),
# file (media-type cross-check), unzip, 7z (p7zip-full) and bsdtar (libarchive-tools) as independent readers of
# every package, faketime for clocks that lie, postgresql (initdb, pg_ctl: the tests start their own server for
# the team registry), Perl's Email::Folder (libemail-folder-perl: an mbox and Maildir reader to compare with)
# and a Chinese font (fonts-wqy-microhei, 1.6 MB; fonts-noto-cjk is 57 MB) so that headless Chromium draws the
# Chinese of HTML reports and the /v/ page instead of boxes. Installed only when missing; needs root (as in CI)
# or sudo.
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
# Perl's Email::Folder: an independent mbox/Maildir reader the mailbox tests compare message counts with.
perl -MEmail::Folder -e 1 >/dev/null 2>&1 || missing+=(libemail-folder-perl)
# Any installed font covering Chinese will do (fc-list is in fontconfig, which Chromium depends on).
if ! command -v fc-list >/dev/null 2>&1 || [ -z "$(fc-list :lang=zh family 2>/dev/null)" ]; then
  missing+=(fonts-wqy-microhei fontconfig)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${missing[*]} (Debian packages)"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
