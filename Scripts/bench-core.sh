#!/usr/bin/env bash
# Core vault benchmark: prints figures, asserts nothing (no timed tests).
#
#   bash Scripts/bench-core.sh [--quick] [--no-build]
#
# Measures, in one run and side by side with a C floor (Scripts/floor/floor.c: the same work
# done with raw libsodium, OpenSSL SHA-256, libmagic and SQLite, synchronous=FULL):
#   - put and get of one 1 GiB file, with peak RSS (targets: put >= 60% of the floor's MB/s,
#     peak RSS during the put < 64 MiB);
#   - put and get of 1,000 files of 200 KiB: in-process through the Vault API (strongroom-bench,
#     one and two threads; the floor with one and two threads), and through the CLI (one process
#     per file, start-up included);
#   - `strongroom audit verify` of 1,000,000 audit events (target: < 5 s).
#
# Environment (all optional): BENCH_ROUNDS (default 2; best of N for all but the CLI x 1,000
# rows), BENCH_BIG_MIB (1024), BENCH_FILES (1000), BENCH_FILE_KIB (200), BENCH_EVENTS
# (1000000), BENCH_TMPDIR (parent of the scratch folder, default /tmp), BENCH_TIMEOUT (seconds
# per command, default 900). --quick shrinks everything to check the script itself.
# MB = 10^6 bytes. Temp data is removed on exit, also on failure or Ctrl-C.
set -euo pipefail

ORIG_ARGS=("$@")
cd "$(dirname "$0")/.."
REPO=$(pwd)

source Scripts/lib/bench.sh
parse_bench_args 20 "$@"

ROUNDS=${BENCH_ROUNDS:-2}
BIG_MIB=${BENCH_BIG_MIB:-1024}
FILES=${BENCH_FILES:-1000}
FILE_KIB=${BENCH_FILE_KIB:-200}
EVENTS=${BENCH_EVENTS:-1000000}
TIMEOUT=${BENCH_TIMEOUT:-900}
if [ "$QUICK" = 1 ]; then
    ROUNDS=1; BIG_MIB=${BENCH_BIG_MIB:-64}; FILES=${BENCH_FILES:-50}; EVENTS=${BENCH_EVENTS:-20000}
fi
for v in ROUNDS BIG_MIB FILES FILE_KIB EVENTS TIMEOUT; do
    # Caps keep every loop bounded, whatever the environment says.
    case "${!v}" in ''|*[!0-9]*) echo "bench-core: $v must be a number" >&2; exit 64 ;; esac
done
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 10 ] || { echo "bench-core: BENCH_ROUNDS must be 1-10" >&2; exit 64; }
[ "$BIG_MIB" -ge 1 ] && [ "$BIG_MIB" -le 8192 ] || { echo "bench-core: BENCH_BIG_MIB must be 1-8192" >&2; exit 64; }
[ "$FILES" -ge 1 ] && [ "$FILES" -le 100000 ] || { echo "bench-core: BENCH_FILES must be 1-100000" >&2; exit 64; }
[ "$FILE_KIB" -ge 1 ] && [ "$FILE_KIB" -le 65536 ] || { echo "bench-core: BENCH_FILE_KIB must be 1-65536" >&2; exit 64; }
[ "$EVENTS" -ge 1 ] && [ "$EVENTS" -le 20000000 ] || { echo "bench-core: BENCH_EVENTS must be 1-20000000" >&2; exit 64; }

COMMAND="bash Scripts/bench-core.sh${ORIG_ARGS[*]:+ ${ORIG_ARGS[*]}}"
for v in BENCH_ROUNDS BENCH_BIG_MIB BENCH_FILES BENCH_FILE_KIB BENCH_EVENTS BENCH_TMPDIR BENCH_TIMEOUT; do
    if [ -n "${!v:-}" ]; then COMMAND="$v=${!v} $COMMAND"; fi
