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


"""Fail unless every JUnit XML report ran tests and skipped none.

pytest exits 0 when everything was skipped and 5 when nothing was
collected; neither may pass CI. Usage: check_results.py REPORT.xml...
"""

import sys
import xml.etree.ElementTree as ElementTree


def summarize(path: str) -> tuple[int, int, int, list[str]]:
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == 'testsuite' else root.findall('testsuite')
    tests = failed = 0
    skipped = []
    for suite in suites:
        for case in suite.iter('testcase'):
            tests += 1
            if case.find('failure') is not None or case.find(
                    'error') is not None:
                failed += 1
            if case.find('skipped') is not None:
                skipped.append('%s::%s' % (case.get('classname'),
                                           case.get('name')))
    return tests, failed, len(skipped), skipped


def main(paths: list[str]) -> int:
    status = 0
    for path in paths:
        try:
            tests, failed, nskipped, skipped = summarize(path)
        except (OSError, ElementTree.ParseError) as exc:
            print('%s: no readable report (%s)' % (path, exc))
            status = 1
            continue
        print('%s: %d tests, %d failed, %d skipped'
              % (path, tests, failed, nskipped))
        for name in skipped:
            print('  skipped: %s' % name)
        if tests == 0 or failed or nskipped:
            status = 1
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
