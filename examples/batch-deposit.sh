#!/usr/bin/env bash
# Deposit a folder of build artifacts and verify the package, the way a pipeline uses evidencectl:
# --json on stdout, decisions taken on exit codes only.
#
#   usage: examples/batch-deposit.sh ARTIFACT_DIR OUT.evp [CASE]
#   exit:  0 deposited and verified; 1 verification failed; 3 indeterminate; 4 bad input; 5 a service was down
#          (the deposit is kept pending: run `evidencectl deposit --resume` later)
set -uo pipefail

artifacts=${1:?usage: batch-deposit.sh ARTIFACT_DIR OUT.evp [CASE]}
out=${2:?usage: batch-deposit.sh ARTIFACT_DIR OUT.evp [CASE]}
case_no=${3:-"build-$(date -u +%Y%m%dT%H%M%SZ)"}
evidencectl=${EVIDENCECTL:-evidencectl}

# Long artifact lists go through a path list, never the command line.
list=$(mktemp)
trap 'rm -f "$list"' EXIT
find "$artifacts" -type f -print | LC_ALL=C sort > "$list"

deposit_json=$("$evidencectl" deposit --from-list "$list" -o "$out" --case "$case_no" --json --force)
status=$?
if [ $status -ne 0 ]; then
  echo "deposit failed with exit $status: $(printf '%s' "$deposit_json" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("error",""))')" >&2
  exit $status
fi
deposit_id=$(printf '%s' "$deposit_json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["deposit_id"])')

verify_json=$("$evidencectl" verify "$out" --json)
status=$?
verdict=$(printf '%s' "$verify_json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["verdict"])')
echo "deposit $deposit_id: $(wc -l < "$list") artifact(s) in $out, verification $verdict"
exit $status
