"""The Thresholds page's live decision as one URL parameter, so a pasted link reopens the same view.

``decision=model:sbert_plus_nfnet;t=0.530;t2=0.620;inb=1`` · ``decision=fusion:tfidf+resnet50;w=0.7,0.3;cal=1``
· ``decision=union:tfidf+resnet50;t=0.580,0.580;t2=0.690,-;min2=1``: the mode and its model (or members),
then ``t`` / ``t2`` (one per side, ``-`` for no Min2), ``min2``, ``inb`` (iterations), ``w`` (weights),
``cal`` (calibrated), ``exact`` (exact kNN of re-weighted members), ``bt`` (INB blend T, T2). Model ids
are ``[A-Za-z0-9_.-]`` (the importer's rule), so ``:;,=+`` never occur inside one.

:func:`widget_values` turns a parsed setting into the page's widget keys (the single place that
knows them besides the page, which builds its keys with the same functions); anything malformed in
a URL is ignored, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MODES = ("model", "fusion", "union")
STEP = 0.005


# ---------------------------------------------------------------- the page's widget keys
def model_scope(mid: str, kind: str, iters: int = 0) -> str:
    """Slider scope of a bundle model: unions and INB-only entries have one scope, tables one per INB depth."""
    return f"th-m-{mid}" if kind in ("union", "inb_only", "fixed") else f"th-m-{mid}-inb{int(iters)}"


def fusion_scope(members, iters: int, calibrate: bool) -> str:
    return f"th-f-{'+'.join(members)}-inb{int(iters)}{'-cal' if calibrate else ''}"


def union_scope(members) -> str:
    return f"th-u-{'+'.join(members)}"


def side_suffix(i: int, n_sides: int) -> str:
    return "" if n_sides == 1 else f"-{i}"


@dataclass
class Live:
    """What the Thresholds page's controls hold."""

    mode: str = "model"
    model: str = ""
    members: tuple = ()
    t: tuple = ()
    t2: tuple = ()                 # None per side: no Min2 value
    min2: bool = True
    iters: int = 0
    weights: tuple | None = None
    calibrate: bool = False
    exact: bool = False
    blend: tuple | None = None
    kind: str = field(default="table", compare=False)  # the model's kind (model mode), not in the URL

    def encode(self) -> str:
        what = self.model if self.mode == "model" else "+".join(self.members)
        parts = [f"{self.mode}:{what}"]
        if self.t:
            parts.append("t=" + ",".join(f"{x:.3f}" for x in self.t))
        if self.t2:
            parts.append("t2=" + ",".join("-" if x is None else f"{x:.3f}" for x in self.t2))
        parts.append(f"min2={int(bool(self.min2))}")
        if self.iters:
            parts.append(f"inb={int(self.iters)}")
        if self.weights is not None:
            parts.append("w=" + ",".join(f"{round(float(x), 4):g}" for x in self.weights))
        if self.calibrate:
            parts.append("cal=1")
        if self.exact:
            parts.append("exact=1")
        if self.blend is not None:
            parts.append("bt=" + ",".join(f"{x:.3f}" for x in self.blend))
        return ";".join(parts)


def _floats(text: str, lo: float = 0.0, hi: float = 1.0, none: bool = False) -> tuple:
    out = []
    for x in text.split(","):
        if none and x == "-":
            out.append(None)
            continue
        v = float(x)
        if not lo <= v <= hi:
            raise ValueError(x)
        out.append(v)
    return tuple(out)


def decode(text: str) -> Live | None:
    """The setting a URL names, or None when it is empty or malformed."""
    if not text or not isinstance(text, str) or len(text) > 2000:
        return None
    try:
        head, *rest = text.split(";")
        mode, _, what = head.partition(":")
        if mode not in MODES or not what:
            return None
        live = Live(mode=mode)
        if mode == "model":
            live.model = what
        else:
            live.members = tuple(m for m in what.split("+") if m)
            if len(live.members) < 2 or len(set(live.members)) != len(live.members):
                return None
        for part in rest:
            key, _, value = part.partition("=")
            if key == "t":
                live.t = _floats(value)
            elif key == "t2":
                live.t2 = _floats(value, none=True)
            elif key == "min2":
                live.min2 = value == "1"
            elif key == "inb":
                live.iters = int(value)
                if not 0 <= live.iters <= 3:
                    return None
            elif key == "w":
                live.weights = _floats(value)
            elif key == "cal":
                live.calibrate = value == "1"
            elif key == "exact":
                live.exact = value == "1"
            elif key == "bt":
                live.blend = _floats(value)
                if len(live.blend) != 2:
                    return None
    except ValueError:
        return None
    return live


def _snap(x: float, step: float = STEP) -> float:
    return round(round(float(x) / step) * step, 6)


def widget_values(live: Live, kind: str = "table", members=()) -> dict:
    """Session-state values that make the Thresholds page show ``live`` (``kind``: the model's kind in
    model mode: table, union, inb_only or fixed; ``members``: a mean fusion's members, whose weight
    sliders ``w`` sets). Keys it does not name keep their defaults."""
    out: dict = {"th-mode": live.mode}
    n = max(len(live.t), 1)
    if live.mode == "model":
        if kind == "table":
            mid = live.model
            out[f"th-m-{mid}-iters"] = int(live.iters)
            if live.weights is not None and len(live.weights) == len(members):
                out[f"th-m-{mid}-reweight"] = True
                out.update({f"th-m-{mid}-w-{m}": float(w) for m, w in zip(members, live.weights)})
            if live.exact:
                out[f"th-m-{mid}-exact-restore"] = True
            scope = model_scope(mid, kind, live.iters)
            if live.blend is not None:
                out[f"{scope}-bt"], out[f"{scope}-bt2"] = (_snap(x) for x in live.blend)
        else:
            scope = model_scope(live.model, kind)
            if kind == "union" and live.iters:  # a union after INB: each side on its own INB table
                out[f"{scope}-inb"] = True
                scope = f"{scope}-inb"
    elif live.mode == "fusion":
        out["th-f-members"] = list(live.members)
        if live.weights is not None and len(live.weights) == len(live.members):
            out.update({f"th-f-w-{m}": float(w) for m, w in zip(live.members, live.weights)})
        out["th-f-calibrate"] = bool(live.calibrate)
        out["th-f-iters"] = int(live.iters)
        if live.exact:
            out["th-f-exact-restore"] = True
        scope = fusion_scope(live.members, live.iters, live.calibrate)
    else:
        out["th-u-members"] = list(live.members)
        scope = union_scope(live.members)
        n = len(live.members)
    out[f"{scope}-min2"] = bool(live.min2)
    for i, t in enumerate(live.t[:n]):
        out[f"{scope}-t{side_suffix(i, n)}"] = _snap(t)
    for i, t2 in enumerate(live.t2[:n]):
        if t2 is not None:
            out[f"{scope}-t2{side_suffix(i, n)}"] = _snap(t2)
    return out
