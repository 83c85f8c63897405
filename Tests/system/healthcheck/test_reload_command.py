"""The reload command as glb-healthcheck runs it: through /bin/sh, its failures logged with
their output and retried after the next round, a command that hangs killed with
everything it started. No backend is checked here (no network needed): the first round
gives the table its state, so the destination is written and the command run at once."""

import json
import os
import signal
import subprocess
import time

import hclab
from glbtools import netns
from glbtools.shell import wait_for


def start(healthcheck, tmp_path, command, *args):
    src = tmp_path / "src.json"
    src.write_text(json.dumps(hclab.source_table([("10.0.0.1", None)], healthchecks={"interval_ms": 100})))
    conf = tmp_path / "healthcheck.conf"
    conf.write_text(json.dumps({"forwarding_table": {"src": str(src), "dst": str(tmp_path / "dst.json")},
                                "reload_command": command}))
    # stdin is a pipe that stays open and empty: a reload command that inherited it would
    # wait on it for ever (one that reads stdin must get /dev/null).
    proc = subprocess.Popen([str(healthcheck), "--config", conf, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    return proc


def read_until(proc, predicate, timeout=20.0):
    """Log events (parsed) up to and including the first one `predicate` accepts."""
    deadline = time.monotonic() + timeout
    events = []
    os.set_blocking(proc.stderr.fileno(), True)
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            raise AssertionError(f"glb-healthcheck ended ({proc.wait()}): {events}")
        events.append(hclab.parse_logfmt(line))
        if predicate(events[-1]):
            return events
    raise AssertionError(f"timed out: {events}")


def stop(proc):
    netns.stop(proc)


def test_a_failing_reload_is_logged_once_with_its_output_retried_and_its_recovery_logged(healthcheck, tmp_path):
    runs = tmp_path / "runs"
    # Fails on its first three runs, then works.
    command = (f"echo run >> {runs}; [ $(wc -l < {runs}) -gt 3 ] || "
               "{ echo compile failed: bad table >&2; exit 3; }")
    proc = start(healthcheck, tmp_path, command)
    try:
        events = read_until(proc, lambda e: e.get("msg") == "reload command succeeded again after failures")
    finally:
        stop(proc)
    assert proc.returncode == 0
    assert runs.read_text().splitlines() == ["run"] * 4
    failed = [e for e in events if e.get("msg") == "reload command failed; retrying after the next round"]
    # Three failures in a row, the same each time: one line.
    assert len(failed) == 1, events
    assert failed[0]["level"] == "error"
    assert failed[0]["error"] == "exit status 3: compile failed: bad table"
    assert failed[0]["command"] == command
    assert events[-1]["failures"] == "3"
    assert [e["msg"] for e in events].count("reload command succeeded") == 1
    # The file was written once; only the reload is retried.
    assert [e["msg"] for e in events].count("destination table written") == 1
    assert (tmp_path / "dst.json").exists()


def alive(pid):
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_hanging_reload_is_killed_with_its_children(healthcheck, tmp_path):
    pids = tmp_path / "pids"
    # Each run notes its shell's pid (which is also its process group) and its background child's.
    proc = start(healthcheck, tmp_path, f'sleep 600 & echo "$$ $!" >> {pids}; sleep 600', "--reload-timeout", "1")
    try:
        [*_, failed] = read_until(proc, lambda e: e.get("msg", "").startswith("reload command failed"))
        assert failed["error"] == "killed after 1 s (--reload-timeout)"
        shell, child = map(int, pids.read_text().splitlines()[0].split())
        # SIGKILL went to the whole group; the kernel takes a moment to end each process.
        wait_for(lambda: not alive(shell) and not alive(child),
                 "the command and its background child to be killed", timeout=10, interval=0.02)
        group = subprocess.run(["pgrep", "-g", str(shell)], capture_output=True, text=True).stdout.split()
        assert [pid for pid in group if alive(pid)] == []
    finally:
        stop(proc)


def test_the_reload_command_gets_default_signals_and_no_stdin(healthcheck, tmp_path):
    out = tmp_path / "seen"
    # SIGHUP is ignored by glb-healthcheck itself; the command must not inherit that.
    proc = start(healthcheck, tmp_path,
                 f"grep SigIgn /proc/self/status > {out}; cat >> {out}; echo done >> {out}")
    try:
        read_until(proc, lambda e: e.get("msg") == "reload command succeeded")
    finally:
        stop(proc)
    ignored = int(out.read_text().split()[1], 16)
    assert not ignored & (1 << (signal.SIGHUP - 1)), hex(ignored)
    assert not ignored & (1 << (signal.SIGTERM - 1)), hex(ignored)
    assert out.read_text().splitlines()[1] == "done"
