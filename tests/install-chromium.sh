#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (never a downloaded browser): install it when missing.
set -euo pipefail
command -v chromium >/dev/null && exit 0
echo "Installing Chromium for the browser tests (apt-get)…"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
