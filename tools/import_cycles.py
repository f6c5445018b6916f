"""Print the cycles in Crewcall's module graph (tests and migrations left out) and exit 1
if there is one.

A cycle is a strongly connected set of modules: each reaches every other through imports,
those inside functions included (they are imports all the same). `make lint` runs this
beside the layer contracts in pyproject.toml, which forbid the imports a cycle across
layers would need; this catches the cycles inside one package too.

    .venv/bin/python tools/import_cycles.py
"""

from __future__ import annotations

import sys

import grimp


def _kept(module: str) -> bool:
    parts = module.split(".")
    return "tests" not in parts and "migrations" not in parts and parts[-1] != "conftest"


def module_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("crewcall", include_external_packages=False)
    modules = {m for m in graph.modules if _kept(m)}
    return {m: {d for d in graph.find_modules_directly_imported_by(m) if d in modules} for m in modules}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(edges[succ]))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def main() -> int:
    edges = module_graph()
    found = cycles(edges)
    print(f"{len(edges)} modules, {sum(map(len, edges.values()))} imports, {len(found)} cycles")
    for component in found:
        print(f"cycle of {len(component)}: " + " ".join(component))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
