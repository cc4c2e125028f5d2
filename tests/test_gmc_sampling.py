"""Sample points: seeded Latin hypercube, regular grid, sample files."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iqa_eval.errors import InputError
from iqa_eval.gmc.sampling import latin_hypercube, read_sample_file, regular_grid

MOS = np.array([12.0, 30.0, 55.5, 71.0, 92.0])


def test_lhs_is_seeded():
    a = latin_hypercube(MOS, 50, seed=4)
    b = latin_hypercube(MOS, 50, seed=4)
    c = latin_hypercube(MOS, 50, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.to_numpy(), c.to_numpy())
    pd.testing.assert_frame_equal(latin_hypercube(MOS, 50), latin_hypercube(MOS, 50, seed=0))


@pytest.mark.parametrize("n", [1, 7, 100])
def test_lhs_stratification(n):
    pts = latin_hypercube(MOS, n, seed=1)
    assert list(pts.columns) == ["Q", "Qd"] and len(pts) == n
    lo, hi = MOS.min(), MOS.max()
    for col, start in (("Q", lo), ("Qd", 0.0)):
        u = (pts[col].to_numpy() - start) / (hi - lo)
        assert np.all((u >= 0) & (u <= 1))
        # exactly one point in each of the n strata
        assert sorted(np.minimum(np.floor(u * n), n - 1).astype(int)) == list(range(n))


def test_lhs_columns_shuffled_independently():
    pts = latin_hypercube(MOS, 200, seed=0)
    assert abs(np.corrcoef(pts.Q, pts.Qd)[0, 1]) < 0.3
    assert not np.all(np.diff(pts.Q) > 0)


def test_lhs_bad_count():
    with pytest.raises(InputError, match="n_samples must be an integer >= 1; got 0"):
        latin_hypercube(MOS, 0)


def test_regular_grid():
    g = regular_grid(MOS, shape=(4, 3))
    assert len(g) == 12
    np.testing.assert_allclose(np.unique(g.Q), np.linspace(12, 92, 4))
    np.testing.assert_allclose(np.unique(g.Qd), np.linspace(0, 80, 3))
    # Q outer, Qd inner: values reshape to (nq, nqd)
    np.testing.assert_allclose(g.Q.to_numpy().reshape(4, 3)[:, 0], np.linspace(12, 92, 4))
    np.testing.assert_allclose(g.Qd.to_numpy().reshape(4, 3)[0], np.linspace(0, 80, 3))
    with pytest.raises(InputError, match="2 x 2"):
        regular_grid(MOS, shape=(1, 5))


def test_read_sample_file_csv_and_xlsx(tmp_path):
    frame = pd.DataFrame({"Q": [20.0, 50.0], "Qd": [0.0, 10.0], "extra": ["a", "b"]})
    csv = tmp_path / "pts.csv"
    frame.to_csv(csv, index=False, sep=";")
    pd.testing.assert_frame_equal(read_sample_file(csv), frame[["Q", "Qd"]])
    xlsx = tmp_path / "pts.xlsx"
    frame.to_excel(xlsx, index=False)
    pd.testing.assert_frame_equal(read_sample_file(xlsx), frame[["Q", "Qd"]])


def test_read_sample_file_errors(tmp_path):
    f = tmp_path / "pts.csv"
    f.write_text("Q,delta\n1,2\n")
    with pytest.raises(InputError) as err:
        read_sample_file(f)
    assert "pts.csv" in str(err.value) and "Qd" in str(err.value)
    f.write_text("Q,Qd\n1,2\n3,x\n")
    with pytest.raises(InputError) as err:
        read_sample_file(f)
    assert err.value.column == "Qd" and err.value.row == 2 and "pts.csv" in str(err.value)
    f.write_text("Q,Qd\n1,2\n3,-1\n")
    with pytest.raises(InputError, match=">= 0") as err:
        read_sample_file(f)
    assert err.value.row == 2
    f.write_text("Q,Qd\n,2\n")
    with pytest.raises(InputError) as err:
        read_sample_file(f)
    assert err.value.column == "Q" and err.value.row == 1
    with pytest.raises(InputError, match="no such file"):
        read_sample_file(tmp_path / "none.csv")
