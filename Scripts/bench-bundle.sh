#!/usr/bin/env bash
# Bundle benchmark (issue 6): prints figures, asserts nothing (no timed tests).
#
#   bash Scripts/bench-bundle.sh [--quick] [--no-build]
#
# Times `strongroom bundle approve`, the step that reads every record, redacts it, packs the ZIP
# with its signed manifest and encrypts it to the recipient (age X25519), for a bundle of
# BENCH_PHOTOS phone-sized photos (4032x3024 JPEG with GPS EXIF, made by Pillow) and BENCH_PDFS
# PDFs of BENCH_PAGES pages (the sample minutes joined by pdfunite):
#   - redacted: two rectangles on each photo, one on every PDF page (pages rendered at 150 dpi
#     into image-only PDFs);
#   - as-is: photos re-encoded from pixels without metadata, PDFs as stored.
# Each bundle is then opened with stock age and unzipped, to check what was timed.
#
# Environment (all optional): BENCH_PHOTOS (20), BENCH_PDFS (5), BENCH_PAGES (8), BENCH_TMPDIR,
# BENCH_TIMEOUT (seconds per command, default 900). --quick: 3 photos, 1 PDF of 2 pages.
set -euo pipefail

ORIG_ARGS=("$@")
cd "$(dirname "$0")/.."
NAME=bench-bundle
source Scripts/lib/bench.sh

parse_bench_args 18 "$@"
PHOTOS=${BENCH_PHOTOS:-20}; PDFS=${BENCH_PDFS:-5}; PAGES=${BENCH_PAGES:-8}
TIMEOUT=${BENCH_TIMEOUT:-900}
if [ "$QUICK" = 1 ]; then PHOTOS=${BENCH_PHOTOS:-3}; PDFS=${BENCH_PDFS:-1}; PAGES=${BENCH_PAGES:-2}; fi
for v in PHOTOS PDFS PAGES TIMEOUT; do
    case "${!v}" in ''|*[!0-9]*) echo "$NAME: $v must be a number" >&2; exit 64 ;; esac
done
[ "$PHOTOS" -le 100 ] && [ "$PDFS" -le 50 ] && [ "$PAGES" -ge 1 ] && [ "$PAGES" -le 100 ] \
    || { echo "$NAME: at most 100 photos, 50 PDFs, 1-100 pages" >&2; exit 64; }
[ $((PHOTOS + PDFS)) -ge 1 ] || { echo "$NAME: nothing to bundle" >&2; exit 64; }
COMMAND="bash Scripts/bench-bundle.sh${ORIG_ARGS[*]:+ ${ORIG_ARGS[*]}}"
for v in BENCH_PHOTOS BENCH_PDFS BENCH_PAGES BENCH_TMPDIR BENCH_TIMEOUT; do
    if [ -n "${!v:-}" ]; then COMMAND="$v=${!v} $COMMAND"; fi
done

bash Scripts/setup.sh --test
ensure_gnu_time
python3 -c "import PIL" 2>/dev/null || { log "pip install pillow (to make the photos)"; python3 -m pip install -q pillow >/dev/null; }
build_release
scratch_folder $(( PHOTOS * 40 + PDFS * PAGES * 2 + 256 ))
export STRONGROOM_STORE="$WORK/store" STRONGROOM_ACTOR=bench:operator DROP_CACHES=0

log "making $PHOTOS photos and $PDFS PDFs of $PAGES pages (set-up, not measured)"
python3 - "$WORK/in" "$PHOTOS" <<'PY'
import os, sys, random
from PIL import Image
folder, n = sys.argv[1], int(sys.argv[2])
os.makedirs(folder)
w, h = 4032, 3024
for i in range(n):
    # Smooth colour fields plus sensor-like noise: compresses like a photo (a few MB at q90).
    base = Image.radial_gradient("L").resize((w, h)).convert("RGB")
    noise = Image.effect_noise((w, h), 40 + i).convert("RGB")
    photo = Image.blend(base, noise, 0.35)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 12.0), 3: "W", 4: (0.0, 7.0, 40.0)}
    photo.save("%s/photo%02d.jpg" % (folder, i), quality=90, exif=exif)
