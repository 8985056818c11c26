#!/usr/bin/env bash
# Installs the Debian packages Customs builds and tests with, only those that are missing.
# Usage: Deploy/install-deps.sh [run|test]
set -euo pipefail
need=(libssl-dev libsqlite3-dev zlib1g-dev curl openssl ca-certificates pkg-config)
if [ "${1:-run}" = test ]; then need+=(python3 python3-pip mmdb-bin nftables iproute2); fi
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "${1:-run}" = test ]; then
  # The labelled-corpus generator uses Faker's zh_CN and en_US locales.
  python3 -c 'import faker' 2>/dev/null || python3 -m pip install -q faker >&2
fi
