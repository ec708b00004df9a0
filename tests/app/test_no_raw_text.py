"""No page passes text it did not write itself to Streamlit or Plotly unwrapped (an AST walk).

Every string that reaches a Markdown-rendering call (``st.markdown``, captions, alerts, widget
labels, ``help``, metric texts, radio / pills options, spinners, tabs), a plain-text widget option
(selectbox / multiselect ``format_func``), a Plotly text (trace names, hover texts and templates,
titles, tick texts) or raw HTML (``unsafe_allow_html=True``) must be built only from

- string literals, and module constants / local variables that are themselves built that way;
- numbers: an f-string field with a numeric format (``{n:,}``, ``{f1:.3f}``), ``len``/``int``/
  ``float``/``round``/``abs``/``sum`` calls, arithmetic;
- the context's helper from ``dashboard/text.py`` (``md``, ``plain``, ``plot_text``; raw HTML
  only from the gallery's HTML builders, which use ``html_text``);
- calls of project functions (``app_pages/``, ``dashboard/``) whose every ``return`` obeys the
  same rule, their parameters counting as untrusted. A call is resolved as Python would: a
  function of the same file, one imported from a project module, or ``module.function`` of an
  imported project module (``intervals.caption``) — ``st.slider`` is never a page's ``slider``;
- the value of a selection widget (selectbox, radio, pills ...), which is one of its options, and
  a ``format_func``'s argument, an option: as safe as the options.

Anything else — a title, id, label, file name, exception text, ``describe()`` output — is a
failure naming the file and line. Adding a page or a panel needs no change here.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([ROOT / "app.py", *(ROOT / "app_pages").glob("*.py"), *(ROOT / "dashboard").glob("*.py")])
CONSTANT_SOURCES = [*FILES, *sorted((ROOT / "shopee_core").rglob("*.py"))]
HELPER_MODULE = ROOT / "dashboard" / "text.py"

MD, PLAIN, PLOT, HTML = "markdown", "plain text", "plotly", "html"
HELPERS = {MD: {"md", "code"}, PLAIN: {"plain"}, PLOT: {"plot_text"}, HTML: set()}
HTML_BUILDERS = {"card_html", "pair_html"}  # gallery.py: every text in them goes through html_text (tested there)
NUMERIC_CALLS = {"len", "int", "float", "round", "abs", "sum"}
NUMERIC_SPEC = set("bcdeEfFgGnoxX%,_")
STR_METHODS = {"strip", "rstrip", "lstrip", "lower", "upper", "capitalize", "title"}
SAME_ITEMS = {"list", "tuple", "sorted"}  # list(X): the items of X
# project functions that hand **kw to a Plotly call the walk cannot follow: checked like that call
KWARG_WRAPPERS = {"_layout"}

BODY = {"markdown", "caption", "write", "title", "header", "subheader", "info", "warning", "error", "success",
        "toast", "spinner", "expander", "popover"}
WIDGETS = {"button", "download_button", "selectbox", "multiselect", "slider", "select_slider", "radio", "toggle",
           "checkbox", "text_input", "text_area", "number_input", "file_uploader", "pills", "segmented_control",
           "link_button", "page_link", "color_picker", "date_input", "time_input", "camera_input", "chat_input"}
MD_OPTIONS = {"radio", "pills", "segmented_control", "select_slider"}  # their options render Markdown
PLAIN_OPTIONS = {"selectbox", "multiselect"}
SELECTIONS = MD_OPTIONS | PLAIN_OPTIONS  # their value is one of their options (a list of them)
PLOTLY_CALLS = {"add_bar", "add_scatter", "add_scattergl", "add_trace", "add_heatmap", "add_histogram", "Scatter",
                "Scattergl", "Bar", "Heatmap", "Histogram", "Figure", "update_layout", "add_vline", "add_hline",
                "add_annotation", "update_xaxes", "update_yaxes", "make_subplots", "Layout",
                "_layout"}  # charts._layout: update_layout with a title
PLOTLY_TEXT = {"name", "text", "hovertext", "hovertemplate", "texttemplate", "title", "title_text",
               "annotation_text", "xaxis_title", "yaxis_title", "subplot_titles", "ticktext", "legendgrouptitle_text"}
PLOTLY_NESTED = {"xaxis", "yaxis", "legend", "layout", "marker", "colorbar", "title", "line"}
PLOTLY_CATEGORIES = {"x", "y"}  # checked when written out in the call (lists, f-strings), not data columns


@dataclass
class Scope:
    assigns: dict[str, list[ast.AST]] = field(default_factory=dict)
    params: set[str] = field(default_factory=set)
    parent: Scope | None = None
    fn: ast.FunctionDef | None = None  # a function the visitor walks: its parameters become call-site checks
    path: Path | None = None  # the file, for resolving calls (None: by name anywhere in the project)

    def file(self) -> Path | None:
        s = self
        while s is not None and s.path is None:
            s = s.parent
        return s.path if s is not None else None


def _item(value) -> ast.AST:
    """An expression standing for one item of ``value`` (as safe as ``value`` as a whole)."""
    return ast.Subscript(value=value, slice=ast.Constant(None))


def _targets(target, value, out: dict) -> None:
    if isinstance(target, ast.Name):
        out.setdefault(target.id, []).append(value)
    elif isinstance(target, (ast.Tuple, ast.List)):
        # a, b = CONSTANT[key]: each an item of it (unknown stays unknown: an item of None is None)
        values = value.elts if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts) \
            else [None if value is None else _item(value)] * len(target.elts)
        for t, v in zip(target.elts, values):
            _targets(t, v, out)


def _collect(body_nodes, scope: Scope) -> None:
    """Assignments of one scope (not descending into nested functions); loop targets over
    literal tuples count as assigned each literal."""
    stack = list(body_nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Assign):
            for t in node.targets:
                _targets(t, node.value, scope.assigns)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            scope.assigns.setdefault(node.target.id, []).append(node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            # text += part: the name's other values are checked anyway, so the part is what is new;
            # text %= args formats args into it (as "" % args would)
            scope.assigns.setdefault(node.target.id, []).append(
                node.value if isinstance(node.op, ast.Add) else ast.BinOp(ast.Constant(""), node.op, node.value))
        elif isinstance(node, (ast.For, ast.comprehension)):
            it = node.iter
            if isinstance(it, (ast.Tuple, ast.List)) and isinstance(node.target, ast.Name):
                scope.assigns.setdefault(node.target.id, []).extend(it.elts)
            elif (isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and it.func.attr == "items"
                  and isinstance(node.target, ast.Tuple) and len(node.target.elts) == 2):
                _targets(node.target.elts[0], None, scope.assigns)  # a key: as unsafe as any loop variable
                _targets(node.target.elts[1], ast.Subscript(value=it.func.value, slice=ast.Constant(None)),
                         scope.assigns)  # a value of that mapping
            elif isinstance(it, (ast.Tuple, ast.List)) and all(isinstance(e, (ast.Tuple, ast.List)) for e in it.elts):
                for e in it.elts:
                    _targets(node.target, e, scope.assigns)
            else:
                _targets(node.target, _item(it), scope.assigns)  # for k in GR.SHAPES: an item of it
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    _targets(item.optional_vars, None, scope.assigns)
        elif isinstance(node, ast.NamedExpr):
            _targets(node.target, node.value, scope.assigns)
        stack.extend(ast.iter_child_nodes(node))


def _module_name(path: Path) -> str | None:
    if not path.is_relative_to(ROOT):
        return None
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module, module: str | None, is_package: bool) -> dict[str, tuple[str, str | None]]:
    """Each imported name of a file (also inside functions): ("module", dotted) or ("name", dotted.attr)."""
    out: dict[str, tuple[str, str | None]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = ("module", a.name if a.asname else a.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = (module or "").split(".")
                package = package if is_package else package[:-1]
                package = package[:len(package) - (node.level - 1)]
                base = ".".join(p for p in [*package, base] if p)
            for a in node.names:
                out[a.asname or a.name] = ("name", f"{base}.{a.name}")
    return out


class Project:
    """Module constants of the project by name (a name defined twice is safe only if every
    definition is), and its functions by file, calls resolved through each file's imports."""

    def __init__(self, files=tuple(FILES), sources=tuple(CONSTANT_SOURCES)):
        self.files = list(files)
        self.constants: dict[str, list[ast.AST]] = {}
        self.functions: dict[str, list[ast.FunctionDef]] = {}  # by name, over every file
        self.by_file: dict[Path, dict[str, list[ast.FunctionDef]]] = {}
        self.modules: dict[str, Path] = {}  # dotted module name -> file
        self.imports: dict[Path, dict[str, tuple[str, str | None]]] = {}
        self.file_of: dict[int, Path] = {}  # id(function) -> its file
        self.trees: dict[Path, ast.Module] = {}
        # every call of a project function, with its scope and the functions it may call
        self.calls: list[tuple[Path, ast.Call, Scope, list[ast.FunctionDef]]] = []
        for path in dict.fromkeys([*sources, *files]):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            self.trees[path] = tree
            for node in tree.body:
                if isinstance(node, ast.Assign):
                    for t in node.targets:
                        _targets(t, node.value, self.constants)
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
                    self.constants.setdefault(node.target.id, []).append(node.value)
            name = _module_name(path)
            if name is not None:
                self.modules[name] = path
            self.imports[path] = _imports(tree, name, path.name == "__init__.py")
            if path in self.files and path != HELPER_MODULE:
                own = self.by_file.setdefault(path, {})
                for node in ast.walk(tree):
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self.functions.setdefault(node.name, []).append(node)
                        own.setdefault(node.name, []).append(node)
                        self.file_of[id(node)] = path
        self._busy: set = set()
        self._memo: dict = {}
        # (function name, id(function), parameter, context): a wrapper renders its parameter, so every
        # call must pass safe text
        self.obligations: set[tuple[str, int, str, str]] = set()
        self.function_by_id = {id(fn): fn for fns in self.functions.values() for fn in fns}

    # ------------------------------------------------------------------ which function a call calls
    def resolve(self, func, scope: Scope | None) -> list[ast.FunctionDef]:
        """The project functions ``func`` (a call's ``func``) may be; [] for anything else
        (Streamlit, Plotly, pandas, shopee_core, a method of some object)."""
        path = scope.file() if scope is not None else None
        if isinstance(func, ast.Name):
            if path is None:  # a module constant's value: by name
                return self.functions.get(func.id, [])
            if func.id in self.by_file.get(path, {}):
                return self.by_file[path][func.id]
            kind, target = self.imports.get(path, {}).get(func.id, (None, None))
            if kind == "name":
                module, _, attr = target.rpartition(".")
                return self.by_file.get(self.modules.get(module), {}).get(attr, [])
            return []
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and path is not None:
            kind, target = self.imports.get(path, {}).get(func.value.id, (None, None))
            module = target if kind == "module" else target if kind == "name" and target in self.modules else None
            return self.by_file.get(self.modules.get(module), {}).get(func.attr, [])
        return []

    def passes_through(self, fns: list[ast.FunctionDef]) -> bool:
        """``def unset(key, **default): return {} if ... else default``: ``**unset(k, v=x)`` passes
        at most ``v=x``."""
        def ok(node, kwarg):
            if isinstance(node, ast.IfExp):
                return ok(node.body, kwarg) and ok(node.orelse, kwarg)
            return (isinstance(node, ast.Dict) and not node.keys) or (isinstance(node, ast.Name) and node.id == kwarg)
        return bool(fns) and all(
            fn.args.kwarg is not None and all(ok(r.value, fn.args.kwarg.arg) for r in ast.walk(fn)
                                              if isinstance(r, ast.Return)) for fn in fns)

    # ------------------------------------------------------------------ the rule
    def safe(self, node, ctx: str, scope: Scope) -> bool:
        if node is None:
            return False
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.JoinedStr):
            return all(isinstance(v, ast.Constant) or self._field(v, ctx, scope) for v in node.values)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Add):
                return self.safe(node.left, ctx, scope) and self.safe(node.right, ctx, scope)
            if isinstance(node.op, ast.Mod):
                return self.safe(node.left, ctx, scope) and self._numeric(node.right, scope)
            return True  # - * / // ** on anything: a number
        if isinstance(node, ast.UnaryOp):  # -1.0, not x: a number or a bool
            return True
        if isinstance(node, ast.IfExp):
            return self.safe(node.body, ctx, scope) and self.safe(node.orelse, ctx, scope)
        if isinstance(node, ast.BoolOp):
            return all(self.safe(v, ctx, scope) for v in node.values)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return all(self.safe(e, ctx, scope) for e in node.elts)
        if isinstance(node, ast.Starred):  # [*CONSTANT, "x"]
            return self.safe(node.value, ctx, scope)
        if isinstance(node, ast.Dict):  # its keys too: list(MAPPING) and for k in MAPPING give them
            return all(self.safe(k, ctx, scope) for k in node.keys if k is not None) and all(
                self.safe(v, ctx, scope) for v in node.values)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            inner = self._comp_scope(node, scope)
            return self.safe(node.elt, ctx, inner)
        if isinstance(node, ast.DictComp):
            return self.safe(node.value, ctx, self._comp_scope(node, scope))
        if isinstance(node, ast.Name):
            return self._name(node.id, ctx, scope)
        if isinstance(node, ast.Attribute):  # module.CONSTANT
            return node.attr.isupper() and self._constant(node.attr, ctx)
        if isinstance(node, ast.Subscript):  # CONSTANT[key], style["name"]: every value of a safe mapping
            return self.safe(node.value, ctx, scope)
        if isinstance(node, ast.Call):
            return self._call(node, ctx, scope)
        if isinstance(node, ast.Lambda):
            return self.safe(node.body, ctx, Scope(params={a.arg for a in node.args.args}, parent=scope))
        return False

    def _comp_scope(self, node, scope: Scope) -> Scope:
        inner = Scope(parent=scope)
        for gen in node.generators:
            _collect([gen], inner)
        return inner

    def _field(self, v: ast.FormattedValue, ctx: str, scope: Scope) -> bool:
        spec = v.format_spec
        if spec is not None and all(isinstance(p, ast.Constant) for p in spec.values):
            text = "".join(str(p.value) for p in spec.values)
            if text and text[-1] in NUMERIC_SPEC:
                return True  # a format only a number accepts
        return self._numeric(v.value, scope) or self.safe(v.value, ctx, scope)

    def _numeric(self, node, scope: Scope) -> bool:
        if isinstance(node, ast.Constant):
            return isinstance(node.value, (int, float))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in NUMERIC_CALLS:
            return True
        if isinstance(node, ast.BinOp) and not isinstance(node.op, (ast.Add, ast.Mod)):
            return True
        if isinstance(node, ast.Tuple):
            return all(self._numeric(e, scope) for e in node.elts)
        return False

    def _name(self, name: str, ctx: str, scope: Scope) -> bool:
        s = scope
        while s is not None:
            if name in s.params:
                if s.fn is not None:
                    self.obligations.add((s.fn.name, id(s.fn), name, ctx))
                    return True
                return False
            if name in s.assigns:
                key = (id(s), name, ctx)
                if key in self._busy:
                    return False
                self._busy.add(key)
                try:
                    return all(self.safe(v, ctx, s) for v in s.assigns[name])
                finally:
                    self._busy.discard(key)
            s = s.parent
        return self._constant(name, ctx)

    def _constant(self, name: str, ctx: str, values: bool = False) -> bool:
        defs = self.constants.get(name)
        if not defs:
            return False
        key = ("const", name, ctx, values)
        if key in self._busy:
            return False
        self._busy.add(key)
        try:
            top = Scope(assigns=self.constants)
            return all(self.safe(d, ctx, top) for d in defs)
        finally:
            self._busy.discard(key)

    def _call(self, node: ast.Call, ctx: str, scope: Scope) -> bool:
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        if name in HELPERS[ctx] or (ctx == HTML and name in HTML_BUILDERS):
            return True
        if isinstance(f, ast.Name) and name in NUMERIC_CALLS:
            return True
        if name == "dict" and isinstance(f, ast.Name):
            return all(self.safe(k.value, ctx, scope) for k in node.keywords)
        if isinstance(f, ast.Attribute) and name in STR_METHODS | {"format"}:  # "...".format(safe), safe.strip()
            return self.safe(f.value, ctx, scope) and all(self.safe(a, ctx, scope) for a in node.args) and all(
                self.safe(k.value, ctx, scope) for k in node.keywords)
        if isinstance(f, ast.Attribute) and name == "join":  # SEP.join(safe parts)
            return self.safe(f.value, ctx, scope) and all(self.safe(a, ctx, scope) for a in node.args)
        if isinstance(f, ast.Attribute) and name == "get":  # CONSTANT.get(key, default) / {...}.get
            base = f.value
            ok = (isinstance(base, ast.Dict) and self.safe(base, ctx, scope)) or (
                isinstance(base, (ast.Name, ast.Attribute)) and self.safe(base, ctx, scope))
            return ok and all(self.safe(a, ctx, scope) for a in node.args[1:])
        if isinstance(f, ast.Name) and name in SAME_ITEMS:
            return bool(node.args) and all(self.safe(a, ctx, scope) for a in node.args[:1])
        fns = self.resolve(f, scope)
        if fns:
            return self._returns_safe(fns, ctx)
        if isinstance(f, ast.Attribute) and name in SELECTIONS:  # st.selectbox(...): one of its options
            options = _options(node)
            return options is not None and self.safe(options, ctx, scope)
        return False

    def _returns_safe(self, fns: list[ast.FunctionDef], ctx: str) -> bool:
        key = ("fn", tuple(id(fn) for fn in fns), ctx)
        if key in self._memo:
            return self._memo[key]
        if key in self._busy:
            return False
        self._busy.add(key)
        try:
            ok = True
            for fn in fns:
                scope = Scope(params={a.arg for a in fn.args.args + fn.args.kwonlyargs},
                              path=self.file_of.get(id(fn)))
                _collect(fn.body, scope)
                returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return)]
                ok = ok and bool(returns) and all(self.safe(r.value, ctx, scope) for r in returns)
        finally:
            self._busy.discard(key)
        self._memo[key] = ok
        return ok


