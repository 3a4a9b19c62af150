"""Find raw SQL whose text is built from values instead of passing them as parameters.

Looks at every call that sends SQL (``.execute``, ``.executemany``, ``.raw``, ``.extra``,
``RawSQL``, psycopg's ``cursor.copy``) and at the expression its SQL comes from, following a
local variable to its assignments, a parameter to the calls in the same file, and a name to
its module-level assignment. Safe: a string constant, or psycopg ``sql.SQL`` composition
(identifiers quoted by ``sql.Identifier``, values by ``sql.Literal``). Anything interpolated
(f-string, ``%``, ``+``, ``.format``, ``.join``) is a finding, unless its statement carries
``# noqa: S608`` — ruff's own SQL-injection rule, whose exceptions are reviewed in code review
(identifiers from model metadata only, values as parameters).
"""

from __future__ import annotations

import ast
from pathlib import Path

from .findings import Finding

SQL_METHODS = {"execute", "executemany", "raw", "extra", "copy"}
REVIEWED = "noqa: S608"


def _is_sql_composition(node: ast.AST) -> bool:
    """``sql.SQL(...)``, ``sql.SQL(...).format(...)``, ``sql.Composed``/``join`` on them."""
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id == "sql" and func.attr in {"SQL", "Composed", "Identifier"}:
                return True
        if isinstance(func, ast.Attribute) and func.attr in {"format", "join"}:
            return _is_sql_composition(func.value)
    return False


class _Scanner(ast.NodeVisitor):
    def __init__(self, path: str, source: str, tree: ast.Module) -> None:
        self.path = path
        self.lines = source.splitlines()
        self.tree = tree
        self.findings: list[Finding] = []
        self.scopes: list[ast.AST] = []
        self.parents = {
            child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)
        }

    def visit_Module(self, node: ast.Module) -> None:
        self.scopes.append(node)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.scopes.append(node)
        self.generic_visit(node)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        sends_sql = (isinstance(func, ast.Attribute) and func.attr in SQL_METHODS) or (
            isinstance(func, ast.Name) and func.id == "RawSQL"
        )
        if sends_sql and node.args and not self._is_numpy_copy(node):
            self._check(node.args[0], depth=0)
        self.generic_visit(node)

    @staticmethod
    def _is_numpy_copy(node: ast.Call) -> bool:
        return isinstance(node.func, ast.Attribute) and node.func.attr == "copy" and not node.args

    def _reviewed(self, node: ast.AST) -> bool:
        end = getattr(node, "end_lineno", node.lineno)
        return any(REVIEWED in self.lines[n - 1] for n in range(node.lineno, end + 1))

    def _check(self, expr: ast.AST, depth: int) -> None:
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str | bytes):
            return
        if _is_sql_composition(expr) or self._formats_a_composition(expr):
            return
        if isinstance(expr, ast.Name) and depth < 4:
            values = self._assignments(expr.id)
            if not values:
                values = self._arguments_passed(expr.id)
            if not values:
                values = self._module_assignments(expr.id)
            if not values:
                self._flag(expr, f"SQL from {expr.id!r}, which is not built here")
            for scope, value in values:
                self.scopes.append(scope)
                try:
                    self._check(value, depth + 1)
                finally:
                    self.scopes.pop()
            return
        if isinstance(expr, ast.JoinedStr | ast.BinOp | ast.Call):
            if not self._reviewed(expr):
                self._flag(expr, f"SQL built by interpolation: {ast.unparse(expr)[:80]}")
            return
        self._flag(expr, f"SQL from an expression: {ast.unparse(expr)[:80]}")

    def _formats_a_composition(self, expr: ast.AST) -> bool:
        """``query.format(...)`` where every assignment of ``query`` is an ``sql.SQL``."""
        if not (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)):
            return False
        base = expr.func.value
        if expr.func.attr not in {"format", "join"} or not isinstance(base, ast.Name):
            return False
        values = self._assignments(base.id)
        return bool(values) and all(_is_sql_composition(v) for _, v in values)

    def _assignments(self, name: str) -> list[tuple[ast.AST, ast.AST]]:
        scope = self.scopes[-1]
        values = []
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets
            ):
                values.append((scope, node.value))
            elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(
                node.target, ast.Name
            ):
                if node.target.id == name and node.value is not None:
                    values.append((scope, node.value))
        return values

    def _module_assignments(self, name: str) -> list[tuple[ast.AST, ast.AST]]:
        """A module-level constant such as ``_QUERY = "SELECT …"`` used inside a function."""
        return [
            (self.tree, node.value)
            for node in self.tree.body
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        ]

    def _arguments_passed(self, name: str) -> list[tuple[ast.AST, ast.AST]]:
        """What the calls in this file pass for parameter ``name`` of the enclosing function."""
        function = self.scopes[-1]
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            return []
        params = [a.arg for a in function.args.posonlyargs + function.args.args]
        if name not in params:
            return []
        index = params.index(name)
        passed = []
        for call in ast.walk(self.tree):
            if not isinstance(call, ast.Call):
                continue
            callee = call.func.id if isinstance(call.func, ast.Name) else None
            if callee != function.name:
                continue
            value = next((k.value for k in call.keywords if k.arg == name), None)
            if value is None and index < len(call.args):
                value = call.args[index]
            if value is not None:
                passed.append((self._scope_of(call), value))
        return passed

    def _scope_of(self, node: ast.AST) -> ast.AST:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node
        return self.tree

    def _flag(self, node: ast.AST, problem: str) -> None:
        self.findings.append(Finding(self.path, node.lineno, problem))


def scan_source(path: str, source: str) -> list[Finding]:
    tree = ast.parse(source, filename=path)
    scanner = _Scanner(path, source, tree)
    scanner.visit(tree)
    return scanner.findings


def scan_files(root: Path, paths: list[str]) -> list[Finding]:
    findings = []
    for path in paths:
        findings.extend(scan_source(path, (root / path).read_text()))
    return findings
