#!/usr/bin/env bash
# Fuzzes SignIn's parsers of attacker-controlled bytes (CBOR, COSE keys, authenticator data,
# clientDataJSON, and the WebAuthn verifier's registration and authentication paths) with
# libFuzzer and AddressSanitizer, for a bounded time. Not part of CI's default run.
#
#   bash Scripts/fuzz-signin.sh [--seconds N] [--merge]
#
#   --seconds N   how long to fuzz (default 120, 1-86400)
#   --merge       afterwards, add to the committed seed corpus the inputs of this run that
#                 reach new code (libFuzzer -merge=1), for review and commit
#
# What it does:
#   1. builds the signin-fuzz product in .build-fuzz (apart from the normal .build) with
#        swift build -c debug --scratch-path .build-fuzz --product signin-fuzz \
#          -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DSIGNIN_FUZZ \
#          -Xlinker --undefined=LLVMFuzzerRunDriver
#      With Swift 6.3 on Linux the -sanitize and -parse-as-library flags alone do not link: a
#      debug build renames the executable's entry point and links `main` to it, so libFuzzer's
#      main is left out. -DSIGNIN_FUZZ selects an entry point that starts libFuzzer's driver
#      (LLVMFuzzerRunDriver, kept in by --undefined) in place of the file replayer;
#   2. runs it on a working corpus in .build-fuzz/corpus, seeded from
#      Tests/SignInTests/FuzzCorpus/ (valid published WebAuthn messages and CBOR examples);
#   3. prints the number of executions, and every crash, leak, timeout or out-of-memory input
#      it found (kept in .build-fuzz/artifacts/); exits 1 if there was any.
# Reproduce a finding with the normal build: swift build --product signin-fuzz &&
# .build/debug/signin-fuzz .build-fuzz/artifacts/crash-...; then copy the input into the
# seed corpus so that FuzzCorpusTests replays it in every test run.
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_SECONDS=120
MERGE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) RUN_SECONDS=${2:-}; shift 2 ;;
        --merge) MERGE=1; shift ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        *) echo "fuzz-signin: unknown argument $1" >&2; exit 64 ;;
    esac
done
case "$RUN_SECONDS" in ''|*[!0-9]*) echo "fuzz-signin: --seconds needs a whole number" >&2; exit 64 ;; esac
if [ "$RUN_SECONDS" -lt 1 ] || [ "$RUN_SECONDS" -gt 86400 ]; then
    echo "fuzz-signin: --seconds must be 1 to 86400" >&2; exit 64
fi

SCRATCH=.build-fuzz
SEEDS=Tests/SignInTests/FuzzCorpus
WORK=$SCRATCH/corpus
ARTIFACTS=$SCRATCH/artifacts
LOG=$SCRATCH/fuzz.log
FLAGS=(-c debug --scratch-path "$SCRATCH" --product signin-fuzz
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DSIGNIN_FUZZ
       -Xlinker --undefined=LLVMFuzzerRunDriver -Xlinker --export-dynamic-symbol=LLVMFuzzerRunDriver)

echo "fuzz-signin: swift build ${FLAGS[*]} (several minutes when cold)" >&2
mkdir -p "$SCRATCH"
swift build "${FLAGS[@]}" >"$SCRATCH/build.log" 2>&1 || { tail -40 "$SCRATCH/build.log" >&2; exit 1; }
BIN="$(swift build "${FLAGS[@]}" --show-bin-path)/signin-fuzz"

mkdir -p "$WORK" "$ARTIFACTS"
echo "fuzz-signin: fuzzing for $RUN_SECONDS s; log in $LOG" >&2
status=0
# New inputs go to the first folder (the working corpus); the seeds are only read.
# -max_len 4096: every valid message is far shorter; -timeout 10: a slow input is a finding.
"$BIN" "$WORK" "$SEEDS" -max_total_time="$RUN_SECONDS" -print_final_stats=1 -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$ARTIFACTS/" >"$LOG" 2>&1 || status=$?

executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | tail -1)
findings=$(find "$ARTIFACTS" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) -newer "$SCRATCH/build.log" | sort)
echo "executions: ${executions:-unknown}"
echo "corpus:     $(find "$WORK" -type f | wc -l) inputs in $WORK, $(find "$SEEDS" -type f | wc -l) seeds in $SEEDS"
if [ -n "$findings" ] || [ "$status" -ne 0 ]; then
    echo "findings (libFuzzer exit $status):"
    [ -z "$findings" ] || printf '  %s\n' $findings
    grep -E '^==[0-9]+==ERROR|^SUMMARY|deadly signal|Fatal error' "$LOG" | head -20 | sed 's/^/  /'
    exit 1
fi
echo "findings:   none"

if [ "$MERGE" = 1 ]; then
    before=$(find "$SEEDS" -type f | wc -l)
    "$BIN" -merge=1 -max_len=4096 "$SEEDS" "$WORK" >"$SCRATCH/merge.log" 2>&1
    echo "merged:     $(( $(find "$SEEDS" -type f | wc -l) - before )) new inputs into $SEEDS (review before committing)"
fi
