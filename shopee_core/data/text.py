"""Title clean-up.

Shopee titles sometimes hold *literal* escape sequences: the four characters
``\\xe2`` instead of the byte 0xE2, typically runs such as ``\\xe2\\x9c\\xa8``
that spell one UTF-8 character (here "✨"), plus ``\\u00e9``, ``\\n`` and ``\\t``.
:func:`decode_escapes` turns them into the characters they stand for;
:func:`clean_title` is the seed's clean-up for transformer text models (it drops
non-ASCII letters, so ``L\\xc3\\xa9ngket`` becomes ``lngket``; ``fold_accents=True``
keeps them as ``lengket``, an option for models outside the seed's recipes);
:func:`display_title` is what the dashboard shows. The raw title is kept everywhere
else (TF-IDF uses it as the seed did).

:func:`study_clean_title` is the seed's own clean-up, quirks included, for its text recipes
(spec ``title_decode: study``): Python's ``unicode_escape`` decode, which also turns ``\\\\``,
``\\'`` and octal escapes into characters and reads ``\\xNN`` as Latin-1 (so UTF-8 runs, whole or
truncated, become Latin-1 letters that the ASCII filter then drops), run a second time after
that filter; a title that does not decode keeps what it had before the failing step.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Iterable

from ..errors import ShopeeError

# Anything that looks like a literal escape sequence (used for counting).
LITERAL_ESCAPE_RE = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[ntr])")

# Tokens for decoding: runs of \xNN (bytes, decoded together as UTF-8), runs of
# \uNNNN (so surrogate pairs combine), a single \UNNNNNNNN, or \n \t \r.
_DECODE = re.compile(
    r"(?P<x>(?:\\x[0-9a-fA-F]{2})+)"
    r"|(?P<u>(?:\\u[0-9a-fA-F]{4})+)"
    r"|(?P<U>\\U[0-9a-fA-F]{8})"
    r"|\\(?P<c>[ntr])"
)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _decode_byte_run(run: str) -> str:
    """Decode a run of literal ``\\xNN`` tokens as UTF-8; invalid bytes stay literal."""
    tokens = [run[i : i + 4] for i in range(0, len(run), 4)]
    data = bytes(int(t[2:], 16) for t in tokens)
    out: list[str] = []
    i = 0
    while i < len(data):
        for n in (1, 2, 3, 4):
            chunk = data[i : i + n]
            if len(chunk) < n:
                break
            try:
                out.append(chunk.decode("utf-8"))
            except UnicodeDecodeError:
                continue
            i += n
            break
        else:
            out.append(tokens[i])
            i += 1
            continue
        if len(chunk) < n:  # ran out of bytes: this one cannot start a character
            out.append(tokens[i])
            i += 1
    return "".join(out)


def _decode_u_run(run: str) -> str:
    """Decode a run of ``\\uNNNN`` tokens, pairing surrogates; lone surrogates stay literal."""
    tokens = [run[i : i + 6] for i in range(0, len(run), 6)]
    codes = [int(t[2:], 16) for t in tokens]
    out: list[str] = []
    i = 0
    while i < len(codes):
        c = codes[i]
        if 0xD800 <= c <= 0xDBFF and i + 1 < len(codes) and 0xDC00 <= codes[i + 1] <= 0xDFFF:
            out.append(chr(0x10000 + ((c - 0xD800) << 10) + (codes[i + 1] - 0xDC00)))
            i += 2
        elif 0xD800 <= c <= 0xDFFF:
            out.append(tokens[i])
            i += 1
        else:
            out.append(chr(c))
            i += 1
    return "".join(out)


def _replace(match: re.Match) -> str:
    if match.group("x"):
        return _decode_byte_run(match.group("x"))
    if match.group("u"):
        return _decode_u_run(match.group("u"))
    if match.group("U"):
        code = int(match.group("U")[2:], 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return match.group("U")
        return chr(code)
    return _SIMPLE[match.group("c")]


def decode_escapes(title: str) -> str:
    """Turn literal escape sequences into the characters they stand for.

    ``\\xNN`` runs are decoded together as UTF-8 bytes, ``\\uNNNN`` (with
    surrogate pairs) and ``\\UNNNNNNNN`` as code points, ``\\n \\t \\r`` as
    whitespace. Sequences that do not decode are left exactly as they were.
    Never raises; a non-string (e.g. NaN) gives "".
    """
    if not isinstance(title, str):
        return ""
    if "\\" not in title:
        return title
    return _DECODE.sub(_replace, title)


def strip_accents(text: str) -> str:
    """Accented letters to their base letters: NFKD, combining marks dropped ("é" -> "e")."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def clean_title(title: str, fold_accents: bool = False) -> str:
    """The seed's clean-up for transformer text models.

    decode_escapes, drop non-ASCII characters, lower-case, control characters
    to spaces, collapse whitespace (and strip). The seed drops accented letters
    with the rest of non-ASCII ("léngket" -> "lngket"); ``fold_accents=True``
    first folds them to ASCII ("lengket"), for models outside the seed's recipes.
    """
    text = decode_escapes(title)
    if fold_accents:
        text = strip_accents(text)
    text = _NON_ASCII.sub("", text)
    text = _CONTROL.sub(" ", text)
    return " ".join(text.lower().split())


