"""``iqa-eval simulate``: write the simulated study used by the examples."""
from __future__ import annotations

import click

from ._common import Command, check_outputs, command, library_option

_SIMULATE = "data.simulation:simulate_study"


@click.command(cls=Command)
@library_option("-n", "--n-images", library=_SIMULATE, section="Input", help="Number of images.")
@library_option("--seed", library=_SIMULATE, help="Seed of the simulation.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="-",
              help="CSV file to write (default: stdout).")
@click.option("--ratings-out", type=click.Path(dir_okay=False), default=None,
              help="Also write the raw ratings of a 24-subject panel on the same images (subject, image, "
                   "content, rating; 20% missing) for `iqa-eval mos`.")
@command
def simulate(n_images, seed, output, ratings_out):
    """Write a simulated subjective study: image, mos, std, n_ratings and six models."""
    from ..data.simulation import EQUAL_SROCC_PAIR, LOWER_IS_BETTER, simulate_study

    from .._runtime.atomic import atomic_write

    check_outputs([output, ratings_out])
    df = simulate_study(n_images, seed=seed, ratings=ratings_out is not None)
    if ratings_out is not None:
        df, raw = df
        atomic_write(ratings_out, raw.to_csv(index=False))
        click.echo(f"wrote {ratings_out} ({len(raw)} ratings)", err=True)
    if output == "-":
        click.echo(df.to_csv(index=False), nl=False)
    else:
        atomic_write(output, df.to_csv(index=False))
        click.echo(f"wrote {output} ({len(df)} images; equal-SROCC pair: "
                   f"{', '.join(EQUAL_SROCC_PAIR)}; lower-is-better: "
                   f"{', '.join(LOWER_IS_BETTER)})", err=True)
