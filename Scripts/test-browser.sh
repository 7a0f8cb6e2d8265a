#!/usr/bin/env bash
# The console's journeys in headless Chromium (every Tests/browser/test_*.py) against a real
# `strongroom serve` on http://localhost:PORT (WebAuthn needs a host name, not an address).
#
#   bash Scripts/test-browser.sh PATH/TO/strongroom [journeys, e.g. Journeys.test_g_a_replayed_code_is_refused or test_attach]
#
# Builds nothing: give it the binary. Makes a temporary store with one person per journey and
# the records the journeys read, serves it with short session limits, runs the journeys with
# Debian's Selenium, and stops the server however the run ends. Screenshots of every step go
# to .build/console-screenshots/ (look at them); axe-core checks each console page shown. It
# comes from PyPI's axe-core-python (axe-core 4.4; axe-selenium-python's release for Debian's
# Python 3.11 carries axe-core 3.1, which refuses valid HTML such as <div> groups in a <dl>),
# installed here into .build/browser-venv, made with --system-site-packages so it sees
# Debian's Selenium. Needs `Scripts/setup.sh --test`.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "${1:?usage: test-browser.sh PATH/TO/strongroom [tests...]}")
shift

venv="$PWD/.build/browser-venv"
if ! "$venv/bin/python" -c 'import axe_core_python, selenium' 2>/dev/null; then
  echo "test-browser: installing axe-core-python into $venv" >&2
  /usr/bin/python3 -m venv --system-site-packages "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check axe-core-python==0.1.0
fi
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
                fay.csrf:dsl gus.replay:staff hal.backoff:staff ivy.attach:staff jon.bodymap:staff kit.keys:staff rea.dsl:dsl reb.dsl:dsl rex.staff:staff ros.dsl:dsl:ST2 ray.dpo:dpo \
                $(cat Tests/browser/seed/*.people 2>/dev/null); do
    IFS=: read -r name role school <<< "$person"
    ((first)) || echo ","
    first=0
    printf '"%s": ' "$name"
    "$binary" user add "$name" --role "$role" --school "${school:-ST1}" --public-url "$url" --json
  done
  echo "}"
} > "$work/people.json"

printf 'Notes of the strategy meeting.\n' > "$work/minutes.txt"
record=$("$binary" put "$work/minutes.txt" --school ST1 --child C1 --concern K1 --kind minutes --declared-type text/plain --json |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')

# The reading journeys' child C5: a two-page PDF, a photo and a note with markup in it.
put() {
  "$binary" put "$1" --school ST1 --child C5 --concern K5 --kind "$2" --declared-type "$3" --json |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}
samples=Tests/VaultTests/Samples
pdfunite "$samples/strategy-meeting-minutes.pdf" "$samples/strategy-meeting-minutes.pdf" "$work/two-pages.pdf"
note='She said <b>he</b> shouted at her & she was scared.'
printf '%s\n' "$note" > "$work/note.txt"
pdf=$(put "$work/two-pages.pdf" minutes application/pdf)
image=$(put "$samples/injury-photo-with-gps.jpg" disclosure image/jpeg)
text=$(put "$work/note.txt" disclosure text/plain)
/usr/bin/python3 -c 'import json, sys; print(json.dumps(dict(zip(["pdf", "image", "text", "textContent", "chronology"], sys.argv[1:]))))' \
  "$pdf" "$image" "$text" "$note"$'\n' "/children/C5?school=ST1" > "$work/reading.json"
seed_token=$("$binary" user add seed.records --role dsl --school ST1 --api-token --json |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')

# Each group of journeys may seed its own: Tests/browser/seed/NAME.people lists its people
# (name:role[:school], added above), NAME.before.sh runs here with the CLI before serving,
# NAME.after.sh further down with the server up ($url, $seed_token). Both are sourced, and write
# what their journeys need to $work/NAME.json (STRONGROOM_WORK in the journeys).
for seed in Tests/browser/seed/*.before.sh; do [[ -f $seed ]] && source "$seed"; done

"$binary" serve --port "$port" --session-idle-seconds "$idle_seconds" --step-up-seconds "$step_up_seconds" > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fsS "$url/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "test-browser: serve exited" >&2; cat "$work/serve.log" >&2; exit 1; }
  sleep 0.1
done

# Names are set over HTTP, as a school's records system would (there is no CLI command for them).
label() {
  curl -fsS -X PUT "$url/v1/$1?school=ST1" -H "Authorization: Bearer $seed_token" -H 'Content-Type: application/json' -d "$2"
}
label children/C5/label '{"label": "Amelia Whitfield"}'
label concerns/K5/title '{"title": "Bruising on arm"}'
# A body map drawn by the vault from marks, as the editor saves one.
body_map=$(curl -fsS -X POST "$url/v1/body-maps?school=ST1&child=C5&concern=K5" -H "Authorization: Bearer $seed_token" \
  -H 'Content-Type: application/json' \
  -d '{"marks": [{"side": "front", "shape": "point", "points": [[0.3, 0.4]], "colour": "blue", "size": 2, "note": "Bruise on left forearm"}]}' |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d["bodyMap"] = sys.argv[2]; json.dump(d, open(sys.argv[1], "w"))' \
  "$work/reading.json" "$body_map"

for seed in Tests/browser/seed/*.after.sh; do [[ -f $seed ]] && source "$seed"; done

screenshots="$PWD/.build/console-screenshots"
rm -rf "$screenshots"
mkdir -p "$screenshots"
echo "test-browser: serving $url; screenshots in $screenshots"
status=0
(cd Tests/browser && STRONGROOM_URL="$url" STRONGROOM_PEOPLE="$work/people.json" STRONGROOM_RECORD="$record" \
  STRONGROOM_READING="$work/reading.json" STRONGROOM_WORK="$work" STRONGROOM_IDLE_SECONDS="$idle_seconds" STRONGROOM_STEP_UP_SECONDS="$step_up_seconds" \
  SCREENSHOTS="$screenshots" "$venv/bin/python" run.py "$@") || status=$?
# Labels and titles are personal data: none may reach the server's log, whatever the journeys did.
# Seeds list theirs, one per line, in $work/NAME.labels.
while IFS= read -r name; do
  [[ -n $name ]] || continue
  if grep -qF -- "$name" "$work/serve.log"; then
    echo "test-browser: a child's label or a concern's title is in the server's log" >&2
    status=1
  fi
done < <(printf '%s\n' "Amelia" "Whitfield" "Bruising on arm"; cat "$work"/*.labels 2>/dev/null || true)
if ((status != 0)); then
  echo "test-browser: the server's log:" >&2
  tail -n 40 "$work/serve.log" >&2
fi
exit "$status"
