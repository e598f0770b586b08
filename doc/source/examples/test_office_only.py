"""office only in a real Swift."""

import pytest

OFFICE, HOME = '127.0.0.7', '127.0.0.8'


@pytest.fixture(scope='module')
def swift_pipeline():
    return ['office_only']


@pytest.fixture(scope='module')
def swift_filters():
    return {'office_only': 'egg:office-only#office_only'}


@pytest.fixture
def plans(swift_client):
    """A container with one object, open only to OFFICE."""
    name = swift_client.new_container_name('plans')
    assert swift_client.put(name).status == 201
    assert swift_client.put(name + '/q3', body=b'secret').status == 201
    resp = swift_client.post(name, headers={
        'X-Container-Meta-Allow-Office': OFFICE + '/32'})
    assert resp.status == 204
    return name


def test_office_reads(swift_client, plans):
    office = swift_client.from_address(OFFICE)
    assert office.get(plans + '/q3').body == b'secret'
    assert office.get(plans).status == 200


def test_home_is_refused(swift_client, plans):
    home = swift_client.from_address(HOME)
    assert home.get(plans + '/q3').status == 403
    assert home.get(plans).status == 403
    assert home.put(plans + '/new', body=b'x').status == 403


def test_containers_without_a_list_are_open(swift_client):
    name = swift_client.new_container_name()
    assert swift_client.put(name).status == 201
    assert swift_client.from_address(HOME).get(name).status == 204
