"""The dependency rules, checked on the source: domain <- outbox <- relay <- clean_my_data,
domain pure, each kind of I/O in its one home."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("domain", "outbox", "relay", "clean_my_data")
# What each layer may not import (top-level module names).
FORBIDDEN: dict[str, set[str]] = {
    "domain": {
        "outbox",
        "relay",
        "clean_my_data",
        "sqlalchemy",
        "pymysql",
        "boto3",
        "botocore",
        "apscheduler",
        "structlog",
        "prometheus_client",
        "logging",
    },
    "outbox": {"relay", "clean_my_data", "boto3", "botocore", "apscheduler", "prometheus_client"},
    "relay": {"clean_my_data"},
    "clean_my_data": set(),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def sources(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_nothing_upwards(layer: str) -> None:
    violations = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources(layer)
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN[layer]
    ]
    assert sources(layer), f"no sources found for {layer}"
    assert violations == []


def test_boto3_has_one_home() -> None:
    users = sorted(
        str(path.relative_to(ROOT))
        for layer in LAYERS
        for path in sources(layer)
        if any(name.split(".")[0] in {"boto3", "botocore"} for name in imported_modules(path))
    )
    assert users, "boto3 is used somewhere (the S3 adapter)"
    assert all(user.startswith("relay/stores/") for user in users), users


def test_only_settings_reads_the_environment() -> None:
    readers = sorted(
        str(path.relative_to(ROOT))
        for layer in LAYERS
        for path in sources(layer)
        if "os.environ" in path.read_text(encoding="utf-8")
        or "os.getenv" in path.read_text(encoding="utf-8")
    )
    assert readers == ["outbox/settings.py"]


# The command-line and service modules of the application package (the HTTP API, the analysis
# workers and job submission); everything else in it is private.
CLI_MODULES = {"commands", "logging_setup", "main", "progress", "jobs", "web", "worker"}


def test_the_application_package_exposes_only_its_all() -> None:
    import pkgutil
    import types

    import clean_my_data

    public = {
        name
        for name, value in vars(clean_my_data).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(clean_my_data.__all__) - {"__version__"}
    assert all(hasattr(clean_my_data, name) for name in clean_my_data.__all__)
    modules = {m.name for m in pkgutil.iter_modules(clean_my_data.__path__)}
    assert {m for m in modules if not m.startswith("_")} == CLI_MODULES
    for name in clean_my_data.__all__:
        value = getattr(clean_my_data, name)
        if callable(value) and getattr(value, "__module__", "").startswith("clean_my_data"):
            assert value.__doc__, f"clean_my_data.{name} has no docstring"


def test_the_wheel_holds_the_four_layers_and_no_cli_package() -> None:
    import importlib.util
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert sorted(packages) == sorted(LAYERS)
    assert importlib.util.find_spec("cli") is None
    assert not (ROOT / "cli").exists()


def test_the_public_api_never_raises_system_exit() -> None:
    sources_text = "\n".join(
        path.read_text(encoding="utf-8")
        for path in sources("clean_my_data")
        if "_api" in path.parts or path.name == "_errors.py"
    )
    assert "SystemExit" not in sources_text
    assert "sys.exit" not in sources_text


def test_the_command_line_loads_the_web_stack_only_to_serve() -> None:
    """Building the parser (every command, ``--version`` included) imports no web framework:
    FastAPI, Starlette, pydantic and uvicorn cost about 0.3 s and 20 MB at each start."""
    probe = (
        "import sys; from clean_my_data.main import build_parser; build_parser(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'fastapi', 'starlette', 'pydantic', 'uvicorn'}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert loaded.stdout.strip() == "[]"
