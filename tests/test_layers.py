"""The one-way flow, as a contract on the import graph of ``irqlab``:
scenario -> machine (hw + platform + kernel + OS personality) -> events ->
analysis -> reports, and live capture -> events -> the same analysis.

Imports inside ``if TYPE_CHECKING:`` are annotations, not dependencies, and are
not counted; every other import is, wherever it is written (a function-local
import is still a dependency, so it cannot hide a cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "irqlab"


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The irqlab modules ``path`` imports at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for n in ast.walk(node))
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in out if m.split(".")[0] == "irqlab"}


GRAPH: dict[str, set[str]] = {_module(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _resolve(name: str) -> str:
    """``irqlab.a.b.Name`` -> the module ``irqlab.a.b``."""
    while name not in GRAPH and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


DEPS = {m: {_resolve(n) for n in names} - {m} for m, names in GRAPH.items()}


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _offenders(importer: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    return sorted(f"{m} imports {d}" for m, deps in DEPS.items() if _in(m, importer)
                  for d in deps
                  if any(_in(d, f) for f in forbidden) and not any(_in(d, a) for a in allowed))


@pytest.mark.parametrize(("importer", "forbidden", "allowed"), [
    # hardware models know nothing of kernel policy, the platforms, OSes, the machine
    # builder or the event kinds (a device reports raises to a sink it is given)
    ("irqlab.hw", ("irqlab",), ("irqlab.hw", "irqlab.sim.engine")),
    # the generic kernel layer: no controller model, platform, OS or builder
    ("irqlab.kernel", ("irqlab.hw", "irqlab.platform", "irqlab.os", "irqlab.machine",
                       "irqlab.scenario"), ()),
    # platforms and personalities are peers: neither knows the other
    ("irqlab.platform", ("irqlab.os", "irqlab.machine.build"), ()),
    ("irqlab.os", ("irqlab.platform", "irqlab.machine.build"), ()),
    # analysis reads the event model only (and units, and the OS's view of the report)
    ("irqlab.analysis", ("irqlab",), ("irqlab.analysis", "irqlab.events", "irqlab.units",
                                      "irqlab.osview")),
    # the OS's view of the report is plain data shared by os, analysis and report
    ("irqlab.osview", ("irqlab",), ("irqlab.osview",)),
    # capture produces events and imports no analysis, no simulator
    ("irqlab.observe", ("irqlab.analysis", "irqlab.machine", "irqlab.kernel", "irqlab.hw",
                        "irqlab.platform", "irqlab.os", "irqlab.sim"), ()),
    # the simulation's core and the scenario schema sit below the machine
    ("irqlab.sim", ("irqlab",), ("irqlab.sim",)),
    ("irqlab.scenario", ("irqlab.machine", "irqlab.kernel", "irqlab.hw", "irqlab.platform",
                         "irqlab.os", "irqlab.analysis", "irqlab.report"), ()),
    # reports render a report model; they run nothing
    ("irqlab.report", ("irqlab.machine", "irqlab.kernel", "irqlab.hw", "irqlab.platform",
                       "irqlab.os", "irqlab.observe"), ()),
    # the hypervisor's policy drives hardware, kernels and platforms; guests are
    # built by the machine builder, never by the policy itself
    ("irqlab.virt", ("irqlab.machine.build", "irqlab.os", "irqlab.analysis", "irqlab.report",
                     "irqlab.observe", "irqlab.cli"), ()),
    # `irqlab run` shares trace reading with `irqlab report` through cli.traces
    ("irqlab.cli.run", ("irqlab.cli.report",), ()),
])
def test_layers_import_one_way(importer: str, forbidden: tuple[str, ...],
                               allowed: tuple[str, ...]) -> None:
    assert _offenders(importer, forbidden, allowed) == []


def test_there_are_no_import_cycles() -> None:
    """Depth-first search for a back edge in the module graph (a package's
    ``__init__`` counts as the module of that name)."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(DEPS.get(m, ())):
            if state.get(d) == 1:
                cycles.append([*stack[stack.index(d):], d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(DEPS):
        if m not in state:
            visit(m)
    assert cycles == []


def test_the_contract_sees_real_imports() -> None:
    """The checks above would pass vacuously on an empty graph."""
    assert "irqlab.kernel.kernel" in DEPS["irqlab.os.base"]
    assert "irqlab.hw.apic" in DEPS["irqlab.platform.x86"]
    assert "irqlab.events" in DEPS["irqlab.analysis.irqstats"]
    assert len(DEPS) > 100


#: a CPU's execution state, written only by the kernel layer and the OS personalities
CPU_FIELDS = {"irqs_on", "in_kernel", "in_irq", "chain", "cur", "saved", "seq"}


@pytest.mark.parametrize("package", ["machine", "platform", "experiments", "cli", "virt"])
def test_builders_and_faults_act_through_named_operations(package: str) -> None:
    """Faults and builders call kernel or platform operations (such as
    ``Kernel.take_spurious``) instead of writing a CPU's state."""
    writes = []
    for path in (PACKAGE / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else [])
            writes += [f"{path.name}:{node.lineno} {ast.unparse(t)}" for t in targets
                       if isinstance(t, ast.Attribute) and t.attr in CPU_FIELDS
                       and not ast.unparse(t).startswith("self.")]
    assert writes == []
