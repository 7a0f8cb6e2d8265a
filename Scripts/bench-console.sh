#!/usr/bin/env bash
# Benchmark of what the web console costs the server: prints figures, asserts nothing about
# speed (no timed tests), but fails loudly if a request is answered with an error.
#
#   bash Scripts/bench-console.sh [--quick] [--no-build]
#
# Against a release `strongroom serve` on loopback, with one child holding BENCH_RECORDS
# records (default 10000) uploaded over HTTP first:
#   - a chronology page of 50 items at random offsets, as JSON (GET /v1/children/C/attachments)
#     and as the console's HTML page (/children/C) when the build has it: p50 and p99 of the
#     time to the whole answer on loopback (the server's time, less than a millisecond of it
#     being the connection);
#   - a preview of a 12-megapixel JPEG (4000 x 3000) and of a PDF page, and each again with a box
#     drawn as a bundle would carry it (redacted at full size, then scaled): p50 and p99;
#   - the total bytes of script and style the console sends (every asset, as served to a browser,
#     which takes gzip; and uncompressed).
# --quick: 1000 records and fewer repetitions, to check the script itself.
set -euo pipefail

ORIG_ARGS=("$@")
cd "$(dirname "$0")/.."
NAME=bench-console
source Scripts/lib/bench.sh
parse_bench_args 16 "$@"
RECORDS=${BENCH_RECORDS:-10000}
[ "$QUICK" = 1 ] && RECORDS=${BENCH_RECORDS:-1000}
case "$RECORDS" in ''|*[!0-9]*) echo "$NAME: BENCH_RECORDS must be a number" >&2; exit 64 ;; esac
COMMAND="bash Scripts/bench-console.sh${ORIG_ARGS[*]:+ ${ORIG_ARGS[*]}}"
[ -n "${BENCH_RECORDS:-}" ] && COMMAND="BENCH_RECORDS=$BENCH_RECORDS $COMMAND"

bash Scripts/setup.sh
dpkg-query -W -f='${Status}' libvips-tools 2>/dev/null | grep -q "install ok installed" \
    || { log "installing libvips-tools (the vips command, to make the test photo)"
         SUDO=""; [[ $(id -u) != 0 ]] && SUDO=sudo
         DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libvips-tools >/dev/null; }
build_release
scratch_folder 2048

vips gaussnoise "$WORK/noise.v" 4000 3000 --mean 128 --sigma 40
vips copy "$WORK/noise.v" "$WORK/photo.jpg[Q=85]"
rm -f "$WORK/noise.v"

export STRONGROOM_STORE="$WORK/store" STRONGROOM_ACTOR=bench
"$SR" init >/dev/null
TOKEN=$("$SR" user add bench-dsl --role dsl --school S1 --api-token --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
ENROL=$("$SR" user add bench-person --role dsl --school S1 --json --public-url http://localhost:18093 \
    | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["enrolmentUrl"])')
PORT=18093
"$SR" serve --host 127.0.0.1 --port "$PORT" --insecure-http --public-url "http://localhost:$PORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf -- "$WORK"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

/usr/bin/python3 Scripts/lib/bench-console.py --port "$PORT" --token "$TOKEN" --enrol "$ENROL" --records "$RECORDS" \
    --photo "$WORK/photo.jpg" --pdf Tests/VaultTests/Samples/strategy-meeting-minutes.pdf \
    --assets Sources/StrongroomServer/Console/Assets --quick "$QUICK"
echo
echo "command: $COMMAND"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); store on $FS"