def _call_name(node: ast.Call) -> str | None:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _keywords(node: ast.Call) -> list[ast.keyword]:
    """The call's keywords, with those of a ``**f(k=v)`` / ``**dict(k=v)`` argument (it may pass them)."""
    out = []
    for k in node.keywords:
        out.append(k)
        if k.arg is None and isinstance(k.value, ast.Call):
            out.extend(x for x in k.value.keywords if x.arg is not None)
    return out


def _kw(node: ast.Call, name: str):
    return next((k.value for k in _keywords(node) if k.arg == name), None)


def _options(node: ast.Call):
    """The options of a selection widget call (None when not written in the call)."""
    return node.args[1] if len(node.args) > 1 else _kw(node, "options")


def _nested_plotly(value):
    """(key, value) pairs of dict(...) / {...} arguments, recursively."""
    if isinstance(value, ast.Call) and _call_name(value) == "dict":
        items = [(k.arg, k.value) for k in value.keywords if k.arg]
    elif isinstance(value, ast.Dict):
        items = [(k.value, v) for k, v in zip(value.keys, value.values) if isinstance(k, ast.Constant)]
    else:
        return
    for k, v in items:
        if k in PLOTLY_TEXT and not (isinstance(v, ast.Dict) or (isinstance(v, ast.Call) and _call_name(v) == "dict")):
            yield k, v
        elif k in PLOTLY_TEXT | PLOTLY_NESTED:
            yield from _nested_plotly(v)


