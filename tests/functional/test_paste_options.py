"""opsext filters in an api-paste.ini loaded by paste.deploy: option policy.

The generic filters (client_address, ratelimit, source_stamp) in a
nova-style pipeline loaded by ``paste.deploy.loadapp``: an unknown option
or a bad value stops loading with an error naming the section and the
option; paste's own keys (``use``, ``set``) are not options.
"""

import os

from paste import deploy
import pytest
import webob

from opsext import client_address
from opsext.exceptions import ConfigError
from opsext.nova import source_stamp
from opsext.ratelimit import middleware

PASTE_INI = """
[DEFAULT]
debug = true

[pipeline:main]
pipeline = address ratelimit stamp hello

[filter:address]
use = egg:opsext#client_address
trusted_proxies = 192.0.2.10
%(address)s

[filter:ratelimit]
use = egg:opsext#ratelimit
set workers = 1
rules = per_ip
rule_per_ip = rates=100/minute key=ip
%(ratelimit)s

[filter:stamp]
use = egg:opsext#source_stamp
secret = 0123456789abcdef
%(stamp)s

[app:hello]
paste.app_factory = tests.functional.ratelimit.paste_apps:app_factory
"""


def _load(tmp_path, address='', ratelimit='', stamp=''):
    path = os.path.join(str(tmp_path), 'api-paste.ini')
    with open(path, 'w') as fp:
        fp.write(PASTE_INI % {'address': address, 'ratelimit': ratelimit,
                              'stamp': stamp})
    return deploy.loadapp("config:" + path, name="main")


def _filters(app):
    while app is not None:
        yield app
        app = getattr(app, 'app', None)


def test_pipeline_loads_and_serves(tmp_path):
    app = _load(tmp_path)
    kinds = [type(f) for f in _filters(app)]
    assert kinds[:3] == [client_address.ClientAddressMiddleware,
                         middleware.RateLimitMiddleware,
                         source_stamp.SourceStampMiddleware]
    req = webob.Request.blank('/', remote_addr='192.0.2.10',
                              headers={'X-Forwarded-For': '198.51.100.7'})
    assert req.get_response(app).status_int == 200


@pytest.mark.parametrize('section,line,option', [
    ('address', 'trusted_proxie = 192.0.2.10', 'trusted_proxie'),
    ('ratelimit', 'dryrun = true', 'dryrun'),
    ('stamp', 'source_adress_hint = x', 'source_adress_hint'),
])
def test_unknown_option_stops_loading(tmp_path, section, line, option):
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, **{section: line})
    assert caught.value.option == option
    assert caught.value.reason == 'unknown option'


@pytest.mark.parametrize('section,line,option', [
    ('address', 'max_proxy_hops = 0', 'max_proxy_hops'),
    ('address', 'forwarded_header = x-real-ip', 'forwarded_header'),
    ('ratelimit', 'timeout = 11', 'timeout'),
    ('ratelimit', 'headers_on_success = sometimes', 'headers_on_success'),
    ('stamp', 'source_address_hint = two words', 'source_address_hint'),
])
def test_bad_value_stops_loading_naming_the_option(tmp_path, section, line,
                                                   option):
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, **{section: line})
    assert caught.value.option == option
    assert ' for option %r: ' % option in str(caught.value)
