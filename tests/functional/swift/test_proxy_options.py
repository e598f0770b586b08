"""A real proxy-server.conf with opsext filters: options read at start-up.

Each test writes a copy of the test cluster's proxy config and loads it
with Swift's own ``swift.common.wsgi.loadapp``, as ``swift-proxy-server``
does: an unknown or bad option stops the proxy with an error naming the
filter section and the option; Swift's and paste's own keys do not.
"""

import configparser
import logging
import os
import uuid

import pytest
from swift.common import wsgi

from opsext.exceptions import ConfigError
from opsext.ratelimit import middleware
from opsext.swift import ip_allowlist

RATELIMIT = {
    'use': 'egg:opsext#ratelimit',
    'backend': 'memory://',
    'rules': 'per_ip',
    'rule_per_ip': 'rates=100/second key=ip',
}


def _variant(cluster, sections=None, ratelimit=None):
    """A copy of the proxy config; ``ratelimit`` adds that filter stage."""
    parser = configparser.RawConfigParser()
    parser.optionxform = str
    parser.read(cluster.proxy_conf_path)
    if ratelimit is not None:
        parser.add_section('filter:opsext_ratelimit')
        for key, value in ratelimit.items():
            parser.set('filter:opsext_ratelimit', key, value)
        pipeline = parser.get('pipeline:main', 'pipeline').replace(
            'ip_allowlist', 'ip_allowlist opsext_ratelimit')
        parser.set('pipeline:main', 'pipeline', pipeline)
    for section, values in (sections or {}).items():
        for key, value in values.items():
            if value is None:
                parser.remove_option(section, key)
            else:
                parser.set(section, key, value)
    path = os.path.join(cluster.workdir, 'proxy-opts-%s.conf'
                        % uuid.uuid4().hex[:8])
    with open(path, 'w') as fp:
        parser.write(fp)
    return path


def _load(cluster, **kwargs):
    cluster.activate()
    return wsgi.loadapp(_variant(cluster, **kwargs))


def _stages(app):
    """Every filter of a loaded pipeline, left to right."""
    while app is not None:
        yield app
        app = getattr(app, 'app', None)


def test_unknown_allowlist_option_stops_the_proxy(wl_cluster):
    with pytest.raises(ConfigError) as caught:
        _load(wl_cluster, sections={'filter:ip_allowlist': {
            'operator_cidr': '10.0.0.0/8'}})
    assert str(caught.value) == (
        "ip_allowlist [filter:ip_allowlist]: invalid value '10.0.0.0/8' for "
        "option 'operator_cidr': unknown option")


def test_bad_allowlist_value_names_the_section(wl_cluster):
    with pytest.raises(ConfigError) as caught:
        _load(wl_cluster, sections={'filter:ip_allowlist': {
            'max_proxy_hops': '0'}})
    assert str(caught.value).startswith(
        "ip_allowlist [filter:ip_allowlist]: invalid value '0' for option "
        "'max_proxy_hops': ")


def test_unknown_ratelimit_option_stops_the_proxy(wl_cluster):
    with pytest.raises(ConfigError) as caught:
        _load(wl_cluster, ratelimit=dict(RATELIMIT, fail_close='true'))
    assert str(caught.value) == (
        "ratelimit [filter:opsext_ratelimit]: invalid value 'true' for "
        "option 'fail_close': unknown option")


@pytest.mark.parametrize('option,value', [
    ('timeout', '0'),
    ('timeout', 'fast'),
    ('fail_closed', 'maybe'),
    ('exempt_cidrs', '10.0.0.1/8'),
    ('forwarded_header', 'x-real-ip'),
])
def test_bad_ratelimit_value_stops_the_proxy(wl_cluster, option, value):
    with pytest.raises(ConfigError) as caught:
        _load(wl_cluster, ratelimit=dict(RATELIMIT, **{option: value}))
    assert caught.value.option == option
    assert str(caught.value).startswith(
        'ratelimit [filter:opsext_ratelimit]: invalid value %r for option '
        '%r: ' % (value, option))


def test_swift_and_paste_keys_do_not_stop_the_proxy(wl_cluster):
    app = _load(wl_cluster, sections={'filter:ip_allowlist': {
        'log_level': 'DEBUG', 'log_name': 'allowlist',
        'set log_headers': 'false'}},
        ratelimit=dict(RATELIMIT, log_statsd_metric_prefix='rl'))
    kinds = [type(stage) for stage in _stages(app)]
    assert ip_allowlist.IPAllowlistMiddleware in kinds
    assert middleware.RateLimitMiddleware in kinds


def test_ratelimit_logs_through_swift_chosen_at_load(wl_cluster):
    app = _load(wl_cluster, ratelimit=RATELIMIT)
    [filt] = [s for s in _stages(app)
              if isinstance(s, middleware.RateLimitMiddleware)]
    # Before any request: Swift's logger, named for the stage.
    assert filt.logger is not middleware.LOG
    assert filt.logger.logger.name == 'opsext_ratelimit'


def test_deprecated_entry_point_loads_and_warns_once(wl_cluster, caplog):
    caplog.set_level(logging.WARNING, logger='opsext')
    app = _load(wl_cluster, sections={'filter:ip_allowlist': {
        'use': 'egg:opsext#ip_whitelist'}})
    assert any(isinstance(s, ip_allowlist.IPAllowlistMiddleware)
               for s in _stages(app))
    assert [r.getMessage() for r in caplog.records
            if r.name.startswith('opsext')] == [
        'ip_whitelist [filter:ip_allowlist]: use = egg:opsext#ip_whitelist '
        'is deprecated and will be removed in a future release: use '
        'egg:opsext#ip_allowlist (the same filter; its log route, statsd '
        'metrics and /info key are then named ip_allowlist)']


def test_new_entry_point_loads_without_warning(wl_cluster, caplog):
    caplog.set_level(logging.WARNING, logger='opsext')
    app = _load(wl_cluster, sections={'filter:ip_allowlist': {
        'use': 'egg:opsext#ip_allowlist'}})
    assert any(isinstance(s, ip_allowlist.IPAllowlistMiddleware)
               for s in _stages(app))
    assert not [r for r in caplog.records if r.name.startswith('opsext')]
