"""Statistics of a study against hand computations."""
import math

import pytest

from cifar_plugins.analysis.study_stats import (mean_std, paired_difference,
                                                t_quantile, verdict)


def test_mean_std_by_hand():
    stats = mean_std([1.0, 2.0, 3.0, 4.0])
    assert stats['n'] == 4 and stats['mean'] == 2.5
    assert stats['std'] == pytest.approx(math.sqrt(5 / 3))  # sum sq 5, n-1 3
    assert mean_std([7.0]) == dict(n=1, mean=7.0, std=None)
    assert mean_std([])['mean'] is None


@pytest.mark.parametrize('df,value', [(1, 12.706), (2, 4.303), (3, 3.182),
                                      (4, 2.776), (9, 2.262), (30, 2.042)])
def test_t_quantile_matches_the_table(df, value):
    assert t_quantile(0.975, df) == pytest.approx(value, abs=5e-4)
    assert t_quantile(0.025, df) == pytest.approx(-value, abs=5e-4)


def test_paired_difference_by_hand():
    arm = {0: 91.0, 1: 90.2, 2: 90.9, 5: 80.0}  # seed 5 has no partner
    ref = {0: 90.0, 1: 90.1, 2: 90.3}
    diff = paired_difference(arm, ref)
    # differences 1.0, 0.1, 0.6: mean 0.5667, sd 0.45092, t(2) = 4.3027
    half = 4.3027 * 0.450925 / math.sqrt(3)
    assert diff['seeds'] == [0, 1, 2] and diff['n'] == 3
    assert diff['mean'] == pytest.approx(0.56667, abs=1e-4)
    assert diff['low'] == pytest.approx(0.56667 - half, abs=1e-3)
    assert diff['high'] == pytest.approx(0.56667 + half, abs=1e-3)
    one = paired_difference({0: 2.0}, {0: 1.0})
    assert one['mean'] == 1.0 and one['low'] is None


def test_verdicts():
    assert verdict(dict(low=0.1, high=0.5), '>') == 'holds'
    assert verdict(dict(low=0.1, high=0.5), '<') == 'contradicted'
    assert verdict(dict(low=-0.1, high=0.5), '>') == 'not resolved'
    assert verdict(dict(low=-0.5, high=-0.1), '<') == 'holds'
    assert verdict(dict(low=None), '>') == 'too few seeds'
    with pytest.raises(ValueError):
        verdict(dict(low=0, high=1), '>=')
