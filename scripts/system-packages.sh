#!/usr/bin/env bash
# Installs the Debian packages deid needs, only those missing. Idempotent.
# Uses apt-get directly as root, sudo when it works without a password, and
# otherwise prints the exact command for an administrator and fails.
set -euo pipefail

PACKAGES=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-tra libimage-exiftool-perl
          fonts-noto-cjk fonts-dejavu-core
          fonts-liberation fonts-freefont-ttf fonts-wqy-zenhei fonts-arphic-uming fonts-arphic-ukai
          chromium)  # the review page's browser tests (Playwright drives /usr/bin/chromium)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "deid needs these Debian/Ubuntu packages (or their equivalents): ${missing[*]}" >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "deid needs these system packages, and this user cannot install them:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
