"""The CLI entry point: version and help work without any cluster."""

import subprocess
import sys

import kubedra
from kubedra.cli.main import main


def test_version_flag(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert kubedra.__version__ in capsys.readouterr().out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: kubedra" in capsys.readouterr().out


def test_console_entry_runs_as_module():
    out = subprocess.run([sys.executable, "-m", "kubedra", "--help"], capture_output=True, text=True, check=True)
    assert "COMMAND" in out.stdout


def test_every_command_module_imports():
    from kubedra.cli.main import broken_commands, build_parser

    build_parser()
    assert broken_commands() == {}


def test_wrapped_commands_keep_double_dash(monkeypatch):
    import kubedra.cli.binaries as binaries

    seen = {}

    def fake_run(argv, env, check):
        seen["argv"] = argv
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.setattr(binaries, "kubectl_path", lambda: "/bin/kubectl")
    monkeypatch.setattr(binaries.subprocess, "run", fake_run)
    assert main(["kubectl", "exec", "-n", "ns", "pod", "--", "env"]) == 0
    assert seen["argv"] == ["/bin/kubectl", "exec", "-n", "ns", "pod", "--", "env"]
