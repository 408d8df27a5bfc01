"""Old home of the notification tests' small clinic, kept so callers keep working.

# phase 2: callers move to tests.builders, this module goes
"""

from __future__ import annotations

from tests.builders import MinimalClinic as Clinic
from tests.builders import due_emails
from tests.builders import make_contactable_patient as make_patient

__all__ = ["Clinic", "due_emails", "make_patient"]
