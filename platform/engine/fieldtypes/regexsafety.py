r"""A static check for regular expressions that may backtrack catastrophically.

A string field's `pattern` runs against user input on every form post, and may also end up in an
HTML `pattern` attribute, run by browser engines without safeguards. The check flags the shapes
behind exponential (or high-polynomial) backtracking: a repeated group whose text can be split
among its iterations in more than one way. That covers nested quantifiers such as `(a+)+`,
`(a*)*`, `(\w+\s?)*` and `(.*a){20}`, and repeated alternations whose branches overlap, such as
`(a|a)*` or `(\d|1)+`. Delimited repetition such as `[a-z]+(-[a-z]+)*` passes.

The pattern is parsed with the standard library's own regex parser (`re._parser`, which is
what `re.compile` uses) so the check sees exactly the syntax Python accepts. Character sets are
compared on a finite sample of characters: ASCII, a few non-ASCII letters, digits and spaces, and
every character the pattern names.
"""

from __future__ import annotations

import re
import re._constants as sre_c
import re._parser as sre_parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

#: Non-ASCII characters that stand for their classes when sets are compared.
_SAMPLES: Final = "\u00a0\u00e9\u00c9\u00df\u00f1\u0416\u0436\u4e2d\u0663\u2003\u2028\U0001f600"
#: Upper bound of the code points a range contributes to the sample beyond its ends.
_RANGE_STEPS: Final = 4

_REPEATS: Final = (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT)

Node = tuple[Any, Any]
Seq = Sequence[Node]


@dataclass(frozen=True, slots=True)
class _Info:
    """What a piece of pattern can match first and last, and whether it can match nothing."""

    nullable: bool
    first: frozenset[str]
    last: frozenset[str]


_EMPTY: Final = _Info(True, frozenset(), frozenset())


def unsafe_reason(pattern: str) -> str | None:
    """Why `pattern` may backtrack catastrophically, or None when no risky shape is found.

    Raises `re.error` when the pattern does not compile at all.
    """
    parsed = sre_parse.parse(pattern)
    flags = int(parsed.state.flags)
    return _Analyzer(parsed, flags).find(list(parsed), inside_repeat=False)


class _Analyzer:
    def __init__(self, parsed: Seq, flags: int) -> None:
        self.ignorecase = bool(flags & re.IGNORECASE) or _has_inline_ignorecase(parsed)
        self.dotall = bool(flags & re.DOTALL)
        chars = set(map(chr, range(128))) | set(_SAMPLES)
        for point in _code_points(parsed):
            chars.add(chr(point))
        if self.ignorecase:
            chars |= {v for c in list(chars) for v in (c.lower(), c.upper()) if len(v) == 1}
        self.universe = frozenset(chars)

    # -- finding risky shapes ----------------------------------------------------------
    def find(self, seq: Seq, *, inside_repeat: bool) -> str | None:
        for op, av in seq:
            reason: str | None = None
            if op in _REPEATS:
                low, high, body = av
                if high > 1:
                    reason = self._repeat_reason(list(body))
                reason = reason or self.find(body, inside_repeat=inside_repeat or high > 1)
            elif op is sre_c.BRANCH:
                if inside_repeat:
                    reason = self._branch_reason(av[1])
                for alt in av[1]:
                    reason = reason or self.find(alt, inside_repeat=inside_repeat)
            elif op is sre_c.IN and inside_repeat:
                reason = self._set_reason(av)
            else:
                for child in _children(op, av):
                    reason = reason or self.find(child, inside_repeat=inside_repeat)
            if reason:
                return reason
        return None

    def _repeat_reason(self, body: Seq) -> str | None:
        info = self.seq_info(body)
        if info.nullable and info.first:
            return "a repeated group can also match the empty string, as in (a*)*"
        for inner in self._edge_repeats(body, at_end=True):
            if self.seq_info(inner).first & info.first:
                return "nested quantifiers can match the same text, as in (a+)+"
        for inner in self._edge_repeats(body, at_end=False):
            if self.seq_info(inner).last & info.last:
                return "nested quantifiers can match the same text, as in (.*a){10}"
        return None

    def _branch_reason(self, alternatives: Sequence[Seq]) -> str | None:
        infos = [self.seq_info(alt) for alt in alternatives]
        if sum(1 for i in infos if i.nullable) > 1:
            return "repeated alternatives can match the same text, as in (a|a)*"
        for i, left in enumerate(infos):
            for right in infos[i + 1 :]:
                if left.first & right.first:
                    return "repeated alternatives can match the same text, as in (a|a)*"
        return None

    def _set_reason(self, members: Seq) -> str | None:
        # Python folds (\d|1) into the set [\d1]; other engines run it as an alternation.
        if any(op is sre_c.NEGATE for op, _ in members):
            return None
        sets = [self._member(op, av) for op, av in members]
        for i, left in enumerate(sets):
            for right in sets[i + 1 :]:
                if left & right:
                    return "repeated alternatives can match the same text, as in (\\d|1)+"
        return None

    def _edge_repeats(self, seq: Seq, *, at_end: bool) -> list[Seq]:
        """Bodies of variable repeats that can match at the start (or end) of `seq`."""
        out: list[Seq] = []
        for op, av in reversed(seq) if at_end else seq:
            if op in _REPEATS:
                low, high, body = av
                if high > low and high > 1:
                    out.append(body)
                out.extend(self._edge_repeats(body, at_end=at_end))
            elif op is sre_c.SUBPATTERN:
                out.extend(self._edge_repeats(av[3], at_end=at_end))
            elif op is sre_c.BRANCH:
                for alt in av[1]:
                    out.extend(self._edge_repeats(alt, at_end=at_end))
            # Possessive repeats and atomic groups never give text back: not a risk here.
            if not self.item_info(op, av).nullable:
                break
        return out

    # -- what pieces match -------------------------------------------------------------
    def seq_info(self, seq: Seq) -> _Info:
        infos = [self.item_info(op, av) for op, av in seq]
        first: set[str] = set()
        for info in infos:
            first |= info.first
            if not info.nullable:
                break
        last: set[str] = set()
        for info in reversed(infos):
            last |= info.last
            if not info.nullable:
                break
        return _Info(all(i.nullable for i in infos), frozenset(first), frozenset(last))

    def item_info(self, op: Any, av: Any) -> _Info:
        chars = self._single(op, av)
        if chars is not None:
            return _Info(False, chars, chars)
        if op in (sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT):
            return _EMPTY
        if op in (*_REPEATS, sre_c.POSSESSIVE_REPEAT):
            body = self.seq_info(av[2])
            return _Info(av[0] == 0 or body.nullable, body.first, body.last)
        if op is sre_c.SUBPATTERN:
            return self.seq_info(av[3])
        if op is sre_c.ATOMIC_GROUP:
            return self.seq_info(av)
        if op is sre_c.BRANCH:
            return _union(self.seq_info(alt) for alt in av[1])
        if op is sre_c.GROUPREF_EXISTS:
            yes = self.seq_info(av[1])
            no = self.seq_info(av[2]) if av[2] is not None else _EMPTY
            return _union((yes, no))
        # Back-references and anything unknown: could be anything, could be empty.
        return _Info(True, self.universe, self.universe)

    def _single(self, op: Any, av: Any) -> frozenset[str] | None:
        """The characters a one-character item matches, or None for other items."""
        if op is sre_c.LITERAL:
            return self._cased(frozenset({chr(av)}))
        if op is sre_c.NOT_LITERAL:
            return self.universe - self._cased(frozenset({chr(av)}))
        if op is sre_c.ANY:
            return self.universe if self.dotall else self.universe - {"\n"}
        if op is sre_c.IN:
            negate = any(m_op is sre_c.NEGATE for m_op, _ in av)
            chars: frozenset[str] = frozenset()
            for m_op, m_av in av:
                if m_op is not sre_c.NEGATE:
                    chars |= self._member(m_op, m_av)
            return self.universe - chars if negate else chars
        return None

    def _member(self, op: Any, av: Any) -> frozenset[str]:
        if op is sre_c.LITERAL:
            return self._cased(frozenset({chr(av)}))
        if op is sre_c.RANGE:
            low, high = av
            return self._cased(frozenset(c for c in self.universe if low <= ord(c) <= high))
        if op is sre_c.CATEGORY:
            return frozenset(c for c in self.universe if _in_category(av, c))
        return self.universe

    def _cased(self, chars: frozenset[str]) -> frozenset[str]:
        if not self.ignorecase:
            return chars
        variants = {v for c in chars for v in (c, c.lower(), c.upper()) if len(v) == 1}
        return frozenset(variants) & self.universe | chars


