#!/usr/bin/env bash
# One command: install what is missing and run the whole test suite (unit and integration).
set -euo pipefail
cd "$(dirname "$0")/.."
Deploy/install-deps.sh test
swift build --build-tests
swift test --skip-build "$@"
