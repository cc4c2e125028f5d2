"""Every HTML page the package writes: self-contained, with one Content-Security-Policy.

The policy allows only the inline scripts the page brought along (by their SHA-256
hashes), data:/blob: images and inline styles; nothing is fetched from the network.
Used by the report, the comparison page and ``save_figure``/``iqa-eval surface -o x.html``.
"""
from __future__ import annotations

import base64
import hashlib
import html
import re

__all__ = ["page"]

_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def page(title: str, body: str, *, with_plotly: bool, css: str = "") -> str:
    """A complete HTML document around ``body`` with the package's CSP."""
    head_scripts = ""
    if with_plotly:
        from .._runtime.optional import require

        get_plotlyjs = require("plotly.offline", "interactive HTML pages").get_plotlyjs
        plotly_js = get_plotlyjs()
        head_scripts = ("<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>"
                        f"<script>{plotly_js}</script>")
    text = (head_scripts + body).lower()
    scripts = _SCRIPT.findall(head_scripts + body)
    # A script body holding "</script" would end its element early (and "<!--" changes how
    # the parser looks for the end): user strings must never get there. plotly's JSON
    # encoder escapes '<', '>' and '/'; this check makes any regression fail loudly.
    if text.count("<script") != text.count("</script") or any("<!--" in s for s in scripts):
        raise AssertionError("internal error: unsafe text inside a generated <script> element")
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode()
                      + "'" for s in dict.fromkeys(scripts))
    # No 'unsafe-eval': surface traces (gl3d) need no code generation at run time; only the
    # regl-based traces, which the report does not use, would (tested in headless Chromium).
    csp = ("default-src 'none'; img-src data: blob:; style-src 'unsafe-inline'; font-src data:; "
           f"script-src {hashes}; worker-src blob:; connect-src 'none'; "
           "form-action 'none'; base-uri 'none'")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(str(title), quote=True)}</title><style>{css}</style>{head_scripts}</head>"
            f"<body>{body}</body></html>\n")


