#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs the acceptance script of the
# core vault when ../shared is beside the checkout, every XCTest, then the console's journeys
# in headless Chromium (Scripts/test-browser.sh, a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh --test
swift build --build-tests
if [[ -x ../shared/acceptance/core-cli.sh || -f ../shared/acceptance/core-cli.sh ]]; then
  echo "acceptance: core-cli.sh"
  bash ../shared/acceptance/core-cli.sh "$(swift build --show-bin-path)/strongroom"
fi
swift test --skip-build
bash Scripts/test-browser.sh "$(swift build --show-bin-path)/strongroom"
