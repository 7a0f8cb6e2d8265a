# Helpers shared by the benchmark scripts (sourced, not run). Each script sets NAME (for
# messages) and TIMEOUT before calling these.

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# parse_bench_args HELP_LAST "$@": --quick sets QUICK=1 and --no-build BUILD=0 (defaults 0 and
# 1); -h prints the script's header comment (lines 2 to HELP_LAST); anything else is refused.
parse_bench_args() {
    local help_last=$1 arg; shift
    QUICK=0
    BUILD=1
    for arg in "$@"; do
        case "$arg" in
            --quick) QUICK=1 ;;
            --no-build) BUILD=0 ;;
            -h|--help) sed -n "2,${help_last}p" "$0"; exit 0 ;;
            *) echo "${NAME:-$(basename "$0" .sh)}: unknown argument $arg" >&2; exit 64 ;;
        esac
    done
}

# build_release: builds strongroom and strongroom-bench in release mode into .build-bench
# (unless BUILD=0) and sets SR and DRIVER to the two binaries.
build_release() {
    local scratch=.build-bench
    if [ "${BUILD:-1}" = 1 ]; then
        log "swift build -c release --scratch-path $scratch (several minutes on 2 cores when cold)"
        swift build -c release --scratch-path "$scratch" >"$scratch.log" 2>&1 || { mkdir -p "$scratch"; tail -40 "$scratch.log" >&2; exit 1; }
        mv -f "$scratch.log" "$scratch/bench-build.log"
    fi
    local bin
    bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)
    SR="$bin/strongroom"
    DRIVER="$bin/strongroom-bench"
    [ -x "$SR" ] && [ -x "$DRIVER" ] || { echo "$NAME: $SR or $DRIVER missing (build first)" >&2; exit 1; }
}

# scratch_folder NEED_MIB: makes WORK under BENCH_TMPDIR (default /tmp) after checking free
# space, removes it on exit, and sets FS to the file system's description.
scratch_folder() {
    local parent=${BENCH_TMPDIR:-/tmp} need_kib=$(( $1 * 1024 )) avail_kib
    avail_kib=$(df -Pk "$parent" | awk 'NR==2 {print $4}')
    if [ "$avail_kib" -lt "$need_kib" ]; then
        echo "$NAME: $parent has $((avail_kib / 1024)) MiB free; this run needs about $1 MiB" >&2
        exit 1
    fi
    WORK=$(mktemp -d "$parent/strongroom-$NAME.XXXXXX")
    trap 'code=$?; rm -rf -- "$WORK"; exit $code' EXIT
    trap 'exit 130' INT TERM
    FS=$(df -PT "$WORK" | awk 'NR==2 {print $1" ("$2")"}')
}

# drop_caches: writes dirty pages back and, unless DROP_CACHES=0 and where allowed, empties the
# page cache, so that each timed command starts from the disk. Sets CACHES to what was done.
drop_caches() {
    sync
    if [ "${DROP_CACHES:-1}" = 0 ]; then CACHES="dirty pages written back (sync) before each timed command"
    elif echo 3 2>/dev/null >/proc/sys/vm/drop_caches; then CACHES="dropped before each timed command"
    else CACHES="not droppable here (sync only)"; fi
}

# timed NAME CMD...: drop_caches, then CMD under a timeout and GNU time; sets NAME_s (wall
# seconds) and NAME_rss (peak RSS, KiB). CMD's stdout goes to $WORK/NAME.out.
timed() {
    local name=$1; shift
    local t0 t1
    drop_caches
    t0=$(date +%s%N)
    if ! timeout "$TIMEOUT" /usr/bin/time -f '%M' -o "$WORK/$name.rss" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"; then
        echo "$NAME: '$name' failed:" >&2
        tail -20 "$WORK/$name.err" >&2
        exit 1
    fi
    t1=$(date +%s%N)
    printf -v "${name}_s" '%s' "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')"
    printf -v "${name}_rss" '%s' "$(tail -1 "$WORK/$name.rss")"
}

below() { awk -v v="$1" -v t="$2" 'BEGIN {print (v < t) ? "pass" : "FAIL"}'; }
at_least() { awk -v v="$1" -v t="$2" 'BEGIN {print (v >= t) ? "pass" : "FAIL"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }
mbps() { awk -v bytes="$1" -v s="$2" 'BEGIN {printf "%.0f", (s > 0) ? bytes / s / 1e6 : 0}'; }

ensure_gnu_time() {
    [ -x /usr/bin/time ] || { local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"; $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
}
