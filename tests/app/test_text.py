"""dashboard/text.py: each helper shows untrusted text literally in its context (what Streamlit and
Plotly make of the output is checked in Chromium by tests/e2e/test_text_e2e.py)."""

from __future__ import annotations

import re
import string

import pytest

from dashboard.text import FSI, PDI, WORD_JOINER, code, html_text, isolate, md, plain, plot_text, shown
from shopee_core.data.demo.hostile import hostile_titles

RLO, PDF, LRI = "\u202e", "\u202c", "\u2066"


def unescape_md(text: str) -> str:
    """What CommonMark makes of a text of backslash escapes (every ASCII punctuation character)."""
    return re.sub(r"\\([" + re.escape(string.punctuation) + "])", r"\1", text)


@pytest.mark.parametrize("title", hostile_titles(), ids=lambda t: repr(t[:30]))
def test_md_escapes_every_punctuation_and_reads_back_as_the_title(title):
    out = md(title)
    # no ASCII punctuation is left unescaped, so no Markdown construct can start
    assert not re.search(r"(?<!\\)(?:\\\\)*[" + re.escape(string.punctuation.replace("\\", "")) + "]",
                         out.replace("\\\\", "")), out
    expected = " ".join(re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", title).split())
    assert " ".join(shown(unescape_md(out)).split()) == shown(expected)


def test_md_breaks_streamlit_text_rewrites_with_an_invisible_joiner():
    assert md(":smile: :+1: :material_home:") == (
        f"\\:{WORD_JOINER}smile\\: \\:{WORD_JOINER}\\+1\\: \\:{WORD_JOINER}material\\_home\\:")
    assert WORD_JOINER not in md("10:30 a:b")  # no shortcode shape: nothing added
    for arrow in ("->", "<-", "<->", "--", ">=", "<=", "~="):
        assert WORD_JOINER in md(f"a {arrow} b") and WORD_JOINER in md(arrow), arrow
    assert WORD_JOINER not in md("a-b a->b x<=y")  # Streamlit only rewrites them between spaces
    assert md("http://x.invalid") == f"http\\:{WORD_JOINER}\\/\\/x\\.invalid"
    assert WORD_JOINER in md("www.x.invalid") and WORD_JOINER in md("me@x.invalid")
    assert md("plain title 30ml") == "plain title 30ml"  # ordinary text is unchanged
    assert md("\U0001f6cd\ufe0f promo") == WORD_JOINER + "\U0001f6cd\ufe0f promo"  # not an alert's icon
    assert md("Léngket ✨") == "Léngket ✨" and md("é") == "é"


def test_md_keeps_one_line_and_material_paths_escaped():
    assert md("a\n\n# b\r\tc") == "a  \\# b  c"
    assert ":material/" not in md(":material/home:")  # Streamlit rewrites that in the raw source


def test_isolate_leaves_ltr_text_alone_and_wraps_rtl_and_controls():
    assert isolate("kaos polos") == "kaos polos"
    ar = "\u0633\u0645\u0627\u0639\u0629"
    assert isolate(ar) == FSI + ar + PDI
    assert isolate(f"a{RLO}b") == f"{FSI}a{RLO}b{PDI}"
    assert isolate(f"a{RLO}b{PDF}") == f"{FSI}a{RLO}b{PDF}{PDI}"


def test_isolate_balances_stray_and_unclosed_isolates():
    # a stray PDI would close our isolate early: one more FSI in front (which it closes instead)
    assert isolate(f"{PDI}{RLO}x") == f"{FSI * 2}{PDI}{RLO}x{PDI}"
    # an isolate the text opens and never closes: closed behind it, then ours
    assert isolate(f"{LRI}{RLO}x") == f"{FSI}{LRI}{RLO}x{PDI * 2}"
    for text in (f"{PDI}{PDI}{RLO}x{LRI}", f"{LRI}{PDI}{PDI}{RLO}"):
        out = isolate(text)
        depth = 0
        for c in out:  # our first FSI is closed by the very last PDI, never before
            depth += c in (FSI, LRI)
            depth -= c == PDI
            assert depth >= 1 or c == out[-1]
        assert depth == 0


def test_code_spans_fence_backticks_and_fall_back_where_streamlit_rewrites():
    assert code("train_123") == "`train_123`"
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"
    assert code(":material/home:") == md(":material/home:")
    assert code("   ") == md("   ") == "   "
    assert code(f"x{RLO}y") == f"`{FSI}x{RLO}y{PDI}`"


def test_html_text_escapes_markup_quotes_colons_and_line_breaks():
    out = html_text('<img src=x onerror="alert(1)"> & :material/home:\n\nnext')
    assert "<" not in out and '"' not in out and ":" not in out and "\n" not in out
    assert out.startswith("&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &#58;material/home&#58;")


def test_plot_text_escapes_what_plotly_reads_as_html():
    assert plot_text('<a href="http://x.invalid">a</a> & <br> 100%') == (
        '&lt;a href="http://x.invalid"&gt;a&lt;/a&gt; &amp; &lt;br&gt; 100%')
    assert plot_text(None) == plain(float("nan")) == ""


# Plotly.js's template field (its TEMPLATE_STRING_REGEX) and its entity decoding (svg_text_utils
# convertEntities): a model name is put into a hovertemplate, and texts are decoded after substitution
PLOTLY_FIELD = re.compile(r"%{([^\s%{}:]*)([:|\|][^}]*)?}")


def plotly_decode(text: str) -> str:
    names = {"amp": "&", "lt": "<", "gt": ">"}
    return re.sub(r"&(#\d+|#x[\da-fA-F]+|[a-z]+);", lambda m: chr(int(m[1][2:], 16)) if m[1][:2] == "#x" else
                  chr(int(m[1][1:])) if m[1][0] == "#" else names.get(m[1], m[0]), text)


@pytest.mark.parametrize("name", ["model %{x}", "%{y:.2f} · %{customdata[0]|%Y}", "%{meta}%{", "a &#37;{x} b",
                                  "100%{ %{x"])
def test_plot_text_keeps_plotly_template_fields_literal(name):
    """A model called ``model %{x}`` in ``hovertemplate=f"{plot_text(name)}: %{{y}}"`` must read
    ``model %{x}: 0.5``, not ``model 3: 0.5``."""
    out = plot_text(name)
    assert not PLOTLY_FIELD.search(out) and "%{" not in out, out
    template = out + ": %{y}"
    filled = PLOTLY_FIELD.sub(lambda m: "0.5" if m[1] == "y" else "SUBSTITUTED", template)
    assert plotly_decode(filled) == name + ": 0.5"


def test_plain_only_isolates():
    assert plain("**b** <i>") == "**b** <i>"
    assert plain(f"x{RLO}y") == f"{FSI}x{RLO}y{PDI}"
