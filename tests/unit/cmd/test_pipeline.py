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


"""``opsext pipeline insert|remove`` on Swift proxy pipelines."""

from hypothesis import given
from hypothesis import strategies as st
import pytest

from opsext.cmd import CommandError
from opsext.cmd import main
from opsext.cmd import pipeline

OURS = ['ip_allowlist', 'opsext_ratelimit']

# Swift 2.38's etc/proxy-server.conf-sample.
SWIFT_SAMPLE = (
    'catch_errors gatekeeper healthcheck proxy-logging cache '
    'listing_formats container_sync bulk tempurl ratelimit tempauth copy '
    'container-quotas account-quotas slo dlo versioned_writes symlink '
    'proxy-logging proxy-server')

# What DevStack's configure_swift makes of it with keystone and s3api.
DEVSTACK_KEYSTONE = (
    'catch_errors gatekeeper healthcheck proxy-logging cache '
    'listing_formats container_sync bulk tempurl ratelimit crossdomain '
    's3api authtoken s3token keystoneauth tempauth formpost staticweb copy '
    'container-quotas account-quotas slo dlo versioned_writes symlink '
    'proxy-logging proxy-server')


def test_swift_sample_gets_both_filters_right_after_tempauth():
    assert pipeline.insert(SWIFT_SAMPLE, OURS) == SWIFT_SAMPLE.replace(
        'tempauth copy', 'tempauth ip_allowlist opsext_ratelimit copy')


def test_devstack_keystone_pipeline_after_the_last_auth():
    result = pipeline.insert(DEVSTACK_KEYSTONE, OURS).split()
    assert result[result.index('tempauth') + 1:][:3] == [
        'ip_allowlist', 'opsext_ratelimit', 'formpost']


def test_second_insert_changes_nothing():
    once = pipeline.insert(SWIFT_SAMPLE, OURS)
    assert pipeline.insert(once, OURS) == once


def test_present_filter_stays_where_the_operator_put_it():
    moved = SWIFT_SAMPLE.replace('tempauth copy', 'tempauth copy ip_allowlist')
    result = pipeline.insert(moved, OURS)
    assert 'tempauth opsext_ratelimit copy ip_allowlist' in result


def test_our_order_follows_an_earlier_one_of_ours():
    moved = SWIFT_SAMPLE.replace('tempauth copy', 'tempauth mine ip_allowlist '
                                 'copy')
    assert 'mine ip_allowlist opsext_ratelimit copy' in pipeline.insert(
        moved, OURS)


def test_only_the_missing_filter_is_inserted():
    with_ip = pipeline.insert(SWIFT_SAMPLE, ['ip_allowlist'])
    assert pipeline.insert(with_ip, OURS) == pipeline.insert(
        SWIFT_SAMPLE, OURS)


def test_one_filter_alone():
    assert 'tempauth opsext_ratelimit copy' in pipeline.insert(
        SWIFT_SAMPLE, ['opsext_ratelimit'])


def test_custom_filters_are_kept_in_order():
    custom = SWIFT_SAMPLE.replace('tempauth', 'mine tempauth theirs')
    result = pipeline.insert(custom, OURS)
    assert pipeline.remove(result, OURS) == custom
    assert 'tempauth ip_allowlist opsext_ratelimit theirs' in result


def test_without_auth_after_cache():
    assert pipeline.insert('catch_errors cache proxy-logging proxy-server',
                           OURS) == ('catch_errors cache ip_allowlist '
                                     'opsext_ratelimit proxy-logging '
                                     'proxy-server')


def test_without_cache_or_auth_before_final_logging_and_app():
    assert pipeline.insert('catch_errors proxy-logging proxy-server',
                           ['ip_allowlist']) == (
        'catch_errors ip_allowlist proxy-logging proxy-server')


def test_app_alone():
    assert pipeline.insert('proxy-server', ['ip_allowlist']) == (
        'ip_allowlist proxy-server')


def test_path_rewriter_right_of_auth_moves_us_after_it():
    assert pipeline.insert('cache tempauth domain_remap copy proxy-server',
                           ['ip_allowlist']) == (
        'cache tempauth domain_remap ip_allowlist copy proxy-server')


def test_copy_left_of_auth_is_refused_naming_both():
    with pytest.raises(CommandError) as info:
        pipeline.insert('cache copy tempauth proxy-server', ['ip_allowlist'])
    assert 'copy' in str(info.value)
    assert 'tempauth' in str(info.value)


