"""A sweep's grid: axes of spec keys, and the configurations they span.

``--grid margin=0.5,0.6,0.7`` is one axis; several ``--grid`` multiply. Any spec key of the
recipe can be an axis (dotted keys reach nested dicts), each value parsed as ``--set`` parses
it (JSON when it parses, else a string). Keys joined by ``:`` move together, one value of each
per configuration: ``--grid loss:head_init=arcface:xavier_uniform,curricularface:normal_0.01``
(the seed's CurricularFace came with its own kernel init). Every configuration is checked
against the recipe (:func:`shopee_core.models.with_overrides`) before anything trains, so a key
the recipe lacks or a value of the wrong type is one ``error:`` line up front.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from ..errors import ShopeeError
from ..models import with_overrides
from ..models.registry import ModelEntry, parse_value


@dataclass(frozen=True)
class Axis:
    keys: tuple[str, ...]
    values: tuple[tuple, ...]   # one tuple of len(keys) per point

    @property
    def name(self) -> str:
        return ":".join(self.keys)

    def as_dict(self) -> dict:
        return {"keys": list(self.keys), "values": [list(v) for v in self.values]}

    @classmethod
    def from_dict(cls, d: dict) -> Axis:
        return cls(tuple(d["keys"]), tuple(tuple(v) for v in d["values"]))


@dataclass(frozen=True)
class Config:
    """One point of the grid: its folder name and the overrides it applies."""
    name: str
    overrides: dict

    def value(self, key: str):
        return self.overrides.get(key)


def _split_top(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside brackets and quotes (a value may be a JSON list)."""
    parts, depth, quote, cur = [], 0, None, []
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return parts


def parse_axis(text: str) -> Axis:
    key, sep, values = str(text).partition("=")
    keys = tuple(k.strip() for k in key.split(":"))
    if not sep or not all(keys):
        raise ShopeeError(f"--grid {text!r}: expected KEY=V1,V2,... (e.g. --grid margin=0.5,0.6)")
    points = []
    for raw in _split_top(values, ","):
        if not raw.strip():
            continue
        parts = raw.split(":", len(keys) - 1) if len(keys) > 1 else [raw]
        if len(parts) != len(keys):
            raise ShopeeError(f"--grid {text!r}: value {raw!r} needs {len(keys)} parts joined by ':' "
                              f"(one per key of {':'.join(keys)})")
        points.append(tuple(parse_value(p.strip()) for p in parts))
    if not points:
        raise ShopeeError(f"--grid {key}: no values (an empty grid trains nothing)")
    if len(set(map(repr, points))) != len(points):
        raise ShopeeError(f"--grid {key}: a value is listed twice")
    return Axis(keys, tuple(points))


def parse_grid(texts) -> list[Axis]:
    """Axes from ``--grid`` arguments; an empty grid or a key on two axes is an error."""
    axes = [parse_axis(t) for t in texts or ()]
    if not axes:
        raise ShopeeError("a sweep needs at least one --grid KEY=V1,V2,... axis (an empty grid trains nothing)")
    keys = [k for a in axes for k in a.keys]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ShopeeError(f"--grid: key(s) {', '.join(dup)} on more than one axis")
    return axes


def _slug(value) -> str:
    text = value if isinstance(value, str) else repr(value)
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-") or "x"


def configs(entry: ModelEntry, axes: list[Axis], base: dict | None = None) -> list[Config]:
    """Every configuration of the grid (axes vary in order, the last fastest), each checked
    against the recipe with ``base`` overrides applied first."""
    base = dict(base or {})
    clash = sorted({k for a in axes for k in a.keys} & set(base))
    if clash:
        raise ShopeeError(f"--grid and --set both set {', '.join(clash)}")
    out, names = [], set()
    for point in itertools.product(*(a.values for a in axes)):
        overrides = {k: v for a, vals in zip(axes, point) for k, v in zip(a.keys, vals)}
        with_overrides(entry, {**base, **overrides})  # a wrong key or type fails here, before any training
        name = "_".join(f"{_slug(k.split('.')[-1])}-{_slug(v)}" for k, v in overrides.items())
        if name in names:
            name = f"{name}_{len(out)}"
        names.add(name)
        out.append(Config(name, overrides))
    return out
