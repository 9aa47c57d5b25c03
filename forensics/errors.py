"""Exceptions of the forensics package.

Every error the package raises derives from :class:`ForensicsError`, so a notebook or a
caller can catch one type. Errors about evidence carry *where* they happened (a file, an
S3 URI, a record index), following pySigma's habit of errors with a location.

Failures that concern a single file or record never raise during a load: they are
collected in the load report (see :mod:`forensics.loadreport`). These exceptions are for
problems that make a whole request impossible (a source that does not exist, a window
that ends before it starts, an unknown notebook parameter).
"""

from __future__ import annotations


class ForensicsError(Exception):
    """Base class of every error raised by the forensics package."""


class SourceError(ForensicsError):
    """A source of evidence cannot be read at all.

    Parameters
    ----------
    message
        What went wrong and, where possible, what to do about it.
    location
        The path, URI or resource the error is about.
    """

    def __init__(self, message: str, location: str | None = None) -> None:
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class WindowError(ForensicsError, ValueError):
    """An incident window or a time bound is invalid (naive, impossible, or reversed)."""


class SchemaError(ForensicsError, ValueError):
    """A frame does not follow one of the package's schemas (missing columns, wrong dtypes)."""


class ParameterError(ForensicsError, ValueError):
    """A notebook parameter is unknown, badly named or of the wrong type."""


class ReportError(ForensicsError):
    """Running a notebook or rendering its report failed.

    Parameters
    ----------
    message
        What failed.
    notebook
        The notebook that was run.
    cell_index
        Index of the failing cell, when a cell raised.
    """

    def __init__(self, message: str, notebook: str | None = None, cell_index: int | None = None) -> None:
        self.notebook = notebook
        self.cell_index = cell_index
        where = notebook or ""
        if cell_index is not None:
            where += f" (cell {cell_index})"
        super().__init__(f"{where}: {message}" if where else message)


class IntegrityError(ForensicsError):
    """Evidence integrity cannot be established (for example no public keys are available)."""


class MetricsError(ForensicsError):
    """CloudWatch metric or alarm data cannot be read or does not fit the request."""
