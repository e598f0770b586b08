#!/usr/bin/env bash
# Install what opsext's demo and tests need on a fresh Debian machine:
# memcached and redis-server (apt, when root) and a virtualenv in .venv with
# tox and opsext.
# Sourced by tools/demo.sh and tools/test.sh; safe to run again.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

missing=()
command -v memcached >/dev/null 2>&1 || [ -x /usr/bin/memcached ] ||
    missing+=(memcached)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] ||
    missing+=(redis-server)
# The rate limiter's TLS tests make their certificates with it.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "bootstrap: apt-get install ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "bootstrap: please install: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

venv="$top/.venv"
if [ ! -x "$venv/bin/python" ]; then
    echo "bootstrap: creating $venv"
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
    --upgrade pip >/dev/null
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
    'tox>=4' -e "$top[swift,test]"
