"""The GMC studio (``iqa-eval serve``): a local web app over the library, the top layer.

:func:`create_app` builds the Dash app; ``iqa-eval serve`` runs it. Needs the ``[serve]``
extra (Dash). See docs/serve.md.
"""
from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name):   # Dash is imported only when the app is built
    if name == "create_app":
        from .app import create_app
        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
