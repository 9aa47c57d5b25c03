"""The HTML of a report: no code, no scripts, no remote resources, sanitized, offline.

Reports show attacker-controlled strings (user agents, error messages, resource names), so
the HTML is built to stay inert: code cells are left out; require.js, MathJax, mermaid and
widget scripts are removed from the template; a Content-Security-Policy forbids scripts and
remote loads; nbconvert's ``SanitizeHTML`` runs with an explicit allow-list over every HTML
and Markdown output; printed output has its control characters made visible; figures are
embedded as data URIs. Open the files from disk, not from a running Jupyter server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from nbconvert.preprocessors.sanitize import SanitizeHTML

from forensics.display import safe_text

#: Content-Security-Policy of every report: nothing loads, nothing runs.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'none'"
#: Tags and attributes kept by the HTML sanitizer (everything else is stripped).
ALLOWED_TAGS: tuple[str, ...] = (
    "table", "thead", "tbody", "tr", "th", "td", "caption", "pre", "code", "span", "div", "p",
    "h1", "h2", "h3", "h4", "ul", "ol", "li", "b", "i", "strong", "em", "a", "br",
)  # fmt: skip

_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}
<meta http-equiv="Content-Security-Policy" content="{{ resources.forensics_csp }}">
{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block data_javascript -%}{%- endblock data_javascript -%}
{%- block data_widget_view -%}{%- endblock data_widget_view -%}
{%- block data_mermaid -%}{%- endblock data_mermaid -%}
{%- block data_png scoped -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
{%- set alt = (output | get_metadata('alt', 'image/png')) or 'figure' -%}
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}" alt="{{ alt | escape_html }}">
</div>
{%- endblock data_png -%}
{%- block html_head_css -%}
<style type="text/css">
main { max-width: 1200px; margin: 0 auto; }
.jp-Notebook :not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td,
.jp-Notebook :not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon th {
  text-align: left; vertical-align: top; white-space: pre-wrap; overflow-wrap: anywhere; max-width: 48em;
}
.jp-Notebook .jp-RenderedHTMLCommon .forensics-note { color: #555; font-size: 0.9em; margin-top: 0.2em; }
</style>
{%- endblock html_head_css -%}
"""


class VisibleStreamControls(Preprocessor):
    """Show control characters of printed output (stdout, stderr) as escapes.

    nbconvert turns ANSI sequences in streams into styled spans (black on black hides
    text) and ``SanitizeHTML`` does not look at streams; notebooks print through
    :func:`~forensics.display.safe_text`, and this catches anything printed raw.
    """

    def preprocess_cell(self, cell: Any, resources: dict, index: int) -> tuple[Any, dict]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                output["text"] = "\n".join(safe_text(line, None) for line in output["text"].split("\n"))
        return cell, resources


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    """Sanitizer rule: ``class`` and ``id`` anywhere, ``href`` only to anchors in the page."""
    return name in ("class", "id") or (tag == "a" and name == "href" and value.startswith("#"))


def html_exporter() -> HTMLExporter:
    """The exporter of every report: no code, no scripts, no remote resources, sanitized."""
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"forensics_report.html.j2": _TEMPLATE})],
        template_file="forensics_report.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        require_js_url="",
        mathjax_url="",
        mermaid_js_url="",
        jquery_url="",
        jupyter_widgets_base_url="",
        widget_renderer_url="",
    )
    sanitizer = SanitizeHTML(
        tags=list(ALLOWED_TAGS),
        attributes=_allowed_attribute,
        strip=True,
        safe_output_keys={"metadata", "text/plain", "image/png"},
        sanitized_output_types={"text/html", "text/markdown"},
    )
    exporter.register_preprocessor(VisibleStreamControls(), enabled=True)
    exporter.register_preprocessor(sanitizer, enabled=True)
    return exporter


def render_html(executed: str | os.PathLike[str], html_path: str | os.PathLike[str]) -> Path:
    """Convert an executed notebook into the report's HTML (see :func:`html_exporter`)."""
    source = Path(executed)
    notebook = nbformat.read(source, as_version=4)
    resources = {"metadata": {"name": source.stem}, "forensics_csp": CSP}
    body, _ = html_exporter().from_notebook_node(notebook, resources=resources)
    target = Path(html_path)
    target.write_text(body, encoding="utf-8")
    return target
