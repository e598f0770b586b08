"""More proxy-server processes for a running test cluster.

Two real proxies sharing one rate-limit backend is the case that matters:
each is its own process with its own workers' memory.
"""

import configparser
import contextlib
import os
import sys
import time

from opsext.allinone import process
from opsext.allinone import transport as swift_http
from opsext.allinone import servers as swift_servers


@contextlib.contextmanager
def extra_proxy(cluster, name, filter_updates=None):
    """Start another proxy-server on the cluster; yield its base URL.

    ``filter_updates`` maps section names to options to set, e.g.
    ``{'filter:opsext_ratelimit': {'backend': 'redis://...'}}``.
    """
    parser = configparser.RawConfigParser()
    parser.optionxform = str
    parser.read(cluster.proxy_conf_path)
    port = process.free_port()
    parser.set('DEFAULT', 'bind_port', str(port))
    for section, values in (filter_updates or {}).items():
        for key, value in values.items():
            parser.set(section, key, value)
    conf_path = os.path.join(cluster.workdir, 'proxy-%s.conf' % name)
    with open(conf_path, 'w') as fp:
        parser.write(fp)
    proc = process.ManagedProcess(
        'proxy-' + name,
        [sys.executable, swift_servers.find_server_script('proxy'),
         conf_path, '--verbose'],
        os.path.join(cluster.workdir, 'proxy-%s.log' % name),
        env=swift_servers.server_env())
    proc.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status = swift_http.probe_status('127.0.0.1', port, 'GET',
                                                 '/healthcheck')
            except OSError:
                status = None
            if status == 200:
                break
            if not proc.running() or time.monotonic() > deadline:
                raise RuntimeError('extra proxy did not start: %s'
                                   % proc.log_tail())
            time.sleep(0.05)
        yield 'http://127.0.0.1:%d' % port
    finally:
        proc.stop()
