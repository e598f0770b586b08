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

"""Files every generated package has: packaging, tox, a release note.

The test requirements are those of opsext's own environments: ``swift``
and ``memcached`` (Debian package) for a middleware; Nova, placement and
Nova's test libraries (as opsext's ``tox -e nova``) for a scheduler
filter.
"""

SETUP_PY = '''\
import setuptools

setuptools.setup(
    setup_requires=['pbr>=5.8.0'],
    pbr=True)
'''

PYPROJECT = '''\
[build-system]
requires = ["pbr>=6.0.0", "setuptools>=64.0.0"]
build-backend = "pbr.build"
'''

REQUIREMENTS = {
    'middleware': 'pbr>=5.8.0\nswift>=2.30.0\n',
    'scheduler-filter': 'pbr>=5.8.0\nnova>=30.0.0\noslo.config>=9.0.0\n',
}

TEST_REQUIREMENTS = {
    'middleware': 'opsext[swift,test]\npytest>=7.0\n',
    # Nova's functional harness needs these; SQLAlchemy 2.1 breaks it.
    'scheduler-filter': ('opsext\npytest>=7.0\nopenstack-placement\n'
                         'SQLAlchemy<2.1\nfixtures\noslotest\n'
                         'testscenarios\ntesttools\nwsgi-intercept\n'),
}

TOX_INI = '''\
[tox]
minversion = 4.0
envlist = py3,pep8

[testenv]
usedevelop = true
deps =
    -r{toxinidir}/requirements.txt
    -r{toxinidir}/test-requirements.txt
commands =
    python -m pytest -p no:cacheprovider tests {posargs}

[testenv:pep8]
skip_install = true
deps =
    flake8>=6.0
commands =
    flake8 {{name}} tests

[testenv:releasenotes]
skip_install = true
deps =
    reno>=4.0
commands =
    reno report

[flake8]
exclude = .venv,.tox,build,dist,*.egg-info
# Lines holding the package name twice outgrow 79 with long names.
max-line-length = 99
'''

PYTEST_INI = '''\
[pytest]
# opsext's pytest plugin gives the fixtures; Nova warns a lot.
filterwarnings =
    ignore::DeprecationWarning
'''

GITIGNORE = '''\
*.egg-info/
*.pyc
__pycache__/
.tox/
build/
dist/
'''

SETUP_CFG = '''\
[metadata]
name = {{dist}}
version = 0.1.0
summary = {{title}}: %(what)s
description_file = README.rst
license = Apache-2.0
python_requires = >=3.10

[files]
packages =
    {{name}}

[entry_points]
%(entry_points)s
'''

#: What each kind of package is, and the entry point it declares.
SETUP_CFG_PARTS = {
    'middleware': {
        'what': 'a Swift proxy middleware',
        'entry_points': 'paste.filter_factory =\n'
                        '    {{name}} = {{name}}.middleware:filter_factory'},
    'scheduler-filter': {
        'what': 'a Nova scheduler filter',
        'entry_points': 'oslo.config.opts =\n'
                        '    {{name}} = {{name}}.filters:list_opts'},
}

RELEASE_NOTE = {
    'middleware': '''\
---
features:
  - |
    New Swift proxy middleware ``{{name}}`` (``use =
    egg:{{dist}}#{{name}}``): requests from the client networks of
    ``deny_cidrs`` get 403 Forbidden.
''',
    'scheduler-filter': '''\
---
features:
  - |
    New Nova scheduler filter ``{{Camel}}Filter``: hosts of an aggregate
    with ``{{name}}_cidrs`` metadata take servers only from clients in
    those networks.
''',
}


def files(kind: str) -> dict[str, str]:
    """The shared templates for a package of ``kind``."""
    return {
        'setup.py': SETUP_PY,
        'setup.cfg': SETUP_CFG % SETUP_CFG_PARTS[kind],
        'pyproject.toml': PYPROJECT,
        'requirements.txt': REQUIREMENTS[kind],
        'test-requirements.txt': TEST_REQUIREMENTS[kind],
        'tox.ini': TOX_INI,
        'pytest.ini': PYTEST_INI,
        '.gitignore': GITIGNORE,
        'releasenotes/notes/{{name}}-{{note_id}}.yaml': RELEASE_NOTE[kind],
    }
