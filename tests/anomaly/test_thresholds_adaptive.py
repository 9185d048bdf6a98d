"""POT / SPOT: extreme-value thresholds fitted on normal scores."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly.errors import ConfigError, NotFittedError
from anomaly.thresholds import POT, THRESHOLDS, threshold_from_dict


def test_exponential_tail_gives_the_true_quantile():
    scores = np.random.default_rng(0).exponential(1.0, 200_000)
    pot = POT(q=1e-4).fit(scores)
    assert abs(pot.gamma_) < 0.05
    assert pot.threshold_ == pytest.approx(-np.log(1e-4), rel=0.05)  # Exp(1) exceeds -log(q) with probability q


def test_heavy_tail_shape_is_recovered():
    from scipy.stats import genpareto

    scores = genpareto.rvs(0.3, size=100_000, random_state=1)
    pot = POT(q=1e-4, level=0.95).fit(scores)
    assert pot.gamma_ == pytest.approx(0.3, abs=0.1)
    assert pot.threshold_ == pytest.approx(genpareto.ppf(1 - 1e-4, 0.3), rel=0.15)


def test_smaller_q_gives_a_higher_threshold():
    scores = np.random.default_rng(2).normal(size=20_000)
    assert POT(q=1e-4).fit(scores).threshold_ > POT(q=1e-2).fit(scores).threshold_


def test_streaming_alarm_rate_and_round_trip():
    rng = np.random.default_rng(3)
    pot = POT(q=1e-3).fit(rng.normal(size=20_000))
    copy = threshold_from_dict(pot.to_dict())
    stream = rng.normal(size=20_000)
    alarms = pot.update_many(stream)
    assert 0.0 < alarms.mean() < 5e-3
    np.testing.assert_array_equal(copy.update_many(stream), alarms)  # a saved POT keeps streaming identically
    assert pot.n_ == 20_000 + 20_000 - alarms.sum()


def test_few_peaks_fall_back_to_exponential():
    pot = POT(q=0.01, level=0.9).fit(np.arange(50.0))
    assert pot.gamma_ == 0.0 and np.isfinite(pot.threshold_)


@pytest.mark.parametrize("params, message", [({"q": 0.0}, "q=0.0"), ({"q": 1.0}, "below 1"), ({"level": 1.5}, "level=1.5")])
def test_bad_params(params, message):
    with pytest.raises(ConfigError, match=message):
        POT(**params).fit(np.arange(100.0))


def test_unfitted_update():
    with pytest.raises(NotFittedError):
        POT().update(1.0)


def test_registered_for_the_cli():
    assert THRESHOLDS["pot"] is POT


def test_dynamic_threshold_picks_z_and_flags_a_burst():
    import pandas as pd

    from anomaly.thresholds import Dynamic

    rng = np.random.default_rng(4)
    normal = np.abs(rng.normal(size=5000))
    normal[2000:2040] += 6.0  # one burst inside the fit data: the criterion separates it
    dyn = Dynamic(span=10).fit(normal)
    assert 2.0 <= dyn.z_ <= 10.0 and dyn.threshold_ == pytest.approx(dyn.mean_ + dyn.z_ * dyn.std_)
    new = np.abs(rng.normal(size=3000))
    new[1500:1550] += 6.0
    flags = dyn.apply(pd.Series(new))
    assert flags.iloc[1510:1550].all() and flags.iloc[:1400].mean() < 0.01
    copy = threshold_from_dict(dyn.to_dict())
    np.testing.assert_array_equal(copy.apply(new), flags.to_numpy())


def test_per_channel_threshold():
    import pandas as pd

    from anomaly.errors import DataError
    from anomaly.thresholds import PerChannel

    rng = np.random.default_rng(5)
    normal = pd.DataFrame({"a": rng.random(1000), "b": 10 * rng.random(1000)})
    per = PerChannel(q=99).fit(normal)
    assert per.thresholds_[1] == pytest.approx(10 * per.thresholds_[0], rel=0.1) and per.threshold_ == 1.0
    new = pd.DataFrame({"a": [0.5, 2.0, 0.5], "b": [5.0, 5.0, 20.0]})
    assert per.apply(new).tolist() == [False, True, True]
    assert per.exceeded(new).to_numpy().tolist() == [[False, False], [True, False], [False, True]]
    assert threshold_from_dict(per.to_dict()).apply(new).tolist() == [False, True, True]
    with pytest.raises(DataError, match="channels differ"):
        per.apply(new.rename(columns={"b": "c"}))
    with pytest.raises(DataError, match="matrix"):
        PerChannel().fit(np.arange(5.0))
