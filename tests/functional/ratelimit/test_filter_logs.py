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

"""What the filter logs, against real backends: no secret, no flood.

Every test captures all log records (every level) and checks the
formatted lines, tracebacks included.
"""

import logging
import socket
import time
import traceback
import uuid

import pytest
import webob

from opsext.exceptions import ConfigError
from opsext.ratelimit import middleware
from opsext.allinone.process import free_port
from opsext.testing.redis import RedisServer
from opsext.testing.statsd import StatsdListener

SECRET = 's3cret-Pa55'
STAGE = 'rl_stage'


def _app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']


def _filter(backend, **conf):
    conf.setdefault('rules', 'per_ip')
    conf.setdefault('rule_per_ip', 'rates=1/hour key=ip')
    conf.setdefault('timeout', '0.5')
    conf.setdefault('__name__', STAGE)
    return middleware.filter_factory({}, backend=backend, **conf)(_app)


def _get(filt, path='/', addr=None):
    req = webob.Request.blank('/', remote_addr=addr or '192.0.2.%d' % (
        uuid.uuid4().int % 200 + 1))
    req.environ['PATH_INFO'] = path
    return req.get_response(filt)


def _lines(caplog):
    """Every captured line as a log file would show it, with tracebacks."""
    lines = []
    for record in caplog.records:
        text = record.getMessage()
        if record.exc_info:
            text += ''.join(traceback.format_exception(*record.exc_info))
        lines.append(text)
    return lines


def _ours(caplog):
    return [r for r in caplog.records if r.name.startswith('opsext')]


@pytest.fixture
def redis_server():
    with RedisServer() as server:
        yield server