def _written_strings(value) -> bool:
    """A list written out in the call whose items are strings (f-strings, str(...), literals)."""
    items = value.elts if isinstance(value, ast.List) else [value.elt] if isinstance(value, ast.ListComp) else []
    return any(isinstance(e, ast.JoinedStr) or (isinstance(e, ast.Constant) and isinstance(e.value, str))
               or (isinstance(e, ast.Call) and _call_name(e) == "str") for e in items)


def checks(node: ast.Call):
    """(what, context, expression) for every text argument of this call that gets rendered."""
    name = _call_name(node)
    if name is None:
        return
    html = name == "markdown" and any(k.arg == "unsafe_allow_html" and isinstance(k.value, ast.Constant)
                                      and k.value.value for k in node.keywords)
    if name in BODY:
        ctx = HTML if html else MD
        for a in (node.args if name == "write" else node.args[:1]):
            yield f"{name}(...)", ctx, a
        for k in ("body", "label", "text"):
            if _kw(node, k) is not None:
                yield f"{name}({k}=)", ctx, _kw(node, k)
    if name == "metric":
        for i, a in enumerate(node.args[:3]):
            yield f"metric arg {i}", MD, a
        for k in ("label", "value", "delta"):
            if _kw(node, k) is not None:
                yield f"metric({k}=)", MD, _kw(node, k)
    if name == "tabs" and node.args:
        yield "tabs labels", MD, node.args[0]
    if name in WIDGETS:
        label = node.args[0] if node.args else _kw(node, "label")
        if label is not None:
            yield f"{name} label", MD, label
        fmt = _kw(node, "format_func")
        if fmt is not None and name in MD_OPTIONS | PLAIN_OPTIONS:
            yield f"{name} format_func", MD if name in MD_OPTIONS else PLAIN, fmt
        if name in MD_OPTIONS and fmt is None and len(node.args) > 1:
            yield f"{name} options", MD, node.args[1]
    if _kw(node, "help") is not None:
        yield f"{name}(help=)", MD, _kw(node, "help")
    if name in PLOTLY_CALLS:
        for k in _keywords(node):
            if k.arg in PLOTLY_TEXT and not (isinstance(k.value, ast.Dict) or (
                    isinstance(k.value, ast.Call) and _call_name(k.value) == "dict")):
                yield f"{name}({k.arg}=)", PLOT, k.value
            elif k.arg in PLOTLY_CATEGORIES and _written_strings(k.value):
                yield f"{name}({k.arg}=)", PLOT, k.value
            elif k.arg in PLOTLY_NESTED or k.arg in PLOTLY_TEXT:
                for sub, v in _nested_plotly(k.value):
                    yield f"{name}({k.arg}.{sub}=)", PLOT, v


