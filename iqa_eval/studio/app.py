"""The GMC studio: a local Dash app over the library (``iqa-eval serve``).

Every number on the page comes from the library through :mod:`iqa_eval.studio.work` (the
command line's own steps); callbacks only move options in and results out. The browser holds a
session id and nothing else: files, data and results stay in the server's
:class:`~iqa_eval.studio.sessions.SessionStore`. Computations run in a thread pool; the page
polls for them (progress, cancel). Every callback is guarded: a failure is an ``error:`` line
on the page, never a dead server.
"""
from __future__ import annotations

import base64
import binascii
import functools
import re
import traceback
from pathlib import Path

from .._runtime.optional import require
from ..options import (ADJUSTMENTS, BENCH_METRICS, CI_METHODS, GMC_METHODS, GMC_PRESETS, JOINS, MAPPINGS, REGULATORS,
                       TABLE_SUFFIXES, Interval, validate_params)
from . import project, work
from .sessions import SessionStore, _message, new_session_id

__all__ = ["create_app", "DEFAULT_MAX_UPLOAD"]

#: Default limit of one upload (all files together, decoded).
DEFAULT_MAX_UPLOAD = 50 * 2 ** 20
_MAX_FILES = 32
# The page asks for its jobs' state this often while one runs, and slower when idle. The
# interval is never switched off: a start and a poll answered out of order would otherwise
# leave a finished job undelivered.
_POLL_MS, _IDLE_POLL_MS = 300, 1500

# The page's styles: a few rules inline, so nothing is fetched.
_BOX = {"border": "1px solid #ccd", "borderRadius": "6px", "padding": "10px 14px", "margin": "10px 0"}
_ROW = {"display": "flex", "gap": "14px", "flexWrap": "wrap", "alignItems": "end"}
_ERROR = {"color": "#a00", "fontWeight": "bold", "whiteSpace": "pre-wrap"}
_CONTOUR_SHOWN = {"flex": "1 1 560px", "maxWidth": "100%"}
_CONTOUR_HIDDEN = {**_CONTOUR_SHOWN, "display": "none"}
_CLI = {"background": "#f4f4f8", "padding": "6px", "whiteSpace": "pre-wrap", "wordBreak": "break-all",
        "fontSize": "12px"}


def _table_files(dirs):
    """(label, path) of every table under the DIR arguments (and each DIR as a whole): the only
    server paths the page can name, by their index in this list."""
    out = []
    for d in dirs:
        d = Path(d).resolve()
        if d.is_dir():
            tables = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES)
            if len(tables) > 1:
                out.append((f"{d.name}/ (all {len(tables)} tables)", d))
            out += [(f"{d.name}/{p.name}", p) for p in tables]
        elif d.is_file():
            out.append((d.name, d))
    return out


def _datasets(dirs):
    """(name, path) of the DIR arguments that bench can read as a dataset (bench's own
    ``dataset_spec`` decides: a folder with table files, or a file), a file only if a table."""
    from ..errors import InputError
    from ..studies.bench import dataset_spec

    out = []
    for d in dirs:
        d = Path(d).resolve()
        try:
            spec = dataset_spec(d)
        except InputError:
            continue
        if d.is_dir() or d.suffix.lower() in TABLE_SUFFIXES:
            out.append((spec.name, d))
    return out


def _table_signature(path) -> tuple:
    """(name, size, mtime) of the tables bench reads for a dataset: a cached paper table is used
    only while they are unchanged."""
    from ..studies.bench import dataset_spec

    return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in map(Path, dataset_spec(path).files))


def _safe_name(name: str, taken: set) -> str:
    """An uploaded file's name as a plain file name in the session folder (its suffix kept, so
    the reader picks the same parser as for the file on disk)."""
    base = Path(str(name).replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".") or "upload"
    stem, suffix = Path(base).stem or "upload", Path(base).suffix
    out, k = base, 1
    while out in taken:
        out, k = f"{stem}_{k}{suffix}", k + 1
    taken.add(out)
    return out


@validate_params({"max_upload": Interval(1, None, integral=True), "workers": Interval(1, 64, integral=True),
                  "max_sessions": Interval(1, None, integral=True)})
