"""The attention factory (build_attention, register_attention) and registry builds."""
import pytest
import torch
import torch.nn as nn
from mmengine.config import ConfigDict

import cifar_plugins  # noqa: F401
from cifar_plugins.models import (ECA, MSCA, SE, ChannelGroupSoftmax, LSKAttention, build_attention,
                                  register_attention)
from cifar_plugins.registry import MODELS
from fidelity import x_

NAMES = {'eca': ECA, 'se': SE, 'msca': MSCA, 'lsk': LSKAttention, 'group_softmax': ChannelGroupSoftmax}


@pytest.mark.parametrize('cfg', [None, False, ''])
def test_factory_empty_is_identity(cfg):
    assert isinstance(build_attention(cfg, 16), nn.Identity)


@pytest.mark.parametrize('name,cls', list(NAMES.items()) + [
    ('ECA', ECA), ('Msca', MSCA), ('LSKAttention', LSKAttention), ('GROUP_SOFTMAX', ChannelGroupSoftmax)])
def test_factory_builds_from_string(name, cls):
    module = build_attention(name, 32)
    assert type(module) is cls


def test_factory_builds_from_dict_configdict_and_class():
    eca = build_attention(dict(type='ECA', kernel_size=7), 64)
    assert eca.conv.kernel_size == (7, )
    cfg = ConfigDict(type='msca', branches=(7, ))
    msca = build_attention(cfg, 16)
    assert len(msca.branches) == 1 and cfg == dict(type='msca', branches=(7, ))  # not mutated
    assert type(build_attention(LSKAttention, 16)) is LSKAttention


def test_factory_unknown_name_lists_known_types():
    with pytest.raises(KeyError, match='NoSuchAttn') as err:
        build_attention('NoSuchAttn', 16)
    message = str(err.value)
    assert 'registry' in message
    for name in ('ECA', 'SE', 'MSCA', 'LSKAttention', 'ChannelGroupSoftmax', "'lsk'"):
        assert name in message


def test_factory_bad_configs_are_clear_errors():
    with pytest.raises(ValueError, match='channels'):
        build_attention(dict(type='ECA', channels=8), 16)
    with pytest.raises(KeyError, match='no "type"'):
        build_attention(dict(kernel_size=3), 16)
    with pytest.raises(TypeError, match='attention must be'):
        build_attention(3, 16)


def test_register_attention_refuses_a_taken_alias():
    with pytest.raises(KeyError, match="'eca' is already used by ECA"):
        @register_attention('eca')
        class OtherECA(nn.Module):
            pass
    assert MODELS.get('OtherECA') is None


@pytest.mark.parametrize('name', ['ECA', 'SE', 'MSCA', 'LSKAttention', 'ChannelGroupSoftmax'])
def test_registry_build_shape_and_gradients(name):
    torch.manual_seed(0)
    module = MODELS.build(dict(type=name, channels=32))
    x = torch.randn(2, 32, 7, 9, requires_grad=True)
    out = module(x)
    assert out.shape == x.shape
    (out * torch.randn_like(out)).sum().backward()
    assert x.grad.abs().sum() > 0
    for pname, p in module.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, pname


def test_split_attention_is_only_the_resnest_block():
    """The former factory 'split' attention was not ResNeSt's: it is renamed and the
    old names fail loudly, pointing at ResNeStBlock."""
    for name in ('split', 'splat', 'SplitAttention'):
        with pytest.raises(KeyError, match='ResNeStBlock'):
            build_attention(name, 32)
    module = build_attention('group_softmax', 32)
    assert type(module) is ChannelGroupSoftmax
    # it keeps all C channels (ResNeSt's fusion would sum radix splits into C / radix)
    assert module(x_(2, 32, 4, 4)).shape == (2, 32, 4, 4)
