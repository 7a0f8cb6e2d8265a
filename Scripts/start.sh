#!/usr/bin/env bash
# Sets up and starts Strongroom on the embedded default: installs what is missing, builds a
# release binary, creates the store (./strongroom-data, or $STRONGROOM_STORE) if there is none,
# demonstrates it with a sample through the CLI, prints the address to open and an enrolment
# link for a demo DSL, then serves it over HTTP on 127.0.0.1:8080 (or $STRONGROOM_HOST /
# $STRONGROOM_PORT) until Ctrl-C or SIGTERM.
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
# People open the console at localhost (a browser treats http://localhost as a secure
# context, so passkeys and the session cookie work there without TLS).
port=${STRONGROOM_PORT:-8080}
export STRONGROOM_PUBLIC_URL="${STRONGROOM_PUBLIC_URL:-http://localhost:$port}"
# A demo DSL for the demo school: a fresh one-time enrolment link each start until they enrol.
if ! "$SR" user list | grep -q '^demo-dsl'; then
  link=$("$SR" user add demo-dsl --role dsl --school DEMO-SCHOOL)
elif "$SR" user list | grep '^demo-dsl' | grep -q 'not enrolled yet\|link expired'; then
  link=$("$SR" user reset demo-dsl)
fi
echo
echo "open $STRONGROOM_PUBLIC_URL/sign-in"
if [[ -n "${link:-}" ]]; then
  echo "demo DSL demo-dsl (DEMO-SCHOOL): enrol with a passkey or a passphrase and an authenticator app at"
  echo "  $link"
  echo "  (valid 72 hours, once; only its hash is stored)"
fi
echo
exec "$SR" serve
