"""The strict C decoder (``forensics/_ctdecode.c``): clean CloudTrail files into prepared Arrow columns.

A :class:`TableBuilder` takes the inflated bytes of one file after another and, for each
file that is perfectly clean (valid JSON and UTF-8 throughout, every field of the expected
type, every ``eventTime`` in CloudTrail's own ``YYYY-MM-DDTHH:MM:SSZ`` form), appends its
rows to columns that are already in their final form: ``eventTime`` as UTC timestamps,
``actor`` derived, category columns dictionary-encoded with one dictionary per column for
all the files. Any other file it declines (``add`` returns ``None`` and keeps nothing of
it): :func:`forensics.records.decode` then reads it and reports what is odd.

The builder gives the same table as :func:`forensics.records.decode` followed by
``reader.prepare`` (``tests/test_ctdecode.py`` and ``tests/test_ctbuilder.py`` hold the two
paths to that). Without a C compiler at install time, or with ``FORENSICS_DECODER=python``
in the environment, there is no builder (:func:`builder` returns ``None``).
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa

from forensics import schema
from forensics.records import RECORD_COLUMNS

try:
    from forensics import _ctdecode
except ImportError:  # installed without a C compiler: msgspec decodes every file
    _ctdecode = None
if os.environ.get("FORENSICS_DECODER", "").lower() == "python":
    _ctdecode = None

#: Columns of :meth:`TableBuilder.finish`, in order: the record columns (without
#: ``record_index``, which depends on how the files are split), then ``actor``.
COLUMNS: tuple[str, ...] = (*(name for name in RECORD_COLUMNS if name != "record_index"), "actor")
#: The record columns that are dictionary-encoded (``actor`` always is).
CATEGORIES: tuple[str, ...] = tuple(name for name in COLUMNS[:-1] if schema.DTYPES[name] == schema.CATEGORY)

_DICTIONARY = pa.dictionary(pa.int32(), pa.string())


def arrow_type(dtype: str) -> pa.DataType:
    """The Arrow type of a prepared column of schema ``dtype`` (``reader.TABLE_SCHEMA`` uses it too).

    Category columns are dictionaries with int32 indices here; prepared tables narrow the
    indices to :func:`index_type` of their dictionary's size.
    """
    if dtype == schema.CATEGORY:
        return _DICTIONARY
    if dtype == schema.TEXT:
        return pa.large_string()
    return {schema.BOOLEAN: pa.bool_(), schema.TIME: pa.timestamp("us", "UTC"), schema.INT32: pa.int32()}[dtype]


def index_type(size: int) -> pa.DataType:
    """The index type of a dictionary of ``size`` values in a prepared table.

    What pandas chooses for the codes of as many categories (int8 below 127 values, int16
    below 32767, else int32), so that the events frame can use the codes as they are.
    """
    return pa.int8() if size < 127 else pa.int16() if size < 32767 else pa.int32()


#: Schema of :meth:`TableBuilder.finish`, but for the index types of the dictionaries (:func:`index_type`).
SCHEMA = pa.schema([(name, arrow_type(schema.DTYPES[name])) for name in COLUMNS])


class TableBuilder:
    """Accumulates clean CloudTrail files into prepared Arrow columns (the C decoder)."""

    def __init__(self) -> None:
        if _ctdecode is None:
            raise RuntimeError("the C decoder is not available (use forensics.ctbuilder.builder())")
        self._builder = _ctdecode.Builder(CATEGORIES)

    def add(self, data: bytes) -> int | None:
        """Append the rows of one file and return how many; ``None`` if the file is declined.

        Parameters
        ----------
        data
            The file's content, already decompressed.

        Returns
        -------
        int or None
            The number of records appended (0 for ``{"Records": []}``), or ``None`` when
            the file is not perfectly clean or has an ``eventTime`` in another form than
            ``YYYY-MM-DDTHH:MM:SSZ``: then nothing of it is kept.
        """
        return self._builder.add(data)

    @property
    def rows(self) -> int:
        """Rows accumulated since the builder was made or last finished."""
        return self._builder.rows

    def finish(self) -> pa.Table:
        """The accumulated rows as a table; the builder starts again empty.

        The columns and types are those of :data:`SCHEMA`, except that the dictionaries'
        indices are :func:`index_type` of their size. The Arrow arrays use the builder's
        memory without a copy.
        """
        rows = self._builder.rows
        parts = self._builder.finish()
        return pa.table({name: _array(SCHEMA.field(name).type, rows, parts[name]) for name in COLUMNS})


def _array(kind: pa.DataType, rows: int, parts: tuple[object, ...]) -> pa.Array:
    """An Arrow array of ``rows`` values from the C builder's buffers for one column."""
    buffers = [None if part is None else pa.py_buffer(part) for part in parts]
    if kind == _DICTIONARY:
        validity, codes, offsets, data = buffers
        size = offsets.size // 4 - 1
        dictionary = pa.Array.from_buffers(pa.string(), size, [None, offsets, data], null_count=0)
        narrow = pa.dictionary(index_type(size), pa.string())
        return pa.DictionaryArray.from_buffers(narrow, rows, [validity, codes], dictionary)
    return pa.Array.from_buffers(kind, rows, buffers)


def builder() -> TableBuilder | None:
    """A new :class:`TableBuilder`, or ``None`` when the C decoder is not available."""
    return None if _ctdecode is None else TableBuilder()


def all_distinct(array: pa.Array) -> bool | None:
    """Whether no non-null value of ``array`` occurs twice; ``None`` without the C decoder.

    One pass over the array's own buffers with a hash set of row numbers (about 8 bytes
    per non-null row, freed before returning, none of it from Arrow's memory pool),
    stopping at the first duplicate; the GIL is released meanwhile. Nulls never count as
    duplicates; two empty strings do.

    Parameters
    ----------
    array
        A ``large_string`` or ``string`` array, possibly a slice (only the slice counts). A
        ``string`` array is cast to ``large_string`` first, which copies its offsets.

    Returns
    -------
    bool or None
        ``True`` if every non-null value is distinct, ``False`` if one occurs twice,
        ``None`` when the C decoder is not available (:data:`_ctdecode` is ``None``).

    Raises
    ------
    TypeError
        If ``array`` is not a string array.
    ValueError
        If the array's buffers are malformed (too short for its slice, offsets that
        decrease or point past the data).
    """
    if _ctdecode is None:
        return None
    if array.type == pa.string():
        array = array.cast(pa.large_string())
    elif array.type != pa.large_string():
        raise TypeError(f"all_distinct takes a string or large_string array, not {array.type}")
    validity, offsets, data = array.buffers()
    return _ctdecode.all_distinct(validity, offsets, data, array.offset, len(array))


def strict_table(data: bytes) -> pa.Table | None:
    """One file through a fresh builder, with ``record_index`` (0..n-1) added; ``None`` if declined.

    The columns are ``records.RECORD_COLUMNS`` then ``actor``, with the types of
    ``reader.TABLE_SCHEMA`` but for the dictionaries' :func:`index_type`: what
    ``reader.prepare`` gives for the same file decoded by :func:`forensics.records.decode`,
    without ``_file``. ``None`` also when the C decoder is not available.
    """
    build = builder()
    if build is None or build.add(data) is None:
        return None
    table = build.finish()
    index = pa.array(np.arange(table.num_rows, dtype=np.int32))
    return table.add_column(RECORD_COLUMNS.index("record_index"), "record_index", index)
