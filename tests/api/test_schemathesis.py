"""A property-based run over the OpenAPI document: for every operation schemathesis generates
valid and invalid requests and runs all its checks. None may get a server error, a status or
content type the document does not list, or a body that breaks the documented schema.

The schema is loaded from the test's own app (each test has a fresh database), so the
operations are walked inside one test rather than collected by ``schema.parametrize``.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import PositiveDataAcceptanceConfig

# Per operation and mode: about 1,500 requests in all, some 15 seconds per database.
EXAMPLES_PER_MODE = 25


@pytest.mark.slow
def test_api_conforms_to_its_document(app: Flask, demo: dict[str, Any], token_for: Any) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # Every request below carries an admin's token (so every operation is reached); negative
    # cases must not strip it, or a valid request would count as "invalid data accepted".
    schema.config.generation.update(with_security_parameters=False)
    # Input the schema allows can still be refused by the services, which no schema can
    # express: an unparseable phone number, a date of birth in the future, a taken MRN, a
    # slot outside opening hours. Those are 404/409/422 with a reason, never a 5xx.
    schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
        expected_statuses=["2xx", "404", "409", "422"]
    )
    headers = token_for("admin")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 29

    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_MODE,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                case.call_and_validate(headers=headers)

            try:
                check()
            except (Exception, BaseExceptionGroup) as error:  # all reported together below
                failures.append(f"{operation.label} ({mode.value}): {error}")
    assert not failures, "\n\n".join(failures)
