#!/bin/bash
#
# Run the opsext plugin's phases with DevStack's own code: usage
# "real-devstack.sh <work dir> <mode> [local.conf line...]", with
# OPSEXT_DEVSTACK_DIR a DevStack tree (openstack/devstack). Not for CI,
# which cannot fetch DevStack: test_real_devstack.py runs it only when
# OPSEXT_DEVSTACK_DIR is set.
#
# <mode> is "stack" (stack.sh's steps that touch the plugin, in stack.sh's
# order), "unstack" or "clean" (unstack.sh's and clean.sh's). The first
# "stack" in a work dir copies the DevStack tree to <work>/devstack and
# writes its local.conf: README.rst's "complete local.conf", with paths
# under <work> added at the top of its [[local|localrc]] section and the
# given lines (the scenario) at its end; the plugin's checkout is
# $DEST/opsext.
#
# Real, from the DevStack tree: functions, functions-common, inc/*
# (ini-config, python, async, meta-config), stackrc, lib/stack, lib/swift
# (configure_swift), lib/nova (create_nova_conf), lib/neutron
# (configure_neutron_nova, run with async_runfunc/async_wait), lib/keystone,
# lib/tls, run_phase, load_plugin_settings, merge_config_group,
# setup_devstack_virtualenv, install_python, setup_develop's pip_install
# target choice, wait_for_compute (is_nova_ready).
#
# Stubbed, because they need a running cloud or would change this machine
# (each says so when called, in <work>/stubs.log). OPSEXT_SWIFT_SRC is
# Swift's unpacked sdist ($DEST/swift: configure_swift copies its etc/);
# OPSEXT_GAWK a GNU awk, when gawk is not on PATH (DevStack installs it).
#
#   sudo          runs file commands (install, mkdir, cp, tee, sed, ...)
#                 only when every path in them is under <work>; logs and
#                 skips the rest (/etc/rsyncd.conf, the /etc/swift link,
#                 a2ensite, sysctl, systemctl, ...)
#   apt_get, install_package, fixup_all: no packages are installed
#   pip_install   logs, except for opsext's checkout: installed as
#                 "pip install -e" would, by a .pth file in the site-packages
#                 of the Python pip_install would choose (no network)
#   python$PYTHON3_VERSION on PATH: a venv of this machine's python3 in
#                 <work>/system, standing for the system Python
#   openstack     tests/functional/devstack/openstack-standin: nova-api's
#                 aggregates and the registered nova-compute services
#                 (STANDIN_COMPUTE_HOSTS, as start_nova_compute names them)
#   edit-constraints (openstack/requirements), tempest (disabled),
#   swift-init, uuidgen, discover_hosts, database_connection_url (MySQL URL text),
#   get_notification_url, iniset_rpc_backend's transport_url (text only)

set -o errexit
# stack.sh: errexit; nounset only with NOUNSET (DevStack is not nounset-clean).

if [[ ! -f "${OPSEXT_DEVSTACK_DIR:-}/stack.sh" || ! -d "${OPSEXT_SWIFT_SRC:-}/etc" ]]; then
    echo "real-devstack: OPSEXT_DEVSTACK_DIR must be a DevStack tree and OPSEXT_SWIFT_SRC Swift's source tree" >&2
    exit 2
fi
work=$(mkdir -p "$1" && cd "$1" && pwd)
mode=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
opsext=$(cd "$here/../../.." && pwd)
TOP_DIR=$work/devstack
export STANDIN_RECORD=$work/openstack.log
export STANDIN_OPENSTACK_STATE=$work/openstack
export STANDIN_COMPUTE_HOSTS=""

