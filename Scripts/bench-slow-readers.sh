#!/usr/bin/env bash
# Memory of `strongroom serve` under slow readers: prints the server's peak RSS while 10, 50 and
# 200 clients each download a large record and read it very slowly (a 4 KiB receive buffer,
# 512 bytes every quarter second), its RSS after they hang up, and the rate of one fast download
# of the same record. Asserts nothing about speed (no timed tests); the memory target (< 256 MiB
# with 200 readers) is printed as pass or FAIL, and any reader not answered 200 fails the run.
#
#   bash Scripts/bench-slow-readers.sh [--quick] [--no-build]
#
# Environment (all optional): BENCH_RECORD_MIB (size of each record, default 128), BENCH_RECORDS
# (how many, default 3), BENCH_READERS (default "10 50 200"), BENCH_HOLD (seconds the readers stay
# connected, default 10), BENCH_TMPDIR (parent of the scratch folder, default /tmp), BENCH_TIMEOUT
# (seconds per command, default 600). --quick: 64 MiB records, 4 s. Each reader count gets a
# fresh server, so each peak (VmHWM) is its own. Temp data is removed on exit.
set -euo pipefail

ORIG_ARGS=("$@")
cd "$(dirname "$0")/.."
NAME=bench-slow-readers
source Scripts/lib/bench.sh
parse_bench_args 14 "$@"

RECORD_MIB=${BENCH_RECORD_MIB:-128}
RECORDS=${BENCH_RECORDS:-3}
READERS=${BENCH_READERS:-10 50 200}
HOLD=${BENCH_HOLD:-10}
TIMEOUT=${BENCH_TIMEOUT:-600}
if [ "$QUICK" = 1 ]; then RECORD_MIB=${BENCH_RECORD_MIB:-64}; HOLD=${BENCH_HOLD:-4}; fi
for v in RECORD_MIB RECORDS HOLD TIMEOUT; do
    case "${!v}" in ''|*[!0-9]*) echo "$NAME: $v must be a number" >&2; exit 64 ;; esac
done
for n in $READERS; do
    case "$n" in ''|*[!0-9]*) echo "$NAME: BENCH_READERS must be numbers" >&2; exit 64 ;; esac
    [ "$n" -ge 1 ] && [ "$n" -le 2000 ] || { echo "$NAME: a reader count must be 1-2000" >&2; exit 64; }
done
[ "$RECORD_MIB" -ge 1 ] && [ "$RECORD_MIB" -le 4096 ] || { echo "$NAME: BENCH_RECORD_MIB must be 1-4096" >&2; exit 64; }
[ "$RECORDS" -ge 1 ] && [ "$RECORDS" -le 16 ] || { echo "$NAME: BENCH_RECORDS must be 1-16" >&2; exit 64; }
[ "$HOLD" -ge 1 ] && [ "$HOLD" -le 600 ] || { echo "$NAME: BENCH_HOLD must be 1-600" >&2; exit 64; }
COMMAND="bash Scripts/bench-slow-readers.sh${ORIG_ARGS[*]:+ ${ORIG_ARGS[*]}}"
for v in BENCH_RECORD_MIB BENCH_RECORDS BENCH_READERS BENCH_HOLD BENCH_TMPDIR BENCH_TIMEOUT; do
    if [ -n "${!v:-}" ]; then COMMAND="$v=\"${!v}\" $COMMAND"; fi
done
command -v python3 >/dev/null || { echo "$NAME: python3 drives the readers" >&2; exit 1; }
command -v curl >/dev/null || { echo "$NAME: curl makes the fast download" >&2; exit 1; }
ulimit -n 4096 2>/dev/null || true

build_release
BUILT_FROM="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+dirty')"
scratch_folder $(( RECORD_MIB * (RECORDS + 1) + 256 ))
STORE="$WORK/store"
SRV_PID=""
stop_server() {
    [ -n "$SRV_PID" ] || return 0
    kill -TERM "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
    SRV_PID=""
}
trap 'code=$?; stop_server; rm -rf -- "$WORK"; exit $code' EXIT

