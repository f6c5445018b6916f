"""The schema and its rendered docs are served, with the assets from this server."""

from __future__ import annotations

from django.test import Client


def test_the_schema_documents_every_operation_with_its_problems() -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    operations = [op for ops in schema["paths"].values() for op in ops.values()]
    assert len(operations) > 70
    for operation in operations:
        problems = {code for code, answer in operation["responses"].items() if int(code) >= 400}
        assert {"401", "403", "422", "429"} <= problems, operation["operationId"]
        for code in problems:
            assert list(operation["responses"][code]["content"]) == ["application/problem+json"]


def test_the_docs_page_renders_without_third_party_hosts(db: object) -> None:
    page = Client().get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger" in html.lower() and "/api/v1/openapi.json" in html
    assert "cdn" not in html.lower()