function prepare {
    rm -rf "$TOP_DIR"
    mkdir -p "$TOP_DIR" "$work/opt/stack" "$work/stubs" "$STANDIN_OPENSTACK_STATE"
    (cd "$OPSEXT_DEVSTACK_DIR" && tar --exclude=.git -cf - .) | \
        (cd "$TOP_DIR" && tar -xf -)
    ln -sfn "$opsext" "$work/opt/stack/opsext"
    # Swift's source tree (its etc/*-sample), as stack.sh's install left it.
    ln -sfn "$OPSEXT_SWIFT_SRC" "$work/opt/stack/swift"
    local version
    version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    rm -rf "$work/system"
    python3 -m venv --without-pip "$work/system"
    ln -sf python3 "$work/system/bin/python$version"
    # DevStack installs gawk (files/debs/general) and its local.conf merge
    # needs it: under mawk merge_config_group silently writes nothing.
    local gawk=${OPSEXT_GAWK:-$(command -v gawk || true)}
    if [[ -z "$gawk" ]] || ! "$gawk" --version 2>/dev/null | grep -q 'GNU Awk'; then
        echo "real-devstack: DevStack needs GNU awk: install gawk or set OPSEXT_GAWK" >&2
        exit 1
    fi
    ln -sfn "$gawk" "$work/stubs/awk"
    cp "$here/openstack-standin" "$work/stubs/openstack"
    mkdir -p "$work/opt/stack/requirements/.venv/bin"
    : > "$work/opt/stack/requirements/upper-constraints.txt"
    printf '#!/bin/sh\necho "stub: edit-constraints $*" >> "%s/stubs.log"\n' \
        "$work" > "$work/opt/stack/requirements/.venv/bin/edit-constraints"
    chmod +x "$work/opt/stack/requirements/.venv/bin/edit-constraints"
    printf '#!/bin/sh\necho "stub: swift-init $*" >> "%s/stubs.log"\n' \
        "$work" > "$work/stubs/swift-init"
    printf '#!/bin/sh\nexec python3 -c "import uuid; print(uuid.uuid4())"\n' \
        > "$work/stubs/uuidgen"
    chmod +x "$work/stubs/swift-init" "$work/stubs/uuidgen"
    # README.rst's local.conf, dedented: our paths right after its
    # [[local|localrc]] line, the scenario's lines at the end of that
    # section (after README's own settings, so that they win).
    local paths scenario
    paths=$(printf '%s\n' \
        "DEST=$work/opt/stack" "DATA_DIR=$work/data" \
        "SWIFT_CONF_DIR=$work/etc/swift" "LOGDIR=$work/logs" \
        "SERVICE_HOST=127.0.0.1" "HOST_IP=127.0.0.1" "SERVICE_IP_VERSION=4" \
        "STACK_USER=$(id -un)" "OFFLINE=True" "USE_SYSTEMD=True" \
        "OPSEXT_TEST_ENV_FILE=$work/etc/opsext/test.env" \
        "disable_service tempest")
    scenario=$(printf '%s\n' "$@")
    awk '/^\.\. code-block:: ini/ { on = 1; next }
         on && /^[^ \t]/ { exit }
         on { sub(/^    /, ""); print }' "$opsext/devstack/README.rst" | \
        PATHS="$paths" SCENARIO="$scenario" awk '
            /^\[\[/ && in_local { print ENVIRON["SCENARIO"]; in_local = 0 }
            { print }
            /^\[\[local\|localrc\]\]/ { print ENVIRON["PATHS"]; in_local = 1 }
            END { if (in_local) print ENVIRON["SCENARIO"] }' \
        > "$TOP_DIR/local.conf"
}

# The stubs (see the header), defined after DevStack's functions.
function define_stubs {
    function sudo {
        local arg
        case "$1" in
            install|mkdir|chown|chmod|cp|ln|tee|sed|rm|touch|mv) ;;
            *)
                echo "stub: sudo $* (skipped)" >> "$work/stubs.log"
                return 0
                ;;
        esac
        for arg in "$@"; do
            if [[ "$arg" == /* && "$arg" != "$work"* ]]; then
                echo "stub: sudo $* (skipped: outside $work)" >> "$work/stubs.log"
                return 0
            fi
        done
        "$@"
    }
    function apt_get { echo "stub: apt_get $*" >> "$work/stubs.log"; }
    function install_package { echo "stub: install_package $*" >> "$work/stubs.log"; }
    function fixup_all { :; }
    function discover_hosts { :; }
    function database_connection_url { echo "mysql+pymysql://root:x@127.0.0.1/$1?charset=utf8"; }
    function get_notification_url { echo "rabbit://stackrabbit:x@127.0.0.1:5672/"; }
    function get_transport_url { echo "rabbit://stackrabbit:x@127.0.0.1:5672/"; }
    function pip_install {
        local arg dir=""
        for arg in "$@"; do
            [[ "$arg" == "$DEST/opsext" || "$arg" == "$opsext" ]] && dir=$arg
        done
        echo "stub: pip_install $*" >> "$work/stubs.log"
        [[ -n "$dir" ]] || return 0
        # inc/python's pip_install: the global venv when GLOBAL_VENV is
        # True and it exists, else python$PYTHON3_VERSION.
        local python=python$PYTHON3_VERSION site
        if [[ "${GLOBAL_VENV}" == "True" && -d ${DEVSTACK_VENV} ]]; then
            python=$DEVSTACK_VENV/bin/python3
        fi
        site=$($python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
        echo "$(cd "$dir" && pwd -P)" > "$site/opsext-develop.pth"
        echo "stub: opsext installed for $python in $site" >> "$work/stubs.log"
    }
}

# unstack.sh and clean.sh: functions, stackrc, lib/*, settings; no PYTHON.
function source_devstack {
    cd "$TOP_DIR"
    FILES=$TOP_DIR/files
    source $TOP_DIR/functions
    source $TOP_DIR/lib/stack
    GetDistro
    extract_localrc_section $TOP_DIR/local.conf $TOP_DIR/localrc $TOP_DIR/.localrc.auto
    source $TOP_DIR/stackrc
    define_stubs
    export PATH=$work/stubs:$work/system/bin:$PATH
    local lib
    for lib in database rpc_backend apache tls infra keystone nova swift neutron; do
        source $TOP_DIR/lib/$lib
    done
    # lib/nova fixes NOVA_CONF_DIR=/etc/nova: the files go under <work>.
    NOVA_CONF_DIR=$work/etc/nova
    NOVA_CONF=$NOVA_CONF_DIR/nova.conf
    NOVA_COND_CONF=$NOVA_CONF_DIR/nova.conf
    NOVA_CPU_CONF=$NOVA_CONF_DIR/nova-cpu.conf
    NOVA_FAKE_CONF=$NOVA_CONF_DIR/nova-fake.conf
    NOVA_UWSGI_CONF=$NOVA_CONF_DIR/nova-api-uwsgi.ini
    NOVA_METADATA_UWSGI_CONF=$NOVA_CONF_DIR/nova-metadata-uwsgi.ini
    NOVA_API_PASTE_INI=$NOVA_CONF_DIR/api-paste.ini
    SSL_BUNDLE_FILE=$DATA_DIR/ca-bundle.pem
}

case "$mode" in
    stack)
        prepare "$@"
        unset PYTHON
        source_devstack
        async_init
        install_python
        echo "PYTHON at settings time: $PYTHON"
        run_phase source
        if [[ "$GLOBAL_VENV" == "True" ]]; then
            setup_devstack_virtualenv
        fi
        echo "PYTHON after setup_devstack_virtualenv: $PYTHON"
        run_phase stack pre-install
        run_phase stack install
        if is_service_enabled swift; then
            configure_swift
        fi
        if is_service_enabled nova; then
            mkdir -p $NOVA_CONF_DIR
            create_nova_conf
            async_runfunc configure_neutron_nova
        fi
        run_phase stack post-config
        merge_config_group $TOP_DIR/local.conf post-config
        async_wait configure_neutron_nova
        if is_service_enabled nova; then
            iniset $NOVA_CONF key_manager fixed_key "${FIXED_KEY:-bae3516cc1c0eb18b05440eba8012a4a880a2ee04d584a9c1579445e675b12defdc716ec}"
        fi
        merge_config_group $TOP_DIR/local.conf extra
        run_phase stack extra
        merge_config_group $TOP_DIR/local.conf post-extra
        if is_service_enabled n-cpu; then
            # The computes of this node register (lib/nova's
            # start_nova_compute names them); then the real is_nova_ready.
            if [[ "$VIRT_DRIVER" == fake ]]; then
                STANDIN_COMPUTE_HOSTS=$(seq -f "${HOSTNAME}%g" -s , 1 $NUMBER_FAKE_NOVA_COMPUTE)
            else
                STANDIN_COMPUTE_HOSTS=$(hostname)
            fi
            export STANDIN_COMPUTE_HOSTS
            is_nova_ready
        fi
        run_phase stack test-config
        merge_config_group $TOP_DIR/local.conf test-config
        ;;
    unstack|clean)
        unset PYTHON
        source_devstack
        load_plugin_settings
        set -o xtrace
        run_phase $mode
        ;;
    *)
        echo "usage: $0 <work dir> stack|unstack|clean [local.conf line...]" >&2
        exit 2
        ;;
esac
echo "real-devstack: $mode done; nova.conf $NOVA_CONF; proxy-server.conf $SWIFT_CONF_DIR/proxy-server.conf"
