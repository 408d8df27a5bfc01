"""Security, privacy and audit (issue 6)."""
