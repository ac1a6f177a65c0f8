"""CEL text → syntax tree, with cel-go's macro expansion.

Hand-written (not a generated ANTLR parser) because the project compiles CEL itself: a recursive
descent parser over CEL's small grammar gives positions for error messages and keeps import time
near zero. Errors read like cel-go's (``ERROR: <input>:1:1: Syntax error: ...``).
"""

from __future__ import annotations

import re
from typing import NoReturn

from kubedra.cel.ast import (
    ACCU,
    Call,
    Comprehension,
    CreateList,
    CreateMap,
    Expr,
    Ident,
    Literal,
    Select,
)
from kubedra.cel.errors import CompileError
from kubedra.cel.values import UInt

__all__ = ["parse"]

MAX_DEPTH = 250

_RESERVED = frozenset(
    ["as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"]
)

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n\f]+|//[^\n]*)
  | (?P<num>0[xX][0-9a-fA-F]+[uU]?|(?:[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+|\.[0-9]+(?:[eE][+-]?[0-9]+)?)|[0-9]+[uU]?)
  | (?P<str>(?:[rR][bB]?|[bB][rR]?)?(?:\"\"\"|'''|"|'))
  | (?P<ident>[_a-zA-Z][_a-zA-Z0-9]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%!<>?:.,()\[\]{}])
  | (?P<bq>`[^`]+`)
    """,
    re.VERBOSE,
)


class Token:
    __slots__ = ("kind", "pos", "text", "value")

    def __init__(self, kind: str, text: str, pos: int, value: object = None) -> None:
        self.kind, self.text, self.pos, self.value = kind, text, pos, value


def _unescape(body: str, raw: bool, is_bytes: bool, err: object) -> str | bytes:
    if raw:
        return body.encode("utf-8") if is_bytes else body
    out: list[int] | list[str] = []
    buf = bytearray() if is_bytes else None
    chars: list[str] = []
    i, n = 0, len(body)

    def emit_char(c: str) -> None:
        if buf is not None:
            buf.extend(c.encode("utf-8"))
        else:
            chars.append(c)

    def emit_code(code: int, is_byte: bool) -> None:
        if buf is not None and is_byte:
            buf.append(code)
        else:
            emit_char(chr(code))

    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", "'": "'", '"': '"', "`": "`", "?": "?"}  # fmt: skip
    while i < n:
        c = body[i]
        if c != "\\":
            emit_char(c)
            i += 1
            continue
        if i + 1 >= n:
            raise ValueError("invalid escape")
        e = body[i + 1]
        if e in simple:
            emit_char(simple[e])
            i += 2
        elif e in "xX":
            emit_code(int(body[i + 2 : i + 4], 16), True)
            i += 4
        elif e == "u" and not is_bytes:
            emit_char(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        elif e == "U" and not is_bytes:
            emit_char(chr(int(body[i + 2 : i + 10], 16)))
            i += 10
        elif e in "0123":
            emit_code(int(body[i + 1 : i + 4], 8), True)
            i += 4
        else:
            raise ValueError(f"invalid escape sequence \\{e}")
    del out
    if buf is not None:
        return bytes(buf)
    return "".join(chars)


def _tokenize(src: str, fail: object) -> list[Token]:
    toks: list[Token] = []
    pos, n = 0, len(src)
    while pos < n:
        m = _TOKEN.match(src, pos)
        if m is None:
            toks.append(Token("bad", src[pos], pos))
            pos += 1
            continue
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "ws":
            pos = m.end()
            continue
        if kind == "str":
            prefix = text.rstrip("\"'")
            quote = text[len(prefix) :]
            raw = "r" in prefix.lower()
            is_bytes = "b" in prefix.lower()
            start = m.end()
            j = start
            while True:
                if j >= n or (len(quote) == 1 and src[j] == "\n"):
                    toks.append(Token("bad", text, pos))
                    return [*toks, Token("eof", "<EOF>", n)]
                if src.startswith(quote, j):
                    break
                j += 2 if (src[j] == "\\" and not raw) else 1
            body = src[start:j]
            try:
                value = _unescape(body, raw, is_bytes, fail)
            except (ValueError, IndexError):
                toks.append(Token("bad", src[pos : j + len(quote)], pos))
                pos = j + len(quote)
                continue
            toks.append(Token("lit", src[pos : j + len(quote)], pos, value))
            pos = j + len(quote)
            continue
        if kind == "num":
            toks.append(Token("num", text, pos))
        elif kind == "ident":
            toks.append(Token("ident", text, pos))
        elif kind == "bq":
            toks.append(Token("ident", text[1:-1], pos))
        else:
            toks.append(Token("op", text, pos))
        pos = m.end()
    toks.append(Token("eof", "<EOF>", n))
    return toks


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.toks = _tokenize(src, self._fail)
        self.i = 0
        self.depth = 0
        self.next_id = 1

    # -- helpers
    def _location(self, pos: int) -> tuple[int, int]:
        line = self.src.count("\n", 0, pos) + 1
        col = pos - (self.src.rfind("\n", 0, pos) + 1)
        return line, col

    def _fail(self, msg: str, pos: int) -> NoReturn:
        line, col = self._location(pos)
        raise CompileError(f"ERROR: <input>:{line}:{col + 1}: {msg}")

    def _syntax(self, tok: Token) -> NoReturn:
        if tok.kind == "bad":
            self._fail(f"Syntax error: token recognition error at: '{tok.text}'", tok.pos)
        self._fail(f"Syntax error: mismatched input '{tok.text}'", tok.pos)

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def _peek_op(self, text: str) -> bool:
        t = self.toks[self.i]
        return t.kind == "op" and t.text == text

    def _accept(self, text: str) -> bool:
        if self._peek_op(text):
            self.i += 1
            return True
        return False

    def _expect(self, text: str) -> Token:
        t = self.tok
        if t.kind == "op" and t.text == text:
            self.i += 1
            return t
        self._syntax(t)

    def _id(self, e: Expr) -> Expr:
        e.id = self.next_id
        self.next_id += 1
        return e

    # -- grammar
    def parse(self) -> Expr:
        for t in self.toks:
            if t.kind == "bad":
                self._syntax(t)
        e = self.expr()
        if self.tok.kind != "eof":
            self._syntax(self.tok)
        return e

    def expr(self) -> Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self._fail(f"expression recursion limit exceeded: {MAX_DEPTH}", self.tok.pos)
        try:
            cond = self.or_()
            if self._peek_op("?"):
                pos = self.tok.pos
                self.i += 1
                a = self.or_()
                self._expect(":")
                b = self.expr()
                return self._id(Call(pos, "_?_:_", [cond, a, b]))
            return cond
        finally:
            self.depth -= 1

    def or_(self) -> Expr:
        e = self.and_()
        while self._peek_op("||"):
            pos = self.tok.pos
            self.i += 1
            e = self._id(Call(pos, "_||_", [e, self.and_()]))
        return e

    def and_(self) -> Expr:
        e = self.rel()
        while self._peek_op("&&"):
            pos = self.tok.pos
            self.i += 1
            e = self._id(Call(pos, "_&&_", [e, self.rel()]))
        return e

    _REL = {"<": "_<_", "<=": "_<=_", ">": "_>_", ">=": "_>=_", "==": "_==_", "!=": "_!=_"}

    def rel(self) -> Expr:
        e = self.add()
        while True:
            t = self.tok
            if t.kind == "op" and t.text in self._REL:
                fn = self._REL[t.text]
            elif t.kind == "ident" and t.text == "in":
                fn = "@in"
            else:
                return e
            self.i += 1
            e = self._id(Call(t.pos, fn, [e, self.add()]))

    def add(self) -> Expr:
        e = self.mul()
        while self.tok.kind == "op" and self.tok.text in "+-":
            t = self.tok
            self.i += 1
            e = self._id(Call(t.pos, f"_{t.text}_", [e, self.mul()]))
        return e

    def mul(self) -> Expr:
        e = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/", "%"):
            t = self.tok
            self.i += 1
            e = self._id(Call(t.pos, f"_{t.text}_", [e, self.unary()]))
        return e

    def unary(self) -> Expr:
        t = self.tok
        if t.kind == "op" and t.text in ("!", "-"):
            ops = []
            while self.tok.kind == "op" and self.tok.text == t.text:
                ops.append(self.tok)
                self.i += 1
            if t.text == "-" and self.tok.kind == "num" and len(ops) % 2 == 1:
                # A negative literal: -9223372036854775808 must parse.
                num = self.tok
                self.i += 1
                e: Expr = self._number(num, negate=True)
                ops.pop()
                e = self.member_suffix(e)
            else:
                e = self.member()
            fn = "!_" if t.text == "!" else "-_"
            for op in reversed(ops):
                e = self._id(Call(op.pos, fn, [e]))
            return e
        return self.member()

    def member(self) -> Expr:
        return self.member_suffix(self.primary())

    def member_suffix(self, e: Expr) -> Expr:
        while True:
            t = self.tok
            if t.kind != "op":
                return e
            if t.text == ".":
                self.i += 1
                optional = self._accept("?")
                name_tok = self.tok
                if name_tok.kind != "ident":
                    self._syntax(name_tok)
                self.i += 1
                if not optional and self._peek_op("("):
                    self.i += 1
                    args = self.expr_list(")")
                    e = self.member_call(e, name_tok, args)
                else:
                    e = self._id(Select(name_tok.pos, e, name_tok.text, optional=optional))
            elif t.text == "[":
                self.i += 1
                optional = self._accept("?")
                idx = self.expr()
                self._expect("]")
                e = self._id(Call(t.pos, "_[?_]" if optional else "_[_]", [e, idx]))
            else:
                return e

    def expr_list(self, close: str) -> list[Expr]:
        args: list[Expr] = []
        if self._accept(close):
            return args
        while True:
            args.append(self.expr())
            if self._accept(close):
                return args
            self._expect(",")

    def primary(self) -> Expr:
        t = self.tok
        if t.kind == "num":
            self.i += 1
            return self._number(t)
        if t.kind == "lit":
            self.i += 1
            return self._id(Literal(t.pos, t.value))
        if t.kind == "ident":
            self.i += 1
            name = t.text
            if name == "true":
                return self._id(Literal(t.pos, True))
            if name == "false":
                return self._id(Literal(t.pos, False))
            if name == "null":
                return self._id(Literal(t.pos, None))
            if name in _RESERVED or name == "in":
                self._fail(f"Syntax error: reserved identifier: {name}", t.pos)
            if self._peek_op("("):
                self.i += 1
                args = self.expr_list(")")
                return self.global_call(t, args)
            if self._peek_op("{"):
                self._fail("Syntax error: message construction is not supported in this environment", t.pos)
            return self._id(Ident(t.pos, name))
        if t.kind == "op":
            if t.text == "(":
                self.i += 1
                e = self.expr()
                self._expect(")")
                return e
            if t.text == "[":
                self.i += 1
                elems: list[Expr] = []
                opt: set[int] = set()
                while not self._accept("]"):
                    if self._accept("?"):
                        opt.add(len(elems))
                    elems.append(self.expr())
                    if not self._accept(","):
                        self._expect("]")
                        break
                return self._id(CreateList(t.pos, elems, frozenset(opt)))
            if t.text == "{":
                self.i += 1
                entries: list[tuple[Expr, Expr, bool]] = []
                while not self._accept("}"):
                    optional = self._accept("?")
                    k = self.expr()
                    self._expect(":")
                    v = self.expr()
                    entries.append((k, v, optional))
                    if not self._accept(","):
                        self._expect("}")
                        break
                return self._id(CreateMap(t.pos, entries))
            if t.text == ".":
                self.i += 1
                name_tok = self.tok
                if name_tok.kind != "ident":
                    self._syntax(name_tok)
                self.i += 1
                if self._peek_op("("):
                    self.i += 1
                    return self.global_call(name_tok, self.expr_list(")"))
                return self._id(Ident(name_tok.pos, name_tok.text))
        self._syntax(t)

    def _number(self, t: Token, negate: bool = False) -> Expr:
        text = t.text
        sign = -1 if negate else 1
        try:
            if text[-1] in "uU":
                if negate:
                    self._fail("Syntax error: unsigned literal cannot be negative", t.pos)
                body = text[:-1]
                v = int(body, 16) if body[:2].lower() == "0x" else int(body)
                if v >= 1 << 64:
                    raise ValueError
                return self._id(Literal(t.pos, UInt(v)))
            if text[:2].lower() == "0x":
                v = sign * int(text, 16)
            elif any(c in text for c in ".eE"):
                return self._id(Literal(t.pos, sign * float(text)))
            else:
                v = sign * int(text)
        except ValueError:
            self._fail("invalid int literal", t.pos)
        if not -(1 << 63) <= v < (1 << 63):
            self._fail("invalid int literal", t.pos)
        return self._id(Literal(t.pos, v))

    # -- macros
    def global_call(self, name: Token, args: list[Expr]) -> Expr:
        if name.text == "has" and len(args) == 1:
            arg = args[0]
            if not isinstance(arg, Select) or arg.test_only or arg.optional:
                self._fail("invalid argument to has() macro", name.pos)
            return self._id(Select(arg.pos, arg.operand, arg.field, test_only=True))
        return self._id(Call(name.pos, name.text, args))

    def _var_name(self, e: Expr, pos: int) -> str:
        if not isinstance(e, Ident):
            self._fail("argument must be a simple name", pos)
        return e.name

    def member_call(self, target: Expr, name_tok: Token, args: list[Expr]) -> Expr:
        fn, pos = name_tok.text, name_tok.pos
        nargs = len(args)
        if isinstance(target, Ident) and target.name == "cel" and fn == "bind" and nargs == 3:
            var = self._var_name(args[0], pos)
            return self._comp(pos, "#unused", None, self._id(CreateList(pos, [])), var, args[1],
                              self._id(Literal(pos, False)), self._id(Ident(pos, var)), args[2])  # fmt: skip
        if fn in ("all", "exists", "exists_one", "existsOne") and nargs in (2, 3):
            v1 = self._var_name(args[0], pos)
            v2 = self._var_name(args[1], pos) if nargs == 3 else None
            if v2 is not None and (v1 == v2 or ACCU in (v1, v2)):
                self._fail(f"{fn}() iteration variables must be distinct", pos)
            pred = args[-1]
            acc = self._acc(pos)
            if fn == "all":
                return self._comp(pos, v1, v2, target, ACCU, self._lit(pos, True),
                                  self._call(pos, "@not_strictly_false", self._acc(pos)),
                                  self._call(pos, "_&&_", acc, pred), self._acc(pos))  # fmt: skip
            if fn == "exists":
                return self._comp(pos, v1, v2, target, ACCU, self._lit(pos, False),
                                  self._call(pos, "@not_strictly_false", self._call(pos, "!_", self._acc(pos))),
                                  self._call(pos, "_||_", acc, pred), self._acc(pos))  # fmt: skip
            step = self._call(pos, "_?_:_", pred, self._call(pos, "_+_", acc, self._lit(pos, 1)), self._acc(pos))
            return self._comp(pos, v1, v2, target, ACCU, self._lit(pos, 0), self._lit(pos, True), step,
                              self._call(pos, "_==_", self._acc(pos), self._lit(pos, 1)))  # fmt: skip
        if fn in ("map", "filter") and nargs in (2, 3) and not (fn == "filter" and nargs == 3):
            v1 = self._var_name(args[0], pos)
            if fn == "filter":
                item: Expr = self._id(Ident(pos, v1))
                mpred: Expr | None = args[1]
            else:
                item = args[-1]
                mpred = args[1] if nargs == 3 else None
            mstep = self._call(pos, "_+_", self._acc(pos), self._id(CreateList(pos, [item])))
            if mpred is not None:
                mstep = self._call(pos, "_?_:_", mpred, mstep, self._acc(pos))
            return self._comp(pos, v1, None, target, ACCU, self._id(CreateList(pos, [])), self._lit(pos, True),
                              mstep, self._acc(pos))  # fmt: skip
        if fn in ("transformList", "transformMap", "transformMapEntry") and nargs in (3, 4):
            v1 = self._var_name(args[0], pos)
            v2 = self._var_name(args[1], pos)
            tpred = args[2] if nargs == 4 else None
            if fn == "transformList":
                init: Expr = self._id(CreateList(pos, []))
                tstep = self._call(pos, "_+_", self._acc(pos), self._id(CreateList(pos, [args[-1]])))
            elif fn == "transformMap":
                init = self._id(CreateMap(pos, []))
                tstep = self._call(pos, "cel.@mapInsert", self._acc(pos), self._id(Ident(pos, v1)), args[-1])
            else:
                init = self._id(CreateMap(pos, []))
                tstep = self._call(pos, "cel.@mapInsert", self._acc(pos), args[-1])
            if tpred is not None:
                tstep = self._call(pos, "_?_:_", tpred, tstep, self._acc(pos))
            return self._comp(pos, v1, v2, target, ACCU, init, self._lit(pos, True), tstep, self._acc(pos))
        if fn in ("optMap", "optFlatMap") and nargs == 2:
            var = self._var_name(args[0], pos)
            inner: Expr = self._comp(pos, "#unused", None, self._id(CreateList(pos, [])), var,
                                     self._id(Call(pos, "value", [], target)), self._lit(pos, False),
                                     self._id(Ident(pos, var)), args[1])  # fmt: skip
            if fn == "optMap":
                inner = self._call(pos, "optional.of", inner)
            return self._call(pos, "_?_:_", self._id(Call(pos, "hasValue", [], target)), inner,
                              self._call(pos, "optional.none"))  # fmt: skip
        return self._id(Call(pos, fn, args, target))

    def _acc(self, pos: int) -> Expr:
        return self._id(Ident(pos, ACCU))

    def _lit(self, pos: int, v: object) -> Expr:
        return self._id(Literal(pos, v))

    def _call(self, pos: int, fn: str, *args: Expr) -> Expr:
        return self._id(Call(pos, fn, list(args)))

    def _comp(self, pos: int, v1: str, v2: str | None, rng: Expr, accu: str, init: Expr, cond: Expr,
              step: Expr, result: Expr) -> Expr:  # fmt: skip
        return self._id(Comprehension(pos, v1, v2, rng, accu, init, cond, step, result))


def parse(src: str) -> Expr:
    """Parse CEL source; raises CompileError with a cel-go style message."""
    return _Parser(src).parse()
