"""The deployment files hold together: compose.yaml's commands exist, every variable it or the example
env file sets is one the code reads, the Dockerfile copies files that exist and installs every package
the app imports, the health checks call a URL that answers 200, and nginx accepts deploy/nginx.conf."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from flask.cli import ScriptInfo
from flask.cli import cli as flask_cli
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
ENV_EXAMPLE = ROOT / "deploy" / "env.example"
OUR_SERVICES = [name for name, spec in COMPOSE["services"].items() if spec.get("image") == "hms:latest"]
# Read by libraries rather than by our code.
READ_ELSEWHERE = {"FLASK_APP": "Flask's CLI"}


def code_files() -> list[Path]:
    return [
        ROOT / "config.py",
        ROOT / "wsgi.py",
        ROOT / "gunicorn.conf.py",
        ROOT / "migrations" / "env.py",
        *sorted((ROOT / "hms").rglob("*.py")),
    ]


def variables_read() -> set[str]:
    """Environment variables our code reads: os.environ.get/[...], os.getenv, config.py's helpers and
    click's envvar=."""
    pattern = re.compile(
        r"""(?:os\.environ\.get|os\.getenv|_env_bool|_env_minutes_list|os\.environ\[|envvar=)\(?\s*["']([A-Z0-9_]+)["']"""
    )
    return {name for path in code_files() for name in pattern.findall(path.read_text())}


def env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value
    return pairs


def service_environment(name: str) -> dict[str, str]:
    environment = COMPOSE["services"][name].get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    return {k: str(v) for k, v in environment.items()}


def flask_command_exists(app, args: list[str]) -> tuple[bool, str]:  # type: ignore[no-untyped-def]
    """Resolve `flask ...` arguments against the app's CLI (plugins such as Flask-Migrate's `db`
    included) by asking for the command's help."""
    if args[:2] == ["--app", "wsgi"]:
        args = args[2:]
    result = CliRunner().invoke(flask_cli, [*args, "--help"], obj=ScriptInfo(create_app=lambda: app))
    return result.exit_code == 0 and "Usage:" in result.output, result.output


# ---------------------------------------------------------------- compose.yaml


