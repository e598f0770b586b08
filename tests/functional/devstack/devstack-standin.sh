#!/bin/bash
#
# Stand-ins for the DevStack functions devstack/plugin.sh and
# devstack/settings call, for testing without DevStack. They behave like
# DevStack's (functions-common, inc/python) where the plugin can tell, and
# record the calls that would change the machine in $STANDIN_RECORD, one
# line each: "<function> <arguments>".

function _standin_record {
    echo "$*" >> "$STANDIN_RECORD"
}

function define_plugin {
    _standin_record define_plugin "$@"
}

function echo_summary {
    echo "summary: $*"
}

function warn {
    echo "warning: $*" >&2
}

# Like DevStack's: report and exit the whole run.
function die {
    local line=$1
    shift
    echo "die at line $line: $*" >&2
    exit 1
}

function trueorfalse {
    local default=$1
    local value=${!2:-}
    case "$value" in
        1|[yY]es|YES|[tT]rue|TRUE) echo True ;;
        0|[nN]o|NO|[fF]alse|FALSE) echo False ;;
        *) echo "$default" ;;
    esac
}

function ipv6_unquote {
    echo $1 | tr -d '[]'
}

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

function setup_develop {
    _standin_record setup_develop "$@"
}

function pip_install {
    _standin_record pip_install "$@"
}

# As root with no password: run the command, and record it.
function sudo {
    _standin_record sudo "$@"
    "$@"
}