def _format_func_ok(project: Project, expr, ctx, scope, options=None) -> bool:
    """A format_func: a lambda whose body is safe (its argument is one of the ``options``), a
    project function returning safe text, or CONSTANT.get / {...}.get of safe values."""
    if isinstance(expr, ast.Lambda):
        params = [a.arg for a in expr.args.args]
        inner = Scope(params=set(params[1:]), parent=scope)
        if params:
            if options is not None:
                inner.assigns[params[0]] = [_item(options)]
            else:
                inner.params.add(params[0])
        return project.safe(expr.body, ctx, inner)
    if isinstance(expr, ast.Attribute) and expr.attr == "get":
        return project.safe(expr.value, ctx, scope)
    if isinstance(expr, ast.Name) and expr.id in HELPERS[ctx]:
        return True
    fns = project.resolve(expr, scope)
    return bool(fns) and project._returns_safe(fns, ctx)


def _md_in_code_span(node) -> bool:
    """`{md(x)}` between backticks: a code span shows md's escapes as backslashes (use code())."""
    for f in ast.walk(node):
        if not isinstance(f, ast.JoinedStr):
            continue
        parts = f.values
        for i, v in enumerate(parts):
            if isinstance(v, ast.FormattedValue) and isinstance(v.value, ast.Call) and _call_name(v.value) == "md":
                before = parts[i - 1] if i else None
                after = parts[i + 1] if i + 1 < len(parts) else None
                if (isinstance(before, ast.Constant) and str(before.value).endswith("`")) or (
                        isinstance(after, ast.Constant) and str(after.value).startswith("`")):
                    return True
    return False


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def violations(project: Project, path: Path) -> list[str]:
    tree = project.trees[path]
    out = []

    def visit(node, scope: Scope):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = Scope(params={a.arg for a in child.args.args + child.args.kwonlyargs}, parent=scope,
                              fn=child)
                _collect(child.body, inner)
                visit(child, inner)
                continue
            if isinstance(child, ast.Call):
                fns = project.resolve(child.func, scope)
                if fns:
                    project.calls.append((path, child, scope, fns))
                if _md_in_code_span(child):
                    out.append(f"{_rel(path)}:{child.lineno}: md() inside backticks: use code()")
                # a project function (intervals.caption) is checked through what it renders, not as st.caption
                for what, ctx, expr in (checks(child) if not fns or _call_name(child) in KWARG_WRAPPERS else ()):
                    ok = (_format_func_ok(project, expr, ctx, scope, _options(child)) if what.endswith("format_func")
                          else project.safe(expr, ctx, scope))
                    if not ok:
                        helper = {MD: "md", PLAIN: "plain", PLOT: "plot_text", HTML: "an HTML builder"}[ctx]
                        out.append(f"{_rel(path)}:{child.lineno}: {what} gets "
                                   f"`{ast.unparse(expr)[:90]}` ({ctx}: wrap untrusted text in {helper}())")
            visit(child, scope)

    top = Scope(path=path)
    _collect(tree.body, top)
    visit(tree, top)
    return out


