"""Password policy (ASVS 2.1): 12 to 128 characters, not the username, not a common or
trivially varied password, and strong by zxcvbn's estimate (which knows tens of thousands
of breached passwords, words, names, dates, keyboard walks and repeats).

Plain Python (no Flask), applied by ``clinic.accounts.users`` for the CLI and the admin pages.
"""

from __future__ import annotations

import functools
from pathlib import Path

from zxcvbn import zxcvbn

from ..models import MIN_PASSWORD_LENGTH

# Longer is refused rather than silently cut (ASVS 2.1.2): the login form takes this many.
MAX_PASSWORD_LENGTH = 128
# zxcvbn's 0..4 scale; 3 is "safely unguessable: moderate protection from offline attacks".
MIN_STRENGTH_SCORE = 3

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"
# Fewer distinct characters than this is a pattern ("aaaaaaaaaaaa", "abababababab").
MIN_DISTINCT_CHARACTERS = 5
# Characters people tack onto a common word to pass a length rule: "password123456!".
PADDING = "0123456789!@#$%^&*()-_=+.,;:?~ "


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def is_common(password: str) -> bool:
    """True for a listed password, and for a listed one with digits or symbols around it."""
    folded = password.strip().lower()
    listed = common_passwords()
    if folded in listed:
        return True
    core = folded.strip(PADDING)
    # Only a core of some length counts: "ab" + digits is caught by the length rule anyway,
    # and refusing every password that ends in a digit after a short word would be silly.
    return len(core) >= 4 and core in listed


def password_problem(username: str, password: str) -> str | None:
    """Why ``password`` is not acceptable for ``username``, or None when it is."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password must be at most {MAX_PASSWORD_LENGTH} characters long."
    folded = password.strip().lower()
    name = username.strip().lower()
    if name and (folded == name or folded.strip(PADDING) == name):
        return "The password must not be the username."
    if len(set(folded)) < MIN_DISTINCT_CHARACTERS:
        return "The password repeats too few characters; choose a less predictable one."
    if is_common(password):
        return (
            "That password is on the list of commonly used passwords; choose another "
            "(a few unrelated words make a strong one)."
        )
    # zxcvbn refuses more than 72 characters by default (its matching grows faster than the
    # length); 128 is still fast (measured: well under a second).
    estimate = zxcvbn(password, user_inputs=[name] if name else [], max_length=MAX_PASSWORD_LENGTH)
    if estimate["score"] < MIN_STRENGTH_SCORE:
        warning = (estimate.get("feedback") or {}).get("warning") or ""
        return " ".join(
            part
            for part in (
                "That password would be easy to guess.",
                warning.rstrip(".") + "." if warning else "",
                "A few unrelated words make a strong one.",
            )
            if part
        )
    return None
