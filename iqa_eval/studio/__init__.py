"""The GMC studio (``iqa-eval serve``): a local web app over the library, the top layer.

:func:`iqa_eval.studio.app.create_app` builds the Dash app; ``iqa-eval serve`` runs it. Needs
the ``[serve]`` extra (Dash). See docs/serve.md.
"""
