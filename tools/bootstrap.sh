#!/usr/bin/env bash
# Install what opsext's demo and tests need on a fresh Debian machine:
# memcached, redis-server and openssl (apt, when root) and a virtualenv in
# .venv with tox, Swift and opsext.
# Run by tools/demo.sh and tools/test.sh; safe to run again (a second run
# skips the install while setup.cfg and the requirements are unchanged).
#
# It prints one line per step, with the elapsed time of the long ones;
# what apt and pip print goes to .bootstrap.log, which the last line names
# when a step fails (the status is then non-zero).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$top/.venv"
log="$top/.bootstrap.log"
steps=4
started=$SECONDS
: >"$log"

say() { echo "bootstrap: $*"; }

# run_step N LABEL COMMAND...: run COMMAND with its output in the log,
# showing LABEL and the elapsed time (updated in place on a terminal, a
# mark every 30 s on the same line otherwise, as in CI logs); on failure, show the end of
# the log and name it, and exit with the command's status.
run_step() {
    local label="$1 ($2/$steps)"
    shift 2
    local start=$SECONDS pid status=0 shown=0 tty=0 now
    [ -t 1 ] && tty=1
    echo "== $label: $*" >>"$log"
    "$@" >>"$log" 2>&1 &
    pid=$!
    [ $tty = 1 ] || printf 'bootstrap: %s ...' "$label"
    while kill -0 "$pid" 2>/dev/null; do
        now=$((SECONDS - start))
        if [ $tty = 1 ]; then
            printf '\rbootstrap: %s ... %ds %s\033[K' "$label" "$now" \
                "$(_current)"
        elif [ $((now - shown)) -ge 30 ]; then
            printf ' %ds' "$now"
            shown=$now
        fi
        sleep 1
    done
    wait "$pid" || status=$?
    now=$((SECONDS - start))
    if [ $tty = 1 ]; then
        printf '\rbootstrap: %s ...\033[K' "$label"
    fi
    if [ "$status" != 0 ]; then
        echo " FAILED after ${now}s (status $status); the log ends:"
        tail -n 15 "$log" | sed 's/^/    /'
        say "failed; full log: $log"
        exit "$status"
    fi
    echo " done in ${now}s"
}

# What pip is working on, from its log: "(collecting nova)".
_current() {
    local name
    name=$(sed -n 's/^Collecting \([A-Za-z0-9._-]*\).*/\1/p' "$log" |
        tail -n 1)
    [ -n "$name" ] && echo "(collecting $name)"
    return 0
}

# 1. System packages.
missing=()
command -v memcached >/dev/null 2>&1 || [ -x /usr/bin/memcached ] ||
    missing+=(memcached)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] ||
    missing+=(redis-server)
# The rate limiter's TLS tests make their certificates with it.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} = 0 ]; then
    say "system packages (1/$steps): memcached, redis-server, openssl present"
elif [ "$(id -u)" = 0 ]; then
    apt_install() {
        apt-get update -q &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                --no-install-recommends "$@"
    }
    run_step "apt-get install ${missing[*]}" 1 apt_install "${missing[@]}"
else
    say "system packages (1/$steps): missing: ${missing[*]}" >&2
    say "please run: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi

# 2. The virtualenv, with a current pip.
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [ -x "$venv/bin/python" ]; then
    say "virtualenv (2/$steps): $venv exists"
else
    make_venv() {
        python3 -m venv "$venv" &&
            "$venv/bin/python" -m pip install --upgrade pip
    }
    run_step "creating the virtualenv $venv" 2 make_venv
fi

# 3. tox, Swift and opsext (editable) in it, unless nothing they are
# installed from has changed since the last successful install.
stamp="$venv/.opsext-bootstrap"
want=$(cd "$top" && { cat setup.cfg setup.py pyproject.toml requirements.txt \
    test-requirements.txt 2>/dev/null || true; } | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
        [ -x "$venv/bin/tox" ] && [ -x "$venv/bin/opsext" ]; then
    say "tox, Swift and opsext (3/$steps): up to date in .venv"
else
    rm -f "$stamp"
    run_step "installing tox, Swift and opsext into .venv" 3 \
        "$venv/bin/python" -m pip install 'tox>=4' -e "$top[swift,test]"
    echo "$want" >"$stamp"
fi

# 4. A check that the command works.
run_step "checking the opsext command" 4 "$venv/bin/opsext" --help
version=$("$venv/bin/python" -c \
    'import importlib.metadata as m; print(m.version("opsext"))')
say "ready in $((SECONDS - started))s: opsext $version in .venv" \
    "(install log: ${log#"$top"/})"
