#!/usr/bin/env bash
# Installs what the test suite needs (tests/install.sh), then runs every test.
# Usage: tests/run.sh [extra cargo test arguments]
# Needs root (or sudo) for apt and for the network namespaces the BIRD tests use.
set -euo pipefail
cd "$(dirname "$0")/.."

tests/install.sh

echo "running the test suite ($(nproc) cores)"
cargo test --locked "$@"