def create_app(dirs=(), *, max_upload: int = DEFAULT_MAX_UPLOAD, workers: int = 2, max_sessions: int = 64):
    """The studio's Dash app (``app.server`` is the Flask app to serve).

    Parameters
    ----------
    dirs : list of paths
        Folders (or files) whose tables the page offers in a list; no other server path can be
        named from the browser.
    max_upload : int
        Largest upload in bytes (all files of one upload, decoded).
    workers : int
        Threads running computations (every session shares them; more requests queue).
    max_sessions : int
        Sessions kept; the least recently used one is dropped beyond it (with its files).
    """
    dash = require("dash", "the studio (iqa-eval serve)")
    from dash import Dash, Input, Output, State, ctx, dash_table, dcc, html, no_update

    if workers > 1 and not _numba_threadsafe():
        import warnings

        from ..errors import IQAEvalWarning
        warnings.warn("numba has no thread-safe threading layer here (pip install tbb): computations run "
                      "one at a time", IQAEvalWarning, stacklevel=2)
        workers = 1
    store = SessionStore(max_sessions=max_sessions, workers=workers)
    sources = _table_files(dirs)
    # the datasets of the paper table: the DIR arguments themselves, as bench's DATASET arguments
    datasets = _datasets(dirs)
    app = Dash(__name__, serve_locally=True, title="iqa-eval studio", update_title=None,
               assets_folder=str(Path(__file__).with_name("no-assets")), compress=False)
    app.studio_store = store
    # base64 in JSON: 4/3 of the bytes, plus the request's other fields
    app.server.config["MAX_CONTENT_LENGTH"] = int(max_upload * 4 / 3) + 2 ** 20

    def options(values):
        return [{"label": str(v), "value": v} for v in values]

    def field(label, component):
        return html.Label([html.Div(label, style={"fontSize": "12px", "color": "#555"}), component])

    def layout():
        return html.Div(style={"fontFamily": "sans-serif", "maxWidth": "1400px", "margin": "auto"}, children=[
            dcc.Store(id="sid", data=new_session_id()),
            dcc.Store(id="data-version", data=0),
            dcc.Store(id="score-version", data=0),
            dcc.Store(id="surface-version", data=0),
            dcc.Store(id="compare-version", data=0),
            dcc.Store(id="bench-version", data=0),
            dcc.Store(id="upload-limit", data=int(max_upload)),
            dcc.Store(id="upload-payload"),
            dcc.Store(id="error-count", data=0),
            dcc.Interval(id="poll", interval=_IDLE_POLL_MS),
            dcc.Download(id="download"),
            dcc.Download(id="project-download"),
            html.H2("iqa-eval studio"),
            html.Div(id="error", role="alert", style=_ERROR),
            html.Div(id="jobs", style={**_ROW, "minHeight": "28px"}, children=[
                html.Progress(id="progress", max=1, style={"display": "none", "width": "220px"}),
                html.Span(id="status"),
                html.Button("Cancel", id="cancel", n_clicks=0, style={"display": "none"}),
            ]),
            html.Section(style=_BOX, children=[
                html.H3("Data"),
                html.Div(style=_ROW, children=[
                    dcc.Upload(id="upload", multiple=True, max_size=-1, children=html.Div(
                        ["Drop prediction / metadata tables here or ", html.A("choose files")]),
                        style={"border": "2px dashed #99a", "padding": "14px", "borderRadius": "6px"}),
                    field("or a table given at start", dcc.Dropdown(
                        id="source", options=[{"label": lab, "value": str(k)} for k, (lab, _) in enumerate(sources)],
                        placeholder="(none given)" if not sources else "choose", style={"width": "320px"})),
                    field("join", dcc.Dropdown(id="join", options=options(JOINS), value="auto", clearable=False,
                                               style={"width": "110px"})),
                    html.Button("Save project", id="project-save", n_clicks=0),
                    dcc.Upload(id="project-load", multiple=False, max_size=-1, children=html.Button("Load project"),
                               accept=".json,application/json"),
                ]),
                html.Div(id="data-status", style={"marginTop": "8px"}),
                html.Ul(id="notes", style={"fontSize": "13px", "color": "#444"}),
            ]),
            html.Section(style=_BOX, children=[
                html.H3("Scores"),
                html.Div(style=_ROW, children=[
                    field("mapping", dcc.Dropdown(id="mapping", options=options(MAPPINGS), value="logistic4",
                                                  clearable=False, style={"width": "130px"})),
                    field("CI", dcc.Dropdown(id="ci", options=options(CI_METHODS), value="analytic",
                                             clearable=False, style={"width": "130px"})),
                    field("resamples", dcc.Input(id="n-resamples", type="number", min=20, value=1000, step=1,
                                                    style={"width": "80px"})),
                    field("alpha", dcc.Input(id="alpha", type="number", min=0.0001, max=0.5, value=0.05,
                                             step="any", style={"width": "70px"})),
                    field("seed", dcc.Input(id="seed", type="number", min=0, value=0, step=1,
                                            style={"width": "60px"})),
                    field("export", dcc.Dropdown(id="score-format", options=options(work.SCORE_EXPORTS),
                                                 value="csv", clearable=False, style={"width": "120px"})),
                    html.Button("Export table", id="score-export", n_clicks=0),
                ]),
                dash_table.DataTable(id="score-table", sort_action="native", columns=[], data=[],
                                     style_cell={"fontSize": "13px", "padding": "3px 8px"},
                                     style_table={"overflowX": "auto", "marginTop": "8px"}),
                html.Div(id="score-legend", style={"fontSize": "12px", "color": "#444"}),
                html.Pre(id="score-cli", style=_CLI),
            ]),
            html.Section(style=_BOX, children=[
                html.H3("GMC surface"),
                html.Div(style=_ROW, children=[
                    field("preset", dcc.Dropdown(id="preset", options=options(GMC_PRESETS), value=None,
                                                 placeholder="none", style={"width": "120px"})),
                    field("std source", dcc.Dropdown(id="std-source", value="column", clearable=False,
                                                     style={"width": "170px"}, options=[
                                                         {"label": "std column", "value": "column"},
                                                         {"label": "Beta model", "value": "beta"}])),
                    field("regulator", dcc.Dropdown(id="regulator", options=options(REGULATORS), value="auto",
                                                    clearable=False, style={"width": "120px"})),
                    field("std scale k", dcc.Input(id="std-scale", type="number", min=0.01, value=1.0, step="any",
                                                    style={"width": "60px"})),
                    field("points", dcc.RadioItems(id="sampling", value="grid", inline=True, options=[
                        {"label": " regular grid ", "value": "grid"},
                        {"label": " Latin hypercube ", "value": "samples"}])),
                    field("grid NxM", dcc.Input(id="grid", type="text", value="15x15", debounce=True,
                                                style={"width": "70px"})),
                    field("samples", dcc.Input(id="samples", type="number", min=1, value=100, step=1,
                                               style={"width": "70px"})),
                ]),
                html.Div(style={**_ROW, "marginTop": "8px"}, children=[
                    field("show form", dcc.Dropdown(id="view-method", options=options(GMC_METHODS), value="srocc",
                                                    clearable=False, style={"width": "100px"})),
                    field("models", dcc.Dropdown(id="view-models", options=[], value=[], multi=True,
                                                 placeholder="all", style={"minWidth": "260px"})),
                    field("export", dcc.Dropdown(id="surface-format", options=options(work.SURFACE_EXPORTS),
                                                 value="png", clearable=False, style={"width": "130px"})),
                    html.Button("Export figure", id="surface-export", n_clicks=0),
                ]),
                html.Div(style={"display": "flex", "gap": "10px", "flexWrap": "wrap"}, children=[
                    dcc.Graph(id="surface-3d", style={"flex": "1 1 640px", "minHeight": "560px"},
                              config={"displaylogo": False}),
                    # hidden until it has a picture (an empty img shows a broken-image icon)
                    html.Img(id="surface-contour", alt="contour maps", style=_CONTOUR_HIDDEN),
                ]),
                html.Div(id="surface-scores", style={"fontSize": "13px"}),
                html.Pre(id="surface-cli", style=_CLI),
            ]),
            html.Section(style=_BOX, children=[
                html.H3("Compare two models"),
                html.Div(style=_ROW, children=[
                    field("model A", dcc.Dropdown(id="model-a", options=[], style={"width": "200px"})),
                    field("model B", dcc.Dropdown(id="model-b", options=[], style={"width": "200px"})),
                    field("form", dcc.Dropdown(id="compare-method", options=options(GMC_METHODS), value="srocc",
                                               clearable=False, style={"width": "100px"})),
                    field("grid NxM", dcc.Input(id="compare-grid", type="text", value="20x20",
                                                style={"width": "70px"})),
                    field("adjust", dcc.Dropdown(id="adjust", options=options(ADJUSTMENTS), value="maxt",
                                                 clearable=False, style={"width": "100px"})),
                    html.Button("Compare", id="compare-run", n_clicks=0),
                    html.Button("Export JSON", id="compare-export", n_clicks=0),
                ]),
                dash_table.DataTable(id="compare-table", columns=[], data=[],
                                     style_cell={"fontSize": "13px", "padding": "3px 8px"}),
                dcc.Graph(id="diff-map", style={"height": "520px"}, config={"displaylogo": False}),
                html.Div("Click a cell: the image pairs carrying the most weight there.",
                         style={"fontSize": "12px", "color": "#555"}),
                html.Div(id="pairs-title", style={"fontWeight": "bold", "marginTop": "6px"}),
                dash_table.DataTable(id="cell-pairs", columns=[], data=[], sort_action="native",
                                     style_cell={"fontSize": "12px", "padding": "2px 6px"},
                                     style_table={"overflowX": "auto"}),
                html.Pre(id="compare-cli", style=_CLI),
            ]),
            html.Section(style=_BOX, children=[
                html.H3("Paper table (several datasets)"),
                html.Div("Every model on every dataset chosen (the folders and tables given at start, each read "
                         "as iqa-eval bench reads a DATASET argument), with the Scores options above.",
                         style={"fontSize": "12px", "color": "#555"}),
                html.Div(style=_ROW, children=[
                    field("datasets", dcc.Dropdown(
                        id="bench-datasets", multi=True, value=list(range(len(datasets))),
                        options=[{"label": lab, "value": k} for k, (lab, _) in enumerate(datasets)],
                        placeholder="(none given)" if not datasets else "choose", style={"minWidth": "320px"})),
                    field("metrics", dcc.Dropdown(id="bench-metrics", options=options(BENCH_METRICS),
                                                  value=["srocc", "plcc"], multi=True, clearable=False,
                                                  style={"minWidth": "200px"})),
                    html.Button("Build table", id="bench-run", n_clicks=0),
                    field("export", dcc.Dropdown(id="bench-format", options=options(work.BENCH_EXPORTS),
                                                 value="latex", clearable=False, style={"width": "120px"})),
                    html.Button("Export table", id="bench-export", n_clicks=0),
                ]),
                # bench's own HTML table, inert in a sandboxed frame (no script runs in it)
                html.Iframe(id="bench-table", sandbox="", title="paper table",
                            style={"width": "100%", "height": "480px", "border": "1px solid #eee",
                                   "marginTop": "8px"}),
                html.Ul(id="bench-notes", style={"fontSize": "13px", "color": "#444"}),
                html.Pre(id="bench-cli", style=_CLI),
            ]),
        ])

    app.layout = layout

    def guarded(n_outputs):
        """Run a callback; any failure becomes the page's error line (the other outputs unchanged)."""
        def wrap(func):
            @functools.wraps(func)
            def inner(*args):
                try:
                    return func(*args)
                except dash.exceptions.PreventUpdate:
                    raise
                except Exception as exc:
                    from ..errors import IQAEvalError

                    if not isinstance(exc, (IQAEvalError, PermissionError)):
                        traceback.print_exception(exc)
                    message = str(exc) if isinstance(exc, PermissionError) else _message(exc)
                    return (no_update,) * n_outputs + (message,)
            return inner
        return wrap

    ERR = Output("error", "children", allow_duplicate=True)

    # -- data in --------------------------------------------------------------------------
    PAGE_OPTIONS = list(project.OPTIONS)

    @app.callback(Output("data-version", "data"), Output("notes", "children"), Output("data-status", "children"),
                  Output("model-a", "options"), Output("model-b", "options"), Output("model-a", "value"),
                  Output("model-b", "value"), Output("view-models", "options"), Output("join", "value"),
                  Output("source", "value"), *[Output(k, "value") for k in PAGE_OPTIONS if k not in ("model-a", "model-b")],
                  Output("upload-payload", "data", allow_duplicate=True), Output("project-load", "contents"),
                  ERR, Input("upload-payload", "data"), Input("source", "value"), Input("join", "value"),
                  Input("project-load", "contents"), State("sid", "data"), prevent_initial_call=True)
    @guarded(12 + len(PAGE_OPTIONS) - 2)
    def load_data(payload, source, join, project_contents, sid):
        session = store.get(sid)
        trigger = ctx.triggered_id
        restored, origin, new_source = {}, None, no_update
        if trigger == "upload-payload" and payload:
            files, labels = _save_upload(session, payload.get("contents"), payload.get("filenames"), max_upload)
        elif trigger == "source" and source is not None:
            index = int(source)
            if not 0 <= index < len(sources):
                raise PermissionError("error: unknown table")
            files = labels = [str(sources[index][1])]
            origin = sources[index][0]
        elif trigger == "join" and session.files:
            files, labels, origin = session.files, session.file_labels, session.source
        elif trigger == "project-load" and project_contents:
            body = _decode_one(project_contents, "project", int(max_upload * 4 / 3) + 2 ** 16)
            got = project.read_project(body, max_upload=max_upload, sources=[lab for lab, _ in sources])
            join, restored = got["join"], got["options"]
            if got["source"] is not None:
                files = labels = [str(sources[got["source"]][1])]
                origin, new_source = sources[got["source"]][0], str(got["source"])
            else:
                files, labels = _write_upload(session, got["tables"])
                new_source = None
        else:
            raise dash.exceptions.PreventUpdate
        data = _load_session(store, session, files, labels, join, origin)
        models = data.models
        from ..cli._common import cli_words

        notes = [html.Li("note: " + cli_words(n)) for n in data.notes]
        status = (f"{len(data)} images, {len(models)} models ({', '.join(models)}) from "
                  f"{', '.join(Path(f).name for f in labels)}" + (f"; std column {data.sources['std'][1]!r}"
                                                                 if data.std is not None else "; no std column"))
        pick = options(models)
        a = models[0] if models else None
        b = models[1] if len(models) > 1 else None
        if restored.get("model-a") in models:
            a = restored["model-a"]
        if restored.get("model-b") in models:
            b = restored["model-b"]
        if "view-models" in restored:
            restored["view-models"] = [m for m in restored["view-models"] if m in models]
        rest = [restored.get(k, no_update) for k in PAGE_OPTIONS if k not in ("model-a", "model-b")]
        # the files are on the server now: the page lets go of them, so a later request (a join
        # change, a project) does not carry them again
        return (session.data_version, notes, status, pick, pick, a, b, pick,
                join if trigger == "project-load" else no_update, new_source, *rest, None, None, "")

    # The size limit is checked in the browser before anything is sent: a request over the
    # server's own limit would be refused (HTTP 413) with no message the page could show. The
    # server checks again (_save_upload): a request need not come from this page.
    app.clientside_callback(_CHECK_UPLOAD, Output("upload-payload", "data"), ERR, Input("upload", "contents"),
                            State("upload", "filename"), State("upload-limit", "data"), prevent_initial_call=True)

    @app.callback(Output("project-download", "data"), ERR, Input("project-save", "n_clicks"), State("sid", "data"),
                  *[State(k, "value") for k in PAGE_OPTIONS], prevent_initial_call=True)
    @guarded(1)
    def save_project(n, sid, *values):
        body = project.save_project(store.get(sid), dict(zip(PAGE_OPTIONS, values)))
        return dcc.send_bytes(body, "iqa-eval-project.json"), ""

    # -- starting work --------------------------------------------------------------------
    def start(session, kind, opts, func, label, command, output):
        if session.data is None:
            raise dash.exceptions.PreventUpdate
        key = (kind, session.data_version, tuple(sorted((k, str(v)) for k, v in opts.items())))
        data = session.data
        store.submit(session, kind, key, label, lambda: func(data, opts))
        return work.cli_line(command, session.file_labels, session.load_options, opts, output)

    @app.callback(Output("score-cli", "children"), Output("poll", "interval", allow_duplicate=True), ERR,
                  Input("data-version", "data"), Input("mapping", "value"), Input("ci", "value"),
                  Input("n-resamples", "value"), Input("alpha", "value"), Input("seed", "value"),
                  Input("score-format", "value"), State("sid", "data"), prevent_initial_call=True)
    @guarded(2)
    def start_score(version, mapping, ci, n_resamples, alpha, seed, fmt, sid):
        if None in (n_resamples, alpha, seed):
            raise dash.exceptions.PreventUpdate   # a number being typed
        opts = {"mapping": mapping, "ci": ci, "n_resamples": n_resamples, "alpha": alpha, "seed": seed}
        line = start(store.get(sid), "score", opts, work.score, "scores", "score",
                     "scores" + work.SCORE_EXPORTS[fmt])
        return line, _POLL_MS, ""

    @app.callback(Output("surface-cli", "children"), Output("poll", "interval", allow_duplicate=True), ERR,
                  Input("data-version", "data"), Input("preset", "value"), Input("std-source", "value"),
                  Input("regulator", "value"), Input("std-scale", "value"), Input("sampling", "value"),
                  Input("grid", "value"), Input("samples", "value"), Input("seed", "value"),
                  Input("surface-format", "value"), State("sid", "data"), prevent_initial_call=True)
    @guarded(2)
    def start_surface(version, preset, std_source, regulator, std_scale, sampling, grid, samples, seed, fmt, sid):
        if None in (std_scale, samples, seed):
            raise dash.exceptions.PreventUpdate
        opts = {"preset": preset or "", "std_source": std_source, "regulator": regulator, "std_scale": std_scale,
                "sampling": sampling, "grid": grid, "samples": samples, "seed": seed}
        if sampling == "grid":
            work._grid(grid)             # a bad grid is an error line now, not in the pool
        suffix, contour = work.SURFACE_EXPORTS[fmt]
        line = start(store.get(sid), "surface", opts, work.surfaces, "GMC surfaces", "surface",
                     "gmc" + suffix + ("#contour" if contour else ""))
        return line, _POLL_MS, ""

    @app.callback(Output("compare-cli", "children"), Output("poll", "interval", allow_duplicate=True), ERR,
                  Input("compare-run", "n_clicks"), State("model-a", "value"), State("model-b", "value"),
                  State("compare-method", "value"), State("compare-grid", "value"), State("adjust", "value"),
                  State("alpha", "value"), State("seed", "value"), State("sid", "data"), prevent_initial_call=True)
    @guarded(2)
    def start_compare(n, model_a, model_b, method, grid, adjust, alpha, seed, sid):
        opts = {"model_a": model_a, "model_b": model_b, "method": method, "grid": grid, "adjust": adjust,
                "alpha": alpha, "seed": seed}
        work._grid(grid)
        line = start(store.get(sid), "compare", opts, work.compare, "comparison", "compare", "compare.json")
        return line, _POLL_MS, ""

    @app.callback(Output("poll", "interval", allow_duplicate=True), ERR, Input("bench-run", "n_clicks"),
                  State("bench-datasets", "value"), State("mapping", "value"), State("ci", "value"),
                  State("n-resamples", "value"), State("alpha", "value"), State("seed", "value"), State("sid", "data"),
                  prevent_initial_call=True)
    @guarded(1)
    def start_bench(n, chosen, mapping, ci, n_resamples, alpha, seed, sid):
        from ..errors import InputError

        if None in (n_resamples, alpha, seed):
            raise dash.exceptions.PreventUpdate
        indices = [int(k) for k in chosen or ()]
        if any(not 0 <= k < len(datasets) for k in indices):
            raise PermissionError("error: unknown dataset")
        if not indices:
            raise InputError("choose at least one dataset for the paper table")
        paths = tuple(str(datasets[k][1]) for k in indices)
        opts = {"mapping": mapping, "ci": ci, "n_resamples": n_resamples, "alpha": alpha, "seed": seed}
        # the numbers do not depend on the metrics shown (one computation for all); they do on
        # the tables read, which may change while the server runs
        key = ("bench", paths, tuple(_table_signature(p) for p in paths), tuple(sorted(opts.items())))
        store.submit(store.get(sid), "bench", key, "paper table", lambda: work.bench(list(paths), opts))
        return _POLL_MS, ""

    @app.callback(Output("bench-cli", "children"), ERR, Input("bench-version", "data"),
                  Input("bench-metrics", "value"), Input("bench-format", "value"), State("sid", "data"),
                  prevent_initial_call=True)
    @guarded(1)
    def bench_line(version, metrics, fmt, sid):
        # the command line of the table shown (its datasets and options) in the metrics and
        # format the export uses: the three always agree
        from ..render.bench_tables import check_metrics

        got = store.get(sid).current.get("bench")
        if got is None:
            raise dash.exceptions.PreventUpdate
        key = got[0]
        opts = {**dict(key[3]), "metrics": list(check_metrics(metrics or ()))}
        return work.cli_line("bench", list(key[1]), {}, opts, "table" + work.BENCH_EXPORTS[fmt]), ""

    # -- polling --------------------------------------------------------------------------
    @app.callback(Output("progress", "style"), Output("progress", "value"), Output("status", "children"),
                  Output("cancel", "style"), Output("poll", "interval"), Output("score-version", "data"), Output("surface-version", "data"),
                  Output("compare-version", "data"), Output("bench-version", "data"), Output("error-count", "data"), ERR,
                  Input("poll", "n_intervals"), State("sid", "data"), State("score-version", "data"),
                  State("surface-version", "data"), State("compare-version", "data"), State("bench-version", "data"),
                  State("error-count", "data"), prevent_initial_call=True)
    @guarded(10)
    def poll(n, sid, *seen):
        # Idempotent: the page says which results and errors it has shown, the answer brings
        # the newer ones. (Dash drops the answer of a poll overtaken by the next one; a result
        # handed out only once would then never reach the page.)
        session = store.get(sid)
        running, bar_value = [], None
        with session.lock:
            for kind, job in session.jobs.items():
                if not job.done:
                    fraction, stage = job.fraction, job.stage
                    if fraction is not None and bar_value is None:
                        bar_value = fraction
                    done = "" if fraction is None else f"{stage} {100 * fraction:.0f}%, "
                    running.append(f"{job.label}: {done}{job.elapsed():.1f} s")
                elif not job.delivered:
                    job.delivered = True
                    if job.cancelled:
                        session.errors.append(f"{job.label}: cancelled")
                    elif job.error:
                        session.errors.append(job.error)
                    elif job.result is not None:
                        session.current[kind] = (job.key, job.result)
                        session.versions[kind] = session.versions.get(kind, 0) + 1
            versions = [session.versions.get(k, 0) for k in _KINDS]
            n_errors, errors = len(session.errors), list(session.errors[(seen[len(_KINDS)] or 0):])
        busy = bool(running)
        shown = {"display": "inline-block"} if busy else {"display": "none"}
        status = ("running " + "; ".join(running)) if busy else ""
        out = [v if v != s else no_update for v, s in zip(versions, seen[:len(_KINDS)])]
        # the bar shows the first running job that reports progress (no value: indeterminate)
        return (shown, bar_value, status, shown, _POLL_MS if busy else _IDLE_POLL_MS, *out,
                n_errors if errors else no_update, "\n".join(errors[-3:]) if errors else no_update)

    @app.callback(Output("status", "children", allow_duplicate=True), ERR, Input("cancel", "n_clicks"),
                  State("sid", "data"), prevent_initial_call=True)
    @guarded(1)
    def cancel(n, sid):
        session = store.get(sid)
        with session.lock:
            for job in session.jobs.values():
                if not job.done:
                    store.cancel(job)
        return "cancelled", no_update

    # -- showing results --------------------------------------------------------------------
    def current(sid, kind):
        got = store.get(sid).current.get(kind)
        if got is None:
            raise dash.exceptions.PreventUpdate
        return got[1]

    @app.callback(Output("score-table", "columns"), Output("score-table", "data"), Output("score-legend", "children"),
                  ERR, Input("score-version", "data"), State("sid", "data"), prevent_initial_call=True)
    @guarded(3)
    def show_score(version, sid):
        return (*_score_table(current(sid, "score")), no_update)

    @app.callback(Output("surface-3d", "figure"), Output("surface-contour", "src"), Output("surface-contour", "style"),
                  Output("surface-scores", "children"), ERR, Input("surface-version", "data"), Input("view-method", "value"), Input("view-models", "value"),
                  State("sid", "data"), prevent_initial_call=True)
    @guarded(4)
    def show_surface(version, method, models, sid):
        from ..render.plot import contour_map, png_bytes, surface_figure

        result = current(sid, "surface")
        models = [m for m in (models or []) if m in set(result.surface["model"])] or None
        fig = surface_figure(result.surface, method=method, models=models)
        with work.MATPLOTLIB:
            png = png_bytes(contour_map(result.surface, method=method, models=models))
        src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        scores = result.ranked_scores()
        scores = scores[scores["method"].str.lower() == method]
        text = "GMC score (mean of the surface): " + ", ".join(
            f"{m} {v:.4f}" for m, v in zip(scores["model"], scores["gmc"]))
        return fig, src, _CONTOUR_SHOWN, text, no_update

    @app.callback(Output("compare-table", "columns"), Output("compare-table", "data"), Output("diff-map", "figure"),
                  ERR, Input("compare-version", "data"), State("sid", "data"), prevent_initial_call=True)
    @guarded(3)
    def show_compare(version, sid):
        from .figures import difference_heatmap

        result = current(sid, "compare")
        g = result.global_tests
        a, b = result.models
        columns = [{"name": c if c not in ("A", "B") else f"{c}: {[a, b][c == 'B']}", "id": c} for c in g.columns]
        rows = g.round(6).astype(object).where(g.notna(), None).to_dict("records")
        return columns, rows, difference_heatmap(result), no_update

    @app.callback(Output("bench-table", "srcDoc"), Output("bench-notes", "children"), ERR,
                  Input("bench-version", "data"), Input("bench-metrics", "value"), State("sid", "data"),
                  prevent_initial_call=True)
    @guarded(2)
    def show_bench(version, metrics, sid):
        from ..cli._common import cli_words
        from ..render.bench_tables import check_metrics

        result = current(sid, "bench")
        notes = [html.Li("note: " + cli_words(n)) for n in dict.fromkeys(result.notes)]
        return work.bench_export(result, "html", check_metrics(metrics or ())).decode("utf-8"), notes, no_update

    @app.callback(Output("pairs-title", "children"), Output("cell-pairs", "columns"), Output("cell-pairs", "data"),
                  ERR, Input("diff-map", "clickData"), State("sid", "data"), prevent_initial_call=True)
    @guarded(3)
    def show_pairs(click, sid):
        from ..studies.cell_pairs import cell_pairs

        if not click or not click.get("points"):
            raise dash.exceptions.PreventUpdate
        session = store.get(sid)
        result = current(sid, "compare")
        point = click["points"][0]
        qd, q = float(point["x"]), float(point["y"])
        a, b = result.models
        pairs = cell_pairs(session.data, a, b, q, qd, top=15)
        title = f"Heaviest image pairs at MOS {q:.3f}, |ΔMOS| {qd:.3f} (A = {a}, B = {b})"
        columns = [{"name": c, "id": c, "type": "numeric", "format": {"specifier": ".4g"}}
                   if pairs[c].dtype.kind == "f" else {"name": c, "id": c} for c in pairs.columns]
        rows = pairs.astype(object).to_dict("records")
        return title, columns, rows, no_update

    # -- export -----------------------------------------------------------------------------
    @app.callback(Output("download", "data"), ERR, Input("score-export", "n_clicks"),
                  Input("surface-export", "n_clicks"), Input("compare-export", "n_clicks"),
                  Input("bench-export", "n_clicks"), State("score-format", "value"), State("surface-format", "value"),
                  State("view-method", "value"), State("bench-format", "value"), State("bench-metrics", "value"),
                  State("sid", "data"), prevent_initial_call=True)
    @guarded(1)
    def export(n1, n2, n3, n4, score_fmt, surface_fmt, method, bench_fmt, bench_metrics, sid):
        trigger = ctx.triggered_id
        if trigger == "score-export":
            body = work.score_export(current(sid, "score"), score_fmt)
            name = "scores" + work.SCORE_EXPORTS[score_fmt]
        elif trigger == "surface-export":
            name, body = work.surface_export(current(sid, "surface"), surface_fmt, method)
        elif trigger == "compare-export":
            name, body = "compare.json", work.compare_export(current(sid, "compare"))
        elif trigger == "bench-export":
            from ..render.bench_tables import check_metrics

            body = work.bench_export(current(sid, "bench"), bench_fmt, check_metrics(bench_metrics or ()))
            name = "table" + work.BENCH_EXPORTS[bench_fmt]
        else:
            raise dash.exceptions.PreventUpdate
        return dcc.send_bytes(body, name), ""

    _secure(app, max_upload)
    return app


