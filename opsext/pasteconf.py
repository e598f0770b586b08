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


"""Reading a paste filter's options strictly, once, at start-up.

Both opsext paste filters take their options from the paste.deploy
section (``[filter:...]``) and check every value before the service
serves a request: a bad one is a :class:`~opsext.exceptions.ConfigError`
that names the filter, the option and the value. Swift's
``config_true_value`` reads any unknown word as false; here a boolean is
one of the usual words for true or false, or an error.
"""

from typing import Mapping

from opsext import client_ip
from opsext.exceptions import ConfigError
from opsext import net

TRUE_VALUES = frozenset(('true', '1', 'yes', 'on', 't', 'y'))
FALSE_VALUES = frozenset(('false', '0', 'no', 'off', 'f', 'n'))


class PasteOptions:
    """Typed access to one filter's options, with their defaults."""

    def __init__(self, plugin: str, conf: Mapping,
                 defaults: Mapping[str, str]) -> None:
        self.plugin = plugin
        self.conf = conf
        self.defaults = defaults

    def text(self, option: str) -> str:
        return str(self.conf.get(option, self.defaults[option]))

    def error(self, option: str, value, reason: str) -> ConfigError:
        return ConfigError(self.plugin, option, value, reason)

    def boolean(self, option: str) -> bool:
        value = self.text(option).strip().lower()
        if value in TRUE_VALUES:
            return True
        if value in FALSE_VALUES:
            return False
        raise self.error(option, value, 'not a boolean')

    def number(self, option: str, kind=int, low=None, high=None):
        value = self.conf.get(option, self.defaults[option])
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise self.error(option, value, 'not a number') from None
        if (low is not None and number < low) or (
                high is not None and number > high):
            raise self.error(option, value, 'must be between %s and %s'
                             % (low, high) if high is not None
                             else 'must be >= %s' % low)
        return number

    def networks(self, option: str) -> net.NetworkSet:
        value = self.text(option)
        try:
            return net.NetworkSet.from_string(value)
        except net.AddressError as exc:
            raise self.error(option, value, str(exc)) from None

    def client_resolver(self) -> client_ip.ClientAddressResolver:
        """The resolver that ``trusted_proxies`` and its options describe."""
        header = self.text('forwarded_header').strip().lower()
        if header not in client_ip.FORWARDED_HEADERS:
            raise self.error('forwarded_header', header, 'must be ' +
                             ' or '.join(client_ip.FORWARDED_HEADERS))
        return client_ip.ClientAddressResolver(
            self.networks('trusted_proxies'), header,
            self.number('max_proxy_hops', int, 1, 100))
