"""The hostile-title corpus and ``demo-data --hostile-titles``: every kind of hostile seller text the
issue names is in the corpus, its URLs point only at the reserved .invalid domain, and the catalog
written with it loads with every corpus title intact."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest

from shopee_core.cli import main
from shopee_core.data import load_catalog
from shopee_core.data.demo.hostile import HOSTILE_EVERY, hostile_titles
from shopee_core.data.text import display_title

TITLES = hostile_titles()

KINDS = {  # what the issue asks the corpus to hold -> a test on a title
    "Markdown image": lambda t: "![" in t and "](" in t,
    "Markdown link": lambda t: re.search(r"(?<!!)\[[^\]]*\]\(", t),
    "javascript: URL": lambda t: "javascript:" in t,
    "data: URL": lambda t: "](data:" in t,
    "raw HTML": lambda t: "<img " in t or "<b>" in t,
    "script": lambda t: "<script>" in t,
    "inline math": lambda t: re.search(r"\$[^$\s][^$]*\$", t),
    "display math": lambda t: "$$" in t,
    "material icon": lambda t: ":material/home:" in t,
    "colour directive": lambda t: ":red[" in t,
    "heading at the start": lambda t: t.startswith("# "),
    "list at the start": lambda t: t.startswith("- ") or t[:3] == "1. ",
    "zero-width characters": lambda t: "\u200b" in t and "\u200d" in t,
    "right-to-left override": lambda t: "\u202e" in t,
    "1,000-character token": lambda t: max(map(len, t.split()), default=0) == 1000,
    "only spaces": lambda t: t and not t.strip(),
    "only an emoji": lambda t: t.strip() and all(unicodedata.category(c) in ("So", "Mn") for c in t),
    "formula": lambda t: t.startswith("="),
    "leading plus / minus / at": lambda t: t[:1] in "+-@" and t[:1] != "",
}


@pytest.mark.parametrize("kind", KINDS)
def test_the_corpus_holds_every_kind_of_hostile_text(kind):
    assert any(KINDS[kind](t) for t in TITLES), kind


def test_every_url_in_the_corpus_is_in_the_invalid_domain():
    hosts = []
    for t in TITLES:
        hosts += re.findall(r"(?i)\b(?:https?|ftp)://([^/\s\"'<>)]+)", t)
        hosts += re.findall(r"(?i)\bwww\.([^/\s\"'<>)]+)", t)
        hosts += re.findall(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)", t)
    assert hosts, "no URL found: the pattern is broken"
    assert all(h.lower().endswith(".invalid") for h in hosts), hosts


def test_demo_data_writes_a_catalog_with_every_hostile_title(tmp_path, capsys):
    out = tmp_path / "cat"
    n = HOSTILE_EVERY * len(TITLES) + 4
    assert main(["demo-data", "--out", str(out), "--postings", str(n), "--image-size", "64", "--quiet",
                 "--hostile-titles"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_hostile_titles"] == len(range(0, n, HOSTILE_EVERY))
    catalog = load_catalog(out)  # the loader takes it: control characters as spaces, spaces-only as ""
    shown = [display_title(t) for t in catalog.frame["title"]]
    for t in TITLES:
        assert display_title(t) in shown, repr(t[:40])
    assert sum(s in {display_title(t) for t in TITLES} for s in shown) >= summary["n_hostile_titles"]
    assert json.loads((out / "catalog.json").read_text())["hostile_titles"] == "hostile_titles.json"


def test_another_corpus_file_is_used_and_a_bad_one_refused_before_writing(tmp_path, capsys):
    own = tmp_path / "own.json"
    own.write_text(json.dumps({"titles": [{"why": "mine", "title": "=1+1 **mine**"}]}))
    out = tmp_path / "cat"
    assert main(["demo-data", "--out", str(out), "--postings", "30", "--image-size", "64", "--quiet",
                 "--hostile-titles", str(own)]) == 0
    assert (load_catalog(out).frame["title"] == "=1+1 **mine**").sum() == 15
    capsys.readouterr()
    for bad in ("[1, 2]", "{\"titles\": []}", "not json"):
        path = tmp_path / "bad.json"
        path.write_text(bad)
        assert main(["demo-data", "--out", str(tmp_path / "never"), "--hostile-titles", str(path)]) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
        assert not (tmp_path / "never").exists()
