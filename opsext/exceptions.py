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


"""The errors opsext raises, one type per kind of failure."""


class ConfigError(ValueError):
    """A plugin option has a bad value; raised at start-up.

    The message names the plugin, the option and the bad value, so that the
    operator reading the service's start-up log knows what to fix.
    """

    def __init__(self, plugin: str, option: str, value: object,
                 reason: str) -> None:
        self.plugin = plugin
        self.option = option
        self.value = value
        self.reason = reason
        super().__init__('%s: invalid value %r for option %r: %s'
                         % (plugin, value, option, reason))


class StorageError(Exception):
    """A rate-limit storage backend failed, timed out or answered garbage.

    Every backend wraps its own errors (socket errors, protocol errors,
    error answers from the server) in this one type.
    """


class PartialStorageError(StorageError):
    """Some of a call's counters were counted, others were lost.

    A ring of servers where one is down still counts the keys the others
    hold: ``counts`` has the counts of the call's hits, in order, with None
    for each hit whose server failed.
    """

    def __init__(self, message: str, counts: list) -> None:
        super().__init__(message)
        self.counts = counts