log "making $RECORDS records of $RECORD_MIB MiB (a PDF header and zeros)"
"$SR" init --store "$STORE" >/dev/null 2>&1
TOKEN=$("$SR" user add bench.dsl --api-token --role dsl --school S1 --store "$STORE" 2>/dev/null)
{ printf '%%PDF-1.4\n'; head -c $(( RECORD_MIB * 1048576 - 9 )) /dev/zero; } >"$WORK/large.pdf"
PATHS=()
for _ in $(seq "$RECORDS"); do
    id=$(timeout "$TIMEOUT" "$SR" put "$WORK/large.pdf" --store "$STORE" --school S1 --child C1 --concern K1 --kind minutes 2>/dev/null)
    PATHS+=(--path "/v1/attachments/$id")
done
rm -f "$WORK/large.pdf"

start_server() { # a fresh server each time, so VmHWM is this run's peak; sets SRV_PID and PORT
    : >"$WORK/serve.out"
    "$SR" serve --store "$STORE" --port 0 >"$WORK/serve.out" 2>>"$WORK/serve.err" &
    SRV_PID=$!
    for _ in $(seq 100); do
        grep -q '^strongroom: serving ' "$WORK/serve.out" && break
        kill -0 "$SRV_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; echo "$NAME: serve exited" >&2; exit 1; }
        sleep 0.1
    done
    PORT=$(sed -n 's/^strongroom: serving http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$WORK/serve.out" | head -1)
    [ -n "$PORT" ] || { echo "$NAME: serve did not say where it listens" >&2; exit 1; }
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$SRV_PID/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }

declare -A PEAK AFTER START
FAILED=0
for n in $READERS; do
    start_server
    START[$n]=$(rss_kib)
    log "$n slow readers for $HOLD s"
    out=$(timeout "$TIMEOUT" python3 Scripts/lib/slow-readers.py --port "$PORT" --pid "$SRV_PID" --token "$TOKEN" \
        --connections "$n" --hold "$HOLD" "${PATHS[@]}")
    read -r answered closed hwm after < <(python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(d["answered"], d["closed_early"], d["hwm_kib"], d["after_kib"])' "$out")
    if [ "$answered" != "$n" ] || [ "$closed" != 0 ]; then
        echo "$NAME: FAILED: with $n readers, $answered were answered 200 and $closed closed early: $out" >&2
        FAILED=1
    fi
    PEAK[$n]=$hwm
    AFTER[$n]=$after
    stop_server
done

start_server
log "one fast download"
first=${PATHS[1]}
FAST=$(curl -sS --max-time "$TIMEOUT" -o /dev/null -w '%{http_code} %{size_download} %{time_total}' \
    -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$first")
read -r code size secs <<<"$FAST"
[ "$code" = 200 ] && [ "$size" = $(( RECORD_MIB * 1048576 )) ] || { echo "$NAME: FAILED: the fast download gave $FAST" >&2; FAILED=1; }
FAST_HWM=$(awk '/^VmHWM:/ {print $2}' "/proc/$SRV_PID/status")
stop_server

row() { printf '%-34s %16s %16s %16s  %s\n' "$@"; }
echo
echo "Strongroom slow-reader memory  $(date -u +%Y-%m-%dT%H:%MZ)  commit $BUILT_FROM"
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), scratch on $FS"
echo "load: N clients on loopback, each GETs one of $RECORDS records of $RECORD_MIB MiB with a 4 KiB receive buffer"
echo "and reads 512 bytes every 0.25 s for $HOLD s; RSS of the server process (VmHWM = its peak)"
echo
row "readers" "RSS at start" "peak RSS" "RSS after" "target"
for n in $READERS; do
    target="-"
    [ "$n" = 200 ] && target="< 256 MiB: $(below "${PEAK[$n]}" $((256 * 1024)))"
    row "$n" "$(mib "${START[$n]}")" "$(mib "${PEAK[$n]}")" "$(mib "${AFTER[$n]}")" "$target"
done
row "1 fast download (curl)" "" "$(mib "$FAST_HWM")" "" "$(mbps "$size" "$secs") MB/s"
echo
echo "command: $COMMAND"
exit $FAILED
