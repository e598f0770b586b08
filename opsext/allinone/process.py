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

"""Server subprocesses on free loopback ports, with their output in a log.

:func:`free_ports` hands out ports the kernel lets us bind, all probed at
once, so one call never returns the same port twice; another process may
still take one before the server binds it, so every server here is started
through :func:`retry_on_port_in_use`, which starts it again on fresh ports.
:class:`LoopbackServer` is what memcached and redis-server have in common.

:class:`ManagedProcess` starts a command with stdout and stderr going to one
log file, tells whether it is still running, shows the tail of its log for
error messages, and stops it: SIGTERM first, SIGKILL after a timeout.

On Linux the child also gets SIGTERM when the process that started it dies
(``PR_SET_PDEATHSIG``), so a test run that is killed outright does not leave
servers behind.  Swift servers call ``setsid()``, so a Ctrl-C in the
terminal never reaches them; stopping them is always our job.
"""

import contextlib
import ctypes
import ctypes.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from typing import Callable, Mapping, Optional, Sequence

LOG = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


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


def retry_on_port_in_use(start_once: Callable[[], None], what: str,
                         attempts: int = 3,
                         error: type = RuntimeError) -> None:
    """Call ``start_once()`` again while it raises :class:`PortInUse`.

    The one bind-retry of every server started here: ``start_once``
    chooses fresh ports (:func:`free_ports`) each time and stops what it
    started before it raises. After ``attempts`` tries, ``error`` is
    raised, naming ``what`` and the last attempt's reason.
    """
    for attempt in range(1, attempts + 1):
        try:
            start_once()
            return
        except PortInUse as exc:
            if attempt == attempts:
                raise error('%s could not bind its port after %d '
                            'attempt(s): %s' % (what, attempt, exc)) from None
            LOG.debug('%s: a port was taken, retrying: %s', what, exc)


class LoopbackServer(object):
    """A server subprocess on a loopback port (memcached, redis-server).

    :meth:`start` runs it on a free port (or the given one), retrying on a
    taken port, and waits until :meth:`_answers`; it can then be paused,
    resumed, killed and started again on the same port, for tests of what
    clients do when it hangs or dies. Subclasses set ``NAME`` and
    ``PACKAGE`` (the Debian package of the binary, for the error when it
    is missing) and provide ``log_path``, :meth:`_argv` and
    :meth:`_answers`; :meth:`_prepare` and :meth:`_cleanup` are optional.
    """

    NAME = 'server'
    PACKAGE = 'server'

    def __init__(self, host: str, port: Optional[int], binary: str,
                 start_timeout: float) -> None:
        self.host = host
        self.port = port
        self.binary = binary
        self.start_timeout = start_timeout
        self._process: Optional[ManagedProcess] = None
        self._paused = False

    @property
    def address(self) -> str:
        """``host:port``."""
        if self.port is None:
            raise RuntimeError('%s has not been started' % self.NAME)
        return '%s:%d' % (self.host, self.port)

    @property
    def pid(self) -> Optional[int]:
        """The process id while running, else None."""
        return self._process.pid if self._process is not None else None

    @property
    def log_path(self) -> Optional[str]:
        raise NotImplementedError

    def _argv(self, path: str) -> list[str]:
        """The command line that runs the server on ``self.port``."""
        raise NotImplementedError

    def _answers(self) -> bool:
        """True once the server serves; may raise OSError before."""
        raise NotImplementedError

    def _prepare(self) -> None:
        """Before the first start: make the log file, working directory."""

    def _cleanup(self) -> None:
        """After stop: remove what :meth:`_prepare` made."""

    def start(self) -> 'LoopbackServer':
        """Start the server and wait until it answers.

        A server that was stopped starts again on the same port. A port
        chosen by the caller is tried once; a free one, up to 3 times.
        """
        if self._process is not None:
            raise RuntimeError('%s was already started' % self.NAME)
        path = find_binary(self.binary, self.PACKAGE)
        chosen_port = self.port
        self._prepare()

        def start_once() -> None:
            if chosen_port is None:
                self.port = free_port(self.host)
            self._start_once(path)
        try:
            retry_on_port_in_use(start_once, self.NAME,
                                 attempts=1 if chosen_port else 3)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_once(self, path: str) -> None:
        self._process = ManagedProcess(self.NAME, self._argv(path),
                                       self.log_path)
        self._process.start()
        deadline = time.monotonic() + self.start_timeout
        while True:
            if not self._process.running():
                if 'Address already in use' in self._process.log_text():
                    self._process = None
                    raise PortInUse('%s was taken' % self.address)
                raise RuntimeError('%s failed to start: %s'
                                   % (self.NAME,
                                      self._process.describe_exit()))
            try:
                answers = self._answers()
            except OSError:
                answers = False
            if answers:
                LOG.debug('%s is up at %s', self.NAME, self.address)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    '%s at %s did not answer within %.0f s; last lines of '
                    '%s:\n%s' % (self.NAME, self.address, self.start_timeout,
                                 self.log_path, self._process.log_tail()))
            time.sleep(0.02)

    def _exchange(self, request: bytes, done: Callable[[bytes], bool],
                  timeout: float = 2.0) -> bytes:
        """Send ``request`` on a new connection; read until ``done(reply)``
        or the server closes it."""
        with socket.create_connection((self.host, self.port),
                                      timeout=timeout) as sock:
            sock.sendall(request)
            reply = b''
            while not done(reply):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
        return reply

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

    def terminate(self) -> None:
        """Ask the server to exit (SIGTERM) without waiting; see stop()."""
        if self._process is not None:
            if self._paused and self._process.running():
                # A stopped process acts on SIGTERM only once continued.
                self.resume()
            self._process.terminate()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``timeout``."""
        if self._process is not None:
            self.terminate()
            self._process.wait_or_kill(timeout)
            self._process = None
            self._paused = False
        self._cleanup()

    def __enter__(self) -> 'LoopbackServer':
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


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
