"""Signed creation-time source addresses."""

import ipaddress

import pytest

from opsext import net
from opsext.subnet_affinity import stamp

SECRET = 'x' * 32


def test_signed_stamp_verifies_to_its_address():
    value = stamp.sign(SECRET, 'p1', net.parse_address('10.1.0.5'))
    assert stamp.verify(SECRET, 'p1', value) == ipaddress.ip_address(
        '10.1.0.5')


def test_stamp_as_nova_stores_it_in_a_list():
    value = stamp.sign(SECRET, 'p1', net.parse_address('2001:db8::5'))
    assert stamp.verify(SECRET, 'p1', [value]) == ipaddress.ip_address(
        '2001:db8::5')


@pytest.mark.parametrize('secret,project', [('y' * 32, 'p1'),
                                            (SECRET, 'p2')])
def test_other_secret_or_project_does_not_verify(secret, project):
    value = stamp.sign(SECRET, 'p1', net.parse_address('10.1.0.5'))
    with pytest.raises(stamp.StampError, match='bad signature'):
        stamp.verify(secret, project, value)


def test_address_swapped_under_a_signature_does_not_verify():
    value = stamp.sign(SECRET, 'p1', net.parse_address('10.1.0.5'))
    forged = '10.2.0.5 ' + value.split(' ', 1)[1]
    with pytest.raises(stamp.StampError, match='bad signature'):
        stamp.verify(SECRET, 'p1', forged)


@pytest.mark.parametrize('value', ['', '10.1.0.5', 'garbage abc', 42,
                                   ['a', 'b'], None])
def test_malformed_stamps_raise(value):
    with pytest.raises(stamp.StampError):
        stamp.verify(SECRET, 'p1', value)
