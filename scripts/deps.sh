#!/usr/bin/env bash
# deps.sh -- installs the Debian packages KaiVox needs to build, run and test,
# but only those that are missing: a machine that has them all pays one
# dpkg-query and nothing else.  apt-get update runs at most once, and only
# when something has to be installed.  Uses sudo when not root.
set -euo pipefail

PACKAGES=(
    build-essential pkg-config
    libmicrohttpd-dev libzmq3-dev libpq-dev libjansson-dev libssl-dev
    libcurl4-openssl-dev libc-ares-dev
    postgresql postgresql-contrib
    curl wrk jq openssl ca-certificates
)

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$p")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
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
