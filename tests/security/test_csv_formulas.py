"""ASVS 5.3.1: the audit CSV runs no formula in a spreadsheet, whether it splits cells on
"," or on ";". The export is read back with Python's csv module under both separators, the
way a spreadsheet in either locale would cut it into cells."""

from __future__ import annotations

import csv
import io

import pytest

from clinic.audit.trail import FORMULA_STARTS, defuse_formula

ATTACKS = [
    "x;=cmd|' /C calc'!A0;y",
    '=HYPERLINK("http://evil","x")',
    "a,+1+1,b",
    "ok; @SUM(A1)",
    "tab\t-2+3",
    'q;"=1+1"',
    " =1+1",
]


def cells_starting_a_formula(text: str, delimiter: str) -> list[str]:
    return [
        cell
        for row in csv.reader(io.StringIO(text), delimiter=delimiter)
        for cell in row
        if cell.lstrip(' "').startswith(FORMULA_STARTS)
    ]


def export_of(client, login, username: str) -> str:
    client.post("/login", data={"username": username, "password": "wrong-password-here"})
    login("admin")
    response = client.get("/audit/export.csv")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_a_username_with_a_formula_after_a_separator_runs_nothing(client, login, delimiter):
    text = export_of(client, login, ATTACKS[0])
    assert cells_starting_a_formula(text, delimiter) == []
    # The value survives, readable, in the export (read the way it was written).
    usernames = [row["username"] for row in csv.DictReader(io.StringIO(text))]
    assert "x;'=cmd|' /C calc'!A0;y" in usernames


def test_every_field_is_quoted(client, login):
    text = export_of(client, login, "plain")
    for line in text.splitlines():
        assert line.startswith('"') and line.endswith('"')


@pytest.mark.parametrize("value", ATTACKS)
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_defused_values_start_no_formula_under_any_separator(value, delimiter):
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL).writerow(["1", defuse_formula(value), "z"])
    assert cells_starting_a_formula(buffer.getvalue(), delimiter) == []


def test_ordinary_text_is_left_alone():
    for value in ["rita", "2026-03-02 09:00:00 EST", "user 3 created as nurse", "a-b, c"]:
        assert defuse_formula(value) == value
