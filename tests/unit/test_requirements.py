"""Every module opsext imports is declared: requirements.txt or an extra.

The imports are read from the source (``ast``), so an import made only
inside a function (``yaml`` in ``opsext placement explain``) counts too.
Imports inside the scaffold's templates are strings, not imports.
"""

import ast
import configparser
import pathlib
import re
import sys

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = TOP / 'opsext'

#: Import name -> distribution, for the imports whose distribution is not
#: installed in every test environment (nova and its libraries are only in
#: tox -e nova) or is not named like its module.
DISTRIBUTIONS = {
    'nova': 'nova',
    'oslo_config': 'oslo.config',
    'oslo_log': 'oslo.log',
    'oslo_middleware': 'oslo.middleware',
    'oslo_serialization': 'oslo.serialization',
    'oslo_utils': 'oslo.utils',
    'openstack': 'openstacksdk',
    'paste': 'PasteDeploy',
    'pymemcache': 'pymemcache',
    'pytest': 'pytest',
    'redis': 'redis',
    'swift': 'swift',
    'webob': 'WebOb',
    'yaml': 'PyYAML',
}


def _requirement_names(lines):
    names = set()
    for line in lines:
        line = line.split('#', 1)[0].strip()
        match = re.match(r'[A-Za-z0-9_.\-]+', line)
        if match:
            names.add(_normal(match.group(0)))
    return names


def _normal(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def _declared():
    """Distribution names of requirements.txt and of every extra."""
    declared = _requirement_names(
        (TOP / 'requirements.txt').read_text().splitlines())
    setup = configparser.ConfigParser()
    setup.read(TOP / 'setup.cfg')
    for _extra, value in setup.items('extras'):
        declared |= _requirement_names(value.splitlines())
    return declared


def _imported():
    """{top-level module: first file importing it} for opsext's sources."""
    found = {}
    for path in sorted(PACKAGE.rglob('*.py')):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split('.')[0]
                found.setdefault(top, str(path.relative_to(TOP)))
    return found


def _third_party():
    return {name: where for name, where in _imported().items()
            if name not in sys.stdlib_module_names and name != 'opsext'}


def test_every_third_party_import_has_a_known_distribution():
    unknown = {name: where for name, where in _third_party().items()
               if name not in DISTRIBUTIONS}
    assert not unknown, (
        'add these imports to DISTRIBUTIONS and declare their '
        'distributions: %s' % unknown)


@pytest.mark.parametrize('module', sorted(DISTRIBUTIONS))
def test_import_is_declared(module):
    if module not in _third_party():
        pytest.fail('%s is no longer imported by opsext: remove it from '
                    'DISTRIBUTIONS' % module)
    distribution = DISTRIBUTIONS[module]
    assert _normal(distribution) in _declared(), (
        '%s (imported as %s in %s) is in neither requirements.txt nor an '
        'extra of setup.cfg' % (distribution, module,
                                _third_party()[module]))


def test_runtime_imports_are_in_requirements_txt():
    # The filters and the CLI need these without any extra.
    required = _requirement_names(
        (TOP / 'requirements.txt').read_text().splitlines())
    for distribution in ('oslo.config', 'PyYAML', 'oslo.log', 'WebOb',
                         'PasteDeploy'):
        assert _normal(distribution) in required, distribution
