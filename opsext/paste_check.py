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


"""``opsext check-pipeline`` for an OpenStack API's ``api-paste.ini``.

Reads every pipeline of the file (``[pipeline:*]`` sections, and the
``keystone``/``noauth2`` keys of nova's ``pipeline_factory_v21``
composites) and reports, for the opsext filters it finds:

* ``client_address`` right of ``http_proxy_to_wsgi`` (error: that filter
  has already overwritten the peer address with what the client wrote), or
  ``http_proxy_to_wsgi`` in a compute API pipeline without
  ``client_address`` before it (warning: with proxy-header parsing on, a
  client's ``Forwarded`` header chooses its address);
* ``source_stamp`` left of ``keystonecontext`` (error: it needs the
  request context to know admins and projects);
* option values the filters refuse (error, with their message);
* a filter listed twice in one pipeline (warning).

It reads the file with ``configparser`` as paste.deploy does and loads no
application: it runs where nova is not installed. Imports neither swift
nor nova.
"""

import configparser
from typing import NamedTuple

from opsext.exceptions import ConfigError

ERROR = 'error'
WARNING = 'warning'
_FACTORIES = {
    'client_address': ('egg:opsext#client_address',
                       'opsext.client_address:filter_factory'),
    'source_stamp': ('egg:opsext#source_stamp',
                     'opsext.nova.source_stamp:filter_factory'),
}
_PIPELINE_KEYS = ('keystone', 'noauth2', 'noauth')


class Finding(NamedTuple):
    severity: str
    filter: str
    reason: str


class Stage(NamedTuple):
    name: str
    added: bool = False


class Report(NamedTuple):
    stages: tuple
    findings: tuple


class UnreadableConfig(Exception):
    """The file cannot be read or parsed."""


def _parser(path: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        with open(path) as fp:
            parser.read_file(fp)
    except (OSError, configparser.Error) as exc:
        raise UnreadableConfig('%s: %s' % (path, exc)) from None
    return parser


def is_api_paste(path: str) -> bool:
    """Whether ``path`` looks like an API's api-paste.ini (no Swift
    ``[pipeline:main]``, some ``[composite:...]`` or opsext API filter)."""
    try:
        parser = _parser(path)
    except UnreadableConfig:
        return False
    if parser.has_section('pipeline:main'):
        return False
    return any(s.startswith('composite:') for s in parser.sections()) or \
        any(_kind(parser, s) for s in parser.sections())


def _kind(parser, section: str):
    if not section.startswith('filter:'):
        return None
    use = parser.get(section, 'use', fallback='').strip()
    factory = parser.get(section, 'paste.filter_factory',
                         fallback='').strip()
    for kind, (egg, dotted) in _FACTORIES.items():
        if use == egg or factory == dotted:
            return kind
    return None


def _pipelines(parser) -> list:
    found = []
    for section in parser.sections():
        if section.startswith('pipeline:'):
            found.append((section, parser.get(section, 'pipeline',
                                              fallback='').split()))
        elif section.startswith('composite:'):
            for key in _PIPELINE_KEYS:
                if parser.has_option(section, key):
                    found.append(('%s %s' % (section, key),
                                  parser.get(section, key).split()))
    return found


def _options(parser, section: str) -> dict:
    return {key: value for key, value in parser.items(section)
            if key not in ('use', 'paste.filter_factory')}


def _validate(kind: str, options: dict) -> None:
    if kind == 'client_address':
        from opsext import client_address
        client_address.settings(options, options)
    else:
        from opsext.nova import source_stamp
        source_stamp.filter_factory({}, **options)


def check_file(path: str) -> Report:
    """Check every pipeline of an api-paste.ini."""
    parser = _parser(path)
    kinds = {s.split(':', 1)[1]: _kind(parser, s) for s in parser.sections()
             if _kind(parser, s)}
    findings = []
    for name, kind in sorted(kinds.items()):
        try:
            _validate(kind, _options(parser, 'filter:' + name))
        except ConfigError as exc:
            findings.append(Finding(ERROR, name, str(exc)))
    stages = []
    for where, pipeline in _pipelines(parser):
        stages.extend(Stage(n) for n in pipeline if n not in
                      [s.name for s in stages])
        findings.extend(_check_pipeline(where, pipeline, kinds))
    return Report(tuple(stages), tuple(findings))


def _check_pipeline(where: str, pipeline: list, kinds: dict) -> list:
    findings = []
    positions: dict = {}
    for index, name in enumerate(pipeline):
        if name in positions and name in kinds:
            findings.append(Finding(WARNING, name, 'listed twice in %s'
                                    % where))
        positions.setdefault(name, index)
    ours = {kinds[n]: (n, i) for n, i in positions.items() if n in kinds}
    proxy = positions.get('http_proxy_to_wsgi')
    if 'client_address' in ours:
        name, index = ours['client_address']
        if proxy is not None and index > proxy:
            findings.append(Finding(ERROR, name, 'in %s it must be left of '
                                    'http_proxy_to_wsgi, which overwrites '
                                    'the peer address first' % where))
    elif proxy is not None and 'keystonecontext' in positions:
        findings.append(Finding(
            WARNING, 'http_proxy_to_wsgi', 'in %s no opsext_client_address '
            'before it: with enable_proxy_headers_parsing a client-written '
            'Forwarded header chooses the request\'s address' % where))
    if 'source_stamp' in ours:
        name, index = ours['source_stamp']
        context = positions.get('keystonecontext')
        if context is None or index < context:
            findings.append(Finding(ERROR, name, 'in %s it must be right '
                                    'of keystonecontext, whose request '
                                    'context it reads' % where))
    return findings
