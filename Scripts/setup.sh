#!/usr/bin/env bash
# Installs the Debian packages Strongroom builds against, if any is missing. Idempotent.
# With --test, also the stock tools the tests check Strongroom's files with (minisign, age,
# pdftotext and pdfinfo, exiftool, zbarimg for QR codes, vips to read pixels) and the browser tests' Chromium,
# chromedriver and Selenium (for Debian's /usr/bin/python3), and aiosmtpd, the local SMTP sink
# the alert email test sends to, and PostgreSQL and nginx for the several-node deployment.
set -euo pipefail
needed=(libsodium-dev libmagic-dev libsqlite3-dev libvips-dev zlib1g-dev libqrencode-dev pkg-config)
[[ "${1:-}" == "--test" ]] && needed+=(minisign age poppler-utils libimage-exiftool-perl zbar-tools
  chromium chromium-driver python3-selenium fonts-liberation libvips-tools python3-aiosmtpd openssl
  postgresql nginx)
missing=()
for p in "${needed[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [[ $(id -u) != 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
