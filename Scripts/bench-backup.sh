#!/usr/bin/env bash
# Backup benchmark (issue 5): prints figures, asserts nothing (no timed tests).
#
#   bash Scripts/bench-backup.sh [--quick] [--no-build]
#
# Measures, through the `strongroom` CLI as a backup operator runs it:
#   - a full `backup create` of a store of BENCH_FILES real 200 KiB records (encrypted by
#     `strongroom-bench put-many`), against `cp -a` of the same store in the same run (target:
#     backup throughput >= 80% of cp -a's; each timed twice, alternating, the faster reported),
#     and `cp -a` followed by `sync` for comparison, since a backup is durable (syncfs) and
#     cp -a alone is not;
#   - a second `backup create` of the unchanged store (incremental: copies no blob);
#   - `backup verify` (keyless: every file's BLAKE2b) and `restore` (recovery time);
#   - the incremental `backup create` of an unchanged store of BENCH_RECORDS records (target
#     < 2 s), filled by `strongroom-bench seed-records` with 1 KiB placeholder blobs.
# Before each timed command dirty pages are written back and, where the kernel allows it, the
# page cache is dropped, so copies read from disk.
#
# Environment (all optional): BENCH_FILES (10000), BENCH_RECORDS (100000), BENCH_TMPDIR (parent
# of the scratch folder, default /tmp), BENCH_TIMEOUT (seconds per command, default 1800).
# --quick shrinks everything to check the script itself.
set -euo pipefail

ORIG_ARGS=("$@")
cd "$(dirname "$0")/.."
NAME=bench-backup
source Scripts/lib/bench.sh

parse_bench_args 21 "$@"
FILES=${BENCH_FILES:-10000}
RECORDS=${BENCH_RECORDS:-100000}
TIMEOUT=${BENCH_TIMEOUT:-1800}
if [ "$QUICK" = 1 ]; then FILES=${BENCH_FILES:-300}; RECORDS=${BENCH_RECORDS:-5000}; fi
for v in FILES RECORDS TIMEOUT; do
    case "${!v}" in ''|*[!0-9]*) echo "$NAME: $v must be a number" >&2; exit 64 ;; esac
done
[ "$FILES" -ge 1 ] && [ "$FILES" -le 200000 ] || { echo "$NAME: BENCH_FILES must be 1-200000" >&2; exit 64; }
[ "$RECORDS" -ge 1 ] && [ "$RECORDS" -le 5000000 ] || { echo "$NAME: BENCH_RECORDS must be 1-5000000" >&2; exit 64; }
COMMAND="bash Scripts/bench-backup.sh${ORIG_ARGS[*]:+ ${ORIG_ARGS[*]}}"
for v in BENCH_FILES BENCH_RECORDS BENCH_TMPDIR BENCH_TIMEOUT; do
    if [ -n "${!v:-}" ]; then COMMAND="$v=${!v} $COMMAND"; fi
done

bash Scripts/setup.sh
ensure_gnu_time
build_release
# Inputs, store, two backups, three cp copies, restored store (kept to the end of the first part);
# the seeded store and its backup.
scratch_folder $(( FILES * 210 * 9 / 1024 + RECORDS * 12 / 1024 + 512 ))
export STRONGROOM_ACTOR=bench:operator

# ---- a store of real records ------------------------------------------------------------------
# "%PDF-1.4" and random bytes: libmagic names it application/pdf, kind "minutes" accepts it.
log "writing $FILES inputs of 200 KiB and putting them (set-up, not measured)"
python3 - "$WORK/in" "$FILES" <<'PY'
import os, sys
folder, n = sys.argv[1], int(sys.argv[2])
os.mkdir(folder)
with open(folder + ".list", "w") as listing:
    for i in range(n):
        path = "%s/f%06d.pdf" % (folder, i)
        with open(path, "wb") as f:
            f.write(b"%PDF-1.4\n" + os.urandom(200 * 1024 - 9))
        listing.write(path + "\n")
PY
STORE="$WORK/store"
STRONGROOM_STORE="$STORE" "$SR" init >/dev/null
"$DRIVER" put-many "$STORE" "$WORK/in.list" "$WORK/store.ids" 2 >"$WORK/fill.out"
STORE_BYTES=$(du -sb "$STORE" | awk '{print $1}')
STORE_MB=$(awk -v b="$STORE_BYTES" 'BEGIN {printf "%.0f", b / 1e6}')
"$SR" backup keygen -o "$WORK/op.key" >/dev/null

