#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs the acceptance scripts of the
# core vault, of sign-in and of the console when ../shared is beside the checkout, every XCTest (with
# SeaweedFS as the object store, Scripts/lib/seaweedfs.sh), then the console's journeys
# in headless Chromium (Scripts/test-browser.sh, a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh --test
swift build --build-tests
for check in core-cli sign-in console-crawl; do
  if [[ -f ../shared/acceptance/$check.sh ]]; then
    echo "acceptance: $check.sh"
    bash ../shared/acceptance/$check.sh "$(swift build --show-bin-path)/strongroom"
  fi
done
# The S3 blob store's tests need a real object store: a throwaway SeaweedFS, for this run only.
source Scripts/lib/seaweedfs.sh
trap seaweedfs_stop EXIT   # set first: a start that fails half way still stops weed and removes its files
seaweedfs_start
swift test --skip-build
seaweedfs_stop
bash Scripts/test-browser.sh "$(swift build --show-bin-path)/strongroom"
