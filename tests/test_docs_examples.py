"""Every shell example in README.md and docs/*.md runs, verbatim, against a live server.

The convention (for everybody who writes docs here):

- A fenced block marked ```sh is an example a reader can paste: this test runs it. The
  blocks of one file run in order in ONE bash (``set -e -o pipefail``), so a variable set
  in one block (``TOKEN=$(...)``) is there in the next. Every file gets a shell of its own.
- Blocks marked ```console or ```text are not run: commands that need something this test
  cannot give (``make run`` itself, a production host, PostgreSQL, wrk), and output shown
  for reading. Keep them rare and say in the text why they are not runnable.
- Every ``curl`` in a ```sh block must get a 2xx, unless the block says otherwise with a
  comment ``# expect: 400`` (one or more codes): then its non-2xx answers are exactly those.
- Examples use the URL ``make run`` serves, http://127.0.0.1:8000. This test serves the
  app (gunicorn, config/gunicorn.py) on a free port over a database seeded as ``make run``
  seeds it (``setup_demo``), and rewrites ``127.0.0.1:8000`` to that port; ``.venv/bin/``
  becomes this interpreter's directory, and ``DATABASE_URL`` points the examples'
  ``manage.py`` commands at the same database.

Any new ``docs/*.md`` is picked up by itself.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scripts.processes import manage, manage_env
from tests.servers import gunicorn

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A fence on a line of its own (indented in a list item, too), its language one word.
FENCE = re.compile(r"^([ \t]*)```([\w+-]*)[ \t]*\n(.*?)^[ \t]*```[ \t]*$", re.MULTILINE | re.DOTALL)
RUN, SKIP = {"sh"}, {"console", "text"}
EXPECT = re.compile(r"#\s*expect:\s*([\d ,]+)")
BIN = Path(sys.executable).parent


def blocks(path: Path) -> list[tuple[str, str, int]]:
    """``(language, code, line)`` of each fenced block."""
    text = path.read_text(encoding="utf-8")
    return [
        (m.group(2), textwrap.dedent(m.group(3)), text.count("\n", 0, m.start()) + 1)
        for m in FENCE.finditer(text)
    ]


def test_every_block_says_whether_it_runs():
    """No bare ``` or ```bash: each block is ```sh (run), ```console/```text (not run), or
    a language that is not shell (python, json, nginx...)."""
    unmarked = [
        f"{path.name}:{line}"
        for path in DOCS
        for language, _code, line in blocks(path)
        if language in {"", "bash", "shell", "shell-session", "zsh"}
    ]
    assert not unmarked, f"mark these blocks ```sh (run) or ```console (not run): {unmarked}"


def test_no_unescaped_brackets_in_curl_urls():
    """curl globs [...] (`curl: (3) bad range`): use curl -g, or %5B and %5D."""
    bad = []
    for path in DOCS:
        for language, code, line in blocks(path):
            if language not in RUN | SKIP:
                continue
            for command in re.split(r"\n(?!\s)", code.replace("\\\n", " ")):
                globbed = re.search(r"\bcurl\b", command) and re.search(r"https?://\S*\[", command)
                if globbed and not re.search(r"\bcurl\b[^|]*\s-[a-zA-Z]*g", command):
                    bad.append(f"{path.name}:{line}: {command.strip()[:80]}")
    assert not bad, bad


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    database = tmp_path_factory.mktemp("docs") / "docs.sqlite3"
    env = manage_env(f"sqlite:///{database}", LOG_LEVEL="WARNING")
    for args in (("migrate", "--noinput", "-v", "0"), ("setup_demo",)):
        manage(env, *args, timeout=300)
    with gunicorn({"DATABASE_URL": env["DATABASE_URL"]}, workers=2) as base:
        yield base, env


def _script(code_blocks: list[tuple[str, int]], port: int) -> str:
    """One bash script: each block marked on stderr, each curl's status on stderr."""
    lines = [
        "set -e -o pipefail",
        # The status of every curl, on stderr, where the examples' own output is not.
        "curl() { command curl -w '%{stderr}@@status %{http_code}\\n' \"$@\"; }",
    ]
    for index, (code, _line) in enumerate(code_blocks):
        code = code.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        code = code.replace(".venv/bin/", f"{BIN}/")
        lines += [f"echo '@@block {index}' >&2", code]
    return "\n".join(lines) + "\n"


def _check_statuses(stderr: str, code_blocks, name: str) -> None:
    current = None
    statuses: dict[int, list[int]] = {}
    for line in stderr.splitlines():
        if line.startswith("@@block "):
            current = int(line.split()[1])
        elif line.startswith("@@status "):
            statuses.setdefault(current, []).append(int(line.split()[1]))
    for index, (code, line) in enumerate(code_blocks):
        expected = {
            int(c) for m in EXPECT.finditer(code) for c in re.split(r"[ ,]+", m.group(1)) if c
        }
        failed = {s for s in statuses.get(index, []) if not 200 <= s < 300}
        assert failed == expected, (
            f"{name}:{line}: curl answered {sorted(failed) or 'only 2xx'}, "
            f"the block expects {sorted(expected) or 'only 2xx'}:\n{code}"
        )


@pytest.mark.server
@pytest.mark.skipif(shutil.which("curl") is None, reason="the examples need curl")
@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_the_shell_examples_run_verbatim(server, path, tmp_path):
    base, env = server
    code_blocks = [(code, line) for language, code, line in blocks(path) if language in RUN]
    if not code_blocks:
        pytest.skip(f"{path.name} has no ```sh example")
    port = int(base.rsplit(":", 1)[1])
    script = tmp_path / "examples.sh"
    script.write_text(_script(code_blocks, port))
    result = subprocess.run(
        ["bash", str(script)],
        cwd=ROOT,
        env={**env, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    failed_block = re.findall(r"@@block (\d+)", result.stderr)
    where = code_blocks[int(failed_block[-1])] if failed_block else ("", 0)
    assert result.returncode == 0, (
        f"{path.name}:{where[1]} failed (exit {result.returncode}):\n{where[0]}\n"
        f"stdout:\n{result.stdout[-2000:]}\nstderr:\n{result.stderr[-2000:]}"
    )
    assert "curl: (" not in result.stderr, result.stderr[-2000:]
    _check_statuses(result.stderr, code_blocks, path.name)


def test_every_environment_variable_is_documented():
    """docs/configuration.md names each variable config/settings.py and config/gunicorn.py read."""
    source = (ROOT / "config" / "settings.py").read_text() + (
        ROOT / "config" / "gunicorn.py"
    ).read_text()
    names = set(
        re.findall(r"env\.\w+\(\s*\"([A-Z][A-Z0-9_]+)\"", source)
        + re.findall(r"os\.environ\.get\(\s*\"([A-Z][A-Z0-9_]+)\"", source)
    )
    assert len(names) > 20
    documented = (ROOT / "docs" / "configuration.md").read_text()
    missing = sorted(name for name in names if f"`{name}`" not in documented)
    assert not missing, f"docs/configuration.md does not name: {missing}"


def test_the_readme_stands_on_its_own():
    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme
    for doc in ("api-bsale", "api-leancore", "data-model", "configuration", "operations"):
        assert f"docs/{doc}.md" in readme
        assert (ROOT / "docs" / f"{doc}.md").is_file()
