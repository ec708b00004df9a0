"""Untrusted text (titles, posting ids, group labels, model ids and labels, file names, evidence
strings, error messages) shown literally: one function per rendering context.

Titles come from sellers and labels from whoever imports a model, so none of it may become markup,
a link, an image (a request to another host), an icon or a formula. Streamlit 1.67 renders Markdown
in ``st.markdown``/``st.caption``/``st.write``/alerts, in widget labels, ``help`` tooltips, metric
labels, values and deltas, radio / pills / segmented-control options and spinner texts; it renders
raw HTML only with ``unsafe_allow_html``. Plotly renders a subset of HTML (``<b>``, ``<a href>``,
``<br>`` ...) in hover texts, trace names and titles. Selectbox and multiselect options and
dataframe cells are plain text.

- :func:`md` for Markdown contexts. Backslash escapes alone are not enough in Streamlit: after
  parsing, its plug-ins rewrite the *text* (escapes already resolved) — ``:smile:`` shortcodes and
  ``:material_x:`` / ``:streamlit:`` become icons or an image, `` -> `` / `` <= `` become arrows
  and signs, and GFM turns ``http://``, ``www.`` and ``name@host.tld`` into links. ``md`` escapes
  every ASCII punctuation character (CommonMark guarantees an escaped one is shown as itself, so no
  emphasis, heading, list, table, link, image, HTML, ``$`` math or ``:red[...]`` directive can
  form) and puts an invisible U+2060 WORD JOINER inside each of those text patterns, so no rewrite
  matches (and one in front of a leading emoji, which an alert would take as its icon). Only text
  holding such a pattern gets a joiner: the visible text is always the input.
- :func:`code` for an inline code span (posting ids, hashes, paths), the same guarantees.
  Inside backticks ``md`` would show its backslashes; the AST test in tests/app/ catches that.
- :func:`html_text` for HTML we build ourselves (gallery cards, tooltips in a ``title=``
  attribute): ``html.escape`` of a single line, so an HTML block (which a blank line would end,
  handing the rest to Markdown) stays one.
- :func:`plot_text` for Plotly texts: ``& < >`` escaped (Plotly reads ``&amp; &lt; &gt;`` back), and
  the ``%`` of every ``%{`` written ``&#37;``: hover, text and title templates substitute ``%{x}`` /
  ``%{meta}`` before the entities are decoded, so a label holding ``%{x}`` is shown as written
  inside a template too.
- :func:`plain` for plain-text widgets (selectbox / multiselect options).

All of them also isolate right-to-left text and bidi controls: a title with an unclosed U+202E
RIGHT-TO-LEFT OVERRIDE would otherwise reverse the UI text after it (" · train_123" drawn
backwards). Such a text is wrapped in U+2068 FIRST STRONG ISOLATE ... U+2069 POP DIRECTIONAL
ISOLATE — as many as its own stray or unclosed isolates need — so its direction stays inside;
text without RTL characters or bidi controls is returned without them. Control characters
(and U+2028/U+2029 line and paragraph separators) become spaces, as ``display_title`` does.
"""

from __future__ import annotations

import html
import math
import re
import string
import unicodedata

WORD_JOINER = "\u2060"
FSI, PDI = "\u2068", "\u2069"
# characters this module adds, never visible: tests strip these to compare what is shown
ADDED = frozenset((WORD_JOINER, FSI, PDI))

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# every ASCII punctuation character, each escapable in CommonMark
_PUNCT = re.compile("([" + re.escape(string.punctuation) + "])")
_SPACE = r"\s\ufeff"  # JavaScript's \s also holds U+FEFF
_BREAKS = (  # Streamlit's and remark's rewrites of parsed text; a joiner after each match breaks it
    re.compile(r":(?=[A-Za-z0-9_+\-]+:)"),  # :smile: :+1: :material_home: :streamlit: (remark-emoji, Streamlit)
    re.compile(r"(?i)https?:(?=//)"),  # http:// https:// (GFM autolink literals)
    re.compile(r"(?i)www(?=\.)"),  # www.
    re.compile(r"@(?=[\w\-])"),  # name@host.tld
)
_ISOLATE_OPEN = frozenset("\u2066\u2067\u2068")  # LRI RLI FSI
# a quick screen for the characters below (RTL scripts, marks and controls), checked exactly after
_MAYBE_BIDI = re.compile("[\u0590-\u08ff\u200f\u202a-\u202e\u2066-\u2069\ufb1d-\ufdff\ufe70-\ufefe"
                         "\U00010800-\U00010fff\U0001e800-\U0001efff]")
