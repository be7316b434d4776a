"""The command line as a user runs it: exit codes, outputs, errors, start-up imports."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from audit.cli.main import main

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "sample_data"
HEAVY = ("sklearn", "spacy", "cleanlab", "fairlearn", "great_expectations", "datasets",
         "matplotlib", "pandas", "scipy", "torch")


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_run_sample_writes_json_and_exits_with_verdict(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out_path = tmp_path / "audit.json"
    code, out, _ = run_cli(["run", str(SAMPLE / "resumes_chat.jsonl"), "--json", str(out_path),
                            "--check", "empty_responses", "--check", "exact_duplicates"], capsys)
    doc = json.loads(out_path.read_text())
    assert code == doc["verdict"]["exit_code"] == 1
    assert "NO-GO" in out and "empty_responses" in out
    assert doc["dataset"]["schema"] == "chat"


def test_go_exit_zero_and_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["run", str(SAMPLE / "support_eval.jsonl"), "--quiet",
                            "--check", "empty_responses"], capsys)
    assert code == 0
    assert out.strip().startswith("GO:") and len(out.strip().splitlines()) == 1


def test_fail_on_warn_blocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "d.jsonl"
    rows = [{"prompt": f"q{i}", "response": f"a{i}"} for i in range(60)]
    rows.append({"prompt": "q0", "response": "a0"})
    data.write_text("\n".join(json.dumps(r) for r in rows))
    assert run_cli(["run", str(data), "-q", "--check", "exact_duplicates"], capsys)[0] == 0
    assert run_cli(["run", str(data), "-q", "--check", "exact_duplicates", "--fail-on", "warn"],
                   capsys)[0] == 1


def test_bad_input_exit_2_with_location(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "response": "b"}\n{oops}\n')
    code, _, err = run_cli(["run", str(bad)], capsys)
    assert code == 2 and "line 2" in err and "malformed JSON" in err and "Traceback" not in err
    code, _, err = run_cli(["run", str(tmp_path / "missing.jsonl")], capsys)
    assert code == 2 and "no such file" in err


def test_skip_bad_records_reports_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "response": "b"}\n{oops}\n{"prompt": "c", "response": "d"}\n')
    out_path = tmp_path / "a.json"
    code, _, _ = run_cli(["run", str(bad), "--on-bad-records", "skip", "--json", str(out_path),
                          "--check", "bad_records"], capsys)
    doc = json.loads(out_path.read_text())
    check = doc["checks"][0]
    assert code == 1 and check["metrics"]["n_skipped"] == 1 and check["findings"][0]["records"] == [1]


def test_usage_and_config_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["run"], capsys)[0] == 2
    assert run_cli(["run", str(SAMPLE / "support_eval.jsonl"), "--fail-on", "maybe"], capsys)[0] == 2
    cfg = tmp_path / "c.toml"
    cfg.write_text("[checks.exact_duplicate]\n")
    code, _, err = run_cli(["run", str(SAMPLE / "support_eval.jsonl"), "--config", str(cfg)], capsys)
    assert code == 2 and "Did you mean 'exact_duplicates'" in err
    code, _, err = run_cli(["run", str(SAMPLE / "support_eval.jsonl"), "--check", "nope"], capsys)
    assert code == 2 and "no check named 'nope'" in err


def test_json_never_overwrites_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"prompt": "a", "response": "b"}\n')
    before = data.read_bytes()
    code, _, err = run_cli(["run", str(data), "--json", str(data)], capsys)
    assert code == 2 and "refusing to write" in err and data.read_bytes() == before


def test_checks_explain_init(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["checks"], capsys)
    assert code == 0 and "exact_duplicates" in out and "empty_responses" in out
    code, out, _ = run_cli(["explain", "exact_duplicates"], capsys)
    assert code == 0 and "max_clusters_listed" in out and "duplicate_fraction" in out
    assert run_cli(["explain", "exact_dupes"], capsys)[0] == 2
    target = tmp_path / "ft-audit.toml"
    assert run_cli(["init", str(target)], capsys)[0] == 0
    text = target.read_text()
    tomllib.loads(text)  # valid TOML as written (everything commented)
    assert "[checks.exact_duplicates]" in text and "# max_clusters_listed = 50" in text
    uncommented = "\n".join(line[2:] if line.startswith("# ") and " = " in line and
                            not line.startswith("# Docs") else line for line in text.splitlines())
    from audit.config import config_from_dict

    config_from_dict(tomllib.loads(uncommented))  # every default is a valid setting
    code, _, err = run_cli(["init", str(target)], capsys)
    assert code == 2 and "exists" in err


def test_console_script_and_module_entry_points() -> None:
    for cmd in ([sys.executable, "-m", "audit", "--help"],
                [str(Path(sys.executable).parent / "ft-audit"), "--help"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and "run" in proc.stdout, proc.stderr


def test_help_and_checks_do_not_import_heavy_libraries() -> None:
    code = ("import sys\nfrom audit.cli.main import main\n"
            "try:\n    main(['checks'])\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
