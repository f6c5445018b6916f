"""OpenAPI links between the API's operations, derived from the schema itself.

They tell a client (and schemathesis's stateful phase) how answers feed the next call:
the object a POST created is read, changed and acted on by the operations under its item
path, with the version from the ETag; a page's first item the same way.
"""

from __future__ import annotations

import re
from typing import Any


def _ref_of(answer: dict[str, Any]) -> str:
    return str(answer.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", ""))


def _path_params(path: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", path)


def _key_of(param: str) -> str:
    """The field of an object that fills the path parameter naming it: `id` for
    `employee_id`, the field itself for a natural key (`employment_type`)."""
    return "id" if param == "id" or param.endswith("_id") else param


def add_links(schema: dict[str, Any]) -> None:
    """OpenAPI links from the answers that hand out an object to the operations on it.
    `GET /employees/{employee_id}` (the read) answers EmployeeDetailOut: the create
    answering one and the list of them (its first item) link to the read, and the read
    to every other operation under `/employees/{employee_id}`, with `employee_id` from
    the body's `id` and, where a version is required, `If-Match` from its ETag."""
    paths = schema.get("paths", {})
    components = schema.get("components", {}).get("schemas", {})
    # The object each item path answers with, and the parameter that names it.
    homes: dict[str, tuple[str, str]] = {}
    for path, operations in paths.items():
        params = _path_params(path)
        get = operations.get("get")
        if get and len(params) == 1 and path.endswith("{" + params[0] + "}"):
            answers = get.get("responses", {})
            ref = _ref_of(answers.get(200, answers.get("200", {})))
            if ref:
                homes.setdefault(ref, (path, params[0]))
    targets: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for ref, (home, param) in homes.items():
        for path, operations in paths.items():
            if (path == home or path.startswith(home + "/")) and _path_params(path) == [param]:
                for operation in operations.values():
                    targets.setdefault(ref, []).append((param, operation))
    by_home = {home: ref for ref, (home, _param) in homes.items()}
    for path, operations in paths.items():
        for method, operation in operations.items():
            for status, answer in operation.get("responses", {}).items():
                # The answers that hand out an object to go on with: a create's, a read's,
                # a list's (its first item, to be read).
                if not (str(status) == "201" or (method == "get" and str(status) == "200")):
                    continue
                ref, where = _ref_of(answer), "$response.body#/"
                if ref not in targets:
                    # A page: its first item, an object of the item path below the list's.
                    page = components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
                    if "items" not in page:
                        continue
                    ref = str(page["items"].get("items", {}).get("$ref", ""))
                    below = [home for home in by_home if home.rsplit("/", 1)[0] == path]
                    if ref not in targets:
                        ref = by_home[below[0]] if len(below) == 1 else ""
                    where = "$response.body#/items/0/"
                links: dict[str, Any] = {}
                for param, target in targets.get(ref, []):
                    read = paths[homes[ref][0]]["get"]
                    # A create and a list lead to the read; the read to everything else.
                    if target is operation or (operation is not read and target is not read):
                        continue
                    values: dict[str, str] = {param: where + _key_of(param)}
                    versioned = any(p.get("name") == "If-Match" for p in target.get("parameters", []))
                    if versioned and "/items/" not in where:
                        values["header.If-Match"] = "$response.header.ETag"
                    name = target["operationId"]
                    links[name] = {"operationId": name, "parameters": values}
                if links:
                    answer["links"] = links
