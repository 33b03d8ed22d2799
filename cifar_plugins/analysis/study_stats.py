"""Statistics of a multi-seed study: mean, spread and paired intervals."""
import math
from typing import Dict, Optional, Sequence


def mean_std(values: Sequence[float]) -> Dict[str, Optional[float]]:
    """Mean and sample standard deviation (``n - 1``) of ``values``.

    Returns:
        dict: ``n``, ``mean`` and ``std`` (``None`` for fewer than two
        values; ``mean`` is ``None`` for none).
    """
    values = [float(v) for v in values]
    n = len(values)
    if n == 0:
        return dict(n=0, mean=None, std=None)
    mean = sum(values) / n
    if n < 2:
        return dict(n=n, mean=mean, std=None)
    var = sum((v - mean)**2 for v in values) / (n - 1)
    return dict(n=n, mean=mean, std=math.sqrt(var))


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta function
    (modified Lentz's method)."""
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 300):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) *
                                                        (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return result


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function ``I_x(a, b)``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) +
        a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: int) -> float:
    """Cumulative distribution function of Student's t with ``df``
    degrees of freedom."""
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t (bisection on :func:`t_cdf`).

    Args:
        p (float): Probability in (0, 1), e.g. 0.975 for a two-sided 95%
            interval.
        df (int): Degrees of freedom, at least 1.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f'p must lie in (0, 1), got {p}')
    if df < 1:
        raise ValueError(f'df must be at least 1, got {df}')
    low, high = -1e6, 1e6
    for _ in range(200):
        mid = (low + high) / 2
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def paired_difference(a: Dict[int, float],
                      b: Dict[int, float],
                      confidence: float = 0.95) -> Dict:
    """The mean of ``a[s] - b[s]`` over the seeds both have, with its
    Student-t confidence interval.

    Pair ``s`` uses seed ``s`` in both arms, so seed-to-seed noise that both
    arms share cancels.

    Args:
        a (dict): Seed -> value of one arm.
        b (dict): Seed -> value of the reference arm.
        confidence (float): Two-sided level. Defaults to 0.95.

    Returns:
        dict: ``n`` pairs, ``seeds``, ``mean``, ``std`` of the differences,
        ``low`` / ``high`` of the interval (``None`` with fewer than two
        pairs).
    """
    seeds = sorted(set(a) & set(b))
    stats = mean_std([a[s] - b[s] for s in seeds])
    low = high = None
    if stats['n'] >= 2:
        half = (
            t_quantile(0.5 + confidence / 2, stats['n'] - 1) * stats['std'] /
            math.sqrt(stats['n']))
        low, high = stats['mean'] - half, stats['mean'] + half
    return dict(stats, seeds=seeds, low=low, high=high)


def verdict(diff: Dict, expect: str) -> str:
    """Whether a paired difference supports the claim ``a expect b``.

    Args:
        diff (dict): A :func:`paired_difference` result.
        expect (str): ``'>'`` (the arm is higher) or ``'<'`` (lower).

    Returns:
        str: ``'holds'`` if the interval lies on the claimed side of 0,
        ``'contradicted'`` if it lies on the other side, ``'not resolved'``
        if it contains 0, ``'too few seeds'`` without an interval.
    """
    if expect not in ('>', '<'):
        raise ValueError(f"expect must be '>' or '<', got {expect!r}")
    if diff.get('low') is None:
        return 'too few seeds'
    low, high = diff['low'], diff['high']
    if expect == '<':
        low, high = -high, -low
    if low > 0:
        return 'holds'
    if high < 0:
        return 'contradicted'
    return 'not resolved'
