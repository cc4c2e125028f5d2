"""Presentation: text tables, LaTeX, Markdown, HTML pages, figures, the report; escaping of user text."""
