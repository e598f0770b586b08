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

"""Send one request to a Swift proxy: over TCP, or through a WSGI app.

Both helpers return the same ``(status, headers, body)`` tuple, with the
headers in Swift's case-insensitive :class:`HeaderKeyDict`, so a test can
run the same checks against the real proxy and the in-process pipeline.
"""

import http.client
from typing import Any, Callable, Mapping, Optional
import urllib.parse

from swift.common.header_key_dict import HeaderKeyDict
from swift.common import swob
from swift.common.utils import close_if_possible

Response = tuple[int, HeaderKeyDict, bytes]


def request_target(path: str) -> str:
    """The request target of ``path``, which may be a full URL."""
    if path.startswith(('http://', 'https://')):
        parts = urllib.parse.urlsplit(path)
        return parts.path + ('?' + parts.query if parts.query else '')
    return path


def tcp_request(host: str, port: int, method: str, path: str,
                headers: Optional[Mapping[str, str]] = None,
                body: bytes = b'', source_ip: Optional[str] = None,
                timeout: float = 30.0) -> Response:
    """One HTTP/1.1 request on a fresh connection from ``source_ip``.

    Any address in 127.0.0.0/8 is a valid loopback source on Linux, so the
    server sees e.g. ``REMOTE_ADDR = 127.0.0.7``.  ``path`` must already be
    quoted (http.client refuses spaces and control characters).
    """
    conn = http.client.HTTPConnection(
        host, port, timeout=timeout,
        source_address=(source_ip, 0) if source_ip else None)
    try:
        conn.request(method, request_target(path), body=body or None,
                     headers=dict(headers or {}))
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, HeaderKeyDict(resp.getheaders()), data
    finally:
        conn.close()


def probe_status(host: str, port: int, method: str, path: str,
                 timeout: float = 2.0) -> Optional[int]:
    """Status of one request, or None if nothing answers (yet)."""
    try:
        return tcp_request(host, port, method, path, timeout=timeout)[0]
    except (OSError, http.client.HTTPException):
        return None


def wsgi_request(app: Callable[..., Any], url: str, method: str,
                 headers: Optional[Mapping[str, str]] = None,
                 body: bytes = b'',
                 environ: Optional[Mapping[str, Any]] = None,
                 remote_addr: str = '127.0.0.1') -> Response:
    """Build a WSGI environ with ``swob.Request.blank`` and call ``app``.

    ``environ`` overrides keys after the request is built; a value of None
    removes the key (a request with no ``REMOTE_ADDR`` at all).
    """
    req = swob.Request.blank(
        url, environ={'REQUEST_METHOD': method, 'REMOTE_ADDR': remote_addr},
        headers=dict(headers or {}), body=body)
    for key, value in (environ or {}).items():
        if value is None:
            req.environ.pop(key, None)
        else:
            req.environ[key] = value
    status, resp_headers, app_iter = req.call_application(app)
    try:
        data = b''.join(app_iter)
    finally:
        close_if_possible(app_iter)
    return int(status.split(' ', 1)[0]), HeaderKeyDict(resp_headers), data
