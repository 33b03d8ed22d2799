"""cifar_plugins.errors: user errors are one line of words, programming errors
keep their tracebacks."""
import sys

import pytest


def test_programming_errors_are_not_user_errors():
    from cifar_plugins.errors import ConfigError, user_error_message

    class Broken:
        def __init__(self, depth):
            len(depth)  # a bug inside the constructor: not a bad config key

    from mmengine.registry import Registry
    registry = Registry('demo')
    registry.register_module(module=Broken)
    for call in (lambda: registry.build(dict(type='Broken', depth=3)),
                 lambda: {}['key'], lambda: 1 / 0, lambda: int('x')):
        with pytest.raises(Exception) as err:
            call()
        assert user_error_message(err.value) is None, err.value
    with pytest.raises(TypeError) as err:
        registry.build(dict(type='Broken', depth=3, width=2))
    assert "unexpected keyword argument 'width'" in user_error_message(err.value)
    assert user_error_message(ConfigError('two\nlines')) == 'two lines'


def test_excepthook_and_runner_keep_tracebacks_of_bugs(monkeypatch, capsys):
    import cifar_plugins  # noqa: F401  (installs the hook)
    from cifar_plugins import errors
    from cifar_plugins.apis.runner import run_with_clear_errors
    assert sys.excepthook is errors._excepthook
    seen = []
    monkeypatch.setattr(errors._excepthook, 'previous', lambda *exc: seen.append(exc[0]))
    errors._excepthook(errors.ConfigError, errors.ConfigError('fix the key'), None)
    errors._excepthook(ZeroDivisionError, ZeroDivisionError('bug'), None)
    assert capsys.readouterr().err == 'ERROR: fix the key\n' and seen == [ZeroDivisionError]

    def user_error():
        raise errors.UsageError('say it in one line')
    with pytest.raises(SystemExit) as exit_info:
        run_with_clear_errors(user_error)
    assert exit_info.value.code == 'ERROR: say it in one line'
    with pytest.raises(ZeroDivisionError):
        run_with_clear_errors(lambda: 1 / 0)
    monkeypatch.setenv(errors.TRACEBACK_ENV, '1')
    with pytest.raises(errors.UsageError):
        run_with_clear_errors(user_error)
