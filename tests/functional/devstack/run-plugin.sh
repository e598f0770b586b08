#!/bin/bash
#
# Run one phase of devstack/plugin.sh the way DevStack does, with the
# stand-ins of this directory: usage "run-plugin.sh <mode> [<phase>]".
#
# The caller's environment gives DevStack's variables (DEST, OPSEXT_DIR,
# SWIFT_CONF_DIR, NOVA_CONF, ENABLED_SERVICES, SERVICE_HOST, GLOBAL_VENV,
# DEVSTACK_VENV, PYTHON3_VERSION, ...), the local.conf settings
# (OPSEXT_*), STANDIN_RECORD (the record of calls), STANDIN_* for the
# stand-ins, and PATH with an "openstack" stand-in and the system
# python$PYTHON3_VERSION.
#
# What it models, in order:
# - stack.sh: errexit, and nounset as with NOUNSET=1; install_python
#   (PYTHON is the system python), run_phase source (the plugin's
#   settings), setup_devstack_virtualenv when GLOBAL_VENV is True (PYTHON
#   and PATH switch to the global virtualenv), then the phase. Before
#   post-config stack.sh starts lib/neutron's configure_neutron_nova in the
#   background (async_runfunc, after init_nova) and collects it after the
#   phase (async_wait); configure_neutron_nova_standin stands in for it.
# - unstack.sh and clean.sh: no errexit, no PYTHON (stackrc does not set
#   it, nor does STACK_ENV_VARS carry it), no virtualenv on PATH.

unset PYTHON
if [[ "$1" == "stack" ]]; then
    set -o errexit
fi
set -o nounset

here=$(cd "$(dirname "$0")" && pwd)
source "$here/ini-config-standin.sh"
source "$here/devstack-standin.sh"

# lib/neutron: configure_neutron_nova (create_nova_conf_neutron), which
# rewrites nova.conf's [neutron] section while stack.sh goes on. Like
# iniset (sed -i), each of its writes replaces the whole file from what it
# read: here one slow read-modify-write, so that an edit made meanwhile by
# the plugin is lost, as it can be in DevStack.
function configure_neutron_nova_standin {
    local content
    content=$(cat "$NOVA_CONF")
    sleep "${STANDIN_NEUTRON_NOVA_SECONDS:-1}"
    printf '%s\n' "$content" > "$NOVA_CONF"
    iniset $NOVA_CONF neutron auth_type password
    iniset $NOVA_CONF neutron region_name "$REGION_NAME"
    iniset $NOVA_CONF neutron service_metadata_proxy True
}

if [[ "$1" == "stack" ]]; then
    install_python
fi
source "$OPSEXT_DIR/devstack/settings"
if [[ "$1" == "stack" && "$GLOBAL_VENV" == "True" ]]; then
    setup_devstack_virtualenv
fi
if [[ "$1 ${2:-}" == "stack post-config" ]] && is_service_enabled nova && \
        [[ -f "$NOVA_CONF" ]]; then
    # async_runfunc names the job after its function.
    function configure_neutron_nova { configure_neutron_nova_standin; }
    async_runfunc configure_neutron_nova
fi
source "$OPSEXT_DIR/devstack/plugin.sh" "$@"
if [[ "$1 ${2:-}" == "stack post-config" ]]; then
    async_wait configure_neutron_nova
fi
