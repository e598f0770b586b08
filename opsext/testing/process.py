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

"""A server subprocess with its output in a log file.

:class:`ManagedProcess` starts a command with stdout and stderr going to one
log file, tells whether it is still running, shows the tail of its log for
error messages, and stops it: SIGTERM first, SIGKILL after a timeout.

On Linux the child also gets SIGTERM when the process that started it dies
(``PR_SET_PDEATHSIG``), so a test run that is killed outright does not leave
servers behind.  Swift servers call ``setsid()``, so a Ctrl-C in the
terminal never reaches them; stopping them is always our job.
"""

import ctypes
import ctypes.util
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from typing import Callable, Mapping, Optional, Sequence

from opsext.testing import ports

LOG = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent_hook() -> Optional[Callable[[], None]]:
    """Return a pre-exec hook asking Linux to SIGTERM the child with us."""
    if not sys.platform.startswith('linux'):
        return None
    try:
        # Looked up before fork: the hook itself only makes one syscall.
        prctl = ctypes.CDLL(ctypes.util.find_library('c'),
                            use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return hook


class ManagedProcess(object):
    """One server subprocess whose stdout and stderr go to ``log_path``."""

    def __init__(self, name: str, argv: Sequence[str], log_path: str,
                 env: Optional[Mapping[str, str]] = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self._proc: Optional[subprocess.Popen] = None

    @property
    def pid(self) -> Optional[int]:
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        """Start the command, with a fresh log file."""
        if self._proc is not None:
            raise RuntimeError('%s was already started' % self.name)
        with open(self.log_path, 'wb') as log, warnings.catch_warnings():
            # A pre-exec hook makes Python run the at-fork hooks, and
            # eventlet (imported by an in-process Swift) warns about fork();
            # the child execs at once, so its concern does not apply.
            warnings.filterwarnings('ignore', message='Using fork',
                                    category=DeprecationWarning)
            self._proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=self.env, close_fds=True,
                preexec_fn=_die_with_parent_hook())
        LOG.debug('started %s (pid %d): %s', self.name, self._proc.pid,
                  ' '.join(self.argv))

    def running(self) -> bool:
        """True while the process has been started and has not exited."""
        return self._proc is not None and self._proc.poll() is None

    def exit_status(self) -> Optional[int]:
        """The exit status, or None while running or before start."""
        return self._proc.poll() if self._proc is not None else None

    def terminate(self) -> None:
        """Send SIGTERM if the process is still running."""
        if self.running():
            self._proc.terminate()

    def wait_or_kill(self, timeout: float) -> Optional[int]:
        """Wait up to ``timeout`` seconds, then SIGKILL; return the status."""
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout=max(timeout, 0))
        except subprocess.TimeoutExpired:
            LOG.warning('%s (pid %d) ignored SIGTERM; killing it',
                        self.name, self._proc.pid)
            self._proc.kill()
            return self._proc.wait()

    def stop(self, timeout: float = 5.0) -> Optional[int]:
        """Terminate, wait up to ``timeout`` seconds, then kill."""
        self.terminate()
        return self.wait_or_kill(timeout)

    def log_text(self) -> str:
        """Everything the process has written so far."""
        try:
            with open(self.log_path, 'rb') as log:
                return log.read().decode('utf-8', 'replace')
        except FileNotFoundError:
            return ''

    def log_tail(self, lines: int = 25) -> str:
        """The last ``lines`` lines of the log, for error messages."""
        return '\n'.join(self.log_text().splitlines()[-lines:])

    def describe_exit(self) -> str:
        """A one-paragraph account of how the process ended, with its log."""
        return '%s exited with status %s; last lines of %s:\n%s' % (
            self.name, self.exit_status(), self.log_path,
            self.log_tail() or '(empty log)')


class PortInUse(Exception):
    """A server exited because its port was taken; retry on another."""


class FreezableServer(object):
    """pause, resume and kill for a server whose process is ``_process``.

    Subclasses set ``NAME`` (for messages) and keep their
    :class:`ManagedProcess` in ``self._process``.
    """

    NAME = 'server'
    _process: Optional['ManagedProcess'] = None
    _paused = False

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections hang, nothing answers."""
        self._signal(signal.SIGSTOP)
        self._paused = True
        wait_stopped(self._process.pid, True)

    def resume(self) -> None:
        """Let a paused server run again (SIGCONT)."""
        self._signal(signal.SIGCONT)
        self._paused = False
        wait_stopped(self._process.pid, False)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL); start() brings it back."""
        self._signal(signal.SIGKILL)
        self._process.wait_or_kill(5.0)
        self._process = None
        self._paused = False

    def _signal(self, signum: int) -> None:
        if self._process is None or not self._process.running():
            raise RuntimeError('%s is not running' % self.NAME)
        os.kill(self._process.pid, signum)

    def _start_on_a_port(self, path: str, attempts: int = 3) -> None:
        """Run ``self._start_once(path)``, on a fresh free port if taken.

        A port chosen by the caller (``self.port`` set before the first
        start, or kept for a restart) is tried once. Subclasses provide
        ``host``, ``port``, ``address``, ``_start_once`` and ``stop``.
        """
        chosen_port = self.port
        for attempt in range(1, attempts + 1):
            if chosen_port is None:
                self.port = ports.free_port(self.host)
            try:
                self._start_once(path)
                return
            except PortInUse:
                self._process = None
                if chosen_port is not None or attempt == attempts:
                    self.stop()
                    raise RuntimeError('%s could not bind %s after %d '
                                       'attempts' % (self.NAME, self.address,
                                                     attempt))
                LOG.debug('%s port %d was taken; retrying', self.NAME,
                          self.port)
            except BaseException:
                self.stop()
                raise


def wait_stopped(pid: int, stopped: bool, timeout: float = 5.0) -> None:
    """Wait until every thread of ``pid`` is (or no longer is) stopped.

    A signal is delivered asynchronously: right after ``kill(SIGSTOP)`` the
    server may still answer a request. Linux only; elsewhere, no wait.
    """
    task_dir = '/proc/%d/task' % pid
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            tids = os.listdir(task_dir)
        except OSError:
            return
        states = []
        for tid in tids:
            try:
                with open(os.path.join(task_dir, tid, 'stat')) as stat:
                    # "pid (comm) state ...", and comm may hold spaces.
                    states.append(stat.read().rpartition(')')[2].split()[0])
            except OSError:
                continue  # that thread has just exited
        if all((state in 'Tt') == stopped for state in states):
            return
        time.sleep(0.001)
    raise RuntimeError('process %d did not %s within %.0f s'
                       % (pid, 'stop' if stopped else 'continue', timeout))


# PATH often lacks the sbin directories where some distributions put
# servers.
EXTRA_BIN_DIRS = ('/usr/bin', '/usr/sbin', '/usr/local/bin',
                  '/usr/local/sbin')


def find_binary(binary: str, package: str) -> str:
    """Return the path of ``binary``, or raise RuntimeError naming it.

    ``package`` is the Debian package that provides it, for the message.
    """
    if os.sep in binary:
        found = binary if os.access(binary, os.X_OK) else None
    else:
        found = shutil.which(binary) or shutil.which(
            binary, path=os.pathsep.join(EXTRA_BIN_DIRS))
    if not found:
        raise RuntimeError(
            '%s binary %r not found (looked in PATH and %s); install it, '
            'e.g. "apt-get install %s"' % (
                package, binary, ', '.join(EXTRA_BIN_DIRS), package))
    return found