def _union(infos: Iterable[_Info]) -> _Info:
    nullable, first, last = False, frozenset[str](), frozenset[str]()
    for info in infos:
        nullable = nullable or info.nullable
        first |= info.first
        last |= info.last
    return _Info(nullable, first, last)


def _in_category(category: Any, char: str) -> bool:
    if category is sre_c.CATEGORY_DIGIT:
        return char.isdecimal()
    if category is sre_c.CATEGORY_NOT_DIGIT:
        return not char.isdecimal()
    if category is sre_c.CATEGORY_WORD:
        return char.isalnum() or char == "_"
    if category is sre_c.CATEGORY_NOT_WORD:
        return not (char.isalnum() or char == "_")
    if category is sre_c.CATEGORY_SPACE:
        return char.isspace()
    if category is sre_c.CATEGORY_NOT_SPACE:
        return not char.isspace()
    return True


def _children(op: Any, av: Any) -> list[Seq]:
    """Sub-sequences of a node (groups, assertions, conditionals)."""
    if op is sre_c.SUBPATTERN:
        return [av[3]]
    if op is sre_c.ATOMIC_GROUP:
        return [av]
    if op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
        return [av[1]]
    if op in (*_REPEATS, sre_c.POSSESSIVE_REPEAT):
        return [av[2]]
    if op is sre_c.BRANCH:
        return list(av[1])
    if op is sre_c.GROUPREF_EXISTS:
        return [av[1]] + ([av[2]] if av[2] is not None else [])
    return []


def _code_points(seq: Seq) -> Iterable[int]:
    """Every code point the pattern names, plus a few inside each range."""
    for op, av in seq:
        if op in (sre_c.LITERAL, sre_c.NOT_LITERAL):
            yield av
        elif op is sre_c.IN:
            for m_op, m_av in av:
                if m_op is sre_c.LITERAL:
                    yield m_av
                elif m_op is sre_c.RANGE:
                    low, high = m_av
                    step = max(1, (high - low) // _RANGE_STEPS)
                    yield from range(low, high + 1, step)
                    yield high
        for child in _children(op, av):
            yield from _code_points(child)


def _has_inline_ignorecase(seq: Seq) -> bool:
    for op, av in seq:
        if op is sre_c.SUBPATTERN and av[1] & re.IGNORECASE:
            return True
        if any(_has_inline_ignorecase(child) for child in _children(op, av)):
            return True
    return False
