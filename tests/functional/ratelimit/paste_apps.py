"""A small OpenStack-style API for paste.deploy pipeline tests.

``auth_factory`` stands in for keystonemiddleware's auth_token the
way auth_token behaves towards later stages: it removes identity headers a
client sent, refuses requests without a valid token with 401, and for
``X-Auth-Token: token-<project>`` sets ``X-Identity-Status: Confirmed``,
``X-Project-Id``, ``X-User-Id``, ``X-Roles`` and ``keystone.token_info``.
"""

import json

import webob
import webob.dec
import webob.exc

_IDENTITY = ('HTTP_X_IDENTITY_STATUS', 'HTTP_X_PROJECT_ID', 'HTTP_X_USER_ID',
             'HTTP_X_ROLES', 'HTTP_X_SERVICE_ROLES')


def app_factory(global_conf, **local_conf):
    @webob.dec.wsgify
    def api(req):
        return webob.Response(json.dumps({
            'path': req.path, 'project': req.environ.get('HTTP_X_PROJECT_ID')
        }).encode(), content_type='application/json', charset=None)
    return api


def auth_factory(global_conf, **local_conf):
    def make(app):
        @webob.dec.wsgify
        def auth(req):
            for key in _IDENTITY:
                req.environ.pop(key, None)
            token = req.headers.get('X-Auth-Token', '')
            if not token.startswith('token-'):
                return webob.exc.HTTPUnauthorized()
            project = token[len('token-'):]
            roles = 'admin' if project == 'admin' else 'member'
            req.environ.update({
                'HTTP_X_IDENTITY_STATUS': 'Confirmed',
                'HTTP_X_PROJECT_ID': project,
                'HTTP_X_USER_ID': 'user-' + project,
                'HTTP_X_ROLES': roles,
                'keystone.token_info': {'token': {'project': project}}})
            return req.get_response(app)
        return auth
    return make
