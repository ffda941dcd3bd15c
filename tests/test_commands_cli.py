"""The management commands as a person runs them: in a shell, piped, from a terminal.

These run ``manage.py`` in a subprocess over a migrated SQLite file of their own, since
what they check (a closed pipe, argparse's messages, what reaches stderr) only shows up
in a real process.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from scripts.processes import ROOT, manage_env, run_manage, start_manage


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    database = tmp_path_factory.mktemp("cli") / "cli.sqlite3"
    environment = manage_env(f"sqlite:///{database}", LOG_LEVEL="WARNING")
    run_manage(environment, "migrate", "--noinput", "-v", "0")
    run_manage(
        environment,
        "seed_demo",
        "--offices=2",
        "--users=60",
        "--sellers=40",
        "--documents=400",
        "--history=0",
    )
    return environment


@pytest.mark.parametrize("fmt", ["csv", "table", "json"])
def test_sales_summary_into_a_closed_pipe_ends_quietly(env, fmt):
    """`manage.py sales_summary --format csv | head`: no BrokenPipeError traceback."""
    proc = start_manage(
        env,
        *("sales_summary", f"--format={fmt}", "--start=2000-01-01"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader is gone before the command writes a byte (head -0)
    _out, err = proc.communicate(timeout=120)
    assert err.decode() == ""
    assert proc.returncode == 141  # 128 + SIGPIPE, as a Unix tool killed by it


def test_sales_summary_through_head_prints_the_first_lines(env):
    result = subprocess.run(
        f"'{sys.executable}' manage.py sales_summary --format csv --start 2000-01-01 | head -n 3",
        shell=True,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    # Every text cell is quoted (common.csv_export), the header's too.
    assert lines[0] == '"id","seller","sales","returns","subtotal","tax"' and len(lines) == 3


def test_sales_summary_help_says_start_and_end_default_to_today(env):
    text = " ".join(run_manage(env, "sales_summary", "--help").stdout.split())
    assert "--start START first day, YYYY-MM-DD (default: today in TIME_ZONE)" in text
    assert "--end END last day, inclusive (default: today)" in text
    assert "output format (default: table)" in text


def test_seed_demo_bad_size_in_a_shell(env):
    result = run_manage(env, "seed_demo", "--users", "-5", check=False)
    assert result.returncode == 2
    assert "error: argument --users: must be 0 or more, not -5" in result.stderr
    assert "_non_negative" not in result.stderr and "Traceback" not in result.stderr


def test_no_progress_bar_into_a_pipe(env, tmp_path):
    """stderr is a pipe here (not a terminal): no tqdm lines, only the summary."""
    result = run_manage(env, "seed_demo", "--offices=3", "--users=61", "--sellers=1", "--history=5")
    assert result.stderr == ""
    assert "Seeding (seed 42): 3 offices, 61 users (1 sellers), 250 documents" in result.stdout
    path = tmp_path / "history.csv"
    path.write_text("user_id,nit,monto,fecha,emc\n")
    result = run_manage(env, "import_sales_history", str(path))
    assert result.stderr == "" and "Lines read: 0" in result.stdout
