"""Schemathesis over the app's own OpenAPI document, authenticated as an admin.

Every operation is fed data that fits its schema and data that does not, with a fixed seed and a
bounded number of examples. Every answer must be no 5xx, a documented status, a documented
content type, and a body matching the documented schema. Half the cases aim at a real account
(and its customer and service), so writes get past "not found" and reach the services.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from abonent.app import create_app
from abonent.db.uow import Database
from tests.factories import api_key, auth, make_account
from tests.fuzz.conftest import FIGURES

EXAMPLES = 12
"""Per operation and generation mode: ~28 operations x 2 modes x 12 ~ 700 requests a backend."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# The public pages outside the JSON API; covered by their own tests.
SKIPPED = {"/healthz"}


@dataclass
class Run:
    runner: asyncio.Runner
    client: httpx.AsyncClient
    headers: dict[str, str]
    known: dict[str, Any]
    openapi: dict[str, Any]
    sent: int = 0
    server_errors: int = 0
    unsendable: int = 0
    failures: list[str] = field(default_factory=list)

    def send(self, case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        kwargs["headers"] = {**(kwargs.get("headers") or {}), **self.headers}
        for unused in ("timeout", "allow_redirects", "follow_redirects"):
            kwargs.pop(unused, None)
        # httpx wants cookies on the client and raw bytes as ``content``.
        cookies = kwargs.pop("cookies", None)
        if cookies:
            kwargs["headers"]["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if isinstance(kwargs.get("data"), bytes | str):
            kwargs["content"] = kwargs.pop("data")
        request = self.client.build_request(**kwargs)
        # A multipart body is a stream; read it now so that the checks can look at what was sent.
        try:
            request.read()
        except (AttributeError, TypeError):
            # A generated multipart part httpx cannot encode (an integer as a file's content):
            # such a request never reaches the app, so there is nothing to check.
            self.unsendable += 1
            return
        response = self.runner.run(self.client.send(request))
        self.sent += 1
        if response.status_code >= 500:
            self.server_errors += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a group of failures
            where = f"{case.method} {case.formatted_path} -> {response.status_code}"
            # The failure's titles ("- ST105 Undocumented Content-Type"), then the body it saw.
            text = str(exc)
            titles = [line[2:] for line in text.splitlines() if line.startswith("- ")]
            said = "; ".join(titles) or f"{type(exc).__name__}: {text[:300]}"
            self.failures.append(f"{where}: {said}: {response.text[:300]}")


@pytest.fixture
def run(db_url: str) -> Iterator[Run]:
    # One event loop for the whole test: the database pool and the app live on it, and the
    # hypothesis examples (synchronous) send their requests through it.
    with asyncio.Runner() as runner:
        db = Database(db_url)

        async def prepare() -> tuple[str, dict[str, Any]]:
            key = await api_key(db, "admin")
            async with db.session(write=True) as s:
                account, services = await make_account(s, kinds=("mobile", "internet"))
            return key, {
                "number": account.number,
                "customer_id": account.customer_id,
                "service_id": services[0].id,
            }

        key, known = runner.run(prepare())
        app = create_app(db)
        # A crash is an answer to count (500), not an exception that ends the run.
        transport = httpx.ASGITransport(
            app=app, client=("127.0.0.1", 50000), raise_app_exceptions=False
        )
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        try:
            yield Run(runner, client, auth(key), known, app.openapi())
        finally:
            runner.run(client.aclose())
            runner.run(db.dispose())


def _operations(app_schema: Any) -> list[Any]:
    out = []
    for result in app_schema.get_all_operations():
        operation = result.ok()
        if operation.path not in SKIPPED:
            out.append(operation)
    return out


def _strategy(operation: Any, known: dict[str, Any]) -> st.SearchStrategy[Any]:
    names = {p.name for p in operation.path_parameters}
    aimed = {k: v for k, v in known.items() if k in names}
    strategies = [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    ]
    if aimed:
        strategies.append(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=aimed)
        )
    return st.one_of(strategies)


def test_every_operation_answers_as_documented(run: Run, backend: str) -> None:
    operations = _operations(schemathesis.openapi.from_dict(run.openapi))
    assert len(operations) > 20
    started = time.monotonic()
    for operation in operations:

        @settings(
            max_examples=EXAMPLES * 2,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=_strategy(operation, run.known))
        def fuzz(case: Any) -> None:
            run.send(case)

        fuzz()
    FIGURES[f"schemathesis:{backend}:requests"] += run.sent
    FIGURES[f"schemathesis:{backend}:5xx"] += run.server_errors
    FIGURES[f"schemathesis:{backend}:seconds"] += round(time.monotonic() - started)
    assert run.sent >= len(operations) * EXAMPLES
    assert run.failures == [], "\n".join(run.failures[:20]) + f"\n({len(run.failures)} in all)"
