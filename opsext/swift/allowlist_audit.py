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

"""A read-only audit of the allowlist metadata already in a cluster.

Before an operator puts the allowlist in the proxy pipeline, tenants may
already hold ``allow-*`` metadata (it is plain user metadata to Swift
without the filter): once the filter runs, each such list locks its
container, or its account and every container of it with no list of its
own, and a malformed one locks out everyone but ``operator_cidrs``. This
module finds them all, the way the filter will read them
(:mod:`opsext.swift._allowlist`), through Swift's own
:class:`~swift.common.internal_client.InternalClient` (no auth, no
filter; ``HEAD`` and ``GET`` only). ``opsext allowlist-audit`` is its
command line.
"""

import os
import sqlite3
from typing import Iterable, Iterator, NamedTuple, Optional

from opsext.swift import _allowlist

ACCOUNT_PREFIX = 'x-account-meta-'
CONTAINER_PREFIX = 'x-container-meta-'


class Finding(NamedTuple):
    """An account or container that holds allowlist metadata."""

    account: str
    container: Optional[str]
    networks: int
    error: Optional[str]
    #: For an account: its containers with no list of their own, which
    #: the account's list locks too.
    default_for: int

    @property
    def scope(self) -> str:
        if self.container is None:
            return 'account %s' % self.account
        return 'container %s/%s' % (self.account, self.container)

    @property
    def verdict(self) -> str:
        if self.error:
            return ('malformed (%s): every client but operator_cidrs will '
                    'be denied' % self.error)
        locked = 'locks it to %d network%s' % (
            self.networks, '' if self.networks == 1 else 's')
        if self.container is None:
            locked += (' with its %d container%s that have no list of '
                       'their own' % (self.default_for,
                                      '' if self.default_for == 1 else 's'))
        return locked


class AccountMissing(Exception):
    """An account that was named does not exist."""


def audit_account(client, account: str) -> Iterator[Finding]:
    """Findings for ``account`` and its containers, account first.

    :param client: an ``InternalClient`` (or anything with its
        ``get_account_metadata``, ``iter_containers`` and
        ``get_container_metadata``).
    :raises AccountMissing: the account does not exist.
    """
    meta = client.get_account_metadata(
        account, metadata_prefix=ACCOUNT_PREFIX,
        acceptable_statuses=(2, 404))
    if not meta and not _account_exists(client, account):
        raise AccountMissing('account %s does not exist' % account)
    unlisted = 0
    found = []
    for listing in client.iter_containers(account):
        container = listing['name']
        cmeta = client.get_container_metadata(
            account, container, metadata_prefix=CONTAINER_PREFIX,
            acceptable_statuses=(2, 404))
        items = _allowlist.allow_items(cmeta)
        if not items:
            unlisted += 1
            continue
        parsed = _allowlist.parse_items(items)
        found.append(Finding(account, container, len(parsed.networks),
                             parsed.error, 0))
    items = _allowlist.allow_items(meta)
    if items:
        parsed = _allowlist.parse_items(items)
        yield Finding(account, None, len(parsed.networks), parsed.error,
                      unlisted)
    yield from found


def _account_exists(client, account: str) -> bool:
    resp = client.make_request('HEAD', client.make_path(account), {},
                               (2, 404))
    # With account_autocreate the proxy answers 204 for an account that
    # does not exist, and says so in this header (proxy/controllers/
    # account.py, AccountController.GETorHEAD).
    return resp.status_int // 100 == 2 and not resp.headers.get(
        'X-Backend-Fake-Account-Listing')


def accounts_on_devices(devices: str) -> list[str]:
    """Names of the accounts whose DBs are under ``devices`` (an account
    server's ``devices`` directory), deleted ones left out."""
    if not os.path.isdir(devices):
        raise FileNotFoundError('%s: no such directory' % devices)
    names = set()
    for device in sorted(os.listdir(devices)):
        root = os.path.join(devices, device, 'accounts')
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                if name.endswith('.db'):
                    names.update(_account_of(os.path.join(dirpath, name)))
    return sorted(names)


def _account_of(path: str) -> Iterable[str]:
    db = sqlite3.connect('file:%s?mode=ro' % path, uri=True)
    try:
        rows = db.execute("SELECT account FROM account_stat "
                          "WHERE status != 'DELETED'").fetchall()
    except sqlite3.Error:
        return []
    finally:
        db.close()
    return [row[0] for row in rows]
