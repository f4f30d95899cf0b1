"""Issue 14 item 17: structure without cycles, and the lem services package."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def test_planning_services_and_tasks_do_not_import_each_other():
    services = imported_modules(ROOT / "planning" / "services.py")
    tasks = imported_modules(ROOT / "planning" / "tasks.py")
    assert "planning.tasks" not in services
    assert "planning.services" in tasks


def test_the_scenario_task_is_reachable_by_its_registered_name():
    from celery import current_app

    from planning import services, tasks

    assert current_app.tasks[services.SCENARIO_COMPUTE_TASK].run is tasks.scenario_compute.run


def test_lem_services_is_a_package_by_subject_that_re_exports_everything():
    from lem import services

    pkg = ROOT / "lem" / "services"
    assert not (ROOT / "lem" / "services.py").exists()
    subjects = {p.stem for p in pkg.glob("*.py")} - {"__init__"}
    assert {"markets", "rules", "participants", "orders", "clearing", "replay", "settlement", "fees"} <= subjects
    assert {"payments", "agents"} <= subjects
    for name in ("market_clear", "order_place", "settlement_settle_period", "membership_fees_post", "payment_record"):
        assert callable(getattr(services, name))
    # no submodule imports the package root (which would make cycles)
    for p in pkg.glob("*.py"):
        if p.stem != "__init__":
            assert "lem.services" not in imported_modules(p) - {m for m in imported_modules(p) if m.count(".") >= 2}