done

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- prerequisites (quiet; only what is missing) ----------------------------------------------
# Scripts/setup.sh installs the build's own packages when missing (idempotent, quiet otherwise).
if [ -f Scripts/setup.sh ]; then bash Scripts/setup.sh; fi
missing=()
[ -x /usr/bin/time ] || missing+=(time)
[ -f /usr/include/openssl/evp.h ] || missing+=(libssl-dev)
pkg-config --exists libsodium 2>/dev/null || missing+=(libsodium-dev)
pkg-config --exists libmagic 2>/dev/null || missing+=(libmagic-dev)
pkg-config --exists sqlite3 2>/dev/null || missing+=(libsqlite3-dev)
command -v cc >/dev/null || missing+=(gcc)
command -v file >/dev/null || missing+=(file)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
        || { $SUDO apt-get update -qq >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi

# ---- build ------------------------------------------------------------------------------------
SCRATCH=.build-bench
if [ "$BUILD" = 1 ]; then
    log "swift build -c release --scratch-path $SCRATCH (several minutes on 2 cores when cold)"
    swift build -c release --scratch-path "$SCRATCH" >"$SCRATCH.log" 2>&1 || { mkdir -p "$SCRATCH"; tail -40 "$SCRATCH.log" >&2; exit 1; }
    mv -f "$SCRATCH.log" "$SCRATCH/bench-build.log"
fi
BIN=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)
SR="$BIN/strongroom"
DRIVER="$BIN/strongroom-bench"
[ -x "$SR" ] && [ -x "$DRIVER" ] || { echo "bench-core: $SR or $DRIVER missing (build first)" >&2; exit 1; }

# ---- scratch folder ---------------------------------------------------------------------------
PARENT=${BENCH_TMPDIR:-/tmp}
need_kib=$(( (BIG_MIB * 3 + FILES * FILE_KIB * 8 / 1024 + EVENTS / 2000 + 512) * 1024 ))
avail_kib=$(df -Pk "$PARENT" | awk 'NR==2 {print $4}')
if [ "$avail_kib" -lt "$need_kib" ]; then
    echo "bench-core: $PARENT has $((avail_kib / 1024)) MiB free; this run needs about $((need_kib / 1024)) MiB" >&2
    exit 1
fi
WORK=$(mktemp -d "$PARENT/strongroom-bench.XXXXXX")
cleanup() {
    local code=$?
    rm -rf -- "$WORK"
    exit $code
}
trap cleanup EXIT
trap 'exit 130' INT TERM
FS=$(df -PT "$WORK" | awk 'NR==2 {print $1" ("$2")"}')

FLOOR="$WORK/floor"
cc -O2 -Wall -Wno-format-truncation Scripts/floor/floor.c -o "$FLOOR" \
    $(pkg-config --cflags --libs libsodium libmagic sqlite3) -lcrypto -lpthread

# ---- measuring --------------------------------------------------------------------------------
# timed NAME CMD...: runs CMD under a timeout and GNU time; sets NAME_s (wall seconds, from the
# monotonic-ish nanosecond clock) and NAME_rss (peak RSS in KiB of the largest process, which
# for a shell loop is the largest child). CMD's stdout goes to $WORK/NAME.out.
timed() {
    local name=$1; shift
    local t0 t1
    t0=$(date +%s%N)
    if ! timeout "$TIMEOUT" /usr/bin/time -f '%M' -o "$WORK/$name.rss" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"; then
        echo "bench-core: '$name' failed:" >&2
        tail -20 "$WORK/$name.err" >&2
        exit 1
    fi
    t1=$(date +%s%N)
    printf -v "${name}_s" '%s' "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')"
    printf -v "${name}_rss" '%s' "$(tail -1 "$WORK/$name.rss")"
}

# best NAME VALUE: keeps the smallest seconds and the largest RSS over rounds in BEST_NAME_s/_rss.
best() {
    local name=$1 s=$2 rss=$3
    local bs="BEST_${name}_s" br="BEST_${name}_rss"
    if [ -z "${!bs:-}" ] || awk -v a="$s" -v b="${!bs}" 'BEGIN {exit !(a < b)}'; then printf -v "$bs" '%s' "$s"; fi
    if [ -z "${!br:-}" ] || [ "$rss" -gt "${!br}" ]; then printf -v "$br" '%s' "$rss"; fi
}

flush() { sync; sleep 1; }

