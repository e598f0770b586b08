"""The base of the paste filters: typed options, one unknown-option policy."""

import dataclasses
import logging

from oslo_config import cfg
import pytest
import webob

from opsext.exceptions import ConfigError
from opsext import net
from opsext import pasteconf
from opsext.ratelimit import middleware
from opsext.swift import ip_allowlist


class _Demo(pasteconf.PasteFilter):
    """A filter with one option of each kind the plugins use."""

    NAME = 'demo'
    OPTS = [
        cfg.IntOpt('size', default=10, min=1, max=100),
        cfg.FloatOpt('delay', default=0.5, min=0.01),
        cfg.Opt('strict', type=pasteconf.Boolean(), default=True),
        cfg.Opt('networks', type=pasteconf.Networks(), default=''),
        cfg.StrOpt('greeting', default='hello', deprecated_name='welcome'),
        cfg.StrOpt('token', secret=True),
    ]

    @classmethod
    def load_settings(cls, label, values, conf):
        return dict(values)

    def __call__(self, environ, start_response):
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [self.settings['greeting'].encode()]


def _app(environ, start_response):
    raise AssertionError('the demo filter answers itself')


def _load(global_conf=None, **local_conf):
    return _Demo.factory(global_conf or {}, local_conf)(_app)


def test_defaults_are_converted_with_each_type():
    settings = _load().settings
    assert settings['size'] == 10 and settings['delay'] == 0.5
    assert settings['strict'] is True
    assert not settings['networks'] and settings['token'] is None


def test_paste_strings_are_converted_with_each_type():
    settings = _load(size='20', delay='2', strict='no',
                     networks='10.0.0.0/8, 192.0.2.1').settings
    assert (settings['size'], settings['delay'], settings['strict']) == (
        20, 2.0, False)
    assert net.parse_address('10.1.2.3') in settings['networks']
    assert net.parse_address('192.0.2.2') not in settings['networks']


@pytest.mark.parametrize('option,value', [
    ('size', 'ten'),
    ('size', '0'),
    ('size', '101'),
    ('delay', 'soon'),
    ('delay', '0'),
    ('size', ''),
    ('size', ' '),
    ('delay', ''),
    ('delay', 'nan'),
    ('delay', 'inf'),
    ('strict', 'maybe'),
    ('strict', ''),
    ('networks', '10.0.0.1/8'),
    ('networks', '10.0.0.300'),
])
def test_conversion_error_names_section_option_and_value(option, value):
    with pytest.raises(ConfigError) as caught:
        _load(__name__='my_demo', **{option: value})
    assert caught.value.option == option
    assert caught.value.value == value
    assert str(caught.value).startswith(
        "demo [filter:my_demo]: invalid value %r for option %r: "
        % (value, option))


def test_secret_value_is_not_shown_in_an_error():
    class _Secret(_Demo):
        OPTS = [cfg.IntOpt('token', secret=True)]

    with pytest.raises(ConfigError) as caught:
        _Secret.factory({}, {'token': 'hunter2'})
    assert 'hunter2' not in str(caught.value)
    assert caught.value.value == '***'


def test_unknown_option_stops_loading_naming_section_and_option():
    with pytest.raises(ConfigError) as caught:
        _load(__name__='my_demo', sise='20')
    assert caught.value.option == 'sise'
    assert str(caught.value) == ("demo [filter:my_demo]: invalid value '20' "
                                 "for option 'sise': unknown option")


@pytest.mark.parametrize('key', [
    'use', 'require', 'filter-with', 'next', 'paste.filter_factory',
    '__name__', '__file__', 'here', 'set log_level', 'get port',
    'log_level', 'log_name', 'log_statsd_host',
])
def test_paste_and_swift_keys_are_not_unknown(key):
    assert _load(**{key: 'x'}).settings['size'] == 10


def test_global_conf_is_never_checked():
    filt = _load({'workers': '4', 'swift_dir': '/etc/swift', 'size': '5'})
    assert filt.settings['size'] == 5


def test_local_option_overrides_global_conf():
    assert _load({'size': '5'}, size='6').settings['size'] == 6


def test_deprecated_name_keeps_working_and_warns_once(caplog):
    caplog.set_level(logging.WARNING, logger='opsext')
    filt = _load(__name__='my_demo', welcome='hi')
    for _ in range(3):
        assert webob.Request.blank('/').get_response(filt).body == b'hi'
    warnings = [r.getMessage() for r in caplog.records
                if r.name == 'opsext.pasteconf']
    assert warnings == ['demo [filter:my_demo]: option welcome is '
                        'deprecated and will be removed in a future release:'
                        ' use greeting instead']


def test_new_name_wins_over_the_deprecated_one(caplog):
    assert _load(welcome='hi', greeting='hey').settings['greeting'] == 'hey'