def _argument(project: Project, fn: ast.FunctionDef, call: ast.Call, scope: Scope, param: str):
    """What ``call`` passes for ``param`` of ``fn``: (found, expression); a default when not passed."""
    for k in _keywords(call):
        if k.arg == param:
            return True, k.value
    positional = [a.arg for a in fn.args.args]
    if param in positional and positional.index(param) < len(call.args):
        arg = call.args[positional.index(param)]
        return not isinstance(arg, ast.Starred), arg
    if any(k.arg is None and not (isinstance(k.value, ast.Call) and project.passes_through(
            project.resolve(k.value.func, scope))) for k in call.keywords):
        return False, None  # **kwargs: cannot tell (unless only **unset(key, value=...), read above)
    defaults = dict(zip(positional[len(positional) - len(fn.args.defaults):], fn.args.defaults))
    defaults.update({a.arg: d for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults) if d is not None})
    return param in defaults, defaults.get(param)


def call_site_violations(project: Project) -> list[str]:
    """Every call of a wrapper passes safe text for each parameter the wrapper renders (to a fixpoint:
    a wrapper may hand its own parameter to another)."""
    out, done = [], set()
    while project.obligations - done:
        for fname, fid, param, ctx in sorted(project.obligations - done):
            done.add((fname, fid, param, ctx))
            fn = project.function_by_id[fid]
            for path, call, scope, fns in project.calls:
                if not any(f is fn for f in fns):
                    continue
                found, expr = _argument(project, fn, call, scope, param)
                if not found or not (isinstance(expr, ast.Constant) and expr.value is None
                                     or project.safe(expr, ctx, scope)):
                    shown = ast.unparse(expr)[:90] if expr is not None else "(cannot tell)"
                    out.append(f"{_rel(path)}:{call.lineno}: {fname}({param}=) gets `{shown}` "
                               f"({fname} renders it as {ctx})")
    return sorted(set(out))


