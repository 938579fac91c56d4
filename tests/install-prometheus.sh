#!/usr/bin/env bash
# The metrics tests check /metrics with promtool and scrape a live hub with a real Prometheus:
# Debian's `prometheus` package carries both. Install it when missing; its system service is
# never used (the tests run their own server on a free loopback port) and is stopped if the
# package started one.
set -euo pipefail
command -v promtool >/dev/null && command -v prometheus >/dev/null && exit 0
echo "Installing Prometheus for the metrics tests (apt-get)…"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# Debian enables the service on install where services may start: the tests want none running.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
elif [ -x /etc/init.d/prometheus ]; then
    $SUDO /etc/init.d/prometheus stop >/dev/null 2>&1 || true
fi
