#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (never a downloaded browser): install it when missing,
# with a CJK font so the Simplified Chinese screenshots show characters, not boxes.
set -euo pipefail
command -v chromium >/dev/null && fc-list :lang=zh | grep -q . && exit 0
echo "Installing Chromium for the browser tests (apt-get)…"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
