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

"""Which containers' allowlists guard a request: Swift's routes to data.

The allowlist protects a container's data, not a path. Swift 2.38 keeps
some of a container's data in other containers, and some of its
middlewares reach those with pre-authorized sub-requests that never call
``swift.authorize`` (``doc/source/ip_allowlist.rst`` lists every route):

* ``object_versioning`` keeps old versions in the reserved container
  ``\\x00versions\\x00<name>`` (``build_versions_container_name`` in
  ``swift/common/middleware/versioned_writes/object_versioning.py``): it is
  guarded by ``<name>``. Any other reserved name is unknown to us and
  refused.
* s3api keeps multipart parts in ``<bucket>+segments``
  (``MULTIUPLOAD_SUFFIX`` in ``swift/common/middleware/s3api/utils.py``):
  guarded by its own list and by ``<bucket>``'s.
* legacy ``versioned_writes`` copies into, restores from and deletes in
  the container named by ``X-Versions-Location``/``X-History-Location``
  (``VersionedWritesContext._copy_current`` and
  ``handle_obj_versions_delete_pop`` in ``legacy.py``) with pre-authorized
  requests, after authorizing only the client's own path: a write to a
  versioned container is guarded by the versions location's list too, and
  so is naming a versions location.
* SLO's ``?multipart-manifest=delete&async=yes``
  (``StaticLargeObject.handle_async_delete`` in ``slo.py``) calls
  ``swift.authorize`` with the manifest's path only and queues the
  segments' deletion: the segments' container is guarded too.

Nothing here decides: it names containers; the middleware reads their
lists.
"""

import json
import urllib.parse
from typing import Iterable, Optional

from swift.common import swob
from swift.common import utils
from swift.common.middleware.s3api.utils import MULTIUPLOAD_SUFFIX
from swift.common.request_helpers import get_reserved_name
from swift.common.request_helpers import split_reserved_name

#: The one reserved namespace Swift 2.38 uses for containers.
VERSIONS_NAMESPACE = 'versions'
#: Sysmeta legacy versioned_writes translates X-Versions-Location and
#: X-History-Location into (``SYSMETA_VERSIONS_LOC`` in ``legacy.py``).
SYSMETA_VERSIONS_LOCATION = 'HTTP_X_CONTAINER_SYSMETA_VERSIONS_LOCATION'
#: The object methods legacy versioned_writes acts on
#: (``VersionedWritesMiddleware.__call__``); a COPY reaches it as a PUT.
_VERSIONED_METHODS = ('PUT', 'DELETE')
#: The sysmeta that makes symlink follow a link with a pre-authorized
#: request (``ALLOW_RESERVED_NAMES`` in ``symlink.py``): object versioning
#: writes it on its own links with pre-authorized requests, which never
#: reach our ``swift.authorize``.
SYSMETA_ALLOW_RESERVED_NAMES = 'HTTP_X_OBJECT_SYSMETA_ALLOW_RESERVED_NAMES'
#: Where symlink puts a link's target once it has checked it
#: (``symlink_usermeta_to_sysmeta``), before the proxy authorizes.
SYSMETA_SYMLINK_TARGET = 'HTTP_X_OBJECT_SYSMETA_SYMLINK_TARGET'
SYSMETA_SYMLINK_TARGET_ACCOUNT = \
    'HTTP_X_OBJECT_SYSMETA_SYMLINK_TARGET_ACCOUNT'


#: The headers a decision reads besides method, path and query: a request
#: whose values of these change between two ``swift.authorize`` calls is
#: decided again (legacy versioned_writes, object versioning and symlink
#: set them on the client's own request, to our right).
DECISION_HEADERS = (SYSMETA_VERSIONS_LOCATION, SYSMETA_ALLOW_RESERVED_NAMES,
                    SYSMETA_SYMLINK_TARGET, SYSMETA_SYMLINK_TARGET_ACCOUNT)


class UnknownRoute(Exception):
    """A container the allowlist cannot attribute to an owner."""


