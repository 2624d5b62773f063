"""Makefile recipes report a failing tool instead of hiding it in a pipe."""
import os
import os.path as osp
import stat
import subprocess

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Stands in for the venv's python: train.py succeeds, test.py prints the
# given text and exits with the given status.
FAKE_PYTHON = """#!/bin/sh
case "$1" in
  tools/test.py) echo "{text}"; exit {status};;
esac
exit 0
"""


def run_quickstart(tmp_path, text, status):
    venv, data, work = tmp_path / 'venv', tmp_path / 'data', tmp_path / 'q'
    (venv / 'bin').mkdir(parents=True)
    python = venv / 'bin' / 'python'
    python.write_text(FAKE_PYTHON.format(text=text, status=status))
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    (venv / '.installed').touch()  # newer than setup.py: nothing to install
    data.mkdir()
    (data / 'meta.json').write_text('{}')
    work.mkdir()
    env = dict(os.environ, MAKEFLAGS='')
    return subprocess.run(
        ['make', '-C', ROOT, 'quickstart', f'VENV={venv}', f'DATA={data}',
         f'QUICKSTART_DIR={work}'],
        capture_output=True, text=True, env=env)


def test_quickstart_fails_when_test_tool_fails(tmp_path):
    result = run_quickstart(tmp_path, 'Traceback: no checkpoint', 3)
    assert result.returncode != 0, result.stdout
    assert 'quickstart toyscenes val' not in result.stdout


def test_quickstart_reports_score_of_a_passing_test_tool(tmp_path):
    result = run_quickstart(tmp_path, 'mIoU: 12.5000', 0)
    assert result.returncode == 0, result.stderr
    assert 'quickstart toyscenes val mIoU: 12.5000' in result.stdout


def test_every_recipe_runs_with_pipefail(tmp_path):
    extra = tmp_path / 'extra.mk'
    extra.write_text('pipe-check:\n\tfalse | cat\n')
    result = subprocess.run(
        ['make', '-f', osp.join(ROOT, 'Makefile'), '-f', str(extra),
         'pipe-check'], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0
