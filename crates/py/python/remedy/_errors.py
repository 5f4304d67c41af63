"""The exceptions Remedy raises (also importable as ``remedy.BadInput`` and ``remedy.RemedyError``)."""


class RemedyError(Exception):
    """Anything that went wrong inside Remedy that is not the caller's input."""


class BadInput(RemedyError, ValueError):
    """The input is at fault: a missing column, a NaN, an unknown category, a cycle in the
    graph, a corrupt model directory, a bad setting. The CLI exits with status 2 on the same
    message."""
