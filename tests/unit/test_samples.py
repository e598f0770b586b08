"""The sample configs in etc/ load: every opsext stanza, as written."""

import configparser
import os
import re

import pytest

from opsext.ratelimit import middleware
from opsext.swift import ip_allowlist

ETC = os.path.join(os.path.dirname(__file__), '..', '..', 'etc')
FACTORIES = {
    'egg:opsext#ip_allowlist': ip_allowlist.filter_factory,
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


# Paste options: the code's declarations, the admin guides' generated
# option tables and the Swift sample stanzas name the same options.
DOC = os.path.join(os.path.dirname(__file__), '..', '..', 'doc', 'source')
_RULE_OPTIONS = ('rules', 'rule_<name>', 'override_<name>')
PASTE_OPTIONS = {
    # filter: (code options, doc page, namespace, sample section, extra)
    'ip_allowlist': ({o.name for o in ip_allowlist.OPTS},
                     'ip_allowlist.rst', 'opsext.ip_allowlist',
                     'filter:ip_allowlist', ()),
    'ratelimit': ({o.name for o in middleware.OPTS}, 'ratelimit.rst',
                  'opsext.ratelimit', 'filter:opsext_ratelimit',
                  _RULE_OPTIONS),
}


def _options_section(page):
    with open(os.path.join(DOC, page)) as fp:
        text = fp.read()
    return text.split('\nOptions\n-------\n', 1)[1].split('\n-----', 1)[0]


def _sample_options(section):
    """Options set or shown commented out (``# name =``) in a stanza."""
    with open(os.path.join(ETC, 'swift', 'proxy-server.conf-sample')) as fp:
        text = fp.read()
    stanza = text.split('[%s]\n' % section, 1)[1].split('\n[', 1)[0]
    return set(re.findall(r'^(?:# )?([a-z_]+) =', stanza, re.MULTILINE)) - {
        'use'}


def _generic(name):
    for prefix in ('rule_', 'override_'):
        if name.startswith(prefix) and name != 'rules':
            return prefix + '<name>'
    return name


@pytest.mark.parametrize('plugin', sorted(PASTE_OPTIONS))
def test_admin_guide_options_are_generated_from_the_code(plugin):
    _code, page, namespace, _section, _extra = PASTE_OPTIONS[plugin]
    assert '\n.. show-options:: %s\n' % namespace in _options_section(
        page), ('doc/source/%s: the Options section must show the options '
                'generated from the code' % page)


@pytest.mark.parametrize('plugin', sorted(PASTE_OPTIONS))
def test_every_paste_option_is_in_the_swift_sample(plugin):
    code, _page, _namespace, section, extra = PASTE_OPTIONS[plugin]
    shown = {_generic(name) for name in _sample_options(section)}
    assert shown == set(code) | set(extra), (
        'etc/swift/proxy-server.conf-sample [%s] must show exactly the '
        'options of the code' % section)
