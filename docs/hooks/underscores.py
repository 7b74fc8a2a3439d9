"""A MkDocs hook: underscores never make emphasis, so ``x̂_0 of x_0`` stays as written.

The docstrings (and so the API reference) write maths in Unicode: ``x̂_0``, ``σ_t²``, ``q(x_{t−1} | x_t)``.
Markdown reads an underscore that follows a non-letter (the combining hat of ``x̂``) as the
start of emphasis, so without this ``x̂_0 of x_0`` renders as "x̂" and an italic "0 of x". Pages
and docstrings use ``*text*`` for emphasis, and maths on pages is in ``$...$``, which this does
not touch. The extension is added to every Markdown instance MkDocs and mkdocstrings build.
"""

from __future__ import annotations

from markdown import Extension, Markdown


class NoUnderscoreEmphasis(Extension):
    """Remove ``_`` as an emphasis delimiter (``*`` keeps working)."""

    def extendMarkdown(self, md: Markdown) -> None:
        delimiters = getattr(md, "delimiters", None)
        if delimiters is not None:  # Python-Markdown >= 3.11: one delimiter processor for * and _
            delimiters.remove("_")
        elif "em_strong2" in md.inlinePatterns:  # earlier versions: a pattern of its own
            md.inlinePatterns.deregister("em_strong2")


def on_config(config):
    config.markdown_extensions.append(NoUnderscoreEmphasis())
    return config