same_files() { # LIST OUTDIR: the n-th input equals OUTDIR/<n, zero-padded>
    local i=0 f
    while IFS= read -r f; do
        cmp -s "$f" "$(printf '%s/%06d' "$2" "$i")" || { echo "bench-core: output $i differs from $f" >&2; exit 1; }
        i=$((i + 1))
    done <"$1"
}

# ---- inputs -----------------------------------------------------------------------------------
# "%PDF-1.4" and random bytes: libmagic names it application/pdf, kind "minutes" accepts it,
# and nothing compresses.
log "generating inputs in $WORK: ${BIG_MIB} MiB and ${FILES} x ${FILE_KIB} KiB"
BIG="$WORK/big.pdf"
BIG_BYTES=$((BIG_MIB * 1024 * 1024))
{ printf '%%PDF-1.4\n'; head -c $((BIG_BYTES - 9)) /dev/urandom; } >"$BIG"
mkdir "$WORK/small"
for ((i = 0; i < FILES; i++)); do
    { printf '%%PDF-1.4\n'; head -c $((FILE_KIB * 1024 - 9)) /dev/urandom; } >"$(printf '%s/small/f%06d.pdf' "$WORK" "$i")"
done
ls "$WORK"/small/*.pdf >"$WORK/small.list"
echo "$BIG" >"$WORK/big.list"
SMALL_BYTES=$((FILES * FILE_KIB * 1024))
mime=$(file -b --mime-type "$BIG")
[ "$mime" = application/pdf ] || { echo "bench-core: libmagic calls the input $mime, not application/pdf" >&2; exit 1; }

PUTARGS=(--school bench-school --child child-1 --concern concern-1 --kind minutes)
export STRONGROOM_ACTOR=bench:cli
unset FLOOR_SQLITE_SYNC STRONGROOM_STORE STRONGROOM_MASTER_KEY
new_sr_store() { rm -rf "$1"; "$SR" init --store "$1" >/dev/null; }
new_floor_store() { rm -rf "$1"; "$FLOOR" init "$1"; }

# ---- 1 GiB ------------------------------------------------------------------------------------
for ((round = 1; round <= ROUNDS; round++)); do
    # Alternate who goes first, so neither always inherits the other's writeback.
    if ((round % 2)); then order="floor sr"; else order="sr floor"; fi
    for who in $order; do
        rm -rf "$WORK/store" "$WORK/out"; mkdir "$WORK/out"
        if [ "$who" = floor ]; then
            new_floor_store "$WORK/store"; flush
            log "round $round: floor put ${BIG_MIB} MiB"
            timed fbigput "$FLOOR" put "$WORK/store" "$WORK/big.list" "$WORK/big.ids"
            best fbigput "$fbigput_s" "$fbigput_rss"
            flush
            timed fbigget "$FLOOR" get "$WORK/store" "$WORK/big.ids" "$WORK/out"
            best fbigget "$fbigget_s" "$fbigget_rss"
            cmp -s "$BIG" "$WORK/out/000000" || { echo "bench-core: floor get differs from its input" >&2; exit 1; }
        else
            new_sr_store "$WORK/store"; flush
            log "round $round: strongroom put ${BIG_MIB} MiB"
            timed sbigput "$SR" put --store "$WORK/store" "$BIG" "${PUTARGS[@]}"
            best sbigput "$sbigput_s" "$sbigput_rss"
            id=$(tail -1 "$WORK/sbigput.out")
            flush
            timed sbigget "$SR" get --store "$WORK/store" "$id" -o "$WORK/out/000000"
            best sbigget "$sbigget_s" "$sbigget_rss"
            cmp -s "$BIG" "$WORK/out/000000" || { echo "bench-core: strongroom get differs from its input" >&2; exit 1; }
        fi
    done
done
rm -rf "$WORK/store" "$WORK/out" "$BIG"

# ---- many small files -------------------------------------------------------------------------
# One process each for the floor and strongroom-bench (Vault API in-process), best of ROUNDS,
# alternating who goes first; then the same with two streams (two threads each); then the CLI
# once, one process per file, start-up included.
for ((round = 1; round <= ROUNDS; round++)); do
    if ((round % 2)); then order="floor sr"; else order="sr floor"; fi
    for who in $order; do
        for threads in 1 2; do
            rm -rf "$WORK/store" "$WORK/out"; mkdir "$WORK/out"
            if [ "$who" = floor ]; then
                new_floor_store "$WORK/store"; flush
                log "round $round: floor put/get ${FILES} x ${FILE_KIB} KiB, $threads stream(s)"
                timed fsput "$FLOOR" put "$WORK/store" "$WORK/small.list" "$WORK/small.ids" "$threads"
                best "fsput$threads" "$fsput_s" "$fsput_rss"
                flush
                timed fsget "$FLOOR" get "$WORK/store" "$WORK/small.ids" "$WORK/out" "$threads"
                best "fsget$threads" "$fsget_s" "$fsget_rss"
            else
                new_sr_store "$WORK/store"; flush
                log "round $round: strongroom-bench put/get ${FILES} x ${FILE_KIB} KiB, $threads stream(s)"
                timed dsput "$DRIVER" put-many "$WORK/store" "$WORK/small.list" "$WORK/small.ids" "$threads"
                best "dsput$threads" "$dsput_s" "$dsput_rss"
                flush
                timed dsget "$DRIVER" get-many "$WORK/store" "$WORK/small.ids" "$WORK/out" "$threads"
                best "dsget$threads" "$dsget_s" "$dsget_rss"
            fi
            same_files "$WORK/small.list" "$WORK/out"
        done
    done
done

log "strongroom CLI: ${FILES} puts, one process each"
rm -rf "$WORK/out"; mkdir "$WORK/out"; new_sr_store "$WORK/store"; flush
timed csput bash -c 'while IFS= read -r f; do "$0" put --store "$1" "$f" "${@:2}" </dev/null || exit 1; done' \
    "$SR" "$WORK/store" "${PUTARGS[@]}" <"$WORK/small.list"
cp "$WORK/csput.out" "$WORK/cs.ids"
[ "$(wc -l <"$WORK/cs.ids")" -eq "$FILES" ] || { echo "bench-core: CLI puts returned $(wc -l <"$WORK/cs.ids") ids" >&2; exit 1; }
flush
log "strongroom CLI: ${FILES} gets, one process each"
timed csget bash -c 'i=0; while IFS= read -r id; do "$0" get --store "$1" "$id" -o "$(printf "%s/%06d" "$2" "$i")" </dev/null || exit 1; i=$((i + 1)); done' \
    "$SR" "$WORK/store" "$WORK/out" <"$WORK/cs.ids"
same_files "$WORK/small.list" "$WORK/out"
rm -rf "$WORK/store" "$WORK/out" "$WORK/small"

# ---- audit verify -----------------------------------------------------------------------------
log "appending $EVENTS audit events (strongroom-bench, 10,000 per transaction)"
new_sr_store "$WORK/astore"
timed aappend "$DRIVER" audit-events "$WORK/astore" "$EVENTS" 10000
flush
for ((round = 1; round <= ROUNDS; round++)); do
    log "round $round: strongroom audit verify"
    timed averify "$SR" audit verify --store "$WORK/astore"
    best averify "$averify_s" "$averify_rss"
done
grep -q "intact: $((EVENTS + 1)) events" "$WORK/averify.out" \
    || { echo "bench-core: unexpected audit verify output: $(cat "$WORK/averify.out")" >&2; exit 1; }
rm -rf "$WORK/astore"

# ---- table ------------------------------------------------------------------------------------
mbps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.0f MB/s", b / s / 1e6}'; }
fps() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.0f files/s", n / s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b / a}'; }  # floor seconds / strongroom seconds
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a >= b)}'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a < b)}'; }

put_ratio=$(ratio "$BEST_sbigput_s" "$BEST_fbigput_s")
if ge "$put_ratio" 0.60; then r1=pass; else r1=FAIL; fi
if lt "$BEST_sbigput_rss" $((64 * 1024)); then r2=pass; else r2=FAIL; fi
if lt "$BEST_averify_s" 5; then r3=pass; else r3=FAIL; fi
if [ "$BIG_MIB" != 1024 ] || [ "$EVENTS" != 1000000 ]; then r1="($r1)"; r2="($r2)"; r3="($r3)"; fi

row() { printf '%-40s %14s %14s %6s %10s  %-22s %s\n' "$@"; }
big_label="${BIG_MIB} MiB"; [ "$BIG_MIB" = 1024 ] && big_label="1 GiB"
small_label="${FILES} x ${FILE_KIB} KiB"
echo
echo "Strongroom core benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+dirty')"
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), scratch on $FS"
echo "ratio = strongroom / floor (Scripts/floor/floor.c: the same work in C); best of $ROUNDS except the CLI x ${FILES} rows (one run;"
echo "the floor column there is the one-process floor, so the ratio includes process start-up); MB = 10^6 bytes"
echo
row "operation" "strongroom" "floor" "ratio" "peak RSS" "target" "result"
row "put $big_label (CLI)" "$(mbps $BIG_BYTES $BEST_sbigput_s)" "$(mbps $BIG_BYTES $BEST_fbigput_s)" "$put_ratio" \
    "$(mib $BEST_sbigput_rss)" ">=0.60 x floor" "$r1"
row "  peak RSS during that put" "$(mib $BEST_sbigput_rss)" "$(mib $BEST_fbigput_rss)" "" "" "< 64 MiB" "$r2"
row "get $big_label (CLI)" "$(mbps $BIG_BYTES $BEST_sbigget_s)" "$(mbps $BIG_BYTES $BEST_fbigget_s)" \
    "$(ratio "$BEST_sbigget_s" "$BEST_fbigget_s")" "$(mib $BEST_sbigget_rss)" "-" "info"
row "put $small_label (in-process API)" "$(fps $FILES $BEST_dsput1_s)" "$(fps $FILES $BEST_fsput1_s)" \
    "$(ratio "$BEST_dsput1_s" "$BEST_fsput1_s")" "$(mib $BEST_dsput1_rss)" "-" "info"
row "get $small_label (in-process API)" "$(fps $FILES $BEST_dsget1_s)" "$(fps $FILES $BEST_fsget1_s)" \
    "$(ratio "$BEST_dsget1_s" "$BEST_fsget1_s")" "$(mib $BEST_dsget1_rss)" "-" "info"
row "put $small_label (2 streams)" "$(fps $FILES $BEST_dsput2_s)" "$(fps $FILES $BEST_fsput2_s)" \
    "$(ratio "$BEST_dsput2_s" "$BEST_fsput2_s")" "$(mib $BEST_dsput2_rss)" "-" "info"
row "get $small_label (2 streams)" "$(fps $FILES $BEST_dsget2_s)" "$(fps $FILES $BEST_fsget2_s)" \
    "$(ratio "$BEST_dsget2_s" "$BEST_fsget2_s")" "$(mib $BEST_dsget2_rss)" "-" "info"
row "put $small_label (CLI, process each)" "$(fps $FILES $csput_s)" "$(fps $FILES $BEST_fsput1_s)" \
    "$(ratio "$csput_s" "$BEST_fsput1_s")" "$(mib $csput_rss)" "-" "info"
row "get $small_label (CLI, process each)" "$(fps $FILES $csget_s)" "$(fps $FILES $BEST_fsget1_s)" \
    "$(ratio "$csget_s" "$BEST_fsget1_s")" "$(mib $csget_rss)" "-" "info"
ev_rate=$(awk -v n="$((EVENTS + 1))" -v s="$BEST_averify_s" 'BEGIN {printf "%.0f ev/s", n / s}')
row "audit verify $((EVENTS + 1)) events" "${BEST_averify_s} s" "" "" "$(mib $BEST_averify_rss)" "< 5 s" "$r3"
row "  = verify rate" "$ev_rate" "" "" "" "" ""
row "  (setup: append $EVENTS events)" "$(awk -v n="$EVENTS" -v s="$aappend_s" 'BEGIN {printf "%.0f ev/s", n / s}')" "" "" \
    "$(mib $aappend_rss)" "-" "info"
echo
echo "command: $COMMAND"
