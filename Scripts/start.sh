#!/usr/bin/env bash
# Sets up and starts Strongroom on the embedded default: installs what is missing, builds a
# release binary, creates the store (./strongroom-data, or $STRONGROOM_STORE) if there is none,
# and demonstrates it with a sample: put, list, get back byte for byte, verify, audit verify.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
swift build -c release --product strongroom >&2
SR="$(swift build -c release --show-bin-path)/strongroom"
export STRONGROOM_STORE="${STRONGROOM_STORE:-$PWD/strongroom-data}"
if [[ ! -e "$STRONGROOM_STORE/keys/keystore.json" ]]; then
  "$SR" init
fi
sample=Tests/VaultTests/Samples/strategy-meeting-minutes.pdf
id=$("$SR" put "$sample" --school DEMO-SCHOOL --child DEMO-CHILD --concern DEMO-CONCERN --kind minutes)
echo "stored $sample as record $id"
"$SR" list --school DEMO-SCHOOL
out=$(mktemp); trap 'rm -f "$out"' EXIT
"$SR" get "$id" -o "$out"
cmp -s "$sample" "$out" && echo "read back byte for byte: ok"
"$SR" verify
"$SR" audit verify
echo
echo "Strongroom is ready: $SR --store $STRONGROOM_STORE --help"
