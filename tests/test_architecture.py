"""The layers of docs/architecture.md, checked on the real import graph (grimp): calls go down
only, the domain knows no Telegram, handlers know no SQLAlchemy, and no module imports itself
back through others."""

from __future__ import annotations

import functools

import grimp
import pytest

PACKAGES = ("bot", "db", "fiscal", "sms", "handlers", "keyboards", "scheduler")

# Top to bottom; a module may import its own group and any group below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("bot.__main__",),
    ("bot.app",),
    ("bot.polling", "bot.webhook", "bot.web"),
    ("handlers",),
    ("scheduler",),
    ("bot.services", "bot.middlewares", "bot.commands", "bot.throttle", "bot.inline_filters"),
    ("bot.unit_of_work", "bot.fsm_storage"),
    ("bot.workers",),
    ("bot.views",),
    ("keyboards",),
    ("bot.usecases", "bot.ops"),
    ("bot.config", "bot.i18n", "bot.waiting", "bot.logs"),
    ("db",),
    ("fiscal", "sms"),
)


@functools.cache
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, include_external_packages=True)


def internal_modules() -> set[str]:
    return {m for m in graph().modules if m.split(".")[0] in PACKAGES}


def group_of(module: str) -> tuple[int, str]:
    """(layer index, the group's prefix) of a project module."""
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            if module == prefix or module.startswith(prefix + "."):
                return index, prefix
    if module == "bot":
        return len(LAYERS), "bot"
    raise AssertionError(f"{module} is in no layer of docs/architecture.md")


def importers_of(external: str) -> set[str]:
    g = graph()
    return {m for m in g.find_modules_that_directly_import(external)
            if m.split(".")[0] in PACKAGES}


def test_every_module_has_a_layer() -> None:
    for module in internal_modules():
        group_of(module)


def test_calls_go_down_only() -> None:
    g = graph()
    wrong = []
    for importer in sorted(internal_modules()):
        here, own = group_of(importer)
        for imported in g.find_modules_directly_imported_by(importer):
            if imported.split(".")[0] not in PACKAGES:
                continue
            there, other = group_of(imported)
            if there < here or (there == here and other != own):
                wrong.append(f"{importer} → {imported}")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


@pytest.mark.parametrize("package", ["db", "fiscal", "sms"])
def test_the_domain_and_adapters_know_no_telegram(package: str) -> None:
    assert not {m for m in importers_of("aiogram") if m.split(".")[0] == package}


def test_handlers_know_no_sqlalchemy() -> None:
    assert not {m for m in importers_of("sqlalchemy") if m.startswith("handlers")}


def test_no_import_cycles() -> None:
    """Tarjan's strongly connected components over project modules: every one is a single
    module that does not import itself."""
    g = graph()
    modules = sorted(internal_modules())
    edges = {m: sorted(i for i in g.find_modules_directly_imported_by(m)
                       if i.split(".")[0] in PACKAGES) for m in modules}
    cycles = [c for c in _components(modules, edges) if len(c) > 1]
    assert not cycles, "import cycles: " + "; ".join(" ↔ ".join(sorted(c)) for c in cycles)


def _components(nodes: list[str], edges: dict[str, list[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # recursion depth is the longest import chain: small
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, []):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            found.append(component)

    for node in nodes:
        if node not in index:
            visit(node)
    return found
