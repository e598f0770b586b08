"""The oslo.config options: list_opts and the committed sample config."""

import io
import os

from oslo_config import cfg
from oslo_config import generator
import pytest

from opsext import client_address
from opsext.nova import source_stamp
from opsext import opts
from opsext.subnet_affinity import options as placement_options
from opsext.ratelimit import middleware
from opsext.swift import _options as ip_allowlist_options

ETC = os.path.join(os.path.dirname(__file__), '..', '..', 'etc')
PLUGINS = {
    placement_options.GROUP: placement_options.OPTS,
    'filter:ip_allowlist': ip_allowlist_options.OPTS,
    'filter:ratelimit': middleware.OPTS,
    'filter:client_address': client_address.ClientAddressMiddleware.OPTS,
    'filter:source_stamp': source_stamp.SourceStampMiddleware.OPTS,
}

TOP = os.path.join(os.path.dirname(__file__), '..', '..')
GENERATOR_CONF = os.path.join(TOP, 'etc', 'opsext',
                              'opsext-config-generator.conf')
SAMPLE = os.path.join(TOP, 'etc', 'opsext', 'opsext.conf.sample')


def _generated():
    conf = cfg.ConfigOpts()
    generator.register_cli_opts(conf)
    conf(args=['--config-file', GENERATOR_CONF])
    out = io.StringIO()
    generator.generate(conf, output_file=out)
    return out.getvalue()


def _groups(listed):
    return {str(group): options for group, options in listed}


def test_list_opts_has_every_option_of_every_plugin():
    groups = _groups(opts.list_opts())
    assert set(groups) == set(PLUGINS)
    for name, declared in PLUGINS.items():
        assert [o.name for o in groups[name]] == [o.name for o in declared]


def test_list_opts_returns_copies():
    groups = _groups(opts.list_opts())
    for name, declared in PLUGINS.items():
        assert all(a is not b for a, b in zip(groups[name], declared))


def test_each_plugin_has_its_own_namespace():
    assert _groups(opts.list_ratelimit_opts()).keys() == {'filter:ratelimit'}
    assert _groups(opts.list_placement_opts()).keys() == {
        placement_options.GROUP}


@pytest.mark.parametrize('sample,names', opts.PASTE_SAMPLES)
def test_paste_sample_stanzas_are_current(sample, names):
    with open(os.path.join(ETC, sample)) as fp:
        committed = fp.read()
    assert committed == opts.render_sample(committed, names), (
        'etc/%s is stale: run "tox -e genconfig" and commit the result'
        % sample)


def test_stanza_shows_each_option_with_its_default_and_help():
    lines = opts.stanza_lines(ip_allowlist_options.OPTS)
    assert '# enforce = true' in lines
    assert '# deny_message = Access denied by the IP allowlist.' in lines
    assert '# (1 to 100)' in lines
    assert all(line == '' or line.startswith('# ') for line in lines)
    assert max(len(line) for line in lines) <= 79


def test_stale_stanza_is_rewritten():
    text = '[filter:x]\n%s\n# enforce = maybe\n%s\n' % (
        opts.BEGIN % 'ip_allowlist', opts.END % 'ip_allowlist')
    fresh = opts.render_sample(text, ['ip_allowlist'])
    assert '# enforce = maybe' not in fresh and '# enforce = true' in fresh
    assert opts.render_sample(fresh, ['ip_allowlist']) == fresh


def test_missing_markers_are_an_error():
    with pytest.raises(ValueError):
        opts.render_sample('[filter:x]\n', ['ratelimit'])


def test_sample_config_is_current():
    with open(SAMPLE) as fp:
        committed = fp.read()
    assert committed == _generated(), (
        'etc/opsext/opsext.conf.sample is stale: run "tox -e genconfig" '
        'and commit the result')
