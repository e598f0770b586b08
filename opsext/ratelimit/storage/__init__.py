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


"""Rate-limit storage backends, chosen by URI.

* ``memory://`` — this process only (:mod:`.memory`).
* ``memcached://host:port[,host:port...]`` — a consistent-hash ring over
  the servers (:mod:`.memcached`).
* ``redis://``, ``rediss://`` (TLS), ``redis+unix://``,
  ``redis+sentinel://``, ``redis+cluster://`` — Redis through redis-py,
  counting on the server's clock (:mod:`.redis`).

Drivers are imported only when their scheme is used.
"""

import re
import urllib.parse
from typing import Callable, Optional

from opsext.ratelimit.storage.base import Storage

REDIS_SCHEMES = ('redis', 'rediss', 'redis+unix', 'redis+sentinel',
                 'redis+cluster')
SCHEMES = ('memory', 'memcached') + REDIS_SCHEMES
# Query parameters whose value is a secret.
_SECRET_PARAM = re.compile(
    r'(?i)((?:^|[?&])(?:[a-z_]*password|passwd|pass|secret|token)=)[^&#]*')
REDACTED = '***'


def redact_uri(uri: str) -> str:
    """``uri`` with its password (and any secret parameter) replaced.

    ``redis://user:secret@host/0`` becomes ``redis://user:***@host/0``, and
    ``redis://secret@host`` (some clients read a lone user name as the
    password) ``redis://***@host``. Every URI that reaches a log line or an
    error message goes through this. The credentials end at the last ``@``
    after ``://``: a password may hold ``/``, ``?`` or ``#`` unquoted, and
    hiding too much is better than too little.
    """
    uri = _SECRET_PARAM.sub(r'\1' + REDACTED, uri)
    scheme, sep, rest = uri.partition('://')
    if not sep or '@' not in rest:
        return uri
    userinfo, _, hosts = rest.rpartition('@')
    user, colon, _password = userinfo.partition(':')
    if colon and not any(c in user for c in '/?#'):
        userinfo = '%s:%s' % (user, REDACTED)
    else:
        userinfo = REDACTED
    return '%s://%s@%s' % (scheme, userinfo, hosts)


def uri_secrets(uri: str) -> list[str]:
    """The secrets :func:`redact_uri` hides, as written and unquoted."""
    found = [m.group(0).split('=', 1)[1]
             for m in _SECRET_PARAM.finditer(uri)]
    _scheme, sep, rest = uri.partition('://')
    if sep and '@' in rest:
        userinfo = rest.rpartition('@')[0]
        user, colon, password = userinfo.partition(':')
        found.append(password if colon else user)
    secrets = set()
    for secret in found:
        if secret:
            secrets.update((secret, urllib.parse.unquote(secret)))
    return sorted(secrets, key=len, reverse=True)


def from_uri(uri: str, timeout: float = 0.5,
             clock: Optional[Callable[[], float]] = None,
             retry_interval: float = 1.0) -> Storage:
    """Build the backend a URI names.

    :param timeout: the bound, in seconds, on a shared backend's answer
        (from when the request was sent) and on connecting to it.
    :param retry_interval: how long, in seconds, a server marked down is
        left alone.
    :raises ValueError: naming what is wrong with the URI.
    """
    scheme = urllib.parse.urlsplit(uri).scheme.lower()
    if scheme == 'memory':
        from opsext.ratelimit.storage import memory
        return memory.MemoryStorage(clock=clock)
    if scheme == 'memcached':
        from opsext.ratelimit.storage import memcached
        return memcached.MemcachedStorage.from_uri(
            uri, timeout=timeout, retry_interval=retry_interval)
    if scheme in REDIS_SCHEMES:
        from opsext.ratelimit.storage import redis
        return redis.RedisStorage.from_uri(uri, timeout=timeout,
                                           retry_interval=retry_interval)
    raise ValueError('unknown scheme %r in %r: use one of %s'
                     % (scheme, redact_uri(uri),
                        ', '.join(s + '://' for s in SCHEMES)))
