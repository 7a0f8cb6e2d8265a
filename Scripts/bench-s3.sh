#!/usr/bin/env bash
# Object-store benchmark: prints figures, asserts nothing (no timed tests).
#
#   bash Scripts/bench-s3.sh [--quick] [--no-build]
#
# With a throwaway SeaweedFS on loopback (Scripts/lib/seaweedfs.sh), in one run:
#   - BENCH_FILES files of BENCH_FILE_KIB KiB (1,000 x 200 KiB) put and got in-process through the
#     Vault API (strongroom-bench put-many/get-many, 1 and 8 threads), the store's blobs as files
#     and then in SeaweedFS (signed requests, SHA-256 checksums, one PUT per blob, ranged GETs);
#   - the same bytes PUT and GET with boto3 against the same SeaweedFS, 1 and 8 threads: the
#     object store's own cost, with no encryption, sniffing or audit;
#   - one BENCH_BIG_MIB MiB file (1 GiB) put and got through the CLI with its blobs in SeaweedFS
#     (a multipart upload of 8 MiB parts), with peak RSS.
# --quick: 100 files and 64 MiB, to check the script itself.
set -euo pipefail

ORIG_ARGS=("$@")
cd "$(dirname "$0")/.."
NAME=bench-s3
source Scripts/lib/bench.sh
source Scripts/lib/seaweedfs.sh
parse_bench_args 15 "$@"
FILES=${BENCH_FILES:-1000}; FILE_KIB=${BENCH_FILE_KIB:-200}; BIG_MIB=${BENCH_BIG_MIB:-1024}
TIMEOUT=${BENCH_TIMEOUT:-900}
if [ "$QUICK" = 1 ]; then FILES=${BENCH_FILES:-100}; BIG_MIB=${BENCH_BIG_MIB:-64}; fi
for v in FILES FILE_KIB BIG_MIB TIMEOUT; do
    case "${!v}" in ''|*[!0-9]*) echo "$NAME: $v must be a number" >&2; exit 64 ;; esac
done
[ "$FILES" -ge 1 ] && [ "$FILES" -le 20000 ] && [ "$BIG_MIB" -ge 1 ] && [ "$BIG_MIB" -le 8192 ] \
    || { echo "$NAME: 1-20000 files, 1-8192 MiB" >&2; exit 64; }
COMMAND="bash Scripts/bench-s3.sh${ORIG_ARGS[*]:+ ${ORIG_ARGS[*]}}"
for v in BENCH_FILES BENCH_FILE_KIB BENCH_BIG_MIB BENCH_TMPDIR BENCH_TIMEOUT; do
    if [ -n "${!v:-}" ]; then COMMAND="$v=${!v} $COMMAND"; fi
done

bash Scripts/setup.sh
ensure_gnu_time
python3 -c "import boto3" 2>/dev/null || { log "pip install boto3 (the object store's own baseline)"; python3 -m pip install -q boto3 >/dev/null; }
build_release
scratch_folder $(( BIG_MIB * 4 + FILES * FILE_KIB * 6 / 1024 + 512 ))
export DROP_CACHES=0
seaweedfs_start >"$WORK/seaweedfs.log" 2>&1
trap 'seaweedfs_stop >/dev/null 2>&1 || true; rm -rf -- "$WORK"' EXIT

log "inputs: $FILES x $FILE_KIB KiB and $BIG_MIB MiB (PDF header, random body)"
mkdir "$WORK/small"
for ((i = 0; i < FILES; i++)); do
    { printf '%%PDF-1.4\n'; head -c $((FILE_KIB * 1024 - 9)) /dev/urandom; } >"$(printf '%s/small/f%06d.pdf' "$WORK" "$i")"
