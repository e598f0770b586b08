"""The sample configs in etc/ load: every opsext stanza, as written."""

import configparser
import os

import pytest

from opsext.ratelimit import middleware
from opsext.swift import ip_whitelist

ETC = os.path.join(os.path.dirname(__file__), '..', '..', 'etc')
FACTORIES = {
    'egg:opsext#ip_whitelist': ip_whitelist.filter_factory,
    'egg:opsext#ratelimit': middleware.filter_factory,
}


def _stanzas():
    found = []
    for sample in ('swift/proxy-server.conf-sample',
                   'nova/api-paste.ini-sample'):
        parser = configparser.RawConfigParser()
        parser.read(os.path.join(ETC, sample))
        for section in parser.sections():
            use = parser.get(section, 'use', fallback='')
            if use in FACTORIES:
                found.append((sample, section, use,
                              dict(parser.items(section))))
    return found


def test_samples_have_every_opsext_filter():
    assert {use for _s, _n, use, _c in _stanzas()} == set(FACTORIES)


@pytest.mark.parametrize('sample,section,use,conf', _stanzas(),
                         ids=lambda v: v if isinstance(v, str) else None)
def test_sample_stanza_loads(sample, section, use, conf):
    conf.pop('use')
    factory = FACTORIES[use]({}, **conf)
    assert callable(factory(lambda env, start_response: []))
