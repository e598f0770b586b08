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


"""A statsd listener on loopback, to check the counters a filter sends."""

import socket
from typing import Iterable


class StatsdListener(object):
    """A UDP socket on 127.0.0.1 that collects statsd metric names."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(('127.0.0.1', 0))
        self.port = self._sock.getsockname()[1]
        self.seen: set = set()

    def collect(self, wanted: Iterable[str], timeout: float = 5.0) -> set:
        """Read metrics until all of ``wanted`` came or ``timeout`` passed.

        Returns every metric name seen so far.
        """
        wanted = set(wanted)
        self._sock.settimeout(timeout)
        while not wanted <= self.seen:
            try:
                packet = self._sock.recv(512)
            except socket.timeout:
                break
            self.seen.add(packet.decode().split(':')[0])
        return self.seen

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> 'StatsdListener':
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
