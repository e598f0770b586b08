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


"""Loading a Swift proxy pipeline as the proxy does, for the checks.

Swift's paste.deploy loader reads ``[pipeline:main]`` and resolves every
filter; then the filters the proxy adds by itself when missing are
inserted with the proxy's own algorithm and list (``required_filters``),
without building the proxy application. Each stage is told apart by the
code it loads, not by its section name.
"""

import configparser
from typing import List, NamedTuple

IP_ALLOWLIST = 'opsext:ip_allowlist'
RATELIMIT = 'opsext:ratelimit'
_OPSEXT_MODULES = {
    'opsext.swift.ip_allowlist': IP_ALLOWLIST,
    'opsext.ratelimit.middleware': RATELIMIT,
}
#: keystonemiddleware's auth_token: it confirms project and user.
AUTHTOKEN = 'authtoken'


class Stage(NamedTuple):
    """One filter (or the app) of the pipeline, as the proxy loads it."""

    name: str       # the name in the pipeline (its section name)
    kind: str       # what code it runs: 'tempauth', IP_ALLOWLIST...
    context: object  # its paste.deploy loader context
    added: bool     # inserted by the proxy, not written in the pipeline

    def label(self) -> str:
        return self.name + (' (added by Swift at start-up)'
                            if self.added else '')


class UnreadableConfig(Exception):
    """The config file is missing or cannot be read."""


def kind(context) -> str:
    """What a loader context runs: an opsext kind, a Swift filter's name."""
    module = getattr(context.object, '__module__', None) or ''
    if module in _OPSEXT_MODULES:
        return _OPSEXT_MODULES[module]
    if module.startswith('swift.common.middleware.'):
        return module.rsplit('.', 1)[1]
    if module == 'swift.proxy.server':
        return 'proxy'
    if module.startswith('keystonemiddleware.auth_token'):
        return AUTHTOKEN
    return context.entry_point_name or getattr(context, 'name', '') or '?'


def raw_sections(path: str) -> configparser.RawConfigParser:
    """The file's sections as written, to check what paste.deploy hides.

    :raises UnreadableConfig: missing, unreadable or not text.
    :raises configparser.Error: not an INI file.
    """
    parser = configparser.RawConfigParser(strict=False)
    try:
        with open(path) as fp:
            parser.read_file(fp)
    except OSError as exc:
        raise UnreadableConfig('%s: %s' % (path, exc.strerror or exc))
    except UnicodeDecodeError as exc:
        raise UnreadableConfig('%s: not a text file (%s)' % (path, exc))
    return parser


def load_pipeline(path: str) -> List[Stage]:
    """The filters and app of ``[pipeline:main]``, as the proxy runs them.

    :raises LookupError, ImportError, ValueError, configparser.Error: the
        proxy could not load this config either.
    """
    from paste.deploy import loadwsgi
    from swift.common import wsgi

    context = wsgi.loadcontext(loadwsgi.APP, path)
    if context.object_type.name != 'pipeline':
        raise LookupError('main is not a pipeline')
    written = list(context.filter_contexts)
    app = context.app_context
    if getattr(app.object, '__module__', None) == 'swift.proxy.server':
        _add_required_filters(context)
    stages = [Stage(ctx.name, kind(ctx), ctx,
                    not any(ctx is w for w in written))
              for ctx in context.filter_contexts]
    stages.append(Stage(app.name, kind(app), app, False))
    return stages


def _add_required_filters(context) -> None:
    """Insert what the proxy's ``modify_wsgi_pipeline`` would insert.

    The same algorithm, run on Swift's own list of required filters,
    without building the proxy application.
    """
    from swift.common import wsgi
    from swift.proxy import server

    pipe = wsgi.PipelineWrapper(context)
    for spec in reversed(server.required_filters):
        if spec['name'] in pipe:
            continue
        at = 0
        for after in spec.get('after_fn', lambda _pipe: [])(pipe):
            try:
                at = max(at, pipe.index(after) + 1)
            except ValueError:
                pass
        pipe.insert_filter(pipe.create_filter(spec['name']), index=at)