def test_auth_as_the_app_is_refused():
    with pytest.raises(CommandError):
        pipeline.insert('cache tempauth', ['ip_allowlist'])


def test_remove_drops_every_occurrence_only():
    assert pipeline.remove('a ip_allowlist b ip_allowlist proxy-server',
                           ['ip_allowlist']) == 'a b proxy-server'


def test_remove_when_absent_changes_nothing():
    assert pipeline.remove(SWIFT_SAMPLE, OURS) == SWIFT_SAMPLE


def test_remove_the_app_is_refused():
    with pytest.raises(CommandError):
        pipeline.remove('cache proxy-server', ['proxy-server'])


def test_empty_pipeline_is_refused():
    with pytest.raises(CommandError):
        pipeline.insert('  ', OURS)


@pytest.mark.parametrize('name', ['', 'two words', ' padded'])
def test_bad_filter_name_is_refused(name):
    with pytest.raises(CommandError):
        pipeline.insert(SWIFT_SAMPLE, [name])


def test_whitespace_is_normalised():
    assert pipeline.insert('  cache\t tempauth \n proxy-server ',
                           ['ip_allowlist']) == (
        'cache tempauth ip_allowlist proxy-server')


_NAMES = st.sampled_from(['cache', 'tempauth', 'keystoneauth', 'bulk',
                          'proxy-logging', 'catch_errors', 'mine',
                          'theirs', 's3api'])


@given(st.lists(_NAMES, max_size=8), st.permutations(OURS))
def test_insert_is_idempotent_keeps_others_and_remove_undoes(middle, ours):
    original = ' '.join(middle + ['proxy-server'])
    inserted = pipeline.insert(original, ours)
    assert pipeline.insert(inserted, ours) == inserted
    assert [i for i in inserted.split() if i not in ours] == (
        original.split())
    assert pipeline.remove(inserted, ours) == original
    items = inserted.split()
    auth = [i for i, item in enumerate(items) if item in pipeline.AFTER]
    for name in ours:
        assert items.count(name) == 1
        assert not auth or items.index(name) > auth[-1]


def test_command_prints_the_new_pipeline(capsys):
    assert main.main(['pipeline', 'insert', '--pipeline', SWIFT_SAMPLE] +
                     OURS) == 0
    assert capsys.readouterr().out == pipeline.insert(SWIFT_SAMPLE,
                                                      OURS) + '\n'


def test_command_error_is_one_line_and_status_1(capsys):
    assert main.main(['pipeline', 'insert', '--pipeline',
                      'copy tempauth proxy-server', 'ip_allowlist']) == 1
    out, err = capsys.readouterr()
    assert out == ''
    assert err.startswith('opsext pipeline: error: ')
    assert len(err.splitlines()) == 1


#: DevStack's configure_swift (lib/swift) leaves double spaces.
DEVSTACK_RAW = ('catch_errors cache authtoken keystoneauth tempauth  formpost '
                'copy slo proxy-logging  proxy-server')


def test_keeping_blanks_insert_adds_one_space_before_each():
    assert pipeline.keeping_blanks(pipeline.insert)(DEVSTACK_RAW, OURS) == (
        DEVSTACK_RAW.replace('tempauth ',
                             'tempauth ip_allowlist opsext_ratelimit '))


def test_keeping_blanks_remove_gives_back_the_original():
    inserted = pipeline.keeping_blanks(pipeline.insert)(DEVSTACK_RAW, OURS)
    assert pipeline.keeping_blanks(pipeline.remove)(inserted, OURS) == (
        DEVSTACK_RAW)


_BLANKS = st.sampled_from([' ', '  ', '\t', ' \t '])


@given(st.lists(st.tuples(_NAMES, _BLANKS), max_size=8), _BLANKS, _BLANKS,
       st.permutations(OURS))
def test_keeping_blanks_remove_undoes_insert(middle, lead, trail, ours):
    original = lead + ''.join(name + blank for name, blank in middle) + (
        'proxy-server' + trail)
    inserted = pipeline.keeping_blanks(pipeline.insert)(original, ours)
    assert inserted.split() == pipeline.insert(original, ours).split()
    assert pipeline.keeping_blanks(pipeline.insert)(inserted, ours) == (
        inserted)
    assert pipeline.keeping_blanks(pipeline.remove)(inserted, ours) == (
        original)


def test_command_keeps_blanks_when_told(capsys):
    assert main.main(['pipeline', 'insert', '--keep-blanks', '--pipeline',
                      DEVSTACK_RAW] + OURS) == 0
    assert '  formpost' in capsys.readouterr().out
