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


"""The base of opsext's paste filters: typed options, read once at start-up.

Every opsext paste filter (``ip_allowlist``, ``ratelimit``,
``client_address``, ``source_stamp``) declares its options once, as typed
``oslo.config`` options (``OPTS``). The same declarations feed
``oslo-config-generator`` (:mod:`opsext.opts`), the sample stanzas in
``etc/`` and the option tables of the docs; here they convert the strings
of a paste.deploy section, each with its option's own type, the way
keystonemiddleware does (``keystonemiddleware/_common/config.py``,
``_conf_values_type_convert``: ``opt.type(value)``, deprecated names
mapped to the option they were renamed to).

One policy for every filter, applied when the service loads its pipeline:

* a bad value stops start-up with a :class:`~opsext.exceptions.ConfigError`
  naming the filter's section, the option and the value;
* an option the filter does not know stops start-up the same way (a typo
  in a security filter's option must not silently leave its default);
* an option's deprecated name keeps working, with one warning when the
  filter is loaded;
* paste.deploy's own keys and those Swift's loader adds are not options:
  ``use``, ``require``, ``filter-with``, ``next``, ``paste.*``, ``set ...``
  / ``get ...`` (paste.deploy's ``loadwsgi.ConfigLoader.get_context``),
  ``__file__`` and ``here`` (paste's defaults), ``__name__`` (Swift's
  ``swift.common.wsgi.NamedConfigLoader.get_context``) and Swift's
  per-filter logging options ``log_*`` (``swift.common.utils.get_logger``).
  Options of ``[DEFAULT]`` reach a filter as ``global_conf`` and are never
  checked: they belong to the service.
"""

import math
from typing import Any, Callable, Iterable, Mapping, Optional

from oslo_config import cfg
from oslo_config import types
from oslo_log import log as logging

from opsext import client_ip
from opsext.exceptions import ConfigError
from opsext import net

LOG = logging.getLogger(__name__)

#: Keys paste.deploy or Swift's loader put in a filter's own options.
PASTE_KEYS = frozenset(('use', 'require', 'filter-with', 'next',
                        '__name__', '__file__', 'here'))
#: Prefixes of keys that are not the filter's options (see above).
PASTE_PREFIXES = ('paste.', 'set ', 'get ', 'log_', '__')


class Boolean(types.Boolean):
    """oslo's boolean, with the words Swift's ``config_true_value`` takes.

    A word that is neither true nor false is an error, not false.
    """

    TRUE_VALUES = ['true', '1', 'on', 'yes', 't', 'y']
    FALSE_VALUES = ['false', '0', 'off', 'no', 'f', 'n']

    def __call__(self, value):
        if isinstance(value, str):
            value = value.strip()
        try:
            return super().__call__(value)
        except ValueError:
            raise ValueError('not a boolean') from None


class Networks(types.ConfigType):
    """A comma or space separated list of addresses and networks."""

    def __init__(self, type_name: str = 'networks') -> None:
        super().__init__(type_name=type_name)

    def __call__(self, value) -> net.NetworkSet:
        if isinstance(value, net.NetworkSet):
            return value
        if isinstance(value, (list, tuple)):
            value = ','.join(value)
        return net.NetworkSet.from_string(str(value))

    def _formatter(self, value) -> str:
        return str(value or '')


class Word(types.String):
    """A string, stripped, that must be one of ``choices`` (any case)."""

    def __init__(self, choices: Iterable[str]) -> None:
        super().__init__(choices=list(choices), ignore_case=True)

    def __call__(self, value) -> str:
        value = str(value).strip().lower()
        if value not in self.choices:
            raise ValueError('must be ' + ' or '.join(self.choices))
        return value


def client_address_opts() -> list:
    """The options that describe the proxies in front of a service.

    Shared by every filter that resolves the client address with
    :mod:`opsext.client_ip`; a fresh list each call, so that no two
    filters share an option object.
    """
    return [
        cfg.Opt('trusted_proxies', type=Networks(), default='',
                help='Addresses or networks of the proxies (load balancers, '
                     'TLS terminators) whose forwarded header is believed, '
                     'comma or space separated. Empty (the default): the '
                     'client is REMOTE_ADDR and forwarded headers are '
                     'ignored. The chain is walked from the right; entries '
                     'written by the client are never read, nor is '
                     'X-Cluster-Client-Ip.'),
        cfg.Opt('forwarded_header', type=Word(client_ip.FORWARDED_HEADERS),
                default=client_ip.X_FORWARDED_FOR,
                help='The one header the trusted proxies write: '
                     'x-forwarded-for or forwarded (RFC 7239). Only that one '
                     'is read, so a client cannot slip a forged header of '
                     'the other kind past a proxy that does not strip it.'),
        cfg.IntOpt('max_proxy_hops', default=10, min=1, max=100,
                   help='Longest chain of trusted proxies walked before the '
                        'request is refused.'),
    ]


def client_resolver(values: Mapping[str, Any]
                    ) -> client_ip.ClientAddressResolver:
    """The resolver that the :func:`client_address_opts` values describe."""
    return client_ip.ClientAddressResolver(
        values['trusted_proxies'], values['forwarded_header'],
        values['max_proxy_hops'])


