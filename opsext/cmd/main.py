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

"""The ``opsext`` command: entry point and subcommand registry.

Each subcommand lives in its own module with a ``register(subparsers)``
function that adds its parser and sets ``func`` to a callable taking the
parsed arguments and returning the exit status.  Adding a subcommand means
writing such a module and listing its ``register`` in ``_REGISTRARS``.

Subcommand modules import their heavy dependencies (Swift, Nova) inside
``func``, so ``opsext --help`` stays fast and works without them.
"""

import argparse
import logging
import sys
from typing import Optional, Sequence

from opsext.cmd import allowlist_audit
from opsext.cmd import CommandError
from opsext.cmd import demo
from opsext.cmd import new
from opsext.cmd import pipeline
from opsext.cmd import placement

_REGISTRARS = (
    demo.register,
    pipeline.register,
    placement.register,
    allowlist_audit.register,
    new.register,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog='opsext',
        description='Tools for the opsext OpenStack extensions.')
    parser.add_argument('--debug', action='store_true',
                        help='log debug messages to stderr')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    subparsers.required = True
    for register in _REGISTRARS:
        register(subparsers)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``opsext`` with ``argv`` (default: sys.argv); return the status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse has printed usage and the error (or the help).
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except (CommandError, RuntimeError, OSError, ValueError) as exc:
        return _fail(args, str(exc), getattr(exc, 'status', 1))
    except Exception as exc:  # noqa: B902 (one line, never a traceback)
        return _fail(args, 'unexpected %s: %s (--debug shows where)'
                     % (type(exc).__name__, exc), 1)


def _fail(args: argparse.Namespace, message: str, status: int) -> int:
    """Report a failure in one line, as argparse reports bad usage.

    Called while the exception is handled, so --debug logs its traceback.
    """
    if args.debug:
        logging.getLogger(__name__).exception('%s failed', args.command)
    prog = getattr(args, 'prog', None) or 'opsext %s' % args.command
    print('%s: error: %s' % (prog, message), file=sys.stderr)
    return status


if __name__ == '__main__':
    sys.exit(main())
