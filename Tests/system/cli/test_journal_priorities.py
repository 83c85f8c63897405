"""Under systemd (stdout and stderr connected to the journal, which $JOURNAL_STREAM names by
device and inode), every log line starts with its sd-daemon priority, so that
`journalctl -p err` finds the errors; anywhere else the lines are unchanged. Stands in for the
journal with a file, whose device and inode are put in JOURNAL_STREAM."""
import json
import os
import re
import subprocess

from glbtools.repo import minimal_balance_config

PREFIX = re.compile(r"^<(\d)>")


def run(binary, args, tmp_path, journal=True):
    """Runs with stdout and stderr on one file (as systemd connects them to one stream);
    JOURNAL_STREAM names that file, or another one. Returns (status, lines)."""
    out = tmp_path / f"{binary.name}.out"
    other = tmp_path / "other"
    other.touch()
    with open(out, "w") as f:
        st = os.fstat(f.fileno()) if journal else os.stat(other)
        env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
        res = subprocess.run([str(binary), *args], stdout=f, stderr=f, env=env, timeout=60)
    return res.returncode, out.read_text().splitlines()


def priorities(lines):
    return [int(m.group(1)) if (m := PREFIX.match(line)) else None for line in lines]


def test_glb_log_lines_carry_their_priority(bin_dir, tmp_path):
    # One step against a Prometheus that is not there: info lines, and a warning for the freeze.
    status, lines = run(bin_dir / "glb-balance", ["--once", "--config", str(minimal_balance_config(tmp_path))], tmp_path)
    assert status == 0, lines
    levels = {"info": 6, "warning": 4, "error": 3}
    for line in lines:
        prefix, body = PREFIX.match(line), PREFIX.sub("", line)
        assert prefix, line
        assert int(prefix.group(1)) == levels[json.loads(body)["level"]], line
    assert {6, 4} <= set(priorities(lines)), lines


def test_configuration_errors_are_errors(bin_dir, tmp_path):
    status, lines = run(bin_dir / "glb-balance", ["--config", str(tmp_path / "missing.json")], tmp_path)
    assert status == 2 and lines and set(priorities(lines)) == {3}, lines
    status, lines = run(bin_dir / "glb-healthcheck", ["--config", str(tmp_path / "missing.conf")], tmp_path)
    assert status == 2 and lines and set(priorities(lines)) == {3}, lines


def test_health_checker_log_lines_carry_their_priority(bin_dir, tmp_path):
    config = tmp_path / "healthcheck.conf"
    source = tmp_path / "src.json"
    source.write_text(json.dumps({"tables": [{
        "hash_key": "00112233445566778899aabbccddeeff", "seed": "ffeeddccbbaa99887766554433221100",
        "binds": [{"ip": "192.0.2.1", "proto": "tcp", "port": 80}],
        "backends": [{"ip": "127.0.0.1", "state": "active", "healthchecks": {"tcp": 1}}]}]}))
    config.write_text(json.dumps({"forwarding_table": {"src": str(source), "dst": str(tmp_path / "dst.json")},
                                  "reload_command": "true"}))
    status, lines = run(bin_dir / "glb-healthcheck", ["--once", "--verbose", "--config", str(config)], tmp_path)
    # --once prints the status on stdout as text (not a log line); the log lines are prefixed.
    logged = [line for line in lines if "level=" in line]
    assert logged, lines
    levels = {"debug": 7, "info": 6, "warning": 4, "error": 3}
    for line in logged:
        level = re.search(r"level=(\w+)", line).group(1)
        assert priorities([line]) == [levels[level]], line


def test_no_prefix_when_the_stream_is_not_the_journal(bin_dir, tmp_path):
    """JOURNAL_STREAM inherited from a service by a process whose output goes elsewhere (a
    reload command's output captured by its caller): no prefixes."""
    status, lines = run(bin_dir / "glb-balance", ["--once", "--config", str(minimal_balance_config(tmp_path))], tmp_path,
                        journal=False)
    assert status == 0 and lines, lines
    assert all(json.loads(line)["level"] for line in lines)
    status, lines = run(bin_dir / "glb-balance", ["--config", str(tmp_path / "missing.json")], tmp_path, journal=False)
    assert status == 2 and lines and priorities(lines) == [None] * len(lines), lines
