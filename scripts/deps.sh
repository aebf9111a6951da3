#!/usr/bin/env bash
# deps.sh -- installs the Debian packages KaiVox needs to build, run and test,
# but only those that are missing: a machine that has them all pays one
# dpkg-query and nothing else.  apt-get update runs at most once, and only
# when something has to be installed.  Uses sudo when not root.
#
#   scripts/deps.sh         what building and running KaiVox needs
#   scripts/deps.sh --dev   also what `make test` needs beyond that: node and
#                           npm (Debian's nodejs and npm when `node` / `npm`
#                           are missing; node >= 18), Debian's chromium and a
#                           font for the console's browser tests, then `npm ci`
#                           of the tooling in package-lock.json (the OpenAPI
#                           lint, the contract check, puppeteer-core, axe-core),
#                           only when node_modules is missing or older than
#                           package-lock.json, and Debian's prometheus (promtool
#                           checks the metrics, the rules and the config; a real
#                           Prometheus scrapes the test stack)
#   scripts/deps.sh --fuzz  also what `make fuzz` needs: clang, its sanitizer
#                           and libFuzzer runtimes (libclang-rt-14-dev, only
#                           recommended by clang, so named here) and
#                           llvm-symbolizer (llvm-14) for readable reports
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV=0
FUZZ=0
case "${1:-}" in
    --dev) DEV=1 ;;
    --fuzz) FUZZ=1 ;;
    "") ;;
    *) echo "usage: scripts/deps.sh [--dev | --fuzz]" >&2; exit 2 ;;
esac

PACKAGES=(
    build-essential pkg-config
    libmicrohttpd-dev libzmq3-dev libpq-dev libjansson-dev libssl-dev
    libcurl4-openssl-dev libc-ares-dev libargon2-dev libsodium-dev
    postgresql postgresql-contrib
    curl wrk jq openssl ca-certificates
)

if (( FUZZ )); then
    PACKAGES+=(clang libclang-rt-14-dev llvm-14)
fi

# Node comes from wherever the machine has it (Debian's, NodeSource's, nvm's):
# Debian's packages are added only when the commands are missing, so that
# they never fight another install.
if (( DEV )); then
    command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
    command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)
    # the console's browser tests drive Debian's chromium (puppeteer-core
    # never downloads a browser)
    PACKAGES+=(chromium fonts-dejavu-core)
    # promtool and a real Prometheus for the metrics tests (deploy/prometheus)
    PACKAGES+=(prometheus)
    # the compose file's load balancer, run for real by tests/shell/test_haproxy.sh
    PACKAGES+=(haproxy)
fi

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$p")
    fi
done

# npm_tooling: `npm ci` when node_modules is missing or older than the lock
# file (npm ci writes node_modules/.package-lock.json last, so its time is
# the time of the last complete install).
npm_tooling() {
    local major stamp="$ROOT/node_modules/.package-lock.json"
    major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
    if (( major < 18 )); then
        echo "deps.sh: node >= 18 is needed for the test tooling; found $(node --version 2>/dev/null || echo none)" >&2
        exit 1
    fi
    if [[ -f "$stamp" && ! "$ROOT/package-lock.json" -nt "$stamp" && ! "$ROOT/package.json" -nt "$stamp" ]]; then
        return 0
    fi
    echo "deps.sh: npm ci (the test tooling of package-lock.json)" >&2
    # --ignore-scripts: no package of the lock file needs an install script.
    (cd "$ROOT" && npm ci --ignore-scripts --include=dev --no-audit --no-fund --loglevel=error)
}

if [[ ${#missing[@]} -eq 0 ]]; then
    if (( DEV )); then npm_tooling; fi
    exit 0
fi

echo "deps.sh: installing missing packages: ${missing[*]}" >&2
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "deps.sh: need root or sudo to install: ${missing[*]}" >&2
        exit 1
    fi
fi

# A fresh cloud machine often runs unattended-upgrades at first boot: wait
# for the dpkg lock instead of failing at once, and retry flaky downloads.
APT_OPTS=(-q -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y \
    --no-install-recommends "${missing[@]}"
if (( DEV )); then npm_tooling; fi
