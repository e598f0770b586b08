"""The oslo.config options: list_opts and the committed sample config."""

import io
import os

from oslo_config import cfg
from oslo_config import generator

from opsext import opts
from opsext.subnet_affinity import options as placement_options

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


def test_list_opts_has_every_oslo_group():
    groups = dict(opts.list_opts())
    assert set(groups) == {placement_options.GROUP}
    assert ({o.name for o in groups[placement_options.GROUP]} ==
            {o.name for o in placement_options.OPTS})


def test_list_opts_returns_copies():
    listed = dict(opts.list_opts())[placement_options.GROUP]
    assert all(a is not b for a, b in zip(listed, placement_options.OPTS))


def test_sample_config_is_current():
    with open(SAMPLE) as fp:
        committed = fp.read()
    assert committed == _generated(), (
        'etc/opsext/opsext.conf.sample is stale: run "tox -e genconfig" '
        'and commit the result')
