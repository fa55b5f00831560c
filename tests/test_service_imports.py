"""The service never imports the model lab (issue 19, point 1): no module under inspection/,
tasks/ or config/ imports `lab`, by an import statement or by a dotted path it hands to
importlib. The one place the service names the lab is INSTALLED_APPS, which loads the lab's
app config and nothing else, so the lab's commands show in manage.py."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SERVICE = ("inspection", "tasks", "config")
LAB = "lab"
DYNAMIC_IMPORTS = {"import_module", "__import__", "import_string"}


def is_lab(module: str) -> bool:
    return module == LAB or module.startswith(LAB + ".")


def imported_modules(source: str) -> Iterator[str]:
    """Every absolute module an import statement or importlib call in `source` names."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and _called_name(node.func) in DYNAMIC_IMPORTS:
            yield from (
                a.value
                for a in node.args[:1]
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            )


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def lab_imports(path: Path) -> list[str]:
    return [module for module in imported_modules(path.read_text()) if is_lab(module)]


def service_files() -> list[Path]:
    return sorted(path for folder in SERVICE for path in (ROOT / folder).rglob("*.py"))


def test_no_service_module_imports_the_lab() -> None:
    files = service_files()
    assert len(files) > 100  # the walk really reads the service
    offenders = {
        str(path.relative_to(ROOT)): found for path in files if (found := lab_imports(path))
    }
    assert offenders == {}


def test_the_walk_sees_every_form_of_import() -> None:
    source = (
        "import lab.synthetic\nfrom lab.training import train\nfrom lab import training\n"
        "import importlib\nimportlib.import_module('lab.training.evaluate')\n"
        "from . import lab\nimport laboratory\n"
    )
    assert [m for m in imported_modules(source) if is_lab(m)] == [
        "lab.synthetic",
        "lab.training",
        "lab.training.train",
        "lab",
        "lab.training",
        "lab.training.evaluate",
    ]
    # And in the lab's own code, which imports itself.
    command = ROOT / "lab" / "management" / "commands" / "evaluate_model.py"
    assert "lab.training.evaluate" in lab_imports(command)


def test_installed_apps_load_only_the_labs_app_config() -> None:
    assert [app for app in settings.INSTALLED_APPS if is_lab(app)] == [LAB]
    for module in ("__init__.py", "apps.py"):
        imported = set(imported_modules((ROOT / LAB / module).read_text()))
        assert imported <= {"django.apps", "django.apps.AppConfig"}, module
