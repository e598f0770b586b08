#!/bin/bash
#
# What DevStack's configure_swift (lib/swift) and create_nova_conf
# (lib/nova) do to proxy-server.conf and nova.conf before the plugin's
# post-config phase, as far as the plugin can see it; written for these
# tests. Usage: "configure-standin.sh swift <sample>" (copies the sample
# to $SWIFT_CONF_DIR/proxy-server.conf first) or "configure-standin.sh
# nova" (makes $NOVA_CONF from nothing, as DevStack does). Extra for the
# tests: STANDIN_MEMCACHE_SERVERS in [filter:cache], STANDIN_SWIFT_DIR as
# swift_dir (where a test cluster keeps its rings).

set -o errexit
set -o nounset

here=$(cd "$(dirname "$0")" && pwd)
source "$here/ini-config-standin.sh"
source "$here/devstack-standin.sh"

function configure_swift_standin {
    local conf=$SWIFT_CONF_DIR/proxy-server.conf
    cp "$1" "$conf"
    iniuncomment $conf DEFAULT swift_dir
    iniset $conf DEFAULT swift_dir ${STANDIN_SWIFT_DIR:-$SWIFT_CONF_DIR}
    iniuncomment $conf DEFAULT workers
    iniset $conf DEFAULT workers 1
    iniset $conf DEFAULT bind_port 8080
    if is_service_enabled tls-proxy; then
        iniset $conf DEFAULT bind_port 8081
    fi
    iniset $conf app:proxy-server account_autocreate true
    iniset $conf app:proxy-server allow_account_management true
    iniset $conf filter:versioned_writes allow_versioned_writes true
    # lib/swift configure_swift: auth (and s3api) replace tempauth, the
    # extras follow it, with its own two seds: they leave double spaces
    # ("tempauth  formpost", "proxy-logging  proxy-server").
    local swift_pipeline="${SWIFT_EXTRAS_MIDDLEWARE_NO_AUTH:-crossdomain}"
    if is_service_enabled s3api; then
        swift_pipeline+=" s3api"
    fi
    if is_service_enabled keystone; then
        swift_pipeline+=" authtoken"
        is_service_enabled s3api && swift_pipeline+=" s3token"
        swift_pipeline+=" keystoneauth"
        iniset $conf filter:authtoken paste.filter_factory \
            keystonemiddleware.auth_token:filter_factory
        iniset $conf filter:keystoneauth use egg:swift#keystoneauth
    fi
    swift_pipeline+=" tempauth "
    sed -i "/^pipeline/ { s/tempauth/${swift_pipeline} ${SWIFT_EXTRAS_MIDDLEWARE:-formpost staticweb}/ ;}" $conf
    sed -i "/^pipeline/ { s/proxy-server/${SWIFT_EXTRAS_MIDDLEWARE_LAST:-} proxy-server/ ; }" $conf
    iniset $conf filter:crossdomain use egg:swift#crossdomain
    iniuncomment $conf filter:tempauth account_autocreate
    iniset $conf filter:tempauth reseller_prefix TEMPAUTH
    if [[ -n "${STANDIN_MEMCACHE_SERVERS:-}" ]]; then
        iniset $conf filter:cache memcache_servers $STANDIN_MEMCACHE_SERVERS
    fi
}

function create_nova_conf_standin {
    rm -f $NOVA_CONF
    iniset $NOVA_CONF DEFAULT debug True
    iniset $NOVA_CONF filter_scheduler enabled_filters "$NOVA_FILTERS"
    iniset $NOVA_CONF scheduler workers 2
    if is_service_enabled tls-proxy; then
        iniset $NOVA_CONF oslo_middleware enable_proxy_headers_parsing True
    fi
}

case "$1" in
    swift) configure_swift_standin "$2" ;;
    nova) create_nova_conf_standin ;;
    *) die $LINENO "usage: $0 swift <sample> | nova" ;;
esac
