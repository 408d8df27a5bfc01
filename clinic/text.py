"""The one rule for text people type: no control or text-direction characters (ASVS 5.1.4).

``"Zed\\x07\\x1b[2J"`` or ``"\\u202eavotsetnep"`` would be stored raw and reach the patient
page, an email's display name and an invitation's ``ATTENDEE;CN=`` line (which icalendar
then cannot read). Ordinary Unicode is text like any other: "Zoë Núñez-O'Brien", "محمد",
"李小龙", and the zero-width joiners some scripts and emoji need.

Refused: every control character (Unicode category Cc: C0, DEL, C1; NUL among them), the
line and paragraph separators, and the bidirectional embeddings, overrides and isolates
(U+202A..U+202E, U+2066..U+2069) that make text display in another order than it is
stored. Multi-line fields (notes) may also hold line breaks and tabs.

Patients, set-up, accounts, the API's schemas and the CLI all call this module.
"""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_SEPARATORS = frozenset("\u2028\u2029")
MULTILINE_ALLOWED = frozenset("\n\r\t")

# The same rule as a regular expression, for the API's JSON schema.
_ALWAYS_REFUSED = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
TEXT_PATTERN = "^[^" + _ALWAYS_REFUSED + r"\t\n\r]*$"
MULTILINE_TEXT_PATTERN = "^[^" + _ALWAYS_REFUSED + "]*$"

TEXT_MESSAGE = (
    "This text contains an invisible control or text-direction character (often pasted "
    "from another program). Retype it and try again."
)


def forbidden_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character ``value`` may not hold, or None."""
    for ch in value:
        if multiline and ch in MULTILINE_ALLOWED:
            continue
        if ch in BIDI_CONTROLS or ch in LINE_SEPARATORS or unicodedata.category(ch) == "Cc":
            return ch
    return None


def text_problem(value: str | None, *, multiline: bool = False) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    if value and forbidden_character(value, multiline=multiline) is not None:
        return TEXT_MESSAGE
    return None


def checked_text(value: str, *, multiline: bool = False) -> str:
    """``value`` unchanged, or ValueError with the message (pydantic and click validators)."""
    if problem := text_problem(value, multiline=multiline):
        raise ValueError(problem)
    return value


# Latin letters with a stroke or ligature that Unicode does not decompose.
_UNDECOMPOSED = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe"}
)


def fold(text: str) -> str:
    """``text`` as searches compare it: lower case, accents dropped ("Núñez" → "nunez").

    Compatibility decomposition (NFKD) splits "ñ" into "n" and a combining tilde and turns
    look-alikes ("ﬁ", full-width letters) into plain ones; the combining marks are then
    dropped and the rest case-folded ("ß" → "ss"). Scripts without accents pass unchanged.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.casefold().translate(_UNDECOMPOSED)
