"""Test selection with ``-k EXPR``: words matched as substrings of test ids, combined with
``and``, ``or``, ``not`` and parentheses (as pytest's ``-k``)."""

from __future__ import annotations

import re

__all__ = ["SelectionError", "matches"]

_TOKEN = re.compile(r"\(|\)|[^\s()]+")


class SelectionError(ValueError):
    """The ``-k`` expression cannot be parsed."""


class _Parser:
    def __init__(self, expression: str, name: str) -> None:
        self.tokens = _TOKEN.findall(expression)
        self.position = 0
        self.name = name

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise SelectionError("the -k expression ends too early")
        self.position += 1
        return token

    def parse(self) -> bool:
        value = self.disjunction()
        if self.peek() is not None:
            raise SelectionError(f"unexpected {self.peek()!r} in the -k expression")
        return value

    def disjunction(self) -> bool:
        value = self.conjunction()
        while self.peek() == "or":
            self.take()
            right = self.conjunction()
            value = value or right
        return value

    def conjunction(self) -> bool:
        value = self.negation()
        while self.peek() == "and":
            self.take()
            right = self.negation()
            value = value and right
        return value

    def negation(self) -> bool:
        if self.peek() == "not":
            self.take()
            return not self.negation()
        token = self.take()
        if token == "(":  # noqa: S105 - a parenthesis, not a password
            value = self.disjunction()
            if self.take() != ")":
                raise SelectionError("unbalanced parentheses in the -k expression")
            return value
        if token in {")", "and", "or"}:
            raise SelectionError(f"unexpected {token!r} in the -k expression")
        return token.lower() in self.name.lower()


def matches(expression: str | None, name: str) -> bool:
    """Whether test id ``name`` is selected by ``expression`` (everything when ``None``)."""
    if not expression:
        return True
    return _Parser(expression, name).parse()
