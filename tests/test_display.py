"""Safe display of evidence: visible controls, truncation, escaped tables."""

from __future__ import annotations

import sys
import unicodedata
from html.parser import HTMLParser

import pandas as pd
import pytest

from forensics import load_cloudtrail
from forensics.display import (
    TRUNCATION,
    safe_frame,
    safe_text,
    setup,
    show_counts,
    show_fields,
    show_table,
)


class Parsed(HTMLParser):
    """Elements, attributes and text of an HTML fragment."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text", "plain text"),
        ("\x1b[30;40mhidden\x1b[0m", "\\x1b[30;40mhidden\\x1b[0m"),
        ("a\x00b", "a\\x00b"),
        ("line1\nline2\rover\tx", "line1\\nline2\\rover\\tx"),
        ("\x7f\x85\x9b", "\\x7f\\x85\\x9b"),
        ("invoice\u202egpj.exe", "invoice<U+202E>gpj.exe"),
        ("\u2066isolate\u2069 \u200f", "<U+2066>isolate<U+2069> <U+200F>"),
        ("ad\u200bmin\u200d\ufeff", "ad<U+200B>min<U+200D><U+FEFF>"),
        ("para\u2029sep", "para<U+2029>sep"),
        ("tag\U000e0041", "tag<U+E0041>"),
        ("lone \ud800 surrogate", "lone <U+D800> surrogate"),
        ("filler\u3164", "filler<U+3164>"),
        ("ünïcödé 東京 😀", "ünïcödé 東京 😀"),
        ("$x$ and <b>", "$x$ and <b>"),
        (12345678901, "12345678901"),
    ],
)
def test_safe_text_makes_hidden_characters_visible(raw: object, shown: str) -> None:
    assert safe_text(raw) == shown


def test_safe_text_truncates_with_the_original_length() -> None:
    assert safe_text("a" * 1000, limit=10) == "a" * 10 + TRUNCATION.format(total=1000)
    assert safe_text("a" * 1000, limit=10).endswith("… (truncated, 1,000 chars)")
    assert safe_text("a" * 10, limit=10) == "a" * 10
    assert safe_text("a" * 1000, limit=None) == "a" * 1000


def test_safe_text_never_cuts_an_escape_in_half() -> None:
    # "abc" is 3 chars; the escape \x1b is 4 more, so a limit of 5 stops before it.
    assert safe_text("abc\x1bdef", limit=5) == "abc" + TRUNCATION.format(total=7)
    assert safe_text("abc\x1bdef", limit=7) == "abc\\x1b" + TRUNCATION.format(total=7)


def test_every_invisible_code_point_of_the_basic_plane_is_made_visible() -> None:
    """The hand-written character class covers every Cc, Cf, Zl, Zp and Cs code point."""
    missed = [
        f"U+{code:04X}"
        for code in range(0x10000)
        if unicodedata.category(chr(code)) in ("Cc", "Cf", "Zl", "Zp", "Cs")
        and safe_text(chr(code)) == chr(code)
    ]
    assert missed == []


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Unicode tables differ")
def test_invisible_code_points_beyond_the_basic_plane_are_made_visible() -> None:
    missed = [
        f"U+{code:04X}"
        for code in range(0x10000, 0x110000)
        if unicodedata.category(chr(code)) == "Cf" and safe_text(chr(code)) == chr(code)
    ]
    assert missed == []


XSS = pd.DataFrame(
    {
        "userAgent": ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>"],
        "<svg onload=alert(3)>": ["</td></tr></table><b>break</b>", "https://x.example/\"onmouseover=alert(4)"],
        "count": [1, 2],
    },
    index=pd.Index(["<i>row</i>", "ok"], name="<u>idx</u>"),
)


def test_show_table_html_has_no_live_markup_and_shows_every_payload_as_text() -> None:
    parsed = Parsed(show_table(XSS)._repr_html_())
    assert set(parsed.tags) <= {"table", "thead", "tbody", "tr", "th", "td"}
    assert set(parsed.attributes) <= {("class", "dataframe"), ("style", "text-align: right;")}  # pandas' own
    text = "".join(parsed.text)
    for payload in [*XSS["userAgent"], *XSS.iloc[:, 1], "<svg onload=alert(3)>", "<i>row</i>", "<u>idx</u>"]:
        assert payload in text


def test_show_table_escapes_controls_in_cells_labels_and_categories() -> None:
    frame = pd.DataFrame(
        {"agent\u202e": pd.Categorical(["\x1b[8mhidden", None]), "n": [1, 2]},
        index=pd.Index(["a\u200bb", "c"]),
    )
    safe = safe_frame(frame)
    assert list(safe.columns) == ["agent<U+202E>", "n"]
    assert list(safe.index) == ["a<U+200B>b", "c"]
    assert safe.iloc[0, 0] == "\\x1b[8mhidden"
    assert pd.isna(safe.iloc[1, 0])
    assert list(safe["n"]) == [1, 2]
    assert frame.iloc[0, 0] == "\x1b[8mhidden"  # the original is untouched


def test_every_kind_of_text_column_is_made_safe() -> None:
    import pyarrow as pa

    text = "\x1b]0;title\x07"
    frame = pd.DataFrame(
        {
            "str": pd.Series([text], dtype="str"),
            "object": pd.Series([text], dtype=object),
            "arrow": pd.Series([text], dtype=pd.ArrowDtype(pa.string())),
            "category": pd.Series([text], dtype="category"),
            "list": pd.Series([[text]], dtype=object),
            "time": pd.to_datetime(["2024-03-14T02:00:00Z"]),
            "int": [1],
            "bool": pd.array([True], dtype="boolean"),
        }
    )
    row = safe_frame(frame).iloc[0].to_dict()
    assert {k: row[k] for k in ("str", "object", "arrow", "category")} == dict.fromkeys(
        ("str", "object", "arrow", "category"), "\\x1b]0;title\\x07"
    )
    assert row["list"] == "['\\x1b]0;title\\x07']"  # str() of the list already escapes
    assert (row["time"], row["int"], row["bool"]) == (pd.Timestamp("2024-03-14T02:00:00Z"), 1, True)


def test_show_table_truncates_rows_and_values_and_says_so() -> None:
    frame = pd.DataFrame({"requestParameters": ["x" * 500] * 80})
    table = show_table(frame, max_rows=5, max_colwidth=20)
    assert len(table.frame) == 5
    assert table.frame.iloc[0, 0] == "x" * 20 + TRUNCATION.format(total=500)
    assert table.note == "showing 5 of 80 rows"
    assert "showing 5 of 80 rows" in table._repr_html_()
    assert repr(table).endswith("showing 5 of 80 rows")


def test_an_empty_table_says_no_rows() -> None:
    table = show_table(pd.DataFrame({"path": [], "reason": []}))
    assert table._repr_html_() == '<p class="forensics-note">no rows</p>'
    assert repr(table) == "no rows"


def test_a_complete_table_has_no_row_note() -> None:
    table = show_table(pd.DataFrame({"a": [1, 2]}))
    assert table.note == ""
    assert "forensics-note" not in table._repr_html_()


def test_show_counts_counts_values_of_loaded_events(small_trail) -> None:
    events = load_cloudtrail(small_trail.path).events
    table = show_counts(events["eventName"], label="eventName")
    assert table.frame.to_dict("list") == {
        "eventName": ["GetObject", "ListBuckets", "PutBucketPolicy"],
        "events": [4, 2, 2],
        "share": ["50.0%", "25.0%", "25.0%"],
    }
    assert table.note == "3 distinct values in 8 events"
    errors = show_counts(events["errorCode"], label="errorCode")
    assert errors.frame.to_dict("list") == {"errorCode": ["AccessDenied"], "events": [2], "share": ["25.0%"]}
    assert errors.note == "1 distinct values in 8 events; 6 without a value"


def test_show_counts_leaves_out_unused_categories_and_keeps_the_top() -> None:
    values = pd.Series(pd.Categorical(["b", "a", "b", "c"], categories=["a", "b", "c", "unused"]))
    table = show_counts(values, top=2)
    assert table.frame.to_dict("list") == {"value": ["b", "a"], "events": [2, 1], "share": ["50.0%", "25.0%"]}
    assert table.total_rows == 3
    assert table.note == "3 distinct values in 4 events (showing 2 of 3 rows)"


def test_show_fields_is_a_safe_two_column_table() -> None:
    table = show_fields({"case": "IR-1\u202e", "events": 42})
    assert table.frame.to_dict("list") == {"field": ["case", "events"], "value": ["IR-1<U+202E>", "42"]}
    assert table.note == ""
    assert "<th>0</th>" not in table._repr_html_()  # no index column


def test_setup_turns_off_mathjax_and_leaves_options_sane() -> None:
    options = ("display.html.use_mathjax", "display.max_rows", "display.max_colwidth", "display.width")
    with pd.option_context(*(x for name in options for x in (name, pd.get_option(name)))):
        pd.set_option("display.html.use_mathjax", True)
        setup()
        assert pd.get_option("display.html.use_mathjax") is False
        assert pd.get_option("display.max_colwidth") == 120
        html = pd.DataFrame({"policy": ["${aws:username}"]}).to_html()
        assert "tex2jax_ignore" in html