# Full backup and cp -a alternate, twice each, and the faster of each pair is reported: this
# virtual disk's speed varies by up to 2x from one minute to the next. Nothing is deleted until
# every timing is taken: ext4 makes files slowly right after many were deleted.
best() { awk -v a="$1" -v b="$2" 'BEGIN {print (a < b) ? a : b}'; }
log "backup create (full) of the store ($STORE_MB MB) and cp -a, alternating, twice each"
timed full1 env STRONGROOM_STORE="$STORE" "$SR" backup create --to "$WORK/backup" --signing-key "$WORK/op.key" --json
timed cpa1 cp -a "$STORE" "$WORK/cp1"
timed full2 env STRONGROOM_STORE="$STORE" "$SR" backup create --to "$WORK/backup2" --signing-key "$WORK/op.key" --json
timed cpa2 cp -a "$STORE" "$WORK/cp2"
full_s=$(best "$full1_s" "$full2_s"); full_rss=$full1_rss
cpa_s=$(best "$cpa1_s" "$cpa2_s")
COPIED=$(awk -F: '/"blobsCopied"/ {gsub(/[ ,]/, "", $2); print $2}' "$WORK/full1.out")
log "cp -a + sync"
timed cpsync bash -c "cp -a '$STORE' '$WORK/cp3' && sync"
log "backup create again (incremental, unchanged store)"
timed again env STRONGROOM_STORE="$STORE" "$SR" backup create --to "$WORK/backup" --signing-key "$WORK/op.key" --json
RECOPIED=$(awk -F: '/"blobsCopied"/ {gsub(/[ ,]/, "", $2); print $2}' "$WORK/again.out")
log "backup verify (keyless)"
timed verify "$SR" backup verify "$WORK/backup" --public-key "$WORK/op.key.pub"
BACKUP_BYTES=$(du -sb "$WORK/backup" | awk '{print $1}')
STRONGROOM_STORE="$STORE" "$SR" keys backup --to "$WORK/keys" --json >"$WORK/keys.out"
KEYS=$(awk -F'"' '/"folder"/ {print $4}' "$WORK/keys.out")
STRONGROOM_STORE="$STORE" "$SR" ledger export -o "$WORK/ledger.jsonl" >/dev/null
log "restore"
timed restore "$SR" restore "$WORK/backup" --to "$WORK/restored" --public-key "$WORK/op.key.pub" --keys "$KEYS" --ledger "$WORK/ledger.jsonl"
RESTORED_OK=$(STRONGROOM_STORE="$WORK/restored" STRONGROOM_MASTER_KEY="$STORE/keys/master.key" "$SR" verify --no-keys >/dev/null 2>&1 && echo yes || echo NO)
# Deleted only now (see above).
rm -rf -- "$WORK/restored" "$WORK/backup" "$WORK/backup2" "$STORE" "$WORK/cp1" "$WORK/cp2" "$WORK/cp3" "$WORK/in" "$WORK/in.list"

# ---- a store of RECORDS records: incremental backup of an unchanged store ---------------------
SEEDED="$WORK/seeded"
STRONGROOM_STORE="$SEEDED" "$SR" init >/dev/null
log "seeding $RECORDS records with 1 KiB blobs (set-up, not measured)"
"$DRIVER" seed-records "$SEEDED" "$RECORDS" 5 1 "$WORK/seeded.ids" >"$WORK/seed.out"
log "backup create of $RECORDS records (first, full)"
timed seedfull env STRONGROOM_STORE="$SEEDED" "$SR" backup create --to "$WORK/seeded-backup" --signing-key "$WORK/op.key" --json
log "backup create of $RECORDS records again (incremental, unchanged)"
timed seedinc env STRONGROOM_STORE="$SEEDED" "$SR" backup create --to "$WORK/seeded-backup" --signing-key "$WORK/op.key" --json
SEED_RECOPIED=$(awk -F: '/"blobsCopied"/ {gsub(/[ ,]/, "", $2); print $2}' "$WORK/seedinc.out")

# ---- report -----------------------------------------------------------------------------------
CPA_MBPS=$(mbps "$STORE_BYTES" "$cpa_s")
FULL_MBPS=$(mbps "$STORE_BYTES" "$full_s")
SHARE=$(ratio "$FULL_MBPS" "$CPA_MBPS")
cat <<REPORT

Strongroom backup benchmark
  command:     $COMMAND
  commit:      $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo " (uncommitted changes)")
  machine:     $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $FS; page cache $CACHES
  stores:      $FILES records of 200 KiB ($STORE_MB MB on disk); $RECORDS seeded records with 1 KiB blobs

| measure | time | throughput | peak RSS | target | verdict |
| --- | ---: | ---: | ---: | --- | --- |
| cp -a of the store (baseline, not durable; best of ${cpa1_s} and ${cpa2_s} s) | ${cpa_s} s | $CPA_MBPS MB/s | | | |
| cp -a + sync (durable baseline) | ${cpsync_s} s | $(mbps "$STORE_BYTES" "$cpsync_s") MB/s | | | |
| backup create, full ($COPIED blobs copied, durable; best of ${full1_s} and ${full2_s} s) | ${full_s} s | $FULL_MBPS MB/s ($SHARE of cp -a) | $((full_rss / 1024)) MiB | >= 0.80 of cp -a | $(at_least "$SHARE" 0.80) |
| backup create again, unchanged ($RECOPIED blobs copied) | ${again_s} s | | $((again_rss / 1024)) MiB | no blob copied | $([ "$RECOPIED" = 0 ] && echo pass || echo FAIL) |
| backup verify, keyless ($(awk -v b="$BACKUP_BYTES" 'BEGIN {printf "%.0f", b / 1e6}') MB) | ${verify_s} s | $(mbps "$BACKUP_BYTES" "$verify_s") MB/s | $((verify_rss / 1024)) MiB | | |
| restore (verify, copy, replay, audit check; store verifies: $RESTORED_OK) | ${restore_s} s | $(mbps "$STORE_BYTES" "$restore_s") MB/s, $(awk -v n="$FILES" -v s="$restore_s" 'BEGIN {printf "%.0f", n / s}') records/s | $((restore_rss / 1024)) MiB | | |
| backup create, $RECORDS records, first | ${seedfull_s} s | | $((seedfull_rss / 1024)) MiB | | |
| backup create, $RECORDS records, unchanged ($SEED_RECOPIED blobs copied) | ${seedinc_s} s | | $((seedinc_rss / 1024)) MiB | < 2 s | $(below "$seedinc_s" 2) |
REPORT
