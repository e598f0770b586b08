"""The allowlist decision for a path the proxy would never authorize.

The proxy answers an unsplittable path (``/v1//AUTH_a/c``) with 404 before
it calls ``swift.authorize``; a middleware between the filter and the proxy
could still call it with one. The filter must refuse, never let it through
unchecked, and must not read any backend to do so.
"""

import ipaddress

from swift.common import swob

from opsext.swift import ip_allowlist


def _never_called(env, start_response):
    raise AssertionError('the decision reached the backend')


def _filter(**conf):
    return ip_allowlist.filter_factory({}, **conf)(_never_called)


def _env(path):
    return swob.Request.blank('/', environ={
        'PATH_INFO': path, 'REMOTE_ADDR': '192.0.2.1'}).environ


def test_unsplittable_path_is_refused():
    resp = _filter().check(_env('/v1//AUTH_a/c'),
                           ipaddress.ip_address('192.0.2.1'), None)
    assert resp is not None and resp.status_int == 403


def test_unsplittable_path_is_refused_to_an_unknown_client():
    resp = _filter().check(_env('/v1//AUTH_a/c'), None, 'no REMOTE_ADDR')
    assert resp is not None and resp.status_int == 403


def test_info_is_not_decided():
    assert _filter().check(_env('/info'), None, 'no REMOTE_ADDR') is None