def test_password_of_a_dead_backend_is_never_logged(caplog):
    uri = 'redis://alice:%s@127.0.0.1:%d/0' % (SECRET, free_port())
    filt = _filter(uri, warn_interval='1')
    with caplog.at_level(logging.DEBUG):
        bodies = [_get(filt).body for _ in range(3)]
        time.sleep(1.1)
        bodies.append(_get(filt).body)
    lines = _lines(caplog)
    warnings = [r for r in _ours(caplog) if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert 'redis://alice:***@127.0.0.1' in warnings[0].getMessage()
    assert not [line for line in lines if SECRET in line]
    assert not [b for b in bodies if SECRET.encode() in b]


def test_password_refused_by_redis_is_never_logged(redis_server, caplog):
    redis_server.command(b'CONFIG', b'SET', b'requirepass', b'other')
    uri = 'redis://:%s@%s' % (SECRET, redis_server.address)
    filt = _filter(uri, fail_closed='true')
    with caplog.at_level(logging.DEBUG):
        resp = _get(filt)
    assert resp.status_int == 503
    assert SECRET.encode() not in resp.body
    warnings = [r.getMessage() for r in _ours(caplog)
                if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert 'WRONGPASS' in warnings[0] or 'invalid' in warnings[0]
    assert not [line for line in _lines(caplog) if SECRET in line]


def test_a_line_when_the_backend_answers_again(redis_server, caplog):
    redis_server.command(b'CONFIG', b'SET', b'requirepass', b'other')
    uri = 'redis://:%s@%s' % (SECRET, redis_server.address)
    filt = _filter(uri)
    with caplog.at_level(logging.INFO):
        assert [_get(filt).status_int for _ in range(3)] == [200] * 3
        _set_password(redis_server, b'other', SECRET.encode())
        assert _get(filt).status_int == 200
        assert _get(filt).status_int == 200
    messages = [r.getMessage() for r in _ours(caplog)
                if r.levelno == logging.WARNING]
    assert len(messages) == 2, messages
    assert 'failed 1 time(s)' in messages[0]
    assert 'answers again after' in messages[1]
    assert '3 request(s) were counted per worker in memory' in messages[1]
    assert all(m.startswith('ratelimit [filter:%s]: ' % STAGE)
               for m in messages)


def _set_password(server, old, new):
    """CONFIG SET requirepass on a server that wants ``old``."""
    args = [b'AUTH', old], [b'CONFIG', b'SET', b'requirepass', new]
    request = b''.join(b'*%d\r\n' % len(a) + b''.join(
        b'$%d\r\n%s\r\n' % (len(x), x) for x in a) for a in args)
    with socket.create_connection((server.host, server.port), 2) as sock:
        sock.sendall(request)
        reply = b''
        while reply.count(b'\r\n') < 2:
            reply += sock.recv(1024)
    assert reply == b'+OK\r\n+OK\r\n', reply


def test_config_error_names_the_stage_and_hides_the_password():
    with pytest.raises(ConfigError) as caught:
        _filter('redis://:%s@127.0.0.1:1/x' % SECRET)
    message = str(caught.value)
    assert message.startswith('ratelimit [filter:%s]: ' % STAGE)
    assert "'backend'" in message
    assert SECRET not in message and SECRET not in repr(caught.value.value)


@pytest.mark.parametrize('dry_run', ['false', 'true'])
def test_limited_requests_are_summed_per_interval(dry_run, caplog):
    filt = _filter('memory://', warn_interval='1', dry_run=dry_run)
    with caplog.at_level(logging.INFO):
        statuses = [_get(filt, addr='192.0.2.9').status_int
                    for _ in range(200)]
        lines_before = [r.getMessage() for r in _ours(caplog)
                        if r.levelno == logging.INFO]
        time.sleep(1.1)
        _get(filt, addr='192.0.2.10')
    expected = 200 if dry_run == 'true' else 429
    assert statuses == [200] + [expected] * 199
    lines = [r.getMessage() for r in _ours(caplog)
             if r.levelno == logging.INFO and 'rule per_ip' in
             r.getMessage()]
    # One in full, then one sum for the 198 others: 2 lines, not 199.
    assert len([m for m in lines_before if 'rule per_ip' in m]) == 1
    assert len(lines) == 2, lines
    what = 'dry_run, would limit' if dry_run == 'true' else 'limited'
    assert '%s: rule per_ip rate 1/hour exceeded' % what in lines[0]
    assert '198 more requests over a rate' in lines[1]
    assert 'rule per_ip %s=198' % what in lines[1]


def test_request_text_cannot_forge_a_log_line(caplog):
    filt = _filter('memory://')
    forged = '/x\nERROR forged line\r\x1b[31m\\'
    with caplog.at_level(logging.INFO):
        _get(filt, path=forged, addr='192.0.2.11')
        assert _get(filt, path=forged, addr='192.0.2.11').status_int == 429
    lines = [r.getMessage() for r in _ours(caplog)
             if 'exceeded' in r.getMessage()]
    assert len(lines) == 1
    assert '\n' not in lines[0] and '\r' not in lines[0]
    assert '\x1b' not in lines[0]
    assert r'/x\nERROR forged line\r\x1b[31m\\' in lines[0]


def test_statsd_counters_in_any_pipeline_one_name_per_stage():
    with StatsdListener() as statsd:
        conf = {'log_statsd_host': '127.0.0.1',
                'log_statsd_port': str(statsd.port),
                'log_statsd_metric_prefix': 'nova-api'}
        outer = _filter('memory://', __name__='rl_ip', **conf)
        inner = _filter('redis://127.0.0.1:%d' % free_port(),
                        __name__='rl_project', **conf)
        outer.app = inner
        assert _get(outer, addr='192.0.2.20').status_int == 200
        assert _get(outer, addr='192.0.2.20').status_int == 429
        wanted = {'nova-api.rl_ip.allowed', 'nova-api.rl_ip.limited',
                  'nova-api.rl_project.backend_errors',
                  'nova-api.rl_project.fallback',
                  'nova-api.rl_project.allowed'}
        assert wanted <= statsd.collect(wanted)


@pytest.mark.parametrize('option, value', [
    ('log_statsd_port', 'x'), ('log_statsd_port', '0'),
    ('log_statsd_port', '65536')])
def test_bad_statsd_option_is_refused_at_load(option, value):
    conf = {'log_statsd_host': '127.0.0.1', option: value}
    with pytest.raises(ConfigError, match=option):
        _filter('memory://', **conf)
