#!/bin/bash
#
# Run one phase of devstack/plugin.sh the way DevStack does, with the
# stand-ins of this directory: usage "run-plugin.sh <mode> [<phase>]".
#
# The caller's environment gives DevStack's variables (DEST, OPSEXT_DIR,
# SWIFT_CONF_DIR, NOVA_CONF, ENABLED_SERVICES, SERVICE_HOST, ...), the
# local.conf settings (OPSEXT_*), STANDIN_RECORD (the record of calls),
# STANDIN_OPENSTACK_STATE, and PATH with an "openstack" stand-in.
# Like stack.sh: errexit, and nounset as with NOUNSET=1; unstack.sh and
# clean.sh run without errexit.

if [[ "$1" == "stack" ]]; then
    set -o errexit
fi
set -o nounset

here=$(cd "$(dirname "$0")" && pwd)
source "$here/ini-config-standin.sh"
source "$here/devstack-standin.sh"

# DevStack's "source" phase: every plugin's settings, then the phase.
source "$OPSEXT_DIR/devstack/settings"
source "$OPSEXT_DIR/devstack/plugin.sh" "$@"