#: the kinds of job whose results the page shows, in the order of its version stores
_KINDS = ("score", "surface", "compare", "bench")

# Runs in the browser on every upload: the decoded size of the files (from their base64 data
# URLs) against the limit; within it, the files go on to the server, else an error line.
_CHECK_UPLOAD = """function(contents, filenames, limit) {
    var noUpdate = window.dash_clientside.no_update;
    if (!contents) { return [noUpdate, noUpdate]; }
    var list = Array.isArray(contents) ? contents : [contents];
    var total = 0;
    for (var k = 0; k < list.length; k++) {
        var text = String(list[k] || "");
        var payload = text.slice(text.indexOf(",") + 1);
        var pad = payload.endsWith("==") ? 2 : (payload.endsWith("=") ? 1 : 0);
        total += Math.floor(payload.length / 4) * 3 - pad;
    }
    if (total > limit) {
        return [noUpdate, "error: the upload has " + total.toLocaleString("en-US") + " bytes; the limit is " +
                limit.toLocaleString("en-US") + " (iqa-eval serve --max-upload)"];
    }
    return [{contents: contents, filenames: filenames, at: Date.now()}, noUpdate];
}"""


def _numba_threadsafe() -> bool:
    """Whether numba's parallel kernels may run in two threads at once: the tbb and omp threading
    layers allow it; the workqueue fallback aborts the whole process when it happens."""
    import numba
    import numpy as np

    @numba.njit(parallel=True)
    def probe(x):
        total = 0.0
        for i in numba.prange(x.size):
            total += x[i]
        return total

    probe(np.ones(4))
    return numba.threading_layer() in ("tbb", "omp")


