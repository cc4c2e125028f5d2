"""Write tests/data/sureal_reference.json: ratings of small simulated studies and sureal's
MLE estimates on them (run in a venv with `pip install sureal`; the test reads the JSON, and
recomputes with sureal when it is importable).

    python tests/data/make_sureal_reference.py
"""
import contextlib
import io
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np


def simulate(seed, E=30, S=12, C=6, missing=0.0, content=True):
    rng = np.random.default_rng(seed)
    x = rng.uniform(1.5, 4.5, E)
    b = rng.normal(0, 0.4, S)
    v = rng.uniform(0.3, 1.0, S)
    a = rng.uniform(0.1, 0.6, C) if content else np.zeros(C)
    cid = np.arange(E) % C
    u = x[:, None] + b[None, :] + v[None, :] * rng.standard_normal((E, S)) \
        + a[cid][:, None] * rng.standard_normal((E, S))
    u = np.round(u, 3)
    mask = rng.random((E, S)) < missing
    u[mask] = np.nan
    return u, cid


def sureal_fit(u, cid, model):
    from sureal.dataset_reader import RawDatasetReader
    from sureal.subjective_model import (MaximumLikelihoodEstimationModel,
                                         MaximumLikelihoodEstimationModelContentOblivious)
    E, S = u.shape
    C = int(cid.max()) + 1
    ds = SimpleNamespace(dataset_name="t", yuv_fmt="yuv420p", width=1, height=1,
                         ref_videos=[{"content_id": c, "content_name": f"c{c}", "path": f"r{c}"} for c in range(C)],
                         dis_videos=[{"content_id": int(cid[e]), "asset_id": e, "path": f"d{e}",
                                      "os": {f"s{j:02d}": float(u[e, j]) for j in range(S) if np.isfinite(u[e, j])}}
                                     for e in range(E)])
    cls = MaximumLikelihoodEstimationModel if model == "MLE" else MaximumLikelihoodEstimationModelContentOblivious
    with contextlib.redirect_stdout(io.StringIO()):
        r = cls(RawDatasetReader(ds)).run_modeling()
    out = {k: list(map(float, r[k])) for k in ("quality_scores", "quality_scores_std", "observer_bias",
                                                 "observer_bias_std", "observer_inconsistency",
                                                 "observer_inconsistency_std")}
    if model == "MLE":
        out["content_ambiguity"] = list(map(float, r["content_ambiguity"]))
    return out


CASES = [  # name, seed, images, missing fraction, content ambiguity, sureal model
    ("complete_co", 1, 30, 0.0, False, "MLE_CO"),
    ("incomplete_co", 5, 80, 0.2, False, "MLE_CO"),
    ("complete_content", 3, 30, 0.0, True, "MLE"),
    ("incomplete_content", 4, 30, 0.2, True, "MLE"),
]

if __name__ == "__main__":
    import sureal
    from importlib.metadata import version
    cases = []
    for name, seed, n_images, missing, content, model in CASES:
        u, cid = simulate(seed, E=n_images, missing=missing, content=content)
        cases.append({"name": name, "model": model, "content_id": cid.tolist(),
                      "ratings": [[None if not np.isfinite(t) else float(t) for t in row] for row in u],
                      "sureal": sureal_fit(u, cid, model)})
    out = {"sureal_version": version("sureal"), "numpy_version": np.__version__, "cases": cases}
    Path(__file__).with_name("sureal_reference.json").write_text(json.dumps(out, indent=1))
    print("wrote", len(cases), "cases", file=sys.stderr)
