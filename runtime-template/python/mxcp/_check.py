"""`mxcp validate`'s check of an endpoint's Python function: the source is parsed, never run.

Called from Rust (src/python/); not an API for endpoint code.
"""
import ast
import os

from mxcp._host import ENTRY_POINT

_COMPATIBLE = {
    "string": {"str"},
    "integer": {"int"},
    "number": {"float", "int", "Decimal"},
    "boolean": {"bool"},
    "array": {"list", "List", "Sequence", "tuple", "Tuple", "Iterable"},
    "object": {"dict", "Dict", "Mapping", "MutableMapping"},
}
_FORMATS = {"date": {"date", "str"}, "date-time": {"datetime", "str"}, "time": {"time", "str"}}
_NEUTRAL = {"Any", "object", "Optional", "Union"}


def check(path, func_name, params, shown_path):
    """Findings for an endpoint function: [(where, line, col, message, severity)], where is
    "python" (at line/col of the source) or "yaml:<param name or ''>" (at the YAML declaration).
    An error is what makes the call fail (no function, arguments it cannot take); a warning
    what the call survives (an annotation that disagrees with the declared type)."""
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as e:
        return [("yaml:", 0, 0, f"Python source file not found: {shown_path} ({e.strerror})", "error")]
    try:
        tree = ast.parse(source, filename=shown_path)
    except SyntaxError as e:
        return [("python", e.lineno or 1, e.offset or 1, f"syntax error: {e.msg}", "error")]
    if func_name == ENTRY_POINT:
        found = _entry_point(tree, os.path.splitext(os.path.basename(path))[0])
        if found is _NONE:
            return [("yaml:", 0, 0, f"No callable function found in {shown_path}", "error")]
        if found is None:
            return []  # not a plain function, or not known before the module runs
        func, func_name = found, found.name
    else:
        func = None
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == func_name:
                func = node
        if func is None:
            return [("yaml:", 0, 0, f"Function '{func_name}' not found in {shown_path}", "error")]
    findings = []
    a = func.args
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    fparams = {}
    for arg, default in zip(positional, defaults):
        fparams[arg.arg] = (arg, default is not None, arg in a.posonlyargs)
    for arg, default in zip(a.kwonlyargs, a.kw_defaults):
        fparams[arg.arg] = (arg, default is not None, False)
    declared = {name: (ty, fmt, has_default) for name, ty, fmt, has_default in params}
    for name, (ty, fmt, _) in declared.items():
        if name not in fparams:
            if a.kwarg is None:
                findings.append((f"yaml:{name}", 0, 0,
                                 f"parameter '{name}' is declared, but function '{func_name}' in {shown_path} "
                                 f"(line {func.lineno}) has no parameter '{name}'", "error"))
            continue
        arg, _, posonly = fparams[name]
        if posonly:
            findings.append(("python", arg.lineno, arg.col_offset + 1,
                             f"parameter '{name}' of '{func_name}' is positional-only, but mxcp passes arguments by name", "error"))
        if arg.annotation is not None:
            names = _annotation_names(arg.annotation)
            allowed = _FORMATS.get(fmt, set()) | _COMPATIBLE.get(ty, set())
            if names and not names & (_NEUTRAL | allowed):
                shown = ast.unparse(arg.annotation)
                want = f"{ty} (format {fmt})" if fmt else ty
                findings.append(("python", arg.annotation.lineno, arg.annotation.col_offset + 1,
                                 f"parameter '{name}' is annotated '{shown}', but the endpoint declares it as {want}", "warning"))
    for name, (arg, has_default, _) in fparams.items():
        if name not in declared and not has_default:
            findings.append(("python", arg.lineno, arg.col_offset + 1,
                             f"function '{func_name}' requires parameter '{name}', which the endpoint does not declare", "error"))
    return findings


# ---- a resource's function, as `_host.entry_point` resolves it, from the module's top level ----

_NONE = object()  # the module certainly has no function to call
_LITERALS = (ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.JoinedStr, ast.ListComp, ast.SetComp,
             ast.DictComp, ast.GeneratorExp)
_DYNAMIC = {"globals", "exec", "eval", "setattr", "vars", "__import__"}


def _entry_point(tree, stem):
    """The function node the call will use; None when that is not a plain function or cannot be
    told without running the module; _NONE when the reference would find nothing to call."""
    names, dynamic = _bindings(tree)
    for name in ("main", stem):
        if name in names:
            return names[name] if isinstance(names[name], ast.AST) else None
        if dynamic:  # the name may still be bound when the module runs
            return None
    for name in sorted(names):
        kind = names[name]
        if name.startswith("_") or kind == "inert":
            continue
        return kind if isinstance(kind, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
    return _NONE


def _bindings(tree):
    """Top-level names: a def node, "inert" (a module, a literal: never callable) or "other"
    (a class, an import, anything computed); and whether names may appear at run time."""
    names = {}
    dynamic = any(isinstance(n, ast.Name) and n.id in _DYNAMIC for n in ast.walk(tree))

    def bind(target, kind):
        for n in ast.walk(target):
            if isinstance(n, ast.Name):
                names[n.id] = kind

    def visit(body, certain):
        nonlocal dynamic
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names[node.name] = node if certain else "other"
                if node.name == "__getattr__":
                    dynamic = True  # the module answers hasattr() itself
            elif isinstance(node, ast.ClassDef):
                names[node.name] = "other"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    names[a.asname or a.name.split(".")[0]] = "inert" if certain else "other"
            elif isinstance(node, ast.ImportFrom):
                for a in node.names:
                    if a.name == "*":
                        dynamic = True
                    else:
                        names[a.asname or a.name] = "inert" if node.module == "__future__" else "other"
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                kind = "inert" if certain and isinstance(node.value, _LITERALS) else "other"
                for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    bind(t, kind)
            elif isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
                for t in [getattr(node, "target", None)] + [i.optional_vars for i in getattr(node, "items", [])]:
                    if t is not None:
                        bind(t, "other")
            elif isinstance(node, ast.Delete):
                dynamic = True
            for n in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                            ast.ClassDef)) else ():
                if isinstance(n, ast.NamedExpr):
                    bind(n.target, "other")
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                inner = getattr(node, field, None)
                if isinstance(inner, list) and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                      ast.ClassDef)):
                    visit(inner, False)
                    if field == "handlers":
                        for h in inner:
                            if getattr(h, "name", None):
                                names[h.name] = "other"

    visit(tree.body, True)
    return names, dynamic


def _annotation_names(node):
    """The outer type names an annotation mentions (`Optional[int]` -> {"Optional", "int"};
    `int | None` -> {"int"}); an empty set means "cannot tell" (no finding)."""
    import ast

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return set()
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Attribute):
        return {node.attr}
    if isinstance(node, ast.Subscript):
        outer = _annotation_names(node.value)
        if outer & {"Optional", "Union", "Annotated"}:
            inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if outer & {"Annotated"}:
                inner = inner[:1]
            names = set()
            for n in inner:
                names |= _annotation_names(n)
            return names - {"None"}
        return outer
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return (_annotation_names(node.left) | _annotation_names(node.right)) - {"None"}
    return set()
