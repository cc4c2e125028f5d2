"""The simulated study: reproducible, realistic columns, and the built-in equal-SROCC pair."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from iqa_eval.data.simulation import EQUAL_SROCC_PAIR, simulate_study


def test_reproducible_and_seed_dependent():
    a, b = simulate_study(150, seed=3), simulate_study(150, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not simulate_study(150, seed=4)["mos"].equals(a["mos"])


def test_columns_look_like_a_subjective_study():
    df = simulate_study(400, seed=0)
    assert list(df.columns[:4]) == ["image", "mos", "std", "n_ratings"]
    assert df["mos"].between(1, 5).all() and (df["std"] > 0).all()
    assert df["n_ratings"].between(15, 30).all()
    assert df["mos"].duplicated().any()  # integer votes give tied MOS, as in real studies


def test_equal_srocc_pair_and_orientation():
    df = simulate_study(600, seed=0)
    a, b = EQUAL_SROCC_PAIR
    ra = stats.spearmanr(df[a], df["mos"])[0]
    rb = stats.spearmanr(df[b], df["mos"])[0]
    assert abs(ra - rb) < 1e-3
    assert stats.spearmanr(df["distance"], df["mos"])[0] < -0.5   # lower is better
    assert stats.spearmanr(df["precise"], df["mos"])[0] > max(ra, stats.spearmanr(df["noisy"], df["mos"])[0])


def _local_srocc(pred, mos, std, keep):
    return stats.spearmanr(pred[keep], mos[keep])[0]


def test_pair_differs_where_built_in():
    # high_end's error shrinks with quality: among the best images it ranks better than
    # fine_grain, whose gross failures hit every quality level.
    df = simulate_study(3000, seed=1)
    a, b = EQUAL_SROCC_PAIR
    mos = df["mos"].to_numpy()
    top = mos > np.quantile(mos, 0.8)
    bottom = mos < np.quantile(mos, 0.3)
    assert _local_srocc(df[a].to_numpy(), mos, None, top) > _local_srocc(df[b].to_numpy(), mos, None, top)
    assert _local_srocc(df[a].to_numpy(), mos, None, bottom) < _local_srocc(df[b].to_numpy(), mos, None, bottom)


def test_small_studies_are_finite_and_calibrated_to_the_srocc_step():
    # Small studies once left fine_grain all-NaN: 10% failing images could not bring its
    # SROCC down at any scale, and the bracket doubled to infinity.
    for n in (10, 12, 15, 20, 30, 50):
        for seed in range(5):
            df = simulate_study(n, seed=seed)
            assert np.isfinite(df.drop(columns="image").to_numpy(float)).all(), (n, seed)
            a, b = EQUAL_SROCC_PAIR
            gap = abs(stats.spearmanr(df[a], df["mos"])[0] - stats.spearmanr(df[b], df["mos"])[0])
            # SROCC moves in steps of about 12/n^2 when two ranks swap; that is the best
            # a calibration can do on n images.
            assert gap <= max(1e-3, 24.0 / n**2), (n, seed, gap)


def test_shipped_example_is_the_generator_default():
    from conftest import REPO

    shipped = pd.read_csv(REPO / "examples" / "simulated_study.csv")
    pd.testing.assert_frame_equal(shipped, simulate_study(), check_dtype=False, rtol=0, atol=1e-12)


def test_saturating_model_needs_the_logistic_mapping():
    from iqa_eval.stats.mapping import fit_mapping

    df = simulate_study(1500, seed=0)
    x, mos = df["saturating"].to_numpy(), df["mos"].to_numpy()
    fit = fit_mapping(x, mos, kind="logistic4")
    assert fit.converged and not fit.notes
    mapped = np.corrcoef(fit.predict(x), mos)[0, 1]
    assert mapped > stats.pearsonr(x, mos)[0] + 0.005
