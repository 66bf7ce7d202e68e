"""Identity names: one canonical form per person, and refusal of names that merely look like another.

Pure functions, no I/O. A principal is compared in its canonical form (NFKC, case-folded, white space
trimmed and collapsed), so `Alice` and `alice` are one person and four eyes cannot be dodged by case.
Invisible and control characters are refused outright. What canonical forms cannot catch, names that
look alike in different scripts (`alice` and `аlice` with a Cyrillic а), is caught by the confusable
*skeleton*, after the idea of Unicode TR39: each look-alike letter is replaced by its Latin prototype.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Final

MAX_LENGTH: Final = 128

# Categories no name may contain: controls, format characters (zero-width space, bidi overrides, soft
# hyphen), private use, surrogates, unassigned code points, and line or paragraph separators.
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
# Default-ignorable or blank code points in other categories: they draw nothing either.
_INVISIBLE: Final = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)
# Scripts that are written together in one name (TR39 "highly restrictive" allows Latin with these).
_CJK: Final = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC"})
# Common Cyrillic, Greek and Latin look-alikes of Latin letters and digits, after case folding.
_PROTOTYPES: Final = str.maketrans(
    {
        **dict.fromkeys("аɑα", "a"),
        **dict.fromkeys("ьƅ", "b"),
        **dict.fromkeys("сϲ", "c"),
        "ԁ": "d",
        **dict.fromkeys("е", "e"),
        "ɡ": "g",
        "һ": "h",
        **dict.fromkeys("іıɩιӀ", "i"),
        **dict.fromkeys("јȷϳ", "j"),
        "κ": "k",
        **dict.fromkeys("ӏ1|", "l"),
        **dict.fromkeys("ηп", "n"),
        **dict.fromkeys("оο0", "o"),
        **dict.fromkeys("рρ", "p"),
        "ԛ": "q",
        "г": "r",
        "ѕ": "s",
        "υ": "u",
        **dict.fromkeys("νѵ", "v"),
        **dict.fromkeys("ԝω", "w"),
        **dict.fromkeys("хχ", "x"),
        **dict.fromkeys("уү", "y"),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    }
)
_SEQUENCES: Final = (("rn", "m"), ("vv", "w"))


class InvalidName(ValueError):
    """A name that cannot be a principal; the message says why."""


def _fold(name: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def _invisible(ch: str) -> bool:
    return unicodedata.category(ch) in _REFUSED_CATEGORIES or ch in _INVISIBLE


def canonical(name: str) -> str:
    """The canonical form of a principal name; InvalidName when it is empty or has invisible characters."""
    folded = _fold(name)
    for ch in folded:
        if _invisible(ch) or (ch.isspace() and ch != " "):
            raise InvalidName(
                f"a principal name may not contain invisible or control characters (found U+{ord(ch):04X})"
            )
    folded = " ".join(folded.split())
    if not folded:
        raise InvalidName("a principal name cannot be empty")
    if len(folded) > MAX_LENGTH:
        raise InvalidName(f"a principal name has at most {MAX_LENGTH} characters")
    return folded


def loose(name: str) -> str:
    """A stored name as comparable as possible, for rows written before names were canonical."""
    return " ".join("".join(ch for ch in _fold(name) if not _invisible(ch)).split())


def scripts(name: str) -> set[str]:
    """The scripts of the letters and digits in `name` (punctuation and marks belong to none)."""
    found: set[str] = set()
    for ch in name:
        if unicodedata.category(ch)[0] not in "LN":
            continue
        word = unicodedata.name(ch, "UNKNOWN").split()[0]
        if word not in ("DIGIT", "MODIFIER"):
            found.add("CJK" if word in _CJK else word)
    return found


def require_single_script(name: str) -> None:
    """InvalidName when `name` mixes scripts (Latin with CJK is the one mix allowed)."""
    found = scripts(name)
    if len(found) > 1 and found != {"LATIN", "CJK"}:
        raise InvalidName(
            f"a principal name may not mix scripts ({', '.join(sorted(found)).lower()}): "
            "letters from one alphabet that look like another's are how impostor names are made"
        )


def skeleton(name: str) -> str:
    """What a name looks like: look-alike letters replaced by their Latin prototype (TR39's idea)."""
    shape = unicodedata.normalize("NFD", loose(name)).translate(_PROTOTYPES)
    for sequence, prototype in _SEQUENCES:
        shape = shape.replace(sequence, prototype)
    return unicodedata.normalize("NFD", shape)


def require_distinct(name: str, existing: Iterable[str]) -> None:
    """InvalidName when canonical `name` looks like an existing principal that is someone else."""
    shape = skeleton(name)
    for other in existing:
        if loose(other) != name and skeleton(other) == shape:
            raise InvalidName(
                f"{ascii_name(name)} looks like the existing principal {ascii_name(loose(other))}; "
                "pick a name that cannot be mistaken for it"
            )


def same_person(a: str, b: str) -> bool:
    """True when two names are one principal, or look so alike that a reader could not tell them apart."""
    return loose(a) == loose(b) or skeleton(a) == skeleton(b)


def ascii_name(name: str) -> str:
    """`name` in plain ASCII: backslashes doubled, anything else outside ASCII as a \\u escape."""
    return name.replace("\\", "\\\\").encode("ascii", "backslashreplace").decode("ascii")
