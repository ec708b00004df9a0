"""User-facing errors.

Anything a user can cause (bad CSV, missing image, wrong embedding shape) raises
:class:`ShopeeError` with a one-line message; the CLI prints it as ``error: ...``
and exits non-zero, the dashboard shows it as a readable message. Bugs stay
ordinary exceptions so they keep their tracebacks.
"""


def examples(items, n: int = 5) -> str:
    """The first ``n`` of ``items`` for a one-line message (``a, b, c, ...``)."""
    items = [str(x) for x in items]
    return ", ".join(items[:n]) + (", ..." if len(items) > n else "")


class ShopeeError(Exception):
    """A problem with the user's input, reported in one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class DataError(ShopeeError):
    """Malformed catalog: CSV, columns, titles or images."""


class EmbeddingError(ShopeeError):
    """Embeddings that do not fit their postings (shape, dtype, NaN)."""


class DecisionError(ShopeeError):
    """A decision its candidate pool cannot support (missing table, embeddings, labels...)."""
