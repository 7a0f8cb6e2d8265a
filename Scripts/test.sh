#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs the acceptance scripts of the
# core vault, of sign-in and of the console when ../shared is beside the checkout, every XCTest
# on the embedded store (with SeaweedFS as the object store and PostgreSQL for the catalog's own
# tests: Scripts/lib/seaweedfs.sh, Scripts/lib/postgres.sh), the vault and server suites again
# with every store on PostgreSQL + SeaweedFS, the two-node failure test behind nginx
# (Scripts/test-cluster.sh), then the console's journeys in headless Chromium
# (Scripts/test-browser.sh, a few minutes).
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
# Real servers for this run only: a throwaway SeaweedFS and PostgreSQL cluster.
source Scripts/lib/seaweedfs.sh
source Scripts/lib/postgres.sh
stop_servers() { seaweedfs_stop; postgres_stop; }
trap stop_servers EXIT   # set first: a start that fails half way still stops what it started
seaweedfs_start
postgres_start
swift test --skip-build
echo "the vault and server suites on PostgreSQL + SeaweedFS"
STRONGROOM_TEST_BACKEND=shared swift test --skip-build --filter 'VaultTests|ServerTests'
stop_servers
trap - EXIT
bash Scripts/test-cluster.sh "$(swift build --show-bin-path)/strongroom"
bash Scripts/test-browser.sh "$(swift build --show-bin-path)/strongroom"