def test_deprecated_name_error_names_the_name_written():
    class _Typed(_Demo):
        OPTS = [cfg.IntOpt('size', deprecated_name='count')]

    with pytest.raises(ConfigError) as caught:
        _Typed.factory({}, {'count': 'x'})
    assert caught.value.option == 'count'


def test_constructor_takes_swifts_shape():
    logger = logging.getLogger('opsext.test')
    filt = _Demo(_app, {'size': '7'}, logger)
    assert filt.app is _app and filt.logger is logger
    assert filt.settings['size'] == 7
    assert _Demo(_app, {}).logger is pasteconf.LOG


def test_options_of_every_filter_are_typed_oslo_options():
    from opsext import client_address
    from opsext.nova import source_stamp
    for opts in (ip_allowlist.OPTS, middleware.OPTS,
                 client_address.ClientAddressMiddleware.OPTS,
                 source_stamp.SourceStampMiddleware.OPTS):
        assert opts and all(isinstance(o, cfg.Opt) for o in opts)
        assert len({o.name for o in opts}) == len(opts)


def test_ratelimit_settings_are_immutable():
    filt = middleware.filter_factory(
        {}, rules='r', rule_r='rates=1/second key=ip')(_app)
    with pytest.raises(dataclasses.FrozenInstanceError):
        filt.settings.fail_closed = True
    assert filt.backend is not None
    assert not hasattr(filt.settings, 'backend')


def test_ratelimit_logger_is_chosen_at_load_outside_swift():
    filt = middleware.filter_factory(
        {}, rules='r', rule_r='rates=1/second key=ip')(_app)
    assert filt.logger is middleware.LOG


def test_ip_allowlist_settings_are_immutable():
    filt = ip_allowlist.filter_factory({})(_app)
    with pytest.raises(AttributeError):
        filt.settings.enforce = False


def test_deprecated_ip_whitelist_entry_point_warns_once(caplog):
    caplog.set_level(logging.WARNING, logger='opsext')
    make_filter = ip_allowlist.deprecated_filter_factory(
        {}, __name__='allow', operator_cidrs='192.0.2.0/24')
    make_filter(_app)
    assert [r.getMessage() for r in caplog.records
            if 'deprecated' in r.getMessage()] == [
        'ip_whitelist [filter:allow]: use = egg:opsext#ip_whitelist is '
        'deprecated and will be removed in a future release: use '
        'egg:opsext#ip_allowlist (the same filter; its log route, statsd '
        'metrics and /info key are then named ip_allowlist)']


def test_deprecated_entry_point_keeps_the_names_a_deployment_sees():
    # Its log route and statsd prefix, and the /info key clients read.
    from swift.common import registry
    old = ip_allowlist.deprecated_filter_factory({})(_app)
    new = ip_allowlist.filter_factory({})(_app)
    assert (old.NAME, new.NAME) == ('ip_whitelist', 'ip_allowlist')
    assert old.logger.logger.name == 'ip_whitelist'
    assert new.logger.logger.name == 'ip_allowlist'
    assert {'ip_whitelist', 'ip_allowlist'} <= set(
        registry.get_swift_info())


def test_ip_allowlist_entry_point_does_not_warn(caplog):
    caplog.set_level(logging.WARNING, logger='opsext')
    ip_allowlist.filter_factory({}, operator_cidrs='192.0.2.0/24')(_app)
    assert not [r for r in caplog.records if 'deprecated' in r.getMessage()]


def test_short_stamp_secret_is_refused_without_showing_it():
    from opsext.nova import source_stamp
    with pytest.raises(ConfigError) as caught:
        source_stamp.filter_factory({}, secret='tooshort')
    assert str(caught.value) == (
        "source_stamp [filter:source_stamp]: invalid value '***' for option "
        "'secret': at least 16 characters")


def test_hint_name_rule_is_one_for_filter_and_scheduler():
    from opsext.nova import source_stamp
    from opsext.subnet_affinity import options
    [hint] = [o for o in source_stamp.SourceStampMiddleware.OPTS
              if o.name == 'source_address_hint']
    assert isinstance(hint.type, options.HintName)
    with pytest.raises(ConfigError) as caught:
        source_stamp.filter_factory({}, secret='s' * 16,
                                    source_address_hint='two words')
    assert caught.value.reason == (
        'a hint name is letters, digits, "_", "-" and ":"')


def test_ratelimit_stage_is_named_by_its_section_not_by_default():
    filt = middleware.filter_factory(
        {'log_name': 'proxy-server', 'workers': '1'}, __name__='rl_ip',
        rules='r', rule_r='rates=1/second key=ip')(_app)
    assert (filt.settings.stage, filt.settings.label) == (
        'rl_ip', 'ratelimit [filter:rl_ip]')
    filt = middleware.filter_factory(
        {'log_name': 'proxy-server', 'workers': '1'},
        rules='r', rule_r='rates=1/second key=ip')(_app)
    assert filt.settings.stage == 'ratelimit'
