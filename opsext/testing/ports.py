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

"""Free TCP ports on a local address, for servers started by tests.

A port is free when the kernel lets us bind it.  Ports are handed out while
all the probing sockets are still open, so one call never returns the same
port twice; the port may still be taken by someone else before the server
binds it, which is why the servers started by :mod:`opsext.testing` retry
with fresh ports when their bind fails.
"""

import contextlib
import socket


def free_ports(count: int, host: str = '127.0.0.1') -> list[int]:
    """Return ``count`` distinct TCP ports that can be bound on ``host``."""
    if count < 1:
        raise ValueError('count must be at least 1, got %r' % (count,))
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(
                socket.socket(family, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(sock.getsockname()[1])
        return ports


def free_port(host: str = '127.0.0.1') -> int:
    """Return one TCP port that can be bound on ``host``."""
    return free_ports(1, host)[0]