def section_label(plugin: str, local_conf: Mapping) -> str:
    """How a filter is named in errors and logs: ``plugin [filter:name]``.

    Swift's loader gives the section name as ``__name__``; paste.deploy
    alone gives nothing, so the plugin's own name stands for it.
    """
    section = str(local_conf.get('__name__') or plugin).strip()
    return '%s [filter:%s]' % (plugin, section)


def is_paste_key(key: str) -> bool:
    """Whether ``key`` belongs to paste.deploy or Swift, not to a filter."""
    return key in PASTE_KEYS or key.startswith(PASTE_PREFIXES)


def read_options(label: str, opts: Iterable[cfg.Opt], conf: Mapping,
                 local_keys: Iterable[str] = (),
                 extra_prefixes: Iterable[str] = ()) -> dict:
    """Convert a paste section's strings with each option's own type.

    :param label: the filter, as errors name it (:func:`section_label`).
    :param opts: the filter's declared options.
    :param conf: ``global_conf`` updated with the section's own options.
    :param local_keys: the section's own keys: each must be an option, a
        deprecated name of one, a key starting with ``extra_prefixes``, or
        paste's or Swift's (:func:`is_paste_key`).
    :returns: ``{option dest: typed value}`` for every option, defaults
        converted too.
    :raises ConfigError: naming the section, the option and the value.
    """
    opts = list(opts)
    names = {opt.name: opt for opt in opts}
    deprecated = {old.name: opt for opt in opts
                  for old in opt.deprecated_opts if old.name}
    extra_prefixes = tuple(extra_prefixes)
    for key in local_keys:
        if key in names or is_paste_key(key) or key.startswith(
                extra_prefixes):
            continue
        if key in deprecated:
            LOG.warning('%s: option %s is deprecated and will be removed in '
                        'a future release: use %s instead', label, key,
                        deprecated[key].name)
            continue
        raise ConfigError(label, key, conf[key], 'unknown option')
    values = {}
    for opt in opts:
        name, raw = opt.name, conf.get(opt.name)
        if raw is None:
            name, raw = next(((old.name, conf[old.name])
                              for old in opt.deprecated_opts
                              if old.name and conf.get(old.name) is not None),
                             (name, opt.default))
        if raw is None:
            values[opt.dest] = None
            continue
        try:
            value = opt.type(raw)
            # oslo's numbers read an empty string as unset, and floats take
            # nan: neither is a value a filter can work with.
            if value is None:
                raise ValueError('empty: give a value or remove the line')
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError('not a finite number')
            values[opt.dest] = value
        except (TypeError, ValueError) as exc:
            reason = str(exc)
            if opt.secret:
                if str(raw) in reason:  # never show a secret
                    reason = 'not a valid %s' % getattr(
                        opt.type, 'type_name', 'value')
                raise ConfigError(label, name, '***', reason) from None
            raise ConfigError(label, name, raw, reason) from None
    return values


class PasteFilter:
    """Base of opsext's paste filters: Swift's shape, options read once.

    A filter sets ``NAME`` (its entry point), ``OPTS`` (typed options)
    and, for options named by the operator (``rule_<name>``),
    ``EXTRA_PREFIXES``; it implements :meth:`load_settings` (options to
    immutable settings) and ``__call__``. ``filter_factory`` reads and
    checks everything before the service serves a request; the
    constructor takes Swift's ``(app, conf, logger=None)``.
    """

    NAME = ''
    OPTS: list = []
    EXTRA_PREFIXES: tuple = ()

    def __init__(self, app: Callable, conf: Mapping,
                 logger: Optional[Any] = None, settings: Any = None) -> None:
        self.app = app
        self.conf = conf
        self.settings = (settings if settings is not None
                         else self.read_settings(conf))
        self.logger = logger if logger is not None else self.make_logger(
            app, conf)

    @classmethod
    def label(cls, local_conf: Mapping) -> str:
        return section_label(cls.NAME, local_conf)

    @classmethod
    def read_settings(cls, conf: Mapping, local_keys: Iterable[str] = ()):
        """The filter's settings from ``conf``; unknown ``local_keys`` fail.

        ``local_keys`` may be the section's own options (a mapping): the
        filter is then named by them, not by ``[DEFAULT]``'s.

        :raises ConfigError: naming the section, the option and the value.
        """
        label = cls.label(local_keys if isinstance(local_keys, Mapping)
                          and local_keys else conf)
        values = read_options(label, cls.OPTS, conf, local_keys,
                              cls.EXTRA_PREFIXES)
        return cls.load_settings(label, values, conf)

    @classmethod
    def load_settings(cls, label: str, values: dict, conf: Mapping):
        """Immutable settings from the typed ``values``; checks across them.

        :raises ConfigError: naming the section, the option and the value.
        """
        raise NotImplementedError

    def make_logger(self, app: Callable, conf: Mapping):
        """The logger, chosen once when the filter is loaded."""
        return LOG

    @classmethod
    def factory(cls, global_conf: Mapping, local_conf: Mapping) -> Callable:
        """What ``filter_factory`` returns, once the options are checked."""
        conf = dict(global_conf)
        conf.update(local_conf)
        settings = cls.read_settings(conf, local_conf)

        def make_filter(app):
            return cls(app, conf, settings=settings)
        return make_filter

    @classmethod
    def list_opts(cls) -> list:
        """``[(NAME, OPTS)]``, for :mod:`opsext.opts`."""
        return [(cls.NAME, cls.OPTS)]