def owners(container: str) -> list[str]:
    """Containers whose lists guard ``container``, the first one required.

    :raises UnknownRoute: for a reserved name of an unknown namespace.
    """
    if container.startswith(utils.RESERVED):
        parts = split_reserved_name(container)
        if len(parts) == 2 and parts[0] == VERSIONS_NAMESPACE and parts[1]:
            return [parts[1]]
        raise UnknownRoute('reserved container %r is not known to the '
                           'IP allowlist' % container)
    if container.endswith(MULTIUPLOAD_SUFFIX) and \
            len(container) > len(MULTIUPLOAD_SUFFIX):
        return [container, container[:-len(MULTIUPLOAD_SUFFIX)]]
    return [container]


def versions_location(info: dict) -> Optional[str]:
    """The legacy versions location in container info, as ``legacy.py``
    reads it in ``VersionedWritesMiddleware.object_request``."""
    location = (info.get('sysmeta') or {}).get('versions-location') or \
        info.get('versions')
    return _location_container(location)


def named_versions_location(env: dict) -> Optional[str]:
    """The versions location a container PUT or POST is setting.

    Read where the proxy sees it: legacy versioned_writes (right of us)
    has translated the client's header into sysmeta by the time the proxy
    calls ``swift.authorize``.
    """
    return _location_container(env.get(SYSMETA_VERSIONS_LOCATION))


def _location_container(location: Optional[str]) -> Optional[str]:
    if not location:
        return None
    # legacy.py: wsgi_unquote(str_to_wsgi(versions_cont)).split('/')[0]
    return urllib.parse.unquote(location).split('/')[0] or None


def writes_to_versions(env: dict) -> bool:
    """True when legacy versioned_writes reaches the versions location for
    an object request."""
    return env.get('REQUEST_METHOD') in _VERSIONED_METHODS


def writes_pre_authorized_link(env: dict, account: str, container: str,
                               obj: str) -> bool:
    """A request that would store a symlink followed without authorization
    to anything but this object's own old versions.

    Object versioning makes the latest version of ``<container>/<obj>`` a
    link into ``\x00versions\x00<container>/\x00<obj>\x00<version>``
    carrying ``X-Object-Sysmeta-Allow-Reserved-Names``, which makes symlink
    follow it with a pre-authorized request
    (``SymlinkObjectContext._recursive_get_head``); it writes that link
    with the client's own request (``_put_symlink_to_version``). A copy of
    such a link (``?symlink=get`` with ``X-Copy-From``, or ``COPY``)
    carries the sysmeta too (copy.py copies every source header but a
    few), and the client's ``X-Symlink-Target`` retargets it: followed, it
    would read any object of any account with no ``swift.authorize`` call.
    So a link carrying the sysmeta may point only where object versioning
    points it: this object's versions, which its container's list guards.
    """
    if not env.get(SYSMETA_ALLOW_RESERVED_NAMES):
        return False
    target_account = env.get(SYSMETA_SYMLINK_TARGET_ACCOUNT)
    if target_account and _unquoted(target_account) != account:
        return True
    try:
        own = '%s/%s' % (get_reserved_name(VERSIONS_NAMESPACE, container),
                         get_reserved_name(obj, ''))
    except ValueError:      # a reserved name: no versions of its own
        return True
    target = _unquoted(env.get(SYSMETA_SYMLINK_TARGET) or '')
    return not target.startswith(own)


def _unquoted(value: str) -> str:
    """A quoted symlink header (``symlink.py`` quotes them) as text."""
    return swob.wsgi_to_str(swob.wsgi_unquote(value))


def is_slo_async_delete(env: dict) -> bool:
    """A ``?multipart-manifest=delete&async=<true>`` request."""
    if env.get('REQUEST_METHOD') != 'DELETE':
        return False
    params = urllib.parse.parse_qs(env.get('QUERY_STRING', ''),
                                   keep_blank_values=True)
    return (params.get('multipart-manifest', [''])[-1] == 'delete' and
            utils.config_true_value(params.get('async', [''])[-1]))


def manifest_containers(body: bytes) -> Iterable[str]:
    """Segment containers of a manifest as SLO's ``?multipart-manifest=get``
    returns it; raises ValueError when it is not one."""
    segments = json.loads(body)
    if not isinstance(segments, list):
        raise ValueError('not a list of segments')
    containers = set()
    for segment in segments:
        if not isinstance(segment, dict):
            raise ValueError('segment is not an object')
        if 'data' in segment:
            continue
        name = segment.get('name')
        if not isinstance(name, str):
            raise ValueError('segment has no name')
        container, _obj = utils.split_path(name, 2, 2, True)
        containers.add(container)
    return containers
