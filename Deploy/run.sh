#!/usr/bin/env bash
# One command: install what is missing, build in release mode, start the gateway on
# 127.0.0.1:3128 (admin on 127.0.0.1:9090) with the shipped default policy and an embedded ledger.
# Extra arguments go to `customs serve` (e.g. --config Policies/example-site.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
Deploy/install-deps.sh run
swift build -c release --product customs
mkdir -p state
exec .build/release/customs serve --state state "$@"
