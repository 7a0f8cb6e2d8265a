#!/usr/bin/env bash
# Lifecycle benchmark (issue 4): prints figures, asserts nothing (no timed tests).
#
#   bash Scripts/bench-lifecycle.sh [--quick] [--no-build]
#
# Measures, each through the `strongroom` CLI as an operator, a DPO and a DSL run it:
#   - `strongroom retention due` over a store of 1,000,000 records (target < 1 s), as text, as
#     JSON, and for one school (the question GET /v1/retention/due asks);
#   - `strongroom keys rotate` re-wrapping the 1,000,000 data keys (target < 60 s);
#   - shredding 100,000 records: `shred request` by a DPO, then `shred approve` by a DSL, which
#     executes it (target for the approval < 30 s), and `certificate verify` of its certificate.
# The stores are filled by `strongroom-bench seed-records` (rows with real data keys wrapped
# under period KEKs, straight into the catalog; placeholder blob files for the shred store):
# the fill is set-up, not a figure. The page cache is flushed (sync) before each timed command.
#
# Environment (all optional): BENCH_RECORDS (1000000), BENCH_SHRED (100000), BENCH_SCHOOLS (5),
# BENCH_TMPDIR (parent of the scratch folder, default /tmp), BENCH_TIMEOUT (seconds per command,
# default 1800). --quick shrinks everything to check the script itself.
set -euo pipefail

ORIG_ARGS=("$@")
cd "$(dirname "$0")/.."

source Scripts/lib/bench.sh
parse_bench_args 19 "$@"

RECORDS=${BENCH_RECORDS:-1000000}
SHRED=${BENCH_SHRED:-100000}
SCHOOLS=${BENCH_SCHOOLS:-5}
TIMEOUT=${BENCH_TIMEOUT:-1800}
if [ "$QUICK" = 1 ]; then RECORDS=${BENCH_RECORDS:-20000}; SHRED=${BENCH_SHRED:-2000}; fi
for v in RECORDS SHRED SCHOOLS TIMEOUT; do
    case "${!v}" in ''|*[!0-9]*) echo "bench-lifecycle: $v must be a number" >&2; exit 64 ;; esac
done
[ "$RECORDS" -ge 1 ] && [ "$RECORDS" -le 20000000 ] || { echo "bench-lifecycle: BENCH_RECORDS must be 1-20000000" >&2; exit 64; }
[ "$SHRED" -ge 1 ] && [ "$SHRED" -le 200000 ] || { echo "bench-lifecycle: BENCH_SHRED must be 1-200000 (one request's limit)" >&2; exit 64; }
[ "$SCHOOLS" -ge 1 ] && [ "$SCHOOLS" -le 1000 ] || { echo "bench-lifecycle: BENCH_SCHOOLS must be 1-1000" >&2; exit 64; }

COMMAND="bash Scripts/bench-lifecycle.sh${ORIG_ARGS[*]:+ ${ORIG_ARGS[*]}}"
for v in BENCH_RECORDS BENCH_SHRED BENCH_SCHOOLS BENCH_TMPDIR BENCH_TIMEOUT; do
    if [ -n "${!v:-}" ]; then COMMAND="$v=${!v} $COMMAND"; fi
done

NAME=bench-lifecycle
# These figures have always been taken after a sync only, with the page cache kept.
DROP_CACHES=0

if [ -f Scripts/setup.sh ]; then bash Scripts/setup.sh; fi
ensure_gnu_time
build_release
scratch_folder $(( RECORDS / 1000 + SHRED * 12 / 1000 + 512 ))

