#!/usr/bin/env bash
# Installs Debian's chromium and chromium-driver, and a Chinese font, when they are not on this
# machine yet: the browser tests of the gateway's pages drive a real headless Chromium through
# WebDriver, and their screenshots must show the pages' Chinese.
set -euo pipefail

if { command -v chromedriver >/dev/null 2>&1 || [ -x /usr/bin/chromedriver ]; } \
    && { command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; } \
    && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; then
    exit 0
fi
echo "chromium, chromium-driver or a Chinese font is missing: installing Debian's packages" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
else
    SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null
chromium --version
