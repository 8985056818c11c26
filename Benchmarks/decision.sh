#!/bin/sh
# Decision benchmark: verdicts per second of Decide.verdict (release build).
set -e
cd "$(dirname "$0")/.."
swift build -c release --product DecisionBench
.build/release/DecisionBench "${1:-2000000}"
