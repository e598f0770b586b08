#!/bin/bash
#
# Stand-ins for the DevStack functions devstack/plugin.sh and
# devstack/settings call, for testing without DevStack. Each names the
# DevStack file and function it models (openstack/devstack, master, July
# 2026) and behaves as that does where the plugin can tell; they record
# the calls that would change the machine in $STANDIN_RECORD, one line
# each: "<function> <arguments>".
#
# Pythons: STANDIN_SYSTEM_BIN holds the system python$PYTHON3_VERSION and
# python3, STANDIN_PIP the markers of where opsext was installed; a
# stand-in python imports opsext only once setup_develop installed it
# into its environment, as a real one would.

function _standin_record {
    echo "$*" >> "$STANDIN_RECORD"
}

# functions-common: define_plugin.
function define_plugin {
    _standin_record define_plugin "$@"
}

# stack.sh: echo_summary (to the console in stack.sh).
function echo_summary {
    echo "summary: $*"
}

# functions-common: warn. Like DevStack's, it returns the exit status of
# the command before it: "cmd || warn ..." still fails under errexit.
function warn {
    local exitcode=$?
    echo "[WARNING] ${BASH_SOURCE[2]:-}:$1 $2"
    return $exitcode
}

# functions-common: die. Reports and exits the whole run (stack.sh,
# unstack.sh or clean.sh: the plugin is sourced), with the previous exit
# status, or 1.
function die {
    local exitcode=$?
    local line=$1
    shift
    [[ $exitcode != 0 ]] || exitcode=1
    echo "[ERROR] ${BASH_SOURCE[2]:-}:$line $*" >&2
    exit $exitcode
}

# functions-common: deprecated. Adds the text to DEPRECATED_TEXT (stack.sh
# prints it again at its end) and warns on stderr.
function deprecated {
    local text=$1
    DEPRECATED_TEXT+="\n$text"
    echo "WARNING: $text" >&2
}

# functions-common: trueorfalse.
function trueorfalse {
    local default=$1
    local value=${!2:-}
    case "$value" in
        1|[yY]es|YES|[tT]rue|TRUE) echo True ;;
        0|[nN]o|NO|[fF]alse|FALSE) echo False ;;
        *) echo "$default" ;;
    esac
}

# functions-common: ipv6_unquote.
function ipv6_unquote {
    echo $1 | tr -d '[]'
}

# functions-common: enable_service and is_service_enabled.
# ENABLED_SERVICES is a comma separated list, as in DevStack; "nova" and
# "swift" stand for any of their n-* and s-* services. DevStack applies
# local.conf's disable_service after the plugins' settings enabled theirs:
# STANDIN_DISABLED_SERVICES does that here.
function enable_service {
    local service
    for service in "$@"; do
        [[ ",$ENABLED_SERVICES," == *",$service,"* ]] || \
            ENABLED_SERVICES=${ENABLED_SERVICES:+$ENABLED_SERVICES,}$service
    done
}

function is_service_enabled {
    local service
    for service in "$@"; do
        [[ ",${STANDIN_DISABLED_SERVICES:-}," == *",$service,"* ]] && continue
        [[ ",$ENABLED_SERVICES," == *",$service,"* ]] && return 0
        [[ $service == nova && ",$ENABLED_SERVICES" == *",n-"* ]] && return 0
        [[ $service == swift && ",$ENABLED_SERVICES" == *",s-"* ]] && return 0
    done
    return 1
}

# _standin_pip_target - where inc/python's pip_install installs: the
# global virtualenv when GLOBAL_VENV is True and it exists, else the
# system python$PYTHON3_VERSION (with sudo)
function _standin_pip_target {
    if [[ "${GLOBAL_VENV}" == "True" && -d ${DEVSTACK_VENV} ]]; then
        echo venv
    else
        echo system
    fi
}

# inc/python: setup_develop (through _setup_package_with_constraints_edit
# and pip_install): "pip install -e" into _standin_pip_target.
function setup_develop {
    _standin_record setup_develop "$@"
    touch "$STANDIN_PIP/$(_standin_pip_target).installed"
}

function pip_install {
    _standin_record pip_install "$@"
}

# _standin_python path marker - write a stand-in python: the base
# interpreter, seeing opsext (PYTHONPATH) only when the marker exists
function _standin_python {
    cat > "$1" <<EOF_PYTHON
#!/bin/bash
if [[ -e "$STANDIN_PIP/$2.installed" ]]; then
    export PYTHONPATH="$STANDIN_OPSEXT_SRC"
else
    unset PYTHONPATH
fi
exec "$STANDIN_BASE_PYTHON" -s "\$@"
EOF_PYTHON
    chmod +x "$1"
}

# inc/python: setup_devstack_virtualenv, which stack.sh calls after the
# plugins' settings were read, when GLOBAL_VENV is True: makes the venv
# once, puts its bin first on PATH and points PYTHON at its python3.
function setup_devstack_virtualenv {
    if [[ ! -d $DEVSTACK_VENV ]]; then
        mkdir -p "$DEVSTACK_VENV/bin"
        _standin_python "$DEVSTACK_VENV/bin/python3" venv
        ln -s python3 "$DEVSTACK_VENV/bin/python"
    fi
    if [[ ":$PATH:" != *":$DEVSTACK_VENV/bin:"* ]]; then
        export PATH="$DEVSTACK_VENV/bin:$PATH"
        export PYTHON="$DEVSTACK_VENV/bin/python3"
    fi
}

# inc/python: install_python, early in stack.sh (before the plugins'
# settings): PYTHON is the system python$PYTHON3_VERSION.
function install_python {
    export PYTHON=$(which python${PYTHON3_VERSION} 2>/dev/null)
}

# inc/async: async_runfunc and async_wait, reduced to what the plugin can
# see. With DEVSTACK_PARALLEL=True (the default) the function runs in the
# background, its output in $DEST/async/<name>.log, until async_wait
# collects it; otherwise it runs at once. Waiting for a job that was never
# started or was already waited for prints a note and returns 0.
function async_runfunc {
    local name=$1
    mkdir -p "$DEST/async"
    if [[ "${DEVSTACK_PARALLEL:-True}" == "True" ]]; then
        "$@" > "$DEST/async/$name.log" 2>&1 &
        echo $! > "$DEST/async/$name.pid"
    else
        echo self > "$DEST/async/$name.pid"
        "$@"
    fi
}

function async_wait {
    local name pid rc=0
    for name in "$@"; do
        if [[ ! -f "$DEST/async/$name.pid" ]]; then
            echo "Not waiting for async task $name that we never started or has already been waited for"
            continue
        fi
        pid=$(cat "$DEST/async/$name.pid")
        rm -f "$DEST/async/$name.pid"
        if [[ "$pid" != self ]]; then
            wait $pid || rc=$?
            cat "$DEST/async/$name.log"
        fi
        [[ $rc == 0 ]] || break
    done
    return $rc
}

# As root with no password: run the command, and record it.
function sudo {
    _standin_record sudo "$@"
    "$@"
}
