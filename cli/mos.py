"""``iqa-eval mos``: raw ratings -> the metadata table (image, mos, std, n_ratings, ci_low, ci_high)."""
from __future__ import annotations

import click

from ..options import RATING_LAYOUTS
from ._common import Choice, Command, check_outputs, command, echo_notes, library_option, output_format, write_output

_MOS = "subjective:compute_mos"
_CEILING = "subjective.ceiling:noise_ceiling"


def _scale(text):
    from iqa_eval.errors import InputError

    if text is None:
        return None
    parts = str(text).replace(":", ",").replace("..", ",").split(",")
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"--scale must be LOW,HIGH (e.g. 1,5); got {text!r}") from None
    if not low < high:
        raise InputError(f"--scale must be LOW,HIGH with LOW < HIGH; got {text!r}")
    return low, high


@click.command(cls=Command)
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="-",
              help="Metadata CSV to write (default: stdout): image, mos, std, n_ratings, ci_low, ci_high.")
@library_option("--method", library=_MOS,
              help="mean: the plain MOS; mle: the subject model's true quality (bias and inconsistency removed).")
@library_option("--variance", library=_MOS,
              help="--method mle: maximum-likelihood inconsistencies (as sureal), or leverage-corrected ones "
                   "(content-oblivious model; no collapse to 0 in incomplete designs).")
@library_option("--screen", library=_MOS,
              help="Observer screening: BT.500-14 Annex 2 §2.3.1 (bt500) or the P.913 correlation rule (p913).")
@library_option("--p913-threshold", library=_MOS,
              help="--screen p913: reject subjects whose correlation with the MOS is below this.")
@click.option("--scale", default=None, metavar="LOW,HIGH", help="The rating scale; a rating outside it is an error.")
@click.option("--layout", type=Choice(RATING_LAYOUTS), default="auto", show_default=True,
              help="long: a row per rating; wide: a column per subject; auto: by the column names.")
@click.option("--subject-col", default=None, help="Subject column of a long table (default: subject, observer, rater, ...).")
@click.option("--image-col", default=None, help="Image column (default: image, filename, ...).")
@click.option("--rating-col", default=None, help="Rating column of a long table (default: rating, score, vote, ...).")
@click.option("--repetition-col", default=None, help="Repetition column (default: repetition, rep, ...).")
@click.option("--session-col", default=None, help="Session column (default: session).")
@click.option("--content-col", default=None,
              help="Content (source image) column; with --method mle, content ambiguity is estimated.")
@click.option("--screening-out", type=click.Path(dir_okay=False), default=None,
              help="CSV of the screening: every subject's statistics, rejected or not and why.")
@click.option("--subjects-out", type=click.Path(dir_okay=False), default=None,
              help="--method mle: CSV of subject bias and inconsistency with standard errors.")
@click.option("--ceiling/--no-ceiling", default=True, show_default=True,
              help="Report the noise ceiling (split-half reliability; a perfect model's expected SROCC/PLCC).")
@library_option("--n-splits", library=_CEILING,
              help="Random rater splits of the split-half reliability.")
@library_option("--seed", library=_CEILING, help="Seed of the rater splits.")
@command
def mos(files, output, method, variance, screen, p913_threshold, scale, layout, subject_col, image_col, rating_col,
        repetition_col, session_col, content_col, screening_out, subjects_out, ceiling, n_splits, seed):
    """Compute the MOS of every image from raw ratings (long or wide tables).

    Writes exactly the metadata file that score, surface, compare and bench read, e.g.
    `iqa-eval mos ratings.csv -o meta.csv && iqa-eval score meta.csv preds.csv`.
    """
    from iqa_eval._runtime.escape import csv_text
    from iqa_eval.errors import InputError
    from iqa_eval.subjective import compute_mos, noise_ceiling, read_ratings

    output_format("csv", output, ("csv",))
    for path, name in ((screening_out, "--screening-out"), (subjects_out, "--subjects-out")):
        if path is not None:
            output_format("csv", path, ("csv",))
    if screening_out and screen == "none":
        raise InputError("--screening-out needs --screen bt500 or p913")
    if subjects_out and method != "mle":
        raise InputError("--subjects-out needs --method mle")
    check_outputs([output, screening_out, subjects_out], inputs=files)
    ratings = read_ratings(list(files), layout=layout, scale=_scale(scale), subject_col=subject_col,
                           image_col=image_col, rating_col=rating_col, repetition_col=repetition_col,
                           session_col=session_col, content_col=content_col)
    result = compute_mos(ratings, method=method, screen=screen, p913_threshold=p913_threshold,
                         variance=variance, content=False if variance == "corrected" else None)
    notes = list(result.notes)
    notes.append(f"MOS of {len(result.table)} image(s) from {len(result.ratings)} rating(s) by "
                 f"{result.ratings.n_subjects} subject(s) (method {method})")
    if ceiling:
        c = noise_ceiling(result.ratings, n_splits=n_splits, seed=seed)
        d = c.as_dict()
        notes += list(c.notes)
        notes.append(f"noise ceiling (split-half over {c.n_splits} random rater splits, seed {seed}): reliability "
                     f"{c.reliability:.4f} [{c.ci_low:.4f}, {c.ci_high:.4f}]; a perfect model's expected SROCC "
                     f"{c.srocc:.4f} [{d['srocc_ci_low']:.4f}, {d['srocc_ci_high']:.4f}], PLCC {c.plcc:.4f} "
                     f"[{d['plcc_ci_low']:.4f}, {d['plcc_ci_high']:.4f}]")
    echo_notes(notes)
    # image names and subject ids are the user's: never a live formula in a spreadsheet
    if screening_out:
        write_output(csv_text(result.screening.table, float_format=None), screening_out)
    if subjects_out:
        write_output(csv_text(result.model.subject_table(), float_format=None), subjects_out)
    write_output(csv_text(result.table, float_format="%.10g"), output)