done
ls "$WORK"/small/*.pdf >"$WORK/small.list"
{ printf '%%PDF-1.4\n'; head -c $((BIG_MIB * 1024 * 1024 - 9)) /dev/urandom; } >"$WORK/big.pdf"
MB=$(awk -v n="$FILES" -v k="$FILE_KIB" 'BEGIN {print n * k * 1024 / 1e6}')
rate() { awk -v n="$FILES" -v s="$1" 'BEGIN {printf "%.0f files/s", n / s}'; }

# put-many and get-many for one store, THREADS 1 and 8; names the timings PREFIX_put1 etc.
vault_round() {
    local prefix=$1 store=$2 t
    for t in 1 8; do
        rm -rf "$WORK/out"; mkdir "$WORK/out"
        timed "${prefix}_put$t" "$DRIVER" put-many "$store" "$WORK/small.list" "$WORK/ids" "$t"
        timed "${prefix}_get$t" "$DRIVER" get-many "$store" "$WORK/ids" "$WORK/out" "$t"
        cmp -s "$WORK/small/f000000.pdf" "$WORK/out/000000" || { echo "$NAME: a get differs from its put" >&2; exit 1; }
    done
}

log "the embedded store (blobs as files)"
"$SR" init --store "$WORK/files" >/dev/null
vault_round files "$WORK/files"

log "the same with its blobs in SeaweedFS"
BLOBS="$STRONGROOM_TEST_S3&prefix=bench-$(date +%s)/"
STRONGROOM_BLOBS="$BLOBS" "$SR" init --store "$WORK/s3" >/dev/null
STRONGROOM_BLOBS="$BLOBS" vault_round s3 "$WORK/s3"

log "SeaweedFS alone, with boto3"
python3 - "$STRONGROOM_TEST_S3" "$WORK/small.list" >"$WORK/raw.txt" <<'PY'
import sys, time, urllib.parse, concurrent.futures, boto3
from botocore.config import Config
url = urllib.parse.urlparse(sys.argv[1]); q = urllib.parse.parse_qs(url.query)
s3 = boto3.client("s3", endpoint_url=q["endpoint"][0], region_name=q.get("region", ["us-east-1"])[0],
                  config=Config(s3={"addressing_style": "path"}, max_pool_connections=16))
paths = open(sys.argv[2]).read().split()
data = [open(p, "rb").read() for p in paths]
for threads in (1, 8):
    prefix = f"raw-{threads}-{time.time()}/"
    def put(i): s3.put_object(Bucket=url.netloc, Key=f"{prefix}{i}", Body=data[i])
    def get(i):
        assert s3.get_object(Bucket=url.netloc, Key=f"{prefix}{i}")["Body"].read() == data[i]
    for name, fn in (("put", put), ("get", get)):
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(threads) as ex: list(ex.map(fn, range(len(data))))
        print(f"raw_{name}{threads}_s={time.time() - t0:.3f}")
PY
while IFS='=' read -r k v; do printf -v "$k" '%s' "$v"; done <"$WORK/raw.txt"

log "$BIG_MIB MiB through the CLI into SeaweedFS (multipart)"
export STRONGROOM_BLOBS="$BLOBS"
timed bigput "$SR" put "$WORK/big.pdf" --store "$WORK/s3" --school S1 --child C1 --concern K1 --kind minutes
BIGID=$(tr -d '\n' <"$WORK/bigput.out")
timed bigget "$SR" get "$BIGID" -o "$WORK/big.out" --store "$WORK/s3"
cmp -s "$WORK/big.pdf" "$WORK/big.out" || { echo "$NAME: the big get differs from its put" >&2; exit 1; }
unset STRONGROOM_BLOBS
BIGMB=$(awk -v m="$BIG_MIB" 'BEGIN {print m * 1048576 / 1e6}')

cat <<REPORT

Object-store benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, $FS; SeaweedFS $("$SEAWEEDFS_WEED" version 2>/dev/null | head -1 | awk '{print $3}') on loopback)
Command: $COMMAND
$FILES files of $FILE_KIB KiB ($MB MB), in-process through the Vault API; "alone" is boto3 on the same SeaweedFS.

| | put, 1 thread | put, 8 threads | get, 1 thread | get, 8 threads |
| --- | --- | --- | --- | --- |
| vault, blobs as files | $(rate "$files_put1_s") | $(rate "$files_put8_s") | $(rate "$files_get1_s") | $(rate "$files_get8_s") |
| vault, blobs in SeaweedFS | $(rate "$s3_put1_s") | $(rate "$s3_put8_s") | $(rate "$s3_get1_s") | $(rate "$s3_get8_s") |
| SeaweedFS alone (boto3) | $(rate "$raw_put1_s") | $(rate "$raw_put8_s") | $(rate "$raw_get1_s") | $(rate "$raw_get8_s") |

$BIG_MIB MiB through the CLI, blobs in SeaweedFS: put $(awk -v m="$BIGMB" -v s="$bigput_s" 'BEGIN {printf "%.0f MB/s", m / s}'), peak RSS $((bigput_rss / 1024)) MiB; get $(awk -v m="$BIGMB" -v s="$bigget_s" 'BEGIN {printf "%.0f MB/s", m / s}'), peak RSS $((bigget_rss / 1024)) MiB.
REPORT
