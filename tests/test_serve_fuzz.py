"""A fuzzer against the OpenAPI schema (schemathesis's case generation, Hypothesis underneath): whatever the
input, no endpoint answers a 5xx, and every answer conforms to the schema the server publishes."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from duckwifi.api.app import open_app

EXAMPLES_PER_OPERATION = 40
# Whether a schema-valid value is accepted is not checked: a pattern cannot say that 2020-02-30T00:00:00 is not
# a date, nor that 00:30:00 is not a whole hour, and those are 422s by the contract.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_no_input_gives_a_server_error(served_lake):
    app = open_app(served_lake.warehouse, served_lake.lake, poll=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {
        "/api/meta",
        "/api/timeseries",
        "/api/breakdown",
        "/api/map",
        "/api/distribution",
        "/api/states",
        "/api/devices/{site}",
        "/api/health",
    }
    seen: dict[str, set[int]] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
        def fuzz(case):
            response = case.call()
            seen.setdefault(case.operation.path, set()).add(response.status_code)
            assert response.status_code < 500, (case.path, case.query, case.path_parameters, response.text)
            case.validate_response(response, checks=CHECKS)

        fuzz()
    # The fuzzer reached both the answers and the refusals of the data endpoints.
    assert {200, 422} <= seen["/api/timeseries"], seen
