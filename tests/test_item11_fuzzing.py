"""Issue 11 item 11: schemathesis fuzzes the four services' OpenAPI documents against the running stack
with a valid admin token: no 5xx, and no response that breaks its own documented schema.

Bounded (LEDGERLINE_FUZZ_EXAMPLES examples per operation and mode, 5 by default) so it takes a minute
or two. It writes at random through every API of the shared stack, so tests/conftest.py runs it last.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from e2e_support import RunningStack
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

EXAMPLES = int(os.environ.get("LEDGERLINE_FUZZ_EXAMPLES", "5"))


def _fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same examples every run: a failure here is reproducible
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(
            headers=headers, timeout=30, checks=[not_a_server_error, response_schema_conformance]
        )

    run()


@pytest.mark.parametrize("service", ["invoicing", "rendering", "notification", "export"])
def test_item11_fuzz_every_operation(service: str, stack: RunningStack) -> None:
    schema = schemathesis.openapi.from_url(stack.url(service) + "/openapi.json")
    headers = stack.token("admin", sub="fuzzer")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, headers)
            except Unsatisfiable:
                continue  # no invalid input exists (an operation without parameters): nothing to try
            except Exception as exc:  # every operation is tried; all findings are reported together
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:3000])
    assert operations > 0
    assert failures == [], "\n\n".join(failures)


def test_item11_call_records_beyond_the_columns_are_refused_not_a_500() -> None:
    # The fuzzer's first find: a duration past int32 reached PostgreSQL's COPY and answered 500.
    from pydantic import ValidationError

    from ledgerline_shared.contracts.events import MAX_CALL_SECONDS, CallRecord

    base = {"cdr_id": "c1", "account": "A", "started_at": "2026-01-01T00:00:00Z", "kind": "voice"}
    assert CallRecord.model_validate({**base, "duration_s": MAX_CALL_SECONDS}).duration_s == MAX_CALL_SECONDS
    for bad in (
        {"duration_s": 185129944814512},
        {"duration_s": 2**31},
        {"units": "1e20"},
        {"units": "-1e20"},
    ):
        with pytest.raises(ValidationError):
            CallRecord.model_validate({**base, **bad})
