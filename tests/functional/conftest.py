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

"""Fixtures for functional tests: real Swift clusters, shared per session.

The Swift fixtures are opsext's pytest plugin's, the ones operators use
(:mod:`opsext.testing.pytest_plugin`, loaded by its ``pytest11`` entry
point): ``swift_cluster_factory(pipeline_filters=..., filter_conf=...,
proxy_conf=...)`` returns a started :class:`SwiftCluster`; a second call
with the same configuration returns the same cluster, and every cluster is
stopped at the end of the session.  ``swift_cluster`` is the plain one,
with no filter after auth.  Clusters are shared: use fresh container names
and do not flush their memcached.

A missing memcached or Swift makes these tests fail, never skip.  Set
``OPSEXT_KEEP_CLUSTERS=1`` to keep the clusters' directories (configs and
server logs) after the session; their paths are printed.

``OPSEXT_TEST_TARGET=deployed`` (see :mod:`opsext.testing.target`) runs
only the ops-validation suite, ``tests/functional/deployed``, against a
deployed cloud: every other test needs powers only a local cluster gives
(distinct source addresses, its config and logs) and is deselected, as the
report says. ``OPSEXT_TEST_SERVICES`` chooses what is validated there:
``swift`` (default), ``nova`` (:mod:`opsext.testing.nova_target`) or both;
the modules of the other are deselected, and the report header names what
was not validated. A missing variable stops the run with an error naming
it. The Nova checks never run locally (this environment has no Nova;
``tox -e nova`` runs them in Nova's in-process harness): a local run
deselects them, saying so. The target is in the report header and in the
JUnit properties ``opsext_test_target``, ``opsext_test_swift`` and
``opsext_test_nova``.
"""

import os
from typing import Callable, NamedTuple, Optional

import pytest

from opsext.testing import nova_target as nova_target_mod
from opsext.testing import target as target_mod

DEPLOYED_SUITE = os.path.join(os.path.dirname(__file__), 'deployed')
#: Marks a module of the deployed suite with the service it validates.
SERVICE_MARKER = 'opsext_service'
#: Marks a test that needs the deployment's write limit to be known.
RATELIMIT_MARKER = 'opsext_needs_ratelimit_writes'
NO_RATELIMIT_WRITES = ('OPSEXT_TEST_RATELIMIT_WRITES is not set: the '
                       "deployment's rate-limit rules are unknown, so the "
                       'rate limiter is not validated')
LOCAL_NOVA = ('the Nova checks need OPSEXT_TEST_TARGET=deployed and nova in '
              'OPSEXT_TEST_SERVICES; tox -e nova runs them in Nova\'s '
              'in-process harness')


class _Run(NamedTuple):
    """What this run validates."""

    deployed: bool
    services: frozenset  # of the deployed cloud; empty when local
    swift: Optional[target_mod.Target] = None
    nova: Optional[nova_target_mod.NovaTarget] = None


_RUN_KEY = pytest.StashKey[_Run]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        'markers', '%s(name): the deployed service a module validates'
        % SERVICE_MARKER)
    config.addinivalue_line(
        'markers', '%s: needs OPSEXT_TEST_RATELIMIT_WRITES on a deployed '
        'target (deselected, with the reason, without it)'
        % RATELIMIT_MARKER)
    try:
        services = target_mod.services()
        if target_mod.target_name() == target_mod.DEPLOYED:
            run = _Run(
                True, services,
                swift=(target_mod.Target.from_environ()
                       if target_mod.SWIFT in services else None),
                nova=(nova_target_mod.NovaTarget.from_environ()
                      if target_mod.NOVA in services else None))
        else:
            run = _Run(False, frozenset())
    except target_mod.TargetConfigError as exc:
        # An error, not a skip: the run would validate nothing.
        raise pytest.UsageError(str(exc))
    config.stash[_RUN_KEY] = run


def _run(config: pytest.Config) -> _Run:
    return config.stash.get(_RUN_KEY, _Run(False, frozenset()))


@pytest.fixture(scope='session')
def deployed_target(request: pytest.FixtureRequest
                    ) -> Optional[target_mod.Target]:
    """The deployed Swift of this run, or None for the local one."""
    return _run(request.config).swift


@pytest.fixture(scope='session')
def nova_target(request: pytest.FixtureRequest
                ) -> nova_target_mod.NovaTarget:
    """The deployed Nova of this run (its tests run only when there is)."""
    nova = _run(request.config).nova
    assert nova is not None, 'the Nova checks run only against a deployed one'
    return nova


def _not_validated(run: _Run) -> str:
    return 'not validated: %s=%s does not name it' % (
        target_mod.SERVICES, ','.join(sorted(run.services)))


def _descriptions(run: _Run) -> tuple[str, str]:
    """What this run says of Swift and of Nova placement."""
    if not run.deployed:
        return ('local clusters on 127.0.0.1',
                'not validated here: tox -e nova checks it in Nova\'s '
                'in-process harness')
    return (run.swift.describe() if run.swift else _not_validated(run),
            run.nova.describe() if run.nova else _not_validated(run))


def pytest_report_header(config: pytest.Config) -> str:
    run = _run(config)
    swift, nova = _descriptions(run)
    if not run.deployed:
        return ('opsext test target: local (Swift clusters started on '
                '127.0.0.1 by the tests)\n  nova placement: %s' % nova)
    return ('opsext test target: deployed\n  swift: %s\n  nova placement: '
            '%s\n  only tests/functional/deployed runs; the rest needs a '
            'local cluster' % (swift, nova))


def _deselect_reason(run: _Run, item: pytest.Item) -> Optional[str]:
    marker = item.get_closest_marker(SERVICE_MARKER)
    service = marker.args[0] if marker else None
    if not run.deployed:
        return LOCAL_NOVA if service == target_mod.NOVA else None
    if os.path.commonpath([str(item.path), DEPLOYED_SUITE]) != \
            DEPLOYED_SUITE:
        return 'they need a local cluster, and OPSEXT_TEST_TARGET=deployed'
    if service is not None and service not in run.services:
        return 'they check %s, which %s=%s does not name' % (
            service, target_mod.SERVICES, ','.join(sorted(run.services)))
    if item.get_closest_marker(RATELIMIT_MARKER) and (
            run.swift is None or not run.swift.ratelimit_writes):
        return NO_RATELIMIT_WRITES
    return None


def pytest_collection_modifyitems(config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    run = _run(config)
    keep, drop = [], []
    reasons: dict[str, int] = {}
    for item in items:
        reason = _deselect_reason(run, item)
        if reason is None:
            keep.append(item)
        else:
            drop.append(item)
            reasons[reason] = reasons.get(reason, 0) + 1
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
        reporter = config.pluginmanager.get_plugin('terminalreporter')
        if reporter is not None:
            for reason, count in sorted(reasons.items()):
                reporter.write_line('opsext: %d tests deselected: %s'
                                    % (count, reason))


@pytest.fixture(scope='session', autouse=True)
def _record_target(request: pytest.FixtureRequest,
                   record_testsuite_property: Callable[[str, object], None]
                   ) -> None:
    run = _run(request.config)
    swift, nova = _descriptions(run)
    record_testsuite_property(
        'opsext_test_target',
        target_mod.DEPLOYED if run.deployed else target_mod.LOCAL)
    record_testsuite_property('opsext_test_swift', swift)
    record_testsuite_property('opsext_test_nova', nova)
