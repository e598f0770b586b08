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


"""Compare two JUnit XML reports of the same tests: find regressions.

Usage: compare_junit.py BASELINE.xml CANDIDATE.xml

A regression is a test that passed in the baseline and did anything else
in the candidate: failed, errored, was skipped or did not run. Tests that
fail in both are listed but are not ours to fix. Exits 1 on any
regression, when the candidate ran no test, or when the baseline passed
none (a comparison with nothing proves nothing); prints the counts of
both runs.
"""

import collections
import sys
import xml.etree.ElementTree as ElementTree

PASSED, FAILED, ERROR, SKIPPED = 'passed', 'failed', 'error', 'skipped'
# When one test has several entries (a teardown error after a pass), the
# worst outcome stands.
_RANK = {PASSED: 0, SKIPPED: 1, FAILED: 2, ERROR: 3}


def outcomes(path: str) -> dict[str, str]:
    """{test id: outcome} of one JUnit XML report."""
    root = ElementTree.parse(path).getroot()
    results: dict[str, str] = {}
    for case in root.iter('testcase'):
        test_id = '%s::%s' % (case.get('classname'), case.get('name'))
        if case.find('error') is not None:
            outcome = ERROR
        elif case.find('failure') is not None:
            outcome = FAILED
        elif case.find('skipped') is not None:
            outcome = SKIPPED
        else:
            outcome = PASSED
        if _RANK[outcome] >= _RANK[results.get(test_id, PASSED)]:
            results[test_id] = outcome
    return results


def counts(results: dict[str, str]) -> str:
    tally = collections.Counter(results.values())
    return '%d tests: %d passed, %d failed, %d errors, %d skipped' % (
        len(results), tally[PASSED], tally[FAILED], tally[ERROR],
        tally[SKIPPED])


def compare(baseline: dict[str, str], candidate: dict[str, str]
            ) -> tuple[list[str], list[str]]:
    """(regressions, tests that do not pass in either run)."""
    regressions = sorted(
        '%s: %s -> %s' % (test_id, PASSED, candidate.get(test_id, 'not run'))
        for test_id, outcome in baseline.items()
        if outcome == PASSED and candidate.get(test_id) != PASSED)
    broken = sorted(
        '%s: %s -> %s' % (test_id, outcome, candidate.get(test_id, 'not run'))
        for test_id, outcome in baseline.items()
        if outcome in (FAILED, ERROR))
    return regressions, broken


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        baseline, candidate = outcomes(argv[0]), outcomes(argv[1])
    except (OSError, ElementTree.ParseError) as exc:
        print('compare_junit: no readable report: %s' % exc)
        return 1
    print('baseline  %s: %s' % (argv[0], counts(baseline)))
    print('candidate %s: %s' % (argv[1], counts(candidate)))
    regressions, broken = compare(baseline, candidate)
    for line in broken:
        print('fails in the baseline too: %s' % line)
    for line in regressions:
        print('REGRESSION: %s' % line)
    status = 0
    if not candidate:
        print('compare_junit: the candidate ran no test')
        status = 1
    if PASSED not in baseline.values():
        print('compare_junit: no test passed in the baseline')
        status = 1
    if regressions:
        print('compare_junit: %d regressions' % len(regressions))
        status = 1
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
