"""The README's commands and code are the ones that work: CI runs its test command, its example runs."""

import os
import re
import subprocess

from tests.helpers import ROOT, SIM_CONFIG

README = (ROOT / "README.md").read_text(encoding="utf-8")


def block_after(marker: str) -> str:
    match = re.search(re.escape(marker) + r"\s*```\w*\n(.*?)```", README, re.S)
    assert match, f"no code block after {marker}"
    return match.group(1).strip()


def test_exactly_two_single_line_commands_that_set_themselves_up():
    main, tests = block_after("<!-- main-command -->"), block_after("<!-- test-command -->")
    for command in (main, tests):
        assert "\n" not in command and command.startswith("python3 -m venv .venv && ")
    assert main.endswith("qiup start") and "pytest" in tests


def test_ci_runs_the_readme_test_command_not_a_copy(tmp_path):
    # Replace the README in a scratch copy of .ci/run's view: .ci/run must execute whatever is marked.
    (tmp_path / ".ci").mkdir()
    (tmp_path / ".ci" / "run").write_text((ROOT / ".ci" / "run").read_text())
    (tmp_path / "README.md").write_text(README.replace(block_after("<!-- test-command -->"),
                                                       "echo marked-command-ran; exit 7"))
    proc = subprocess.run(["bash", str(tmp_path / ".ci" / "run")], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "CI": "true"}, stdin=subprocess.DEVNULL)
    assert "marked-command-ran" in proc.stdout and proc.returncode == 7


def test_scripting_example_runs(tmp_path, monkeypatch):
    code = README.split("### Scripting", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    code = code.replace('"configs/simulation.toml"', repr(str(SIM_CONFIG)))
    code = code.replace('{"frames_per_step": 8, "phase_lock": True}', '{"frames_per_step": 1, "phase_lock": True}')
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "runs" / "holo.h5").exists()
