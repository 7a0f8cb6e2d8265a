#!/usr/bin/env bash
# Transfer benchmark: prints figures, asserts nothing (no timed tests).
#
#   bash Scripts/bench-transfer.sh [--quick] [--no-build]
#
# Two stores on this machine, each naming its school on a card and pinning the other's. The
# sending store's log is first filled with BENCH_EVENTS signed events (default 100,000), so the
# inclusion proofs are made against a log of realistic size; then one child gets BENCH_RECORDS
# text records of BENCH_KIB KiB (defaults 200 x 200 KiB). Timed, with GNU time's peak RSS:
#   - approve: every record read and authenticated, each put event proved against the newest
#     signed checkpoint, the ZIP with its signed manifest, the age encryption to the receiver;
#   - import: age decryption, the manifest's signature, the checkpoint, every proof and hash,
#     and every record stored again (sniffed, new keys) in one transaction;
#   - receipt: the sender checks the receiver's signed receipt.
# --quick: 20 records and 10,000 events, to check the script itself.
set -euo pipefail

ORIG_ARGS=("$@")
cd "$(dirname "$0")/.."
NAME=bench-transfer
source Scripts/lib/bench.sh
parse_bench_args 15 "$@"
RECORDS=${BENCH_RECORDS:-200}; KIB=${BENCH_KIB:-200}; EVENTS=${BENCH_EVENTS:-100000}
TIMEOUT=${BENCH_TIMEOUT:-900}
if [ "$QUICK" = 1 ]; then RECORDS=${BENCH_RECORDS:-20}; EVENTS=${BENCH_EVENTS:-10000}; fi
for v in RECORDS KIB EVENTS TIMEOUT; do
    case "${!v}" in ''|*[!0-9]*) echo "$NAME: $v must be a number" >&2; exit 64 ;; esac
done
[ "$RECORDS" -ge 1 ] && [ "$RECORDS" -le 5000 ] && [ $((RECORDS * KIB)) -le 400000 ] \
    || { echo "$NAME: 1 to 5000 records, at most 400 MiB in all" >&2; exit 64; }
COMMAND="bash Scripts/bench-transfer.sh${ORIG_ARGS[*]:+ ${ORIG_ARGS[*]}}"
for v in BENCH_RECORDS BENCH_KIB BENCH_EVENTS BENCH_TMPDIR BENCH_TIMEOUT; do
    if [ -n "${!v:-}" ]; then COMMAND="$v=${!v} $COMMAND"; fi
done

bash Scripts/setup.sh
ensure_gnu_time
build_release
scratch_folder $(( RECORDS * KIB * 5 / 1024 + 512 ))
export DROP_CACHES=0
A="$WORK/oakfield" B="$WORK/riverside"

log "two stores, cards, people and a log of $EVENTS events (set-up, not measured)"
"$SR" init --store "$A" >/dev/null
"$SR" init --store "$B" >/dev/null
"$SR" transfer card --school 100001 --name "Oakfield Primary School" -o "$WORK/oak.json" --store "$A" >/dev/null
"$SR" transfer card --school 200002 --name "Riverside Academy" -o "$WORK/river.json" --store "$B" >/dev/null
"$SR" user add dsl --api-token --role dsl --school 100001 --store "$A" >"$WORK/dsl.token"
"$SR" user add deputy --api-token --role deputy --school 100001 --store "$A" >"$WORK/deputy.token"
"$SR" user add rdsl --api-token --role dsl --school 200002 --store "$B" >"$WORK/rdsl.token"
fingerprint() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fingerprint"])' "$1"; }
"$SR" transfer trust "$WORK/river.json" --school 100001 --fingerprint "$(fingerprint "$WORK/river.json")" --token-file "$WORK/dsl.token" --store "$A" >/dev/null
"$SR" transfer trust "$WORK/oak.json" --school 200002 --fingerprint "$(fingerprint "$WORK/oak.json")" --token-file "$WORK/rdsl.token" --store "$B" >/dev/null
"$DRIVER" audit-events "$A" "$EVENTS" >/dev/null

log "putting $RECORDS records of $KIB KiB for one child (set-up, not measured)"
mkdir -p "$WORK/in"
python3 - "$WORK/in" "$RECORDS" "$KIB" <<'PY'
import base64, os, sys
folder, n, kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    text = base64.b64encode(os.urandom(kib * 768)).decode()
    lines = "\n".join(text[j:j + 76] for j in range(0, len(text), 76))
    with open(f"{folder}/note-{i:04d}.txt", "w") as f:
        f.write(lines[: kib * 1024 - 1] + "\n")
PY
for f in "$WORK"/in/*.txt; do
    "$SR" put "$f" --school 100001 --child C1 --concern K1 --kind disclosure --store "$A" >/dev/null
done

ID=$("$SR" transfer create --school 100001 --child C1 --to-school 200002 --reason "benchmark" --token-file "$WORK/dsl.token" --store "$A")
timed approve "$SR" transfer approve "$ID" -o "$WORK/package.age" --token-file "$WORK/deputy.token" --store "$A"
timed import "$SR" transfer import "$WORK/package.age" --school 200002 -o "$WORK/receipt.json" --token-file "$WORK/rdsl.token" --store "$B"
timed receipt "$SR" transfer receipt "$WORK/receipt.json" --store "$A"
grep -q "is received" "$WORK/receipt.out" || { echo "$NAME: the receipt was not accepted" >&2; exit 1; }
PACKAGE=$(stat -c %s "$WORK/package.age")
MIB=$(awk -v r="$RECORDS" -v k="$KIB" 'BEGIN {printf "%.1f", r * k / 1024}')

cat <<REPORT

Transfer benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, $FS, page cache: $CACHES)
Command: $COMMAND
A child's file of $RECORDS records of $KIB KiB ($MIB MiB), the sender's log holding $EVENTS events more.

| step | wall | peak RSS | rate |
| --- | --- | --- | --- |
| approve (read, prove, sign, encrypt) | ${approve_s} s | $((approve_rss / 1024)) MiB | $(awk -v m="$MIB" -v s="$approve_s" 'BEGIN {printf "%.1f MiB/s", m / s}') |
| import (decrypt, verify, store) | ${import_s} s | $((import_rss / 1024)) MiB | $(awk -v m="$MIB" -v s="$import_s" 'BEGIN {printf "%.1f MiB/s", m / s}') |
| receipt (verify, mark received) | ${receipt_s} s | $((receipt_rss / 1024)) MiB | |

Package: $PACKAGE bytes.
REPORT
