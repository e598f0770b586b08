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

"""Write a new operator plugin package from a template.

``opsext new middleware NAME`` and ``opsext new scheduler-filter NAME``
(:mod:`opsext.cmd.new`) call :func:`create`.  A template is a mapping of
relative paths to file texts (:mod:`opsext.scaffold.middleware`,
:mod:`opsext.scaffold.scheduler_filter`, the files every kind shares in
:mod:`opsext.scaffold.common`) with ``{{placeholders}}`` for the names.

The package is written into a temporary directory beside the target and
renamed into place at the end, so a failure leaves nothing behind, and an
existing target is never touched.
"""

import keyword
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid

from opsext.scaffold import common
from opsext.scaffold import middleware
from opsext.scaffold import scheduler_filter

#: Kinds of package, by the name the command line uses.
KINDS = {
    'middleware': middleware.FILES,
    'scheduler-filter': scheduler_filter.FILES,
}
_NAME = re.compile(r'\A[a-z][a-z0-9_]{1,19}\Z')
# Names an operator's package must not take: it would shadow these when
# imported beside them in a Swift proxy or a Nova scheduler.
_TAKEN = frozenset({'swift', 'nova', 'opsext', 'oslo', 'keystone',
                    'keystonemiddleware', 'neutron', 'glance', 'cinder',
                    'placement', 'paste', 'webob', 'eventlet', 'pytest',
                    'tests', 'test', 'setup', 'devstack', 'releasenotes'})
_PLACEHOLDER = re.compile(r'{{(\w+)}}')


class ScaffoldError(ValueError):
    """A name or target that cannot be used; nothing was written."""


def check_name(name: str) -> str:
    """Return ``name`` if it can name a package, else raise ScaffoldError.

    A name is a lowercase Python identifier of 2 to 20 characters (letters,
    digits, underscores, starting with a letter) that is neither a keyword
    nor the name of a standard or OpenStack module it would shadow.
    """
    if not _NAME.match(name or '') or name.endswith('_') or '__' in name:
        raise ScaffoldError(
            'invalid name %r: use 2 to 20 lowercase letters, digits and '
            'single underscores, starting with a letter (e.g. ip_restrict)'
            % (name,))
    if keyword.iskeyword(name) or name in _TAKEN or (
            name in sys.stdlib_module_names):
        raise ScaffoldError('invalid name %r: it would shadow the Python or '
                            'OpenStack module of that name' % (name,))
    return name


def placeholders(name: str) -> dict[str, str]:
    """The values of the templates' ``{{placeholders}}`` for ``name``."""
    camel = ''.join(part.capitalize() for part in name.split('_'))
    return {
        'name': name,
        'dist': name.replace('_', '-'),
        'Camel': camel,
        'UPPER': name.upper(),
        'title': name.replace('_', ' '),
        'title_rule': '=' * len(name),
        'note_id': uuid.uuid4().hex[:16],
    }


def render(text: str, values: dict[str, str]) -> str:
    """Replace every ``{{key}}`` of ``text``; an unknown key is a bug."""
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def files(kind: str, name: str) -> dict[str, str]:
    """``{relative path: text}`` of the package ``kind`` named ``name``."""
    if kind not in KINDS:
        raise ScaffoldError('unknown kind %r: use one of %s'
                            % (kind, ', '.join(sorted(KINDS))))
    values = placeholders(check_name(name))
    templates = dict(common.files(kind), **KINDS[kind])
    return {render(path, values): render(text, values)
            for path, text in templates.items()}


def create(kind: str, name: str, parent: str = '.', git: bool = True
           ) -> str:
    """Write the package ``kind`` named ``name`` to ``parent/name``.

    With ``git`` (and git installed) the package is a git repository with
    one commit: pbr takes the package's version from git.

    :returns: the new package's directory.
    :raises ScaffoldError: for a bad name or kind, a missing parent
        directory or an existing target; nothing is written then.
    """
    contents = files(kind, name)
    parent = os.path.abspath(parent)
    target = os.path.join(parent, name)
    if not os.path.isdir(parent):
        raise ScaffoldError('%s is not a directory' % parent)
    if os.path.lexists(target):
        raise ScaffoldError('%s already exists; choose another name or '
                            'directory' % target)
    if not os.access(parent, os.W_OK):
        raise ScaffoldError('%s is not writable' % parent)
    staging = tempfile.mkdtemp(prefix='.%s-' % name, dir=parent)
    try:
        for path, text in sorted(contents.items()):
            full = os.path.join(staging, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, 'w') as out:
                out.write(text)
            if path.endswith('.sh'):
                os.chmod(full, 0o755)
        os.chmod(staging, 0o755)
        if git and shutil.which('git'):
            _init_git(staging, name)
        # The one step that touches the target.
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _init_git(path: str, name: str) -> None:
    """``git init`` and a first commit of everything in ``path``."""
    def git(*args: str) -> str:
        proc = subprocess.run(['git'] + list(args), cwd=path,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              universal_newlines=True)
        if proc.returncode != 0:
            raise ScaffoldError('git %s failed: %s' % (
                args[0], proc.stdout.strip().splitlines()[-1:]))
        return proc.stdout

    git('init', '-q')
    git('add', '-A')
    identity = []
    for key, default in (('user.name', 'opsext new'),
                         ('user.email', 'opsext-new@localhost')):
        if subprocess.run(['git', 'config', key], cwd=path,
                          stdout=subprocess.DEVNULL).returncode != 0:
            # No identity configured: commit anyway, under this one.
            identity += ['-c', '%s=%s' % (key, default)]
    git(*identity, 'commit', '-q', '-m',
        'Initial %s, from opsext new' % name)
