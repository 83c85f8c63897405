"""glb-healthcheck's command line: help, usage errors and configuration errors, without
any network."""

import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

import hclab


def run(binary, *args):
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True, timeout=30)


def test_help_explains_every_flag(healthcheck):
    res = run(healthcheck, "--help")
    assert res.returncode == 0
    for flag in ("--config", "--metrics-address", "--once", "--json", "--reload-timeout", "--verbose", "--help"):
        assert flag in res.stdout, flag
    for topic in ("healthcheck.conf", "SIGHUP", "reload_command", "trigger", "Exit status"):
        assert topic in res.stdout, topic


@pytest.mark.parametrize("args, message", [
    (["--json"], "--json goes with --once"),
    (["--metrics-address", "9101"], "--metrics-address: expected IP:PORT"),
    (["--metrics-address", "localhost:9101"], "--metrics-address: expected IP:PORT"),
    (["--metrics-address", "::1:9101"], "--metrics-address: expected IP:PORT"),
    (["--metrics-address", "127.0.0.1:0"], "--metrics-address: expected IP:PORT"),
    (["--once", "--metrics-address", "127.0.0.1:9101"], "--metrics-address has no use with --once"),
    (["--reload-timeout", "0"], "--reload-timeout must be 1-86400 seconds"),
    (["--frobnicate"], "Unknown option '--frobnicate'"),
])
def test_usage_errors(healthcheck, args, message):
    res = run(healthcheck, *args)
    assert res.returncode == 64, res
    assert message in res.stderr


def test_configuration_errors_name_the_file_and_key(healthcheck, tmp_path):
    """Status 2: a configuration error, which the unit does not restart on."""
    missing = tmp_path / "nope.conf"
    res = run(healthcheck, "--config", missing)
    assert res.returncode == 2
    assert res.stderr == f"glb-healthcheck: error: {missing}: cannot open: No such file or directory\n"

    conf = tmp_path / "healthcheck.conf"
    conf.write_text('{"forwarding_table": {"src": "/a.json", "dst": 7}, "reload_command": true}')
    res = run(healthcheck, "--config", conf)
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        f"glb-healthcheck: error: {conf}: forwarding_table.dst: expected a file path as a string, got 7",
        f"glb-healthcheck: error: {conf}: reload_command: expected a shell command as a string, got true",
    ]

    conf.write_text('{"forwarding_table": {"src": "/a.json", "dst": "/b.json"},\n  "reload_command": "x",}')
    res = run(healthcheck, "--config", conf)
    assert res.returncode == 2
    assert res.stderr.startswith(f"glb-healthcheck: error: {conf}: invalid JSON at line 2, column 25")

    src = tmp_path / "src.json"
    src.write_text(json.dumps(hclab.source_table([("10.0.0.1", {"http": 80})], healthchecks={"trigger": -2})))
    conf.write_text(json.dumps({"forwarding_table": {"src": str(src), "dst": str(tmp_path / "dst.json")}}))
    res = run(healthcheck, "--config", conf, "--once")
    assert res.returncode == 2
    assert res.stderr == (f"glb-healthcheck: error: {src}: healthchecks.trigger: -2 is out of range "
                          "(expected 0 for the default, or 1-1000 rounds)\n")


def test_once_with_nothing_to_check_prints_the_table(healthcheck, tmp_path):
    src = tmp_path / "src.json"
    src.write_text(json.dumps(hclab.source_table([("10.0.0.1", None), ("10.0.0.2", {"http": 80}, "inactive")])))
    conf = tmp_path / "healthcheck.conf"
    conf.write_text(json.dumps({"forwarding_table": {"src": str(src), "dst": str(tmp_path / "dst.json")}}))
    res = run(healthcheck, "--config", conf, "--once")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[1:] == [
        "table web",
        "  10.0.0.1  active    healthy    not checked",
        "  10.0.0.2  inactive  healthy    not checked",
    ]
    assert not (tmp_path / "dst.json").exists()


def test_glb_debug_environment_switch(healthcheck, tmp_path):
    """GLB's GLB_HEALTHCHECK_LOG_DEBUG=1 turns debug logging on, as --verbose does."""
    src = tmp_path / "src.json"
    src.write_text(json.dumps(hclab.source_table([("127.0.0.1", {"http": 1})])))  # nothing listens on port 1
    conf = tmp_path / "healthcheck.conf"
    conf.write_text(json.dumps({"forwarding_table": {"src": str(src), "dst": str(tmp_path / "dst.json")}}))
    quiet = subprocess.run([str(healthcheck), "--config", str(conf), "--once"], capture_output=True, text=True, timeout=30)
    assert "level=debug" not in quiet.stderr
    env = dict(os.environ, GLB_HEALTHCHECK_LOG_DEBUG="1")
    loud = subprocess.run([str(healthcheck), "--config", str(conf), "--once"], capture_output=True, text=True, timeout=30, env=env)
    assert 'level=debug msg="check failed" check=http://127.0.0.1:1/' in loud.stderr, loud.stderr


def write_conf(folder, dst):
    src = folder / "src.json"
    src.write_text(json.dumps(hclab.source_table([("10.0.0.1", None)])))
    conf = folder / "healthcheck.conf"
    conf.write_text(json.dumps({"forwarding_table": {"src": str(src), "dst": str(dst)}, "reload_command": "true"}))
    return conf


@pytest.mark.parametrize("dst, problem", [
    ("missing/dst.json", "its folder {d}/missing does not exist"),
    ("plain/dst.json", "{d}/plain is not a folder"),
])
def test_a_destination_that_cannot_be_written_stops_the_start(healthcheck, tmp_path, dst, problem):
    (tmp_path / "plain").write_text("")
    conf = write_conf(tmp_path, tmp_path / dst)
    res = run(healthcheck, "--config", conf)
    assert res.returncode == 2, res  # a configuration error
    assert res.stderr == (f"glb-healthcheck: error: {conf}: forwarding_table.dst: cannot write {tmp_path / dst}: "
                          + problem.format(d=tmp_path) + "\n")
    # --once writes nothing, so it does not care.
    assert run(healthcheck, "--config", conf, "--once").returncode == 0


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to become nobody")
def test_a_destination_folder_the_checker_may_not_write_stops_the_start(healthcheck):
    # The files must be readable by nobody: pytest's tmp_path is root's alone.
    folder = tempfile.mkdtemp(prefix="glb-healthcheck-ro-")
    try:
        os.chmod(folder, 0o755)
        ro = os.path.join(folder, "ro")
        os.mkdir(ro)
        os.chmod(ro, 0o555)
        conf = write_conf(pathlib.Path(folder), os.path.join(ro, "dst.json"))
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        res = subprocess.run([*as_nobody, str(healthcheck), "--config", str(conf)],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode == 2, res  # a configuration error
        assert res.stderr == (f"glb-healthcheck: error: {conf}: forwarding_table.dst: cannot write {ro}/dst.json: "
                              f"cannot create files in its folder {ro}: Permission denied\n")
        # Root may write there: the same configuration starts (and is stopped at once).
        proc = subprocess.Popen([str(healthcheck), "--config", str(conf)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            assert "checking backends" in proc.stderr.readline() + proc.stderr.readline()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        shutil.rmtree(folder)
