# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.


"""A load balancer in front of nova-api, modelled as the outermost filter.

Nova's harness calls the API in-process (wsgi-intercept), with
``REMOTE_ADDR`` 127.0.0.1. This filter plays an HAProxy with ``option
forwardfor``: the test names the address the balancer's TCP peer (the
client) has in ``X-Test-Client``; the balancer appends it to whatever
``X-Forwarded-For`` the client sent, passes any other header (a
client-written ``Forwarded`` included) untouched, and connects to nova-api
from its own address, ``PROXY``. ``X-Test-Mount`` (a test's, removed
here) mounts nova-api under that prefix, as DevStack's web server mounts it
under ``/compute``: the prefix goes to ``SCRIPT_NAME``.
"""

PROXY = '192.0.2.10'
CLIENT_HEADER = 'HTTP_X_TEST_CLIENT'
MOUNT_HEADER = 'HTTP_X_TEST_MOUNT'
IDENTITY = {'HTTP_X_AUTH_USER': 'admin',
            'HTTP_X_AUTH_PROJECT_ID': '6f70656e737461636b20342065766572',
            'HTTP_X_ROLES': 'reader,member,admin'}


def filter_factory(global_conf, **local_conf):
    def balancer(app):
        def call(environ, start_response):
            client = environ.pop(CLIENT_HEADER, None)
            mount = environ.pop(MOUNT_HEADER, None)
            if mount:
                environ['SCRIPT_NAME'] = mount + environ.get('SCRIPT_NAME',
                                                             '')
            # The harness stubs keystone and reads the identity from these
            # headers; openstacksdk (opsext placement explain --os-cloud)
            # does not send them: its token is an admin's.
            for key, value in IDENTITY.items():
                environ.setdefault(key, value)
            if client is not None:
                sent = environ.get('HTTP_X_FORWARDED_FOR')
                environ['HTTP_X_FORWARDED_FOR'] = (
                    '%s, %s' % (sent, client) if sent else client)
                environ['REMOTE_ADDR'] = PROXY
            return app(environ, start_response)
        return call
    return balancer
