#!/usr/bin/env bash
# test_docs.sh -- docs/api.md, docs/openapi.yaml and README.md against the
# code: routes, the gateway's error messages, the KAIVOX_* settings, no
# pointer to a document outside the repository (tests/shell/docs_check.mjs).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
exec node tests/shell/docs_check.mjs "${KAIVOX_BIN_DIR:-$ROOT/bin}/kaivox-gateway"
