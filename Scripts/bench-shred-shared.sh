#!/usr/bin/env bash
# Shredding on PostgreSQL + SeaweedFS: prints figures, asserts nothing (no timed tests).
#
#   bash Scripts/bench-shred-shared.sh [--quick] [--no-build]
#
# A store of BENCH_SHRED records (default 20,000; real data keys under period KEKs, 1 KiB
# placeholder blobs) is seeded in a folder by `strongroom-bench seed-records` and moved with
# `strongroom migrate` into a fresh PostgreSQL database and SeaweedFS bucket prefix (set-up, not
# measured: seeded rows have no put events, so the move's audit check reports problems, which
# this script expects). Then a DPO requests a shred of every record and a DSL approves it, which
# executes it, timed, while a probe asks for the audit log's head row every 20 ms with a 20 ms
# lock timeout: the share of probes that found it held is how long every node's writes waited
# on the shred. Everything (PostgreSQL, SeaweedFS, the CLI) shares this machine's cores.
#
# Environment (all optional): BENCH_SHRED, BENCH_TIMEOUT (seconds per command, default 1800),
# BENCH_TMPDIR, BENCH_BIN (a folder holding strongroom and strongroom-bench to use instead of a
# release build, e.g. .build/debug: the report says which). --quick: 1,000 records.
set -euo pipefail

ORIG_ARGS=("$@")
cd "$(dirname "$0")/.."
NAME=bench-shred-shared
source Scripts/lib/bench.sh
source Scripts/lib/postgres.sh
source Scripts/lib/seaweedfs.sh
parse_bench_args 18 "$@"
SHRED=${BENCH_SHRED:-20000}
TIMEOUT=${BENCH_TIMEOUT:-1800}
if [ "$QUICK" = 1 ]; then SHRED=${BENCH_SHRED:-1000}; fi
for v in SHRED TIMEOUT; do
    case "${!v}" in ''|*[!0-9]*) echo "$NAME: $v must be a number" >&2; exit 64 ;; esac
done
[ "$SHRED" -ge 1 ] && [ "$SHRED" -le 200000 ] || { echo "$NAME: BENCH_SHRED must be 1-200000 (one request's limit)" >&2; exit 64; }
COMMAND="bash Scripts/bench-shred-shared.sh${ORIG_ARGS[*]:+ ${ORIG_ARGS[*]}}"
for v in BENCH_SHRED BENCH_TIMEOUT BENCH_TMPDIR BENCH_BIN; do
    if [ -n "${!v:-}" ]; then COMMAND="$v=${!v} $COMMAND"; fi
done

bash Scripts/setup.sh
ensure_gnu_time
if [ -n "${BENCH_BIN:-}" ]; then
    SR=$(realpath "$BENCH_BIN/strongroom"); DRIVER=$(realpath "$BENCH_BIN/strongroom-bench")
    [ -x "$SR" ] && [ -x "$DRIVER" ] || { echo "$NAME: no strongroom and strongroom-bench in $BENCH_BIN" >&2; exit 1; }
    BUILD_KIND="binaries from $BENCH_BIN"
else
    build_release
    BUILD_KIND="release build"
fi
scratch_folder $(( SHRED * 4 / 1000 + 256 ))
chmod 711 "$WORK"   # PostgreSQL's own user must pass through to its data
PROBE_PID=""
cleanup() {
    local code=$?
    if [ -n "$PROBE_PID" ]; then kill "$PROBE_PID" 2>/dev/null || true; wait "$PROBE_PID" 2>/dev/null || true; fi
    seaweedfs_stop >/dev/null 2>&1 || true
    postgres_stop >/dev/null 2>&1 || true
    rm -rf -- "$WORK"
    exit $code
}
trap cleanup EXIT
unset STRONGROOM_STORE STRONGROOM_MASTER_KEY STRONGROOM_METADATA STRONGROOM_BLOBS STRONGROOM_CONFIG

log "starting PostgreSQL and SeaweedFS"
POSTGRES_HOME="$WORK/postgres" postgres_start >/dev/null
SEAWEEDFS_HOME="$WORK/seaweedfs" seaweedfs_start >/dev/null

export STRONGROOM_ACTOR=bench:operator
STORE="$WORK/store"
STRONGROOM_STORE="$STORE" "$SR" init >/dev/null 2>&1
log "seeding $SHRED records with blobs, then moving them into PostgreSQL and SeaweedFS (set-up, not measured)"
"$DRIVER" seed-records "$STORE" "$SHRED" 1 1 "$WORK/ids" >"$WORK/seed.out"
psql -X -q "$STRONGROOM_TEST_POSTGRES" -c "CREATE DATABASE bench_shred"
META="${STRONGROOM_TEST_POSTGRES%/postgres}/bench_shred"
BLOBS=$(python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); q = u.parse_qs(p.query); q["prefix"] = ["bench-shred/"]
print(u.urlunsplit((p.scheme, p.netloc, p.path, u.urlencode(q, doseq=True), "")))' "$STRONGROOM_TEST_S3")
export STRONGROOM_MASTER_KEY="$STORE/keys/master.key"
"$SR" migrate --from "$STORE" --to-metadata "$META" --to-blobs "$BLOBS" >"$WORK/migrate.out" 2>&1 \
    || grep -q "does not verify" "$WORK/migrate.out" || { tail -5 "$WORK/migrate.out" >&2; exit 1; }
export STRONGROOM_METADATA="$META" STRONGROOM_BLOBS="$BLOBS"
DPO=$("$SR" user add bench-dpo --api-token --role dpo --school school-0 2>/dev/null)
DSL=$("$SR" user add bench-dsl --api-token --role dsl --school school-0 2>/dev/null)
REQUEST=$(STRONGROOM_TOKEN="$DPO" "$SR" shred request --school school-0 --records-file "$WORK/ids" --reason "benchmark: retention reviewed" | tr -d '[:space:]')

# The probe: how often the audit head was held for longer than 20 ms while the approval ran.
(
    held=0 probes=0
    while [ ! -f "$WORK/stop-probe" ]; do
        psql -X -q "$META" -c "BEGIN; SET LOCAL lock_timeout = '20ms'; SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE; COMMIT" \
            >/dev/null 2>&1 || held=$((held + 1))
        probes=$((probes + 1))
        sleep 0.02
    done
    echo "$probes $held" >"$WORK/probes"
) &
PROBE_PID=$!
log "shred approve by a DSL (executes it: $SHRED records)"
timed approve env STRONGROOM_TOKEN="$DSL" "$SR" shred approve "$REQUEST" -o "$WORK/certificate.json"
touch "$WORK/stop-probe"
wait "$PROBE_PID" || true
PROBE_PID=""
read -r PROBES HELD <"$WORK/probes"
LIVE=$(psql -X -q -A -t "$META" -c "SELECT count(*) FROM records")

cat <<REPORT

Strongroom shredding on PostgreSQL + SeaweedFS
  command:     $COMMAND
  commit:      $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo " (uncommitted changes)"), $BUILD_KIND
  machine:     $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $FS; PostgreSQL, SeaweedFS and the CLI share the cores

| measure | figure |
| --- | ---: |
| shred approve = execution, $SHRED records (DSL) | ${approve_s} s, peak RSS $((approve_rss / 1024)) MiB |
| probes of the audit head during it that waited over 20 ms | $HELD of $PROBES |
| records left in the catalog | $LIVE (expect 0) |
REPORT
