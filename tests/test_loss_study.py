"""examples/loss_study.py: splits by reference image, seeded training, and a one-split run on KADID-10k."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from conftest import REPO

from conftest import TORCH_MISSING  # noqa: E402

pytestmark = [pytest.mark.study, pytest.mark.torch]
torch = pytest.importorskip("torch", reason=TORCH_MISSING)


@pytest.fixture(autouse=True)
def one_thread():
    """The study runs torch on one thread, deterministically; leave torch as it was."""
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)


def _study():
    spec = importlib.util.spec_from_file_location("loss_study", REPO / "examples" / "loss_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def kadid(shared_dir):
    return shared_dir / "kadid10k"


def test_splits_never_share_a_reference_image(kadid):
    study = _study()
    scores, mos, std, refs = study.load_kadid(kadid)
    assert scores.shape == (10125, 6) and np.isfinite(scores).all()
    masks = [study.split_by_reference(refs, seed=s) for s in range(10)]
    for test in masks:
        assert not set(refs[test]) & set(refs[~test])
        assert np.unique(refs[test]).size == 16            # 20% of 81 reference images
        assert 0.15 < test.mean() < 0.25
    assert len({m.tobytes() for m in masks}) == 10          # ten different splits
    np.testing.assert_array_equal(masks[3], study.split_by_reference(refs, seed=3))


def test_training_is_deterministic():
    study = _study()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 6)), rng.uniform(1, 5, size=300)
    runs = []
    for _ in range(2):
        net = study.train_model("GCC", x, y, seed=7, epochs=2, batch_size=64, lr=1e-2)
        with torch.no_grad():
            runs.append(net(torch.from_numpy(x)).numpy())
    np.testing.assert_array_equal(runs[0], runs[1])


def test_one_split_runs_and_reports_every_loss(kadid, capsys):
    _study().main(["--data", str(kadid), "--splits", "1", "--epochs", "1", "--grid", "5"])
    out = capsys.readouterr().out
    for name in ("MSE", "PLCC", "NiN", "DCQ", "GCC"):
        assert f"| {name} | 0." in out
    assert "| GCC vs MSE | SROCC |" in out
    assert "GMC SROCC difference A - B on a 5 x 5 grid" in out
