#!/usr/bin/env bash
# Throughput of the content checks every upload of text, PDF or an office document goes through
# after libmagic (Sources/Vault: MarkupScanner, PDFActiveContent, OfficePackageParts), built with
# -O -wmo (as a release build) from the vault's own files and a stub of the one type they share
# with the rest. Prints a
# table; asserts nothing.
#
#   bash Scripts/bench-content.sh [MiB]     # default 256
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
swiftc -O -wmo -I Sources/CLibZ -o "$out/content-scan" \
    Sources/Vault/MarkupScanner.swift Sources/Vault/PDFActiveContent.swift Sources/Vault/OfficePackageParts.swift \
    Sources/Vault/RTFObjects.swift Sources/Vault/Inflater.swift Sources/Vault/ContentInspection.swift \
    Scripts/content-scan/Stubs.swift Scripts/content-scan/main.swift
echo "\$ bash Scripts/bench-content.sh ${1:-256}   ($(nproc) cores, $(uname -m))"
"$out/content-scan" "${1:-256}"
