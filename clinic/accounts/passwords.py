"""Password policy: long enough, not the username, not a common or trivially varied password.

Plain Python (no Flask), applied by ``clinic.accounts.users`` for the CLI and the admin pages.
"""

from __future__ import annotations

import functools
from pathlib import Path

from ..models import MIN_PASSWORD_LENGTH

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
    return None
