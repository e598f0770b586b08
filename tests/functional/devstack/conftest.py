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

"""The real-DevStack checks are deselected without OPSEXT_DEVSTACK_DIR."""

import pytest

from tests.functional.devstack import real_devstack


def pytest_configure(config: pytest.Config) -> None:
    real_devstack.configure(config)


def pytest_collection_modifyitems(config: pytest.Config,
                                  items: list) -> None:
    real_devstack.deselect(config, items)
