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

"""The ``opsext`` command line tool; one module per subcommand."""

#: Exit statuses of the checking subcommands, for scripts: nothing found,
#: something found, unusable input (as argparse uses for bad usage).
OK, FOUND, UNUSABLE = 0, 1, 2


class CommandError(Exception):
    """A failure ``opsext`` reports in one line, without a traceback.

    ``status`` is the exit status: 1 by default, 2 for unusable input (as
    argparse uses for bad usage).
    """

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status