_BIDI_CLASSES = frozenset(("R", "AL", "RLE", "LRE", "RLO", "LRO", "PDF", "RLI", "LRI", "FSI", "PDI"))


def _str(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _CONTROL.sub(" ", str(value))


def _arrow_breaks(text: str) -> str:
    """A joiner inside every ``->``, ``<-``, ``<->``, ``--``, ``>=``, ``<=``, ``~=`` that stands
    between spaces (or at an end): Streamlit turns exactly those into arrows and signs."""
    return re.sub(rf"(?:(?<=[{_SPACE}])|^)(<->|->|<-|--|>=|<=|~=)(?=[{_SPACE}]|$)",
                  lambda m: m.group(1)[0] + WORD_JOINER + m.group(1)[1:], text)


def _joined(text: str) -> str:
    text = _arrow_breaks(text)
    for pattern in _BREAKS:
        text = pattern.sub(lambda m: m.group(0) + WORD_JOINER, text)
    return text


def isolate(text: str) -> str:
    """``text`` inside first-strong isolates when it holds RTL letters or bidi controls.

    One FSI … PDI pair, plus an FSI in front for each stray PDI in ``text`` (one that would
    otherwise close ours and let what follows leak out) and a PDI behind for each isolate ``text``
    leaves open — never a PDI more, which would close an isolate around us. Embeddings and
    overrides (LRE RLE LRO RLO) end at the isolate's PDI (UAX #9, X6a).
    """
    if not _MAYBE_BIDI.search(text) or not any(unicodedata.bidirectional(c) in _BIDI_CLASSES for c in text):
        return text
    depth = stray = 0
    for c in text:
        if c in _ISOLATE_OPEN:
            depth += 1
        elif c == PDI:
            if depth:
                depth -= 1
            else:
                stray += 1
    return FSI * (1 + stray) + text + PDI * (1 + depth)


def md(value) -> str:
    """``value`` as literal text inside Markdown (``st.markdown``, captions, alerts, labels, help,
    metric texts, radio / pills options): what is shown is exactly ``str(value)``.

    A leading emoji gets a joiner in front too: an alert (``st.error`` ...) whose body starts with
    one would otherwise take it out of the text as the alert's icon."""
    text = _joined(_str(value))
    lead = len(text) - len(text.lstrip())
    if lead < len(text) and not text[lead].isascii() and not text[lead].isalnum():
        text = text[:lead] + WORD_JOINER + text[lead:]
    return isolate(_PUNCT.sub(r"\\\1", text))


def code(value) -> str:
    """``value`` as an inline code span (ids, hashes, paths) inside Markdown. A code span shows its
    content as is — but Streamlit rewrites ``:material/`` in the raw source, code spans included,
    so such a text (and an empty one) falls back to :func:`md`."""
    text = _str(value)
    if not text.strip() or ":material/" in text:
        return md(text)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " ") else ""
    return fence + pad + isolate(text) + pad + fence


def html_text(value) -> str:
    """``value`` as literal text in HTML we write (element content or a quoted attribute)."""
    # ":" as a reference too: Streamlit rewrites ":material/" to ":material_" in the whole source, HTML included
    return isolate(html.escape(_str(value), quote=True).replace(":", "&#58;"))


def plot_text(value) -> str:
    """``value`` as literal text in a Plotly hover text, trace name, tick label or title, also
    when it is put into a ``hovertemplate`` / ``texttemplate``: Plotly substitutes ``%{...}``
    first and decodes ``&#37;`` to ``%`` after, so no template field can form."""
    text = _str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return isolate(text.replace("%{", "&#37;{"))


def short(value, n: int) -> str:
    """At most ``n`` characters (None / NaN as empty), cut with "…": the one truncation of shown text, so
    every label, caption and chip cuts the same way (wrap it with md / plain / html_text to show it)."""
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def plain(value) -> str:
    """``value`` in a plain-text widget (selectbox / multiselect option): only isolated."""
    return isolate(_str(value))


def shown(text: str) -> str:
    """What a reader sees of a rendered text: the invisible characters this module adds removed
    (for tests comparing a page's text with the original)."""
    return "".join(c for c in text if c not in ADDED)
