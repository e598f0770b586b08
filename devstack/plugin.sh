#!/bin/bash
#
# DevStack plugin of opsext: Swift IP allowlist and rate limiter in the
# Swift proxy, subnet-affinity filter and weigher in the Nova scheduler.
#
# local.conf: enable_plugin opsext <git url> [<ref>]
# DevStack sources this file with the mode and phase as $1 and $2.

# Save trace setting
_XTRACE_OPSEXT_PLUGIN=$(set +o | grep xtrace)
set -o xtrace

source $OPSEXT_DIR/devstack/lib/opsext

if is_service_enabled opsext; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing opsext"
        install_opsext

    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        if is_service_enabled s-proxy; then
            echo_summary "Configuring opsext filters in the Swift proxy"
            configure_opsext_swift
        fi
        if is_service_enabled n-sch; then
            # stack.sh runs lib/neutron's configure_neutron_nova in the
            # background until its own async_wait, after this phase, and
            # that job rewrites nova.conf too: wait for it first (a second
            # async_wait of the same job returns at once, see inc/async).
            if declare -F async_wait > /dev/null; then
                async_wait configure_neutron_nova
            fi
            echo_summary "Configuring opsext subnet affinity in Nova"
            configure_opsext_nova
        fi

    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        if is_service_enabled n-api && \
                [[ "$OPSEXT_CREATE_DEMO_AGGREGATES" == "True" ]]; then
            echo_summary "Creating opsext demo aggregates"
            create_opsext_demo_aggregates
        fi

    elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
        # The first phase after stack.sh's is_nova_ready and discover_hosts:
        # only now are this node's computes registered.
        if is_service_enabled n-api && \
                [[ "$OPSEXT_CREATE_DEMO_AGGREGATES" == "True" ]]; then
            echo_summary "Adding compute hosts to the opsext demo aggregates"
            add_opsext_demo_hosts
        fi
        if is_service_enabled s-proxy n-api; then
            echo_summary "Pointing opsext functional tests at this cloud"
            configure_opsext_tests
        fi
    fi

    if [[ "$1" == "unstack" ]]; then
        # Before DevStack stops the services: nova-api still answers.
        if is_service_enabled n-api && \
                [[ "$OPSEXT_CREATE_DEMO_AGGREGATES" == "True" ]]; then
            delete_opsext_demo_aggregates
        fi
        unconfigure_opsext_swift
        unconfigure_opsext_nova
    fi

    if [[ "$1" == "clean" ]]; then
        unconfigure_opsext_swift
        unconfigure_opsext_nova
        cleanup_opsext_tests
    fi
fi

# Restore xtrace
$_XTRACE_OPSEXT_PLUGIN