@pytest.fixture(scope="module")
def project():
    return Project()


@pytest.fixture(scope="module")
def per_file(project):
    return {p: violations(project, p) for p in FILES if p != HELPER_MODULE}


@pytest.mark.parametrize("path", [p for p in FILES if p != HELPER_MODULE], ids=lambda p: str(p.relative_to(ROOT)))
def test_no_untrusted_text_reaches_streamlit_or_plotly_unwrapped(per_file, path):
    found = per_file[path]
    assert not found, "\n".join(found)


def test_wrappers_get_safe_text_from_every_caller(project, per_file):
    found = call_site_violations(project)
    assert not found, "\n".join(found)


BAD = """
import streamlit as st
import plotly.graph_objects as go
from dashboard.text import code, md, plain, plot_text

LEGEND = "**bold** constant"


def show(label, n):
    st.caption(label)                                  # fine here: every caller must pass safe text


def caption_of(title):
    return f"title: {title}"                           # a builder returning raw text


title, mid, rows, pid = load()                        # values the walk knows nothing about
st.markdown(f"#### {title}")                           # 17: raw title
st.markdown(f"#### {md(title)} · {len(rows)} · {3.5:.2f} · {LEGEND}")
st.caption(f"`{md(pid)}`")                             # 19: md() inside a code span
st.caption(f"{code(pid)} · {rows[0]:,}")
st.write("x", mid)                                     # 21: raw id
st.metric("F1", "0.5", help=mid)                       # 22: raw help
st.selectbox("Model", [mid], format_func=lambda m: f"{m} — x")     # 23: raw option
st.radio("Split", ["a"], format_func=lambda s: plain(s))           # 24: plain() where Markdown renders
st.error(str(ValueError(mid)))                         # 25: exception text
show(md(mid), 1)
show(f"model {mid}", 2)                                # 27: a wrapper's caller passes raw text
st.info(caption_of(title))                             # 28: builder returns raw text
go.Figure().add_scatter(x=[1], y=[2], name=mid, hovertext=[plot_text(title)])   # 29: raw trace name
go.Figure().update_layout(title=dict(text=f"{mid}"))   # 30: raw nested title
st.markdown(f"<div>{title}</div>", unsafe_allow_html=True)        # 31: raw HTML
for kind, name in (("a", "A"), ("b", "B")):
    st.caption(f"{kind}: {name}")
PARAMS = {"a": ("Label", -1.0, "help text")}
SHAPES = ("merged", "split")


def slider(label, help=None):
    return st.slider(label, 0.0, 1.0, help=help)


def unset(key, **default):
    return {} if key else default


def numbers(n, m):
    text = "**n**"
    text += f" {n:,} · {m:.2f}"
    return text


def numbers_and(n, m):
    text = "**n**"
    text += f" {n:,} · {m}"
    return text


st.slider("Size", 1, 5, (1, 5))                        # Streamlit's slider, not the page's: no help here
slider("T", help=mid)                                  # 59: the page's slider renders help
slider("T", **unset("k", value=0.5))
slider("T", **unset("k", help=mid))                    # 61: a help through **unset
slider("T", **load())                                  # 62: cannot tell
st.caption(numbers(1, 2.0))
st.caption(numbers_and(1, title))                      # 64: += of a raw part
label, low, hint = PARAMS["a"]
st.number_input(label, help=hint)
group_kind = st.segmented_control("Kind", ["a", "b"]) or "a"
st.markdown(f"#### {group_kind.title()} groups")
pick = st.selectbox("Model", [mid, "x"])
st.markdown(f"#### {pick}")                            # 70: one of untrusted options
st.pills("Shape", list(SHAPES), format_func=lambda x: f"{x} · {len(rows):,}", help=", ".join(f"- {k}" for k in SHAPES))
st.radio("R", list({mid: "x"}))                        # 72: a mapping's keys are its items
"""


def test_the_walk_catches_what_it_is_meant_to(tmp_path):
    """The rule itself: each marked line of a made-up page is reported, and nothing else."""
    page = tmp_path / "page.py"
    page.write_text(BAD.lstrip("\n"), encoding="utf-8")
    project = Project(files=[page], sources=[HELPER_MODULE, page])
    found = violations(project, page) + call_site_violations(project)
    lines = sorted({int(f.split(":")[1]) for f in found})
    assert lines == [17, 19, 21, 22, 23, 24, 25, 27, 28, 29, 30, 31, 59, 61, 62, 64, 70, 72], "\n".join(found)