PY
sample=Tests/VaultTests/Samples/strategy-meeting-minutes.pdf
for i in $(seq 1 "$PDFS"); do
    if [ "$PAGES" -gt 1 ]; then pdfunite $(for _ in $(seq 1 "$PAGES"); do echo "$sample"; done) "$WORK/in/minutes$i.pdf"
    else cp "$sample" "$WORK/in/minutes$i.pdf"; fi
done
IN_BYTES=$(du -cb "$WORK"/in/* | tail -1 | awk '{print $1}')

"$SR" init >/dev/null
JO=$("$SR" user add jo --api-token --role dsl --school S1)
DEE=$("$SR" user add dee --api-token --role deputy --school S1)
age-keygen -o "$WORK/agency.txt" 2>/dev/null
RECIPIENT=$(awk '/public key:/ {print $4}' "$WORK/agency.txt")
"$SR" recipient add CSC --school S1 --age-recipient "$RECIPIENT" >/dev/null
: >"$WORK/photos.ids"; : >"$WORK/pdfs.ids"
for f in "$WORK"/in/photo*.jpg; do
    "$SR" put "$f" --school S1 --child C1 --concern K1 --kind body-map --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' >>"$WORK/photos.ids"
done
for f in "$WORK"/in/minutes*.pdf; do
    "$SR" put "$f" --school S1 --child C1 --concern K1 --kind minutes --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' >>"$WORK/pdfs.ids"
done
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
photos = open(work + "/photos.ids").read().split()
pdfs = open(work + "/pdfs.ids").read().split()
redacted = [{"record": i, "mode": "redacted", "rects": [[400, 300, 900, 500], [2000, 1800, 1200, 700]]} for i in photos]
redacted += [{"record": i, "mode": "redacted", "rects": [[40, 150, 500, 60]]} for i in pdfs]
asis = [{"record": i, "mode": "as-is"} for i in photos + pdfs]
json.dump(redacted, open(work + "/redacted.json", "w"))
json.dump(asis, open(work + "/asis.json", "w"))
PY

run_bundle() {  # run_bundle NAME ITEMS_FILE
    local id
    id=$(STRONGROOM_TOKEN=$JO "$SR" bundle create --school S1 --recipient CSC --reason "benchmark" --items "$2")
    log "bundle approve ($1): read, redact, zip, sign, encrypt"
    STRONGROOM_TOKEN=$DEE timed "$1" "$SR" bundle approve "$id" --json
    STRONGROOM_TOKEN=$JO "$SR" bundle export "$id" -o "$WORK/$1.age" >/dev/null
    printf -v "${1}_age" '%s' "$(stat -c %s "$WORK/$1.age")"
    age -d -i "$WORK/agency.txt" "$WORK/$1.age" >"$WORK/$1.zip"
    printf -v "${1}_files" '%s' "$(python3 -c 'import sys, zipfile; print(len(zipfile.ZipFile(sys.argv[1]).namelist()))' "$WORK/$1.zip")"
}
run_bundle redacted "$WORK/redacted.json"
run_bundle asis "$WORK/asis.json"
ITEMS=$((PHOTOS + PDFS))
per() { awk -v s="$1" -v n="$2" 'BEGIN {printf "%.2f", s / n}'; }
mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1e6}'; }

cat <<REPORT

Strongroom bundle benchmark ($COMMAND)
date: $(date -u +%Y-%m-%dT%H:%MZ)   commit: $(git rev-parse --short HEAD 2>/dev/null || echo -)   cpus: $(nproc)   $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
input: $PHOTOS photos 4032x3024 JPEG (GPS EXIF) and $PDFS PDFs of $PAGES pages: $(mb "$IN_BYTES") MB, $ITEMS items
scratch: $WORK on $FS

| bundle | approve (read, redact, zip, sign, encrypt) | per item | peak RSS | .age size | ZIP entries |
| --- | --- | --- | --- | --- | --- |
| redacted: 2 rectangles per photo, 1 per PDF page ($((PDFS * PAGES)) pages at 150 dpi) | ${redacted_s} s | $(per "$redacted_s" "$ITEMS") s | $((redacted_rss / 1024)) MiB | $(mb "$redacted_age") MB | $redacted_files |
| as-is: photos re-encoded without metadata, PDFs as stored | ${asis_s} s | $(per "$asis_s" "$ITEMS") s | $((asis_rss / 1024)) MiB | $(mb "$asis_age") MB | $asis_files |
REPORT