# ---- a store of RECORDS records: retention due and rotation -----------------------------------
export STRONGROOM_ACTOR=bench:operator
BIG="$WORK/big"
STRONGROOM_STORE="$BIG" "$SR" init >/dev/null 2>&1
log "seeding $RECORDS records over $SCHOOLS schools (set-up, not measured)"
"$DRIVER" seed-records "$BIG" "$RECORDS" "$SCHOOLS" 0 "$WORK/big.ids" >"$WORK/seed-big.out"
# One year ahead: about one record in 25 is due (review dates span 25 years).
AS_OF="$(( $(date +%Y) + 1 ))-01-01"
log "retention due as of $AS_OF"
timed due_text env STRONGROOM_STORE="$BIG" "$SR" retention due --as-of "$AS_OF"
timed due_json env STRONGROOM_STORE="$BIG" "$SR" retention due --as-of "$AS_OF" --json
timed due_school env STRONGROOM_STORE="$BIG" "$SR" retention due --as-of "$AS_OF" --school school-1 --json
DUE_COUNT=$(grep -c $'\t' "$WORK/due_text.out" || true)
log "keys rotate over $RECORDS data keys"
timed rotate env STRONGROOM_STORE="$BIG" "$SR" keys rotate --json
REWRAPPED=$(awk -F: '/"rewrapped"/ {gsub(/[ ,]/, "", $2); print $2}' "$WORK/rotate.out")
timed status env STRONGROOM_STORE="$BIG" "$SR" keys status
rm -rf -- "$BIG"

# ---- a store of SHRED records with blobs: two-person shred ------------------------------------
SMALL="$WORK/small"
STRONGROOM_STORE="$SMALL" "$SR" init >/dev/null 2>&1
log "seeding $SHRED records with blob files (set-up, not measured)"
"$DRIVER" seed-records "$SMALL" "$SHRED" 1 1 "$WORK/small.ids" >"$WORK/seed-small.out"
DPO=$(STRONGROOM_STORE="$SMALL" "$SR" user add bench-dpo --api-token --role dpo --school school-0 2>/dev/null)
DSL=$(STRONGROOM_STORE="$SMALL" "$SR" user add bench-dsl --api-token --role dsl --school school-0 2>/dev/null)
log "shred request ($SHRED records) by a DPO"
timed request env STRONGROOM_STORE="$SMALL" STRONGROOM_TOKEN="$DPO" "$SR" shred request --school school-0 \
    --records-file "$WORK/small.ids" --reason "benchmark: retention reviewed"
REQUEST=$(tr -d '[:space:]' <"$WORK/request.out")
log "shred approve by a DSL (executes it)"
timed approve env STRONGROOM_STORE="$SMALL" STRONGROOM_TOKEN="$DSL" "$SR" shred approve "$REQUEST" -o "$WORK/certificate.json"
timed certverify env STRONGROOM_STORE="$SMALL" "$SR" certificate verify "$WORK/certificate.json"
LEFT=$(find "$SMALL/blobs" -name '*.blob' | wc -l)
CERT_MB=$(awk -v b="$(stat -c %s "$WORK/certificate.json")" 'BEGIN {printf "%.1f", b / 1e6}')

# ---- report -----------------------------------------------------------------------------------
cat <<REPORT

Strongroom lifecycle benchmark
  command:     $COMMAND
  commit:      $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo " (uncommitted changes)")
  machine:     $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $FS; page cache ${CACHES:-kept}
  stores:      $RECORDS records over $SCHOOLS schools (review dates over 25 years: $(( SCHOOLS * 300 )) period KEKs); $SHRED records with blobs

| measure | figure | peak RSS | target | verdict |
| --- | ---: | ---: | --- | --- |
| retention due over $RECORDS records, text ($DUE_COUNT due) | ${due_text_s} s | $((due_text_rss / 1024)) MiB | < 1 s | $(below "$due_text_s" 1) |
| retention due, --json | ${due_json_s} s | $((due_json_rss / 1024)) MiB | (< 1 s) | $(below "$due_json_s" 1) |
| retention due, one school, --json | ${due_school_s} s | $((due_school_rss / 1024)) MiB | (< 1 s) | $(below "$due_school_s" 1) |
| keys rotate: $REWRAPPED data keys re-wrapped | ${rotate_s} s | $((rotate_rss / 1024)) MiB | < 60 s | $(below "$rotate_s" 60) |
| keys status after it | ${status_s} s | $((status_rss / 1024)) MiB | | |
| shred request, $SHRED records (DPO) | ${request_s} s | $((request_rss / 1024)) MiB | | |
| shred approve = execution, $SHRED records (DSL) | ${approve_s} s | $((approve_rss / 1024)) MiB | < 30 s | $(below "$approve_s" 30) |
| certificate verify ($CERT_MB MB certificate) | ${certverify_s} s | $((certverify_rss / 1024)) MiB | | |

blob files left after the shred: $LEFT (expect 0)
REPORT
