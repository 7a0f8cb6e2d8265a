#!/usr/bin/env bash
# Sets up and starts Strongroom on the embedded default: installs what is missing, builds a
# release binary, creates the store (./strongroom-data, or $STRONGROOM_STORE) if there is none,
# demonstrates it with a sample through the CLI, then serves it over HTTP on 127.0.0.1:8080
# (or $STRONGROOM_HOST / $STRONGROOM_PORT) until Ctrl-C or SIGTERM.
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
out=$(mktemp); trap 'rm -f "$out"' EXIT
"$SR" get "$id" -o "$out"
cmp -s "$sample" "$out" && echo "read back byte for byte: ok"
"$SR" verify
"$SR" audit verify
# A demo DSL for the demo school, once: its token is printed here and never again.
if ! "$SR" user list | grep -q '^demo-dsl'; then
  token=$("$SR" user add demo-dsl --role dsl --school DEMO-SCHOOL)
  echo
  echo "demo user demo-dsl (dsl, DEMO-SCHOOL); bearer token, shown once: $token"
  echo "  curl -H 'Authorization: Bearer $token' http://${STRONGROOM_HOST:-127.0.0.1}:${STRONGROOM_PORT:-8080}/v1/attachments/$id -o out.pdf"
fi
echo
exec "$SR" serve