def test_compose_runs_the_app_the_worker_migrations_postgres_and_redis():
    services = COMPOSE["services"]
    assert {"app", "worker", "migrate", "postgres", "redis"} <= set(services)
    assert set(OUR_SERVICES) == {"app", "worker", "migrate"}
    postgres = services["postgres"]
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    for name in ("app", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", ["app", "worker", "migrate"])
def test_each_service_runs_a_command_that_exists(app, service):
    command = COMPOSE["services"][service]["command"]
    if command[0] == "flask":
        exists, output = flask_command_exists(app, command[1:])
        assert exists, output
    else:
        assert command[0] == "gunicorn"
        config = command[command.index("--config") + 1]
        assert (ROOT / config).is_file()
        module, _, attribute = command[-1].partition(":")
        tree = ast.parse((ROOT / f"{module}.py").read_text())
        assigned = {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets}
        assert attribute in assigned


def test_a_missing_command_is_noticed(app):
    exists, _ = flask_command_exists(app, ["--app", "wsgi", "hms", "no-such-command"])
    assert not exists


def test_every_variable_compose_and_the_example_set_is_read_by_the_code():
    read = variables_read() | set(READ_ELSEWHERE)
    assert {"SECRET_KEY", "DATABASE_URL", "RATELIMIT_STORAGE_URI", "TRUSTED_PROXIES"} <= read
    for service in OUR_SERVICES:
        unknown = set(service_environment(service)) - read
        assert not unknown, f"{service} sets variables nothing reads: {sorted(unknown)}"
    unknown = set(env_example()) - read
    assert not unknown, f"deploy/env.example sets variables nothing reads: {sorted(unknown)}"


def test_every_variable_the_code_reads_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    undocumented = {name for name in variables_read() if f"`{name}`" not in readme}
    assert not undocumented, f"add these to README.md's configuration table: {sorted(undocumented)}"


def test_production_secrets_come_from_an_env_file_that_is_never_committed_or_built_in():
    for service in OUR_SERVICES:
        assert COMPOSE["services"][service]["env_file"] == "deploy/hms.env"
        assert "SECRET_KEY" not in service_environment(service)
        assert service_environment(service)["HMS_ENV"] == "production"
    assert "deploy/hms.env" in (ROOT / ".gitignore").read_text().split()
    assert "deploy/hms.env" in (ROOT / ".dockerignore").read_text().split()
    example = env_example()
    assert {"SECRET_KEY", "DATABASE_URL", "HMS_PUBLIC_URL"} <= set(example)  # what production needs
    assert "change-me" in example["SECRET_KEY"]
    assert not any(v.startswith(("sk_live_", "whsec_", "rk_live_")) for v in example.values())
    secret = COMPOSE["secrets"]["postgres_password"]["file"]
    assert secret.startswith("deploy/secrets/") and "deploy/secrets/" in (ROOT / ".gitignore").read_text()


def test_rate_limits_go_to_the_redis_service():
    assert service_environment("app")["RATELIMIT_STORAGE_URI"].startswith("redis://redis:")
    assert "redis" in COMPOSE["services"]


# ---------------------------------------------------------------- Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_the_dockerfile_copies_only_files_that_exist_and_are_not_ignored():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    stages = {m.group(1) for m in re.finditer(r"^FROM \S+ AS (\w+)", DOCKERFILE, re.M)}
    copies = [args.split() for kind, args in dockerfile_instructions() if kind == "COPY"]
    assert copies
    for parts in copies:
        options = [p for p in parts if p.startswith("--")]
        sources = [p for p in parts if not p.startswith("--")][:-1]
        if any(o.startswith("--from=") for o in options):
            assert options[0].removeprefix("--from=") in stages
            continue
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            assert source.rstrip("/") not in ignored, f"COPY {source}: excluded by .dockerignore"


def test_the_image_runs_gunicorn_as_a_non_root_user_with_a_health_check():
    instructions = dockerfile_instructions()
    kinds = [kind for kind, _ in instructions]
    assert instructions[0][1].startswith("node:") and "AS assets" in instructions[0][1]
    runtime = [args for kind, args in instructions if kind == "FROM"][-1]
    assert runtime.startswith("python:3.11-slim")
    user = [args for kind, args in instructions if kind == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert kinds.index("USER") < kinds.index("CMD")
    assert "HEALTHCHECK" in kinds
    cmd = [args for kind, args in instructions if kind == "CMD"][-1]
    assert cmd == '["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]'
    assert "pybabel compile -d translations" in DOCKERFILE  # the catalogs are built, not committed
    assert "npm run --silent vendor" in DOCKERFILE and '"vendor"' in (ROOT / "package.json").read_text()


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def with_dependencies(names: set[str]) -> set[str]:
    """`names` and everything they require (without extras), as installed here."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonical(requirement.name))
    return seen


def runtime_requirements() -> set[str]:
    runtime = (ROOT / "requirements.txt").read_text()
    assert "pip install -r requirements.txt" in DOCKERFILE
    names = set()
    for line in runtime.splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.add(canonical(re.split(r"[\[=<>!~ ]", line)[0]))
    return names


def test_the_image_installs_every_package_the_app_imports():
    local = {"hms", "config", "wsgi", "tests"}
    modules = set()
    for path in code_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - local
    distributions = importlib.metadata.packages_distributions()
    runtime = runtime_requirements()
    installed = with_dependencies(runtime)
    missing = {
        module: distributions[module]
        for module in third_party
        if not {canonical(d) for d in distributions[module]} & installed
    }
    assert not missing, f"imported by the app but not in requirements.txt: {missing}"
    assert not runtime & {
        "pytest",
        "playwright",
        "ruff",
        "hypothesis",
    }  # the tests' tools: requirements-dev.txt
    assert {"gunicorn", "redis", "psycopg", "requests"} <= runtime  # serving, rate limits, database, SMS


def test_the_health_checks_call_a_url_that_answers_200(client):
    compose_check = " ".join(COMPOSE["services"]["app"]["healthcheck"]["test"])
    docker_check = next(args for kind, args in dockerfile_instructions() if kind == "HEALTHCHECK")
    for check in (compose_check, docker_check):
        match = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]*)", check)
        assert match, check
        port, path = match.groups()
        assert f"EXPOSE {port}" in DOCKERFILE
        assert client.get(path).status_code == 200


def test_gunicorn_conf_sets_only_real_gunicorn_settings(monkeypatch):
    from gunicorn.config import Config

    monkeypatch.setenv("GUNICORN_WORKERS", "4")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.1")
    namespace: dict[str, object] = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)  # noqa: S102
    settings = {k: v for k, v in namespace.items() if k.islower() and not k.startswith("_")}
    settings = {k: v for k, v in settings.items() if not hasattr(v, "__spec__")}  # drop imported modules
    config = Config()
    unknown = set(settings) - set(config.settings)
    assert not unknown, f"not gunicorn settings: {unknown}"
    for name, value in settings.items():
        config.set(name, value)
    assert config.workers == 4
    assert config.forwarded_allow_ips == ["10.0.0.1"]
    assert config.bind == ["0.0.0.0:8000"]
    assert config.accesslog == "-"


# ---------------------------------------------------------------- nginx


def test_nginx_accepts_the_sample_configuration(tmp_path):
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    openssl = shutil.which("openssl")
    if not nginx or not openssl:
        pytest.skip("nginx or openssl is not installed (apt-get install nginx-light openssl)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=hms.example.org",
        ]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/hms.example.org/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/hms.example.org/privkey.pem", str(key))
    (tmp_path / "hms.conf").write_text(site)
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\naccess_log off;\ninclude {tmp_path}/hms.conf;\n}}\n"
    )
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
