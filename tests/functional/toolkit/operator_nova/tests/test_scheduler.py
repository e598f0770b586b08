"""nova_scheduler: Nova's HostManager with the filter and weigher."""

import pytest

FILTERS = ['ComputeFilter', 'netfilter.SourceNetworkFilter']
AGGREGATES = {'office': {'hosts': ['h1'],
                         'metadata': {'source_cidrs': '10.1.0.0/16'}},
              'fast': {'hosts': ['h3'], 'metadata': {'preferred': 'true'}}}


@pytest.fixture
def scheduler(nova_scheduler):
    return nova_scheduler(filters=FILTERS, weighers=[
        'netfilter.PreferredWeigher'], hosts=['h1', 'h2', 'h3'],
        aggregates=AGGREGATES)


def test_filters_loaded_from_nova_config(scheduler):
    assert scheduler.enabled_filters == ['ComputeFilter',
                                         'SourceNetworkFilter']
    assert scheduler.weighers == ['PreferredWeigher']


def test_office_address_may_use_every_host(scheduler):
    assert scheduler.filtered(source_address='10.1.2.3') == [
        'h1', 'h2', 'h3']


def test_other_address_is_kept_off_the_office_host(scheduler):
    assert scheduler.filtered(source_address='10.10.2.3') == ['h2', 'h3']


def test_no_address_is_kept_off_the_office_host(scheduler):
    assert scheduler.filtered() == ['h2', 'h3']


def test_preferred_host_weighs_first(scheduler):
    assert scheduler.select(source_address='10.1.2.3')[0] == 'h3'


def test_down_host_is_filtered_by_nova(nova_scheduler):
    scheduler = nova_scheduler(filters=FILTERS, hosts={
        'h1': {}, 'h2': {'up': False}, 'h3': {'disabled': True}})
    assert scheduler.filtered(source_address='10.1.2.3') == ['h1']


def test_host_fields_reach_the_host_state(nova_scheduler):
    scheduler = nova_scheduler(filters=FILTERS, hosts={
        'h1': {'host_ip': '10.0.0.5', 'free_ram_mb': 2048}})
    state = scheduler.host_state('h1')
    assert (str(state.host_ip), state.free_ram_mb) == ('10.0.0.5', 2048)


def test_spec_went_through_rpc(scheduler):
    spec = scheduler.request_spec('10.1.2.3', scheduler_hints={'a': 'b'})
    assert spec._context.remote_address == '10.1.2.3'
    assert spec.scheduler_hints == {'a': ['b']}


def test_without_instance_tracking(nova_scheduler):
    # Nova then reads instances per host from its database; here there
    # is none, and the description says there are no instances.
    scheduler = nova_scheduler(filters=FILTERS, hosts=['h1', 'h2'], conf={
        'filter_scheduler': {'track_instance_changes': False}})
    assert scheduler.filtered(source_address='10.1.2.3') == ['h1', 'h2']
    assert scheduler.host_state('h1').instances == {}
