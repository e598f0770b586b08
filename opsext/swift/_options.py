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


"""The options of the ip_allowlist filter.

Apart from :mod:`opsext.swift.ip_allowlist` so that
``oslo-config-generator`` and the docs (:mod:`opsext.opts`) read them
without importing Swift.
"""

from oslo_config import cfg

from opsext import pasteconf

OPTS = [
    cfg.Opt('operator_cidrs', type=pasteconf.Networks(), default='',
            help='Addresses or CIDR networks, comma or space separated, '
                 'that are always let in, whatever a container or account '
                 'allows: the operator\'s break-glass for a tenant who '
                 'locked themselves out. Keep it small.'),
] + pasteconf.client_address_opts() + [
    cfg.Opt('allow_reseller', type=pasteconf.Boolean(), default=False,
            help='Let ResellerAdmin requests (tempauth .reseller_admin, '
                 'keystone ResellerAdmin role) in from any address. Each '
                 'such request is logged.'),
    cfg.Opt('enforce', type=pasteconf.Boolean(), default=True,
            help='false: log what would have been denied ("would deny") '
                 'and let it pass. Use it to roll the filter out, then '
                 'turn it on.'),
    cfg.StrOpt('deny_message', default='Access denied by the IP allowlist.',
               help='Body of the 403 answer. It never lists addresses.'),
    cfg.IntOpt('cache_size', default=1024, min=1,
               help='Parsed allowlists kept per worker, keyed by their raw '
                    'metadata.'),
]