def _decode_one(text, name, limit=None):
    """The bytes of one uploaded file (a data URL), at most ``limit`` of them when given."""
    from ..errors import InputError

    head, _, payload = str(text).partition(",")
    try:
        body = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("the upload could not be decoded", file=str(name)) from None
    if limit is not None and len(body) > limit:
        raise InputError(f"the upload has {len(body):,} bytes; the limit is {limit:,} (iqa-eval serve --max-upload)",
                         file=str(name))
    return body


def _save_upload(session, contents, filenames, max_upload):
    """Write an upload's files into the session's own folder; the size limit checked first."""
    from ..errors import InputError

    if not contents:
        raise InputError("the upload was empty")
    contents = contents if isinstance(contents, list) else [contents]
    filenames = filenames if isinstance(filenames, list) else [filenames]
    if len(contents) > _MAX_FILES:
        raise InputError(f"{len(contents)} files in one upload; at most {_MAX_FILES}")
    decoded = [(name, _decode_one(text, name)) for text, name in zip(contents, filenames)]
    total = sum(len(b) for _, b in decoded)
    if total > max_upload:
        raise InputError(f"the upload has {total:,} bytes; the limit is {max_upload:,} "
                         "(iqa-eval serve --max-upload)")
    return _write_upload(session, decoded)


