"""``iqa-eval serve``: the GMC studio, a local web app (the ``[serve]`` extra; docs/serve.md)."""
from __future__ import annotations

import click

from ._common import Command, command, library_option

_APP = "studio.app:create_app"


class _Option(click.Option):
    """An option with its --help section."""

    def __init__(self, *args, section: str, **attrs):
        super().__init__(*args, **attrs)
        self.section = section


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command(cls=Command)
@click.argument("dirs", nargs=-1, type=click.Path(exists=True))
@click.option("--host", default="127.0.0.1", show_default=True, cls=_Option, section="Runtime",
              help="Address to listen on. Only this machine can connect to the default; any other "
                   "address lets whoever reaches it upload files and run computations (a warning says so).")
@click.option("--port", default=8050, show_default=True, type=click.IntRange(0, 65535), cls=_Option,
              section="Runtime",
              help="Port to listen on; 0 picks a free one (the URL line says which).")
@click.option("--max-upload", default="50M", show_default=True, metavar="SIZE", cls=_Option, section="Input",
              help="Largest upload (all files of one upload together), e.g. 50M or 2G.")
@library_option("--workers", library=_APP, section="Runtime",
                help="Threads that run computations; more requests wait their turn.")
@library_option("--max-sessions", library=_APP, section="Runtime",
                help="Browser sessions kept; the least recently used one is dropped beyond it, with its files.")
@command
def serve(dirs, host, port, max_upload, workers, max_sessions):
    """Explore, compare and export in the browser: the GMC studio.

    DIRS: folders (or files) whose tables the page lists; tables can also be uploaded. Nothing
    else on this machine can be named from the browser.

    \b
    Examples:
      iqa-eval serve
      iqa-eval serve results/ --port 8080
    """
    import logging
    import signal
    import sys

    from werkzeug.serving import make_server

    from .._runtime.resources import parse_size
    from ..errors import InputError
    from ..studio.app import create_app

    try:
        limit = parse_size(max_upload)
    except InputError:
        raise InputError(f"--max-upload must be a size such as 50M or 2G; got {max_upload!r}") from None
    app = create_app(dirs, max_upload=limit, workers=workers, max_sessions=max_sessions)
    if not _loopback(host):
        click.echo(f"warning: listening on {host}: anyone who can reach this machine on that address can "
                   "upload files and run computations here", err=True)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)   # no line per request
    server = make_server(host, port, app.server, threaded=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"serving the studio on http://{shown}:{server.server_port}/ (Ctrl-C stops it)")
    sys.stdout.flush()

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        app.studio_store.close()
