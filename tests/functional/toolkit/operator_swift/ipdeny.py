"""An operator's Swift middleware: refuse requests from listed addresses.

[filter:ipdeny]
paste.filter_factory = ipdeny:filter_factory
deny = 127.0.0.66 127.0.0.67
"""

from swift.common import swob


class IPDeny(object):

    def __init__(self, app, conf):
        self.app = app
        self.deny = frozenset(conf.get('deny', '').split())

    def __call__(self, environ, start_response):
        if environ.get('REMOTE_ADDR') in self.deny:
            return swob.HTTPForbidden(body=b'ipdeny says no\n')(
                environ, start_response)
        return self.app(environ, start_response)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf, **local_conf)
    return lambda app: IPDeny(app, conf)