def _write_upload(session, decoded):
    """Replace the session's files by ``decoded`` ``(name, bytes)``: (paths, names)."""
    from ..errors import InputError

    if len(decoded) > _MAX_FILES:
        raise InputError(f"{len(decoded)} files in one upload; at most {_MAX_FILES}")
    for old in session.folder.iterdir():
        old.unlink()
    taken, files = set(), []
    for name, body in decoded:
        path = session.folder / _safe_name(name, taken)
        path.write_bytes(body)
        files.append(path)
    return files, [p.name for p in files]


def _load_session(store, session, files, labels, join, source=None):
    """Read ``files`` as every command does and make them the session's data: a new data
    version, its results and running jobs dropped. Returns the Dataset."""
    data = work.load(files, join=join)
    with session.lock:
        session.data, session.files, session.file_labels = data, list(files), list(labels)
        session.load_options = {"join": join}
        session.source = source
        session.data_version += 1
        # the paper table reads the datasets given at start, not the session's data: it stays
        for key in [k for k in session.cache if k[0] != "bench"]:
            del session.cache[key]
        for kind in [k for k in session.current if k != "bench"]:
            del session.current[kind]
        for kind, job in session.jobs.items():
            if kind != "bench":
                store.cancel(job)
                job.delivered = True         # superseded by the new data, not a failure
    return data