def study_clean_title(title) -> str:
    """The seed's text clean-up, step for step: the title's UTF-8 bytes decoded with
    ``unicode_escape``, everything outside ASCII dropped, ``unicode_escape`` decoded once more,
    lower-cased. A step that fails (a truncated ``\\x`` escape) leaves the title as it was
    before that step, non-ASCII and Latin-1 letters included, as the seed's ``try: ... except:
    pass`` at inference did (its training loop had no such guard: a train title that failed would
    have stopped it). Whitespace and control characters are left to the tokenizer, as there.
    """
    text = title if isinstance(title, str) else ""
    with warnings.catch_warnings():  # "invalid escape sequence" (\d, \R ...) stays literal, as it did
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            text = text.encode("utf-8").decode("unicode_escape")
            text = text.encode("ascii", "ignore").decode("unicode_escape")
        except UnicodeError:
            pass
    return text.lower()


TITLE_DECODES = ("utf8", "study")


def title_cleaning(spec: dict, default: bool = True) -> bool | str:
    """How a model spec wants its titles cleaned: False (raw), True (:func:`clean_title`),
    ``"fold"`` (clean_title with accent folding) or ``"study"`` (:func:`study_clean_title`).

    Spec keys: ``clean_titles`` (bool, ``default`` when absent), ``title_decode`` (``utf8``, the
    default, or ``study``) and ``fold_accents``.
    """
    if not spec.get("clean_titles", default):
        return False
    decode = spec.get("title_decode", "utf8")
    if decode not in TITLE_DECODES:
        raise ShopeeError(f"unknown title_decode {decode!r}; choose one of: {', '.join(TITLE_DECODES)}")
    if decode == "study":
        return "study"
    return "fold" if spec.get("fold_accents") else True


def prepare_title(title, cleaning: bool | str) -> str:
    """A title as a text model reads it under ``cleaning`` (see :func:`title_cleaning`)."""
    if not cleaning:
        return title if isinstance(title, str) else ""
    if cleaning == "study":
        return study_clean_title(title)
    return clean_title(title, fold_accents=cleaning == "fold")


def display_title(title) -> str:
    """A title as people should read it: literal escapes decoded ("L\\xc3\\xa9ngket" ->
    "Léngket"), control characters as spaces, whitespace collapsed; case and accents kept."""
    return " ".join(_CONTROL.sub(" ", decode_escapes(title)).split())


def has_literal_escapes(title: str) -> bool:
    return isinstance(title, str) and "\\" in title and LITERAL_ESCAPE_RE.search(title) is not None


def count_literal_escapes(titles: Iterable[str]) -> int:
    """Number of titles that contain at least one literal escape sequence."""
    return sum(1 for t in titles if has_literal_escapes(t))
