"""Every entry point opsext declares loads and is what it claims."""

from importlib import metadata

import pytest


def _ours(group):
    return {ep.name: ep for ep in metadata.entry_points(group=group)
            if ep.value.startswith('opsext.')}


@pytest.mark.parametrize('name', ['ip_allowlist', 'ip_allowlist'])
def test_paste_filter_factory_loads(name):
    factory = _ours('paste.filter_factory')[name].load()
    filt = factory({}, operator_cidrs='192.0.2.0/24')
    assert callable(filt)
    assert callable(filt(lambda env, start_response: []))


def test_client_address_filter_factory_loads():
    factory = _ours('paste.filter_factory')['client_address'].load()
    filt = factory({}, trusted_proxies='192.0.2.10')
    assert callable(filt(lambda env, start_response: []))


def test_source_stamp_filter_factory_loads():
    factory = _ours('paste.filter_factory')['source_stamp'].load()
    filt = factory({}, secret='0123456789abcdef')
    assert callable(filt(lambda env, start_response: []))


def test_console_script_loads():
    main = _ours('console_scripts')['opsext'].load()
    assert callable(main)


def test_oslo_config_opts_entry_point_lists_the_placement_group():
    list_opts = _ours('oslo.config.opts')['opsext.placement'].load()
    groups = dict(list_opts())
    names = {opt.name for opt in groups['opsext_subnet_affinity']}
    assert {'static_rules', 'metadata_key', 'unmatched_requests',
            'untagged_hosts', 'trusted_proxies',
            'subnet_affinity_weight_multiplier'} <= names


def test_oslo_config_opts_entry_point_lists_every_group():
    from opsext import opts
    list_opts = _ours('oslo.config.opts')['opsext'].load()
    assert list_opts is opts.list_opts
    assert [str(group) for group, _opts in list_opts()] == [
        'opsext_subnet_affinity', 'filter:ip_allowlist', 'filter:ratelimit',
        'filter:client_address', 'filter:source_stamp']


@pytest.mark.parametrize('plugin', ['ip_allowlist', 'ratelimit',
                                    'client_address', 'source_stamp'])
def test_oslo_config_opts_entry_point_of_each_paste_filter(plugin):
    list_opts = _ours('oslo.config.opts')['opsext.' + plugin].load()
    [(group, options)] = list_opts()
    assert str(group) == 'filter:' + plugin and options


def test_pytest_plugin_loads_without_swift_or_nova():
    import subprocess
    import sys
    # A fresh interpreter: loading the plugin imports neither.
    code = ('import sys; from importlib import metadata; '
            '[ep.load() for ep in metadata.entry_points(group="pytest11") '
            'if ep.name == "opsext"][0]; '
            'print(sorted(m for m in ("swift", "nova", "eventlet") '
            'if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True)
    assert out.stdout.strip() == '[]'
    plugin = _ours('pytest11')['opsext'].load()
    assert plugin.__name__ == 'opsext.testing.pytest_plugin'
