"""The raw-ratings functions take what a user has at hand: Ratings, a table or its path; anything
else is one InputError (it was an AttributeError on the first attribute read)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import iqa_eval
from iqa_eval.errors import InputError


def _long():
    rng = np.random.default_rng(3)
    rows = [(f"img{k}", f"s{j}", float(k / 2 + rng.normal(0, 0.6))) for k in range(8) for j in range(5)]
    return pd.DataFrame(rows, columns=["image", "subject", "rating"])


def test_a_table_or_its_path_is_read_as_read_ratings_reads_it(tmp_path):
    df = _long()
    path = tmp_path / "ratings.csv"
    df.to_csv(path, index=False)
    want = iqa_eval.compute_mos(iqa_eval.read_ratings(df)).table
    for given in (df, path, str(path), [path]):
        got = iqa_eval.compute_mos(given).table
        pd.testing.assert_frame_equal(got, want)
    assert iqa_eval.noise_ceiling(df, seed=1).reliability == iqa_eval.noise_ceiling(iqa_eval.read_ratings(df),
                                                                                      seed=1).reliability
    assert iqa_eval.screen_subjects(path, "bt500").rejected == iqa_eval.screen_subjects(df, "bt500").rejected
    np.testing.assert_array_equal(iqa_eval.fit_subject_model(df, variance="corrected").quality,
                                  iqa_eval.fit_subject_model(iqa_eval.read_ratings(df), variance="corrected").quality)


@pytest.mark.parametrize("func", ["compute_mos", "noise_ceiling", "screen_subjects", "fit_subject_model"])
@pytest.mark.parametrize("bad", [42, None, np.ones(3), [1, 2]])
def test_anything_else_is_one_input_error(func, bad):
    with pytest.raises(InputError, match="ratings must be Ratings"):
        getattr(iqa_eval, func)(bad)


def test_a_whole_float_max_iter_works():
    df = _long()
    a = iqa_eval.fit_subject_model(df, variance="corrected", max_iter=50.0)
    b = iqa_eval.fit_subject_model(df, variance="corrected", max_iter=50)
    np.testing.assert_array_equal(a.quality, b.quality)
