"""The Makefile as a newcomer meets it: `make` / `make help`, and a `.venv` made by the
wrong Python. These run `make -n` (print, do not execute) or targets that create nothing
in the project, with VENV pointed at a temporary directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def make(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, **(env or {})}
    environment.pop("MAKEFLAGS", None)
    environment.pop("PYTHON", None)
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("args", [(), ("help",)])
def test_make_and_make_help_list_the_two_commands_first(args):
    result = make(*args)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "make run" in lines[0] and "make test" in lines[0]
    targets = [line.split()[1] for line in lines if line.startswith("make ")]
    assert targets[:2] == ["run", "test"]
    assert {"help", "venv", "lint", "format", "clean", "bench"} <= set(targets)
    assert "PYTHON=python3.12 make run" in result.stdout
    assert all(len(line.split(None, 2)) == 3 for line in lines if line.startswith("make "))


def fake_venv(tmp_path: Path, version: str) -> Path:
    """A venv whose python says it is ``version`` (and exits like a real one would)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    major, minor = version.split(".")
    python = venv / "bin" / "python"
    python.write_text(
        "#!/bin/sh\n"
        f'case "$*" in *"-V"*) echo "Python {version}.0";; '
        f'*"sys.exit(0 if"*) exit {0 if (3, 11) <= (int(major), int(minor)) < (3, 14) else 1};; '
        f'*"print"*) echo "{version}";; esac\n'
    )
    python.chmod(0o755)
    (venv / ".installed").touch()
    return venv


def test_a_venv_from_an_unsupported_python_is_rebuilt(tmp_path):
    venv = fake_venv(tmp_path, "3.10")
    # PYTHON=false: the rebuild itself stops at once (no network, no pip), after saying why.
    result = make("venv", f"VENV={venv}", "PYTHON=false")
    assert f"{venv} was made by a missing or unsupported Python (Python 3.10.0)" in result.stdout
    assert not venv.exists()  # removed, not reused forever


def test_a_venv_whose_python_is_gone_is_rebuilt(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(tmp_path / "uninstalled-python3.11")
    result = make("venv", f"VENV={venv}", "PYTHON=false")
    assert "was made by a missing or unsupported Python" in result.stdout
    assert not venv.exists()


def test_python_asks_for_another_version_than_the_venv_has(tmp_path):
    venv = fake_venv(tmp_path, "3.12")
    result = make("-n", "venv", f"VENV={venv}", f"PYTHON={sys.executable}")
    # -n prints the recipe; a real run would remove the venv and make it with PYTHON.
    assert "rebuilding it" in result.stdout or "rm -rf" in result.stdout


def test_an_unsupported_interpreter_is_refused_with_what_to_do(tmp_path):
    old = tmp_path / "python3.10"
    old.write_text('#!/bin/sh\ncase "$*" in *"sys.exit(0 if"*) exit 1;; *) echo 3.10;; esac\n')
    old.chmod(0o755)
    result = make("venv", f"VENV={tmp_path / 'new-venv'}", f"PYTHON={old}")
    assert result.returncode != 0
    assert "this project needs 3.11, 3.12 or 3.13: e.g. PYTHON=python3.12 make run" in result.stdout
    assert not (tmp_path / "new-venv").exists()


def test_requires_python_allows_311_to_313():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11,<3.14"
