#!/usr/bin/env bash
# The console's journeys in headless Chromium (every Tests/browser/test_*.py) against a real
# `strongroom serve` on http://localhost:PORT (WebAuthn needs a host name, not an address).
#
#   bash Scripts/test-browser.sh PATH/TO/strongroom [test_FILE.py] [journeys, e.g. Journeys.test_g_a_replayed_code_is_refused]
#
# Builds nothing: give it the binary. Makes a temporary store with one person per journey and
# a record, serves it with short session limits, runs the journeys with Debian's python3 and
# Selenium, and stops the server however the run ends. Screenshots of every step go to
# .build/browser-screenshots/ (look at them). Needs `Scripts/setup.sh --test`.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "${1:?usage: test-browser.sh PATH/TO/strongroom [tests...]}")
shift
idle_seconds=20
step_up_seconds=6

work=$(mktemp -d)
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://localhost:$port"
export STRONGROOM_STORE="$work/store" STRONGROOM_ACTOR="cli:browser-tests"
"$binary" init --json >/dev/null

# One person per journey, so one journey's used codes, back-off or sessions cannot touch another.
{
  echo "{"
  first=1
  for person in ann.passkey:staff bea.app:staff bea.qr:staff cal.dsl:dsl dan.idle:staff eve.everywhere:staff \
                fay.csrf:dsl gus.replay:staff hal.backoff:staff ivy.attach:staff jon.bodymap:staff kit.keys:staff; do
    name=${person%%:*} role=${person#*:}
    ((first)) || echo ","
    first=0
    printf '"%s": ' "$name"
    "$binary" user add "$name" --role "$role" --school ST1 --public-url "$url" --json
  done
  echo "}"
} > "$work/people.json"

printf 'Notes of the strategy meeting.\n' > "$work/minutes.txt"
record=$("$binary" put "$work/minutes.txt" --school ST1 --child C1 --concern K1 --kind minutes --declared-type text/plain --json |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')

"$binary" serve --port "$port" --session-idle-seconds "$idle_seconds" --step-up-seconds "$step_up_seconds" > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fsS "$url/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "test-browser: serve exited" >&2; cat "$work/serve.log" >&2; exit 1; }
  sleep 0.1
done

screenshots="$PWD/.build/browser-screenshots"
rm -rf "$screenshots"
mkdir -p "$screenshots"
echo "test-browser: serving $url; screenshots in $screenshots"
suites=(Tests/browser/test_*.py)
if [[ ${1:-} == test_*.py ]]; then suites=("Tests/browser/$1"); shift; fi
status=0
for suite in "${suites[@]}"; do
  (cd Tests/browser && STRONGROOM_URL="$url" STRONGROOM_PEOPLE="$work/people.json" STRONGROOM_RECORD="$record" \
    STRONGROOM_IDLE_SECONDS="$idle_seconds" STRONGROOM_STEP_UP_SECONDS="$step_up_seconds" SCREENSHOTS="$screenshots" \
    /usr/bin/python3 "$(basename "$suite")" "$@") || status=$?
done
if ((status != 0)); then
  echo "test-browser: the server's log:" >&2
  tail -n 40 "$work/serve.log" >&2
fi
exit "$status"
