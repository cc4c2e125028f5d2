"""The all-pairs significance matrix of VQEG-style papers: for every pair of models and every dataset,
is one model's SROCC (PLCC) significantly higher than the other's on the same images?

Each cell is the paired test ``score`` already ran (:attr:`Evaluation.pairwise
<iqa_eval.studies.evaluation.Evaluation>`: Williams' t on the dependent correlations with analytic CIs,
the paired bootstrap otherwise, both from :func:`iqa_eval.stats.inference.compare_correlations`); no
test is run again here. What this module adds is the multiplicity control over the family the matrix
shows: the ``k(k-1)/2`` pairs of one dataset and one metric (Holm's step-down by default), and the
verdict per cell: ``1`` (the row model is significantly better), ``0`` (not shown to differ),
``-1`` (significantly worse).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from ..options import ALPHA, MULTIPLICITY, SIGNIFICANCE_METRICS, validate_params
from ..stats.posthoc import holm

__all__ = ["SignificanceMatrix", "significance_matrix"]


@dataclass(frozen=True, eq=False)
class SignificanceMatrix:
    """Result of :func:`significance_matrix`.

    Attributes
    ----------
    pairs : DataFrame
        One row per (dataset, metric, model_a, model_b) with model_a before model_b in ``models``:
        n, diff (A - B), pvalue (the paired test's), pvalue_adjusted (after ``multiplicity`` within
        the dataset and metric), verdict (1: A significantly higher, -1: B, 0: not shown to differ;
        NaN: no p-value).
    models, datasets, metrics : tuple of str
    settings : dict
        ``test``, ``multiplicity``, ``family`` (the words for the family controlled), ``alpha``.
    """

    pairs: pd.DataFrame
    models: tuple
    datasets: tuple
    metrics: tuple
    settings: dict = field(default_factory=dict)

    def matrix(self, dataset=None, metric: str = "srocc") -> pd.DataFrame:
        """Models x models verdicts of one dataset and metric: ``M[row, col]`` is 1 when the row model is
        significantly better than the column model, -1 when worse, 0 when not shown to differ; NaN on the
        diagonal, for untested pairs and for models absent from the dataset."""
        dataset = self.datasets[0] if dataset is None else dataset
        if dataset not in self.datasets or metric not in self.metrics:
            raise InputError(f"no matrix for dataset {dataset!r} and metric {metric!r}")
        out = pd.DataFrame(np.nan, index=list(self.models), columns=list(self.models))
        sub = self.pairs[(self.pairs["dataset"] == dataset) & (self.pairs["metric"] == metric)]
        for r in sub.itertuples():
            out.loc[r.model_a, r.model_b] = r.verdict
            out.loc[r.model_b, r.model_a] = -r.verdict if np.isfinite(r.verdict) else np.nan
        return out

    def counts(self, metric: str = "srocc") -> pd.DataFrame:
        """Per model, over every dataset: how many pairwise comparisons it wins, ties and loses."""
        rows = []
        for m in self.models:
            wins = ties = losses = 0
            for d in self.datasets:
                row = self.matrix(d, metric).loc[m].drop(m)
                wins += int((row == 1).sum())
                ties += int((row == 0).sum())
                losses += int((row == -1).sum())
            rows.append({"model": m, "better": wins, "not_different": ties, "worse": losses})
        return pd.DataFrame(rows)

    def describe(self) -> str:
        """One sentence: the test, the family and its control, the level."""
        s = self.settings
        control = ("no multiplicity adjustment" if s["multiplicity"] == "none" else
                   f"Holm's step-down over the {s['family']}")
        return (f"paired {s['test']} test of each pair on the same images, {control}, alpha = {s['alpha']:g}")


@validate_params({"multiplicity": MULTIPLICITY, "alpha": ALPHA})
def significance_matrix(result, *, metrics=("srocc", "plcc"), multiplicity: str = "holm",
                        alpha: float = 0.05) -> SignificanceMatrix:
    """All pairs of models, per dataset and metric: the paired tests of ``score`` with a named multiplicity control.

    Parameters
    ----------
    result : Benchmark or Evaluation
        A :class:`~iqa_eval.studies.bench.Benchmark` (every dataset) or one
        :class:`~iqa_eval.studies.evaluation.Evaluation` (named ``'data'``), computed with paired tests.
    metrics : iterable of {'srocc', 'plcc'}
        The correlations with a paired test.
    multiplicity : {'holm', 'none'}
        ``'holm'``: Holm's step-down over the ``k(k-1)/2`` pairs of each dataset and metric (family-wise
        level ``alpha``); ``'none'``: each pair at level ``alpha``.
    alpha : float

    Returns
    -------
    SignificanceMatrix

    Examples
    --------
    >>> from iqa_eval.data.dataset import Dataset
    >>> from iqa_eval.studies.evaluation import evaluate
    >>> rng = np.random.default_rng(0)
    >>> q = rng.normal(size=300)
    >>> ev = evaluate(Dataset(mos=q, predictions={"good": q + .3 * rng.normal(size=300),
    ...                                           "poor": q + 2 * rng.normal(size=300)}))
    >>> float(significance_matrix(ev, metrics=["srocc"]).matrix().loc["good", "poor"])
    1.0
    """
    metrics = tuple(dict.fromkeys(metrics))
    for m in metrics:
        if m not in SIGNIFICANCE_METRICS:
            raise InputError(f"metrics must be among {', '.join(SIGNIFICANCE_METRICS)}; got {m!r}")
    if hasattr(result, "evaluations"):
        evaluations, models = dict(result.evaluations), list(result.models)
        datasets = [d for d in result.datasets if d in evaluations]
    elif hasattr(result, "pairwise"):
        evaluations, models, datasets = {"data": result}, list(result.table["model"]), ["data"]
    else:
        raise InputError(f"significance_matrix takes a Benchmark or an Evaluation; got {type(result).__name__}")
    from .evaluation import paired_test_words

    one_sided = sorted({ev.settings.get("alternative", "two-sided") for ev in evaluations.values()} - {"two-sided"})
    if one_sided:   # a 1 / 0 / - verdict reads both directions
        raise InputError(f"the significance matrix needs two-sided paired tests; the scores were computed with "
                         f"alternative {one_sided[0]!r}")
    words = {paired_test_words(ev.settings.get("test", "williams1959"), "two-sided", ev.settings.get("ci"))
             for ev in evaluations.values()}
    test = words.pop() if len(words) == 1 else "mixed"
    rows = []
    for d in datasets:
        ev = evaluations[d]
        present = [m for m in models if m in set(ev.table["model"])]
        if len(present) > 1 and ev.pairwise.empty:
            raise InputError(f"dataset {d!r} was scored without paired tests (pairwise=False)")
        # the p that decided the score table's ties: the chosen paired test, or the paired bootstrap
        p_col = "pvalue" if ev.settings.get("ci") == "analytic" else "bootstrap_pvalue"
        rank = {m: k for k, m in enumerate(models)}
        for metric in metrics:
            family = []
            for r in ev.pairwise[ev.pairwise["metric"] == metric].itertuples():
                a, b, diff = r.model_a, r.model_b, float(r.diff)
                if rank[a] > rank[b]:   # rows in the table's model order: A before B
                    a, b, diff = b, a, -diff
                family.append({"dataset": d, "metric": metric, "model_a": a, "model_b": b, "n": int(r.n),
                               "diff": diff, "pvalue": float(getattr(r, p_col))})
            p = np.array([f["pvalue"] for f in family], dtype=float)
            adjusted = p.copy()
            ok = np.isfinite(p)
            if multiplicity == "holm" and ok.any():
                adjusted[ok] = holm(p[ok])
            for f, q in zip(family, adjusted):
                f["pvalue_adjusted"] = float(q)
                f["verdict"] = (float(np.sign(f["diff"])) if q < alpha else 0.0) if np.isfinite(q) else np.nan
            rows.extend(family)
    columns = ["dataset", "metric", "model_a", "model_b", "n", "diff", "pvalue", "pvalue_adjusted", "verdict"]
    sizes = {len(set(evaluations[d].table["model"])) for d in datasets}
    k = next(iter(sizes)) if len(sizes) == 1 else 0
    family = (f"{k * (k - 1) // 2} pairs of the {k} models within each dataset and metric" if len(sizes) == 1
              else "k(k-1)/2 pairs of the k models of each dataset, within each dataset and metric")
    settings = {"test": test, "multiplicity": multiplicity, "alpha": float(alpha), "family": family}
    return SignificanceMatrix(pd.DataFrame(rows, columns=columns), tuple(models), tuple(datasets), metrics, settings)
