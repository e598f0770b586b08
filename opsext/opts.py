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


"""Every option of every opsext plugin, for oslo-config-generator and docs.

The ``oslo.config.opts`` entry point ``opsext`` points at
:func:`list_opts` (all plugins); ``opsext.<plugin>`` at the plugin's own
(the docs show each with ``.. show-options:: opsext.<plugin>``). The
subnet-affinity options are a nova.conf group; each paste filter's options
are a group named ``filter:<entry point>``, the paste section they go in
(any name the pipeline uses).

``tox -e genconfig`` writes ``etc/opsext/opsext.conf.sample`` from
:func:`list_opts` and, with ``python -m opsext.opts``, the commented
option stanzas of the paste samples in ``etc/`` (:func:`write_stanzas`);
``tests/unit/test_opts.py`` fails when any of them is stale.

Only modules that import neither Swift nor Nova are imported here.
"""

import copy
import os
import sys
import textwrap
from typing import Iterable, List, Tuple

from oslo_config import cfg

from opsext import client_address
from opsext.nova import source_stamp
from opsext.subnet_affinity import options as placement_options
from opsext.ratelimit import middleware
from opsext.swift import _options as ip_allowlist_options

#: Paste filters: (entry point, options, what the group says).
PASTE_FILTERS = (
    ('ip_allowlist', ip_allowlist_options.OPTS,
     'Swift proxy filter egg:opsext#ip_allowlist (ip_whitelist, deprecated, '
     'is the same filter).'),
    ('ratelimit', middleware.OPTS,
     'Rate-limiting filter egg:opsext#ratelimit, for the Swift proxy and '
     'any OpenStack API. Besides these: one rule_<name> option per rule '
     'and override_<name>; Swift\'s log_* options.'),
    ('client_address', client_address.ClientAddressMiddleware.OPTS,
     'Filter egg:opsext#client_address, first in an OpenStack API\'s paste '
     'pipeline.'),
    ('source_stamp', source_stamp.SourceStampMiddleware.OPTS,
     'nova-api filter egg:opsext#source_stamp.'),
)
_PASTE_NOTE = (' Paste options: set them in the filter\'s own section of '
               'the paste config (proxy-server.conf, api-paste.ini), not in '
               'a service\'s oslo.config file.')


def _group(entry_point: str, help_text: str) -> cfg.OptGroup:
    return cfg.OptGroup('filter:' + entry_point,
                        help=help_text + _PASTE_NOTE)


def _paste(entry_point: str) -> list:
    for name, opts, help_text in PASTE_FILTERS:
        if name == entry_point:
            return [(_group(name, help_text), copy.deepcopy(opts))]
    raise KeyError(entry_point)


def list_placement_opts() -> list:
    """The subnet-affinity group of nova.conf."""
    return [(placement_options.GROUP,
             copy.deepcopy(placement_options.OPTS))]


def list_ip_allowlist_opts() -> list:
    return _paste('ip_allowlist')


def list_ratelimit_opts() -> list:
    return _paste('ratelimit')


def list_client_address_opts() -> list:
    return _paste('client_address')


def list_source_stamp_opts() -> list:
    return _paste('source_stamp')


def list_opts() -> list:
    """[(group, [options])] for every plugin of opsext.

    The options are deep copies, so that the generator's tools can never
    change the ones the plugins use.
    """
    found = list_placement_opts()
    for name, _opts, _help in PASTE_FILTERS:
        found += _paste(name)
    return found


def _default(opt: cfg.Opt) -> str:
    if opt.default is None:
        return ''
    if isinstance(opt.default, bool):
        return str(opt.default).lower()
    return str(opt.default)


def stanza_lines(opts: Iterable[cfg.Opt]) -> List[str]:
    """Each option commented with its help and default, as Swift's
    samples are: ``# help`` lines, then ``# name = default``."""
    lines: List[str] = []
    for opt in opts:
        for paragraph in opt.help.strip().split('\n\n'):
            lines += ['# ' + line for line in textwrap.wrap(
                ' '.join(paragraph.split()), 77)]
        low = getattr(opt.type, 'min', None)
        high = getattr(opt.type, 'max', None)
        if low is not None or high is not None:
            lines.append('# (%s to %s)' % (
                'any' if low is None else low,
                'any' if high is None else high))
        lines += [('# %s = %s' % (opt.name, _default(opt))).rstrip(), '']
    return lines[:-1]


BEGIN = '# ---- options of egg:opsext#%s (tox -e genconfig writes them) ----'
END = '# ---- end of the options of egg:opsext#%s ----'

#: The paste samples: (path under etc/, the entry points with stanzas).
PASTE_SAMPLES: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ('swift/proxy-server.conf-sample', ('ip_allowlist', 'ratelimit')),
    ('nova/api-paste.ini-sample', ('ratelimit',)),
)


def render_sample(text: str, entry_points: Iterable[str]) -> str:
    """``text`` with the block between each entry point's markers
    regenerated from its options.

    :raises ValueError: when a marker is missing.
    """
    for name in entry_points:
        begin, end = BEGIN % name, END % name
        if text.count(begin) != 1 or text.count(end) != 1:
            raise ValueError('no single %r ... %r block' % (begin, end))
        head, rest = text.split(begin + '\n', 1)
        _old, tail = rest.split(end, 1)
        [(_group, opts)] = _paste(name)
        block = [head + begin] + stanza_lines(opts) + [end]
        text = '\n'.join(block) + tail
    return text


def write_stanzas(etc: str) -> List[str]:
    """Regenerate the option blocks of the paste samples under ``etc``;
    return the paths changed."""
    changed = []
    for path, names in PASTE_SAMPLES:
        path = os.path.join(etc, path)
        with open(path) as fp:
            text = fp.read()
        new = render_sample(text, names)
        if new != text:
            with open(path, 'w') as fp:
                fp.write(new)
            changed.append(path)
    return changed


def main(argv: List[str]) -> None:
    """``python -m opsext.opts [ETC]``: rewrite the samples' stanzas."""
    for path in write_stanzas(argv[0] if argv else 'etc'):
        print('wrote %s' % path)


if __name__ == '__main__':
    main(sys.argv[1:])