def _score_table(result):
    """Columns and rows of the sortable score table (numbers kept numeric so they sort), the
    tie mark as its own column, and the legend."""
    from ..render.formatting import TIE_MARK, _legend

    t = result.table
    keep = ["model", "tied", "n", "srocc", "srocc_ci_low", "srocc_ci_high", "krcc", "krcc_ci_low", "krcc_ci_high",
            "plcc", "plcc_ci_low", "plcc_ci_high", "plcc_raw", "rmse", "mae", "outlier_ratio", "rmse_star",
            "mapping", "flipped"]
    frame = t.assign(tied=[TIE_MARK if v else "" for v in t["tied_with_best"]])
    keep = [c for c in keep if c in frame.columns]
    frame = frame[keep]
    columns = [{"name": c, "id": c, "type": "numeric" if frame[c].dtype.kind in "fi" else "text",
                "format": {"specifier": ".4f"} if frame[c].dtype.kind == "f" else None} for c in keep]
    columns = [{k: v for k, v in c.items() if v is not None} for c in columns]
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for r in rows:
        r["flipped"] = "yes" if r.get("flipped") else ""
    return columns, rows, _legend(result)


def _secure(app, max_upload):
    """Headers of every response: a Content-Security-Policy allowing only this server's scripts
    (Dash's one inline script by its hash), no framing, no sniffing; an upload over the limit
    is an error the page shows."""
    from flask import jsonify

    hashes = " ".join(app.csp_hashes())   # already quoted
    csp = ("default-src 'self'; script-src 'self' " + hashes + "; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
           "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")

    @app.server.after_request
    def headers(response):
        response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.server.errorhandler(413)
    def too_large(exc):
        return jsonify(error=f"the upload is over the limit of {max_upload:,} bytes"), 413

    app.csp = csp
