"""glb-director-cli and an operator's bad day: interrupted writes leave nothing, links and
permissions are kept, a table that forwards nothing needs saying so, and odd inputs (a FIFO,
a damaged binary table, a cut capture) get a clear answer instead of a hang or silence."""
import json
import os
import pathlib
import signal
import subprocess

import pytest

from glbtools.repo import FIXTURES
from glbtools.shell import wait_for

EXAMPLE = FIXTURES / "compat" / "director" / "example1"
HERE = pathlib.Path(__file__).resolve().parent


def big_table():
    """Large enough that the binary file is megabytes (16 tables of 160 kB)."""
    backends = [{"ip": f"10.{i // 250}.{i % 250}.1", "state": "active", "healthy": True} for i in range(16)]
    return {"tables": [{
        "hash_key": "00112233445566778899aabbccddeeff", "seed": f"{t:032x}",
        "binds": [{"ip": f"192.0.{t // 250}.{t % 250 + 1}", "proto": "tcp", "port": 80}],
        "backends": backends} for t in range(16)]}


def temporaries(folder, name):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}.tmp-"))


@pytest.fixture(scope="module")
def fsync_gate(tmp_path_factory):
    """fsync_gate.c built as a preload library."""
    lib = tmp_path_factory.mktemp("gate") / "fsync_gate.so"
    subprocess.run(["clang", "-shared", "-fPIC", "-O2", "-o", str(lib), str(HERE / "fsync_gate.c"), "-ldl"], check=True)
    return lib


def build_held_at_sync(bin_dir, gate_lib, src, dst, gate):
    """build-config whose fsync waits until `gate` exists: its temporary file stays, complete
    and unrenamed, until the test opens the gate or stops it."""
    env = dict(os.environ, LD_PRELOAD=str(gate_lib), GLB_TEST_FSYNC_GATE=str(gate))
    return subprocess.Popen([str(bin_dir / "glb-director-cli"), "build-config", str(src), str(dst)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_until_held(gate, proc):
    """Until the writer waits at the gate: its temporary file is then complete and tracked
    for clean-up (the file alone appears earlier, at mkstemp)."""
    held = gate.with_name(gate.name + ".held")
    wait_for(lambda: held.exists() or proc.poll() is not None, "the writer to reach fsync", timeout=60, interval=0.01)
    assert held.exists(), f"the writer exited ({proc.returncode}) before fsync"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_build_config_removes_its_temporary_file(bin_dir, fsync_gate, tmp_path, sig):
    src = tmp_path / "t.json"
    src.write_text(json.dumps(big_table()))
    proc = build_held_at_sync(bin_dir, fsync_gate, src, tmp_path / "t.bin", tmp_path / "never")
    wait_until_held(tmp_path / "never", proc)
    os.kill(proc.pid, sig)
    proc.wait(timeout=60)
    assert temporaries(tmp_path, "t.bin") == []
    assert not (tmp_path / "t.bin").exists()


def test_a_killed_build_config_is_cleaned_up_by_the_next(bin_dir, fsync_gate, cli, tmp_path):
    """SIGKILL runs no handler: the temporary file stays (the failure), and the next write to
    the same destination removes it. A writer still at work is never taken for a dead one."""
    src = tmp_path / "t.json"
    src.write_text(json.dumps(big_table()))
    proc = build_held_at_sync(bin_dir, fsync_gate, src, tmp_path / "t.bin", tmp_path / "never")
    wait_until_held(tmp_path / "never", proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    left = temporaries(tmp_path, "t.bin")
    assert len(left) == 1 and (tmp_path / left[0]).stat().st_size > 1 << 20

    # The next write removes it; that writer's own file, while it works, is kept by a third.
    gate = tmp_path / "gate"
    live = build_held_at_sync(bin_dir, fsync_gate, src, tmp_path / "t.bin", gate)
    try:
        wait_until_held(gate, live)
        working = temporaries(tmp_path, "t.bin")
        assert len(working) == 1 and working != left
        r = cli("build-config", EXAMPLE / "table.json", tmp_path / "t.bin")
        assert r.returncode == 0, r.stderr
        assert temporaries(tmp_path, "t.bin") == working
    finally:
        gate.touch()
        assert live.wait(timeout=60) == 0
    assert temporaries(tmp_path, "t.bin") == []


def test_build_config_syncs_the_folder_after_the_rename(bin_dir, tmp_path):
    log = tmp_path / "trace"
    subprocess.run(["strace", "-qq", "-o", str(log), "-e", "trace=openat,rename,fsync",
                    str(bin_dir / "glb-director-cli"), "build-config", str(EXAMPLE / "table.json"), str(tmp_path / "t.bin")],
                   check=True, capture_output=True)
    calls = log.read_text().splitlines()
    renamed = next(i for i, c in enumerate(calls) if c.startswith("rename(") and "t.bin" in c)
    folder_open = next(i for i, c in enumerate(calls) if i > renamed and "O_DIRECTORY" in c and str(tmp_path) in c)
    fd = calls[folder_open].rsplit("=", 1)[1].strip()
    assert any(c.startswith(f"fsync({fd})") for c in calls[folder_open:]), calls


def test_build_config_writes_through_a_link_and_keeps_mode_and_owner(cli, tmp_path):
    real = tmp_path / "tables" / "forwarding_table.bin"
    real.parent.mkdir()
    assert cli("build-config", EXAMPLE / "table.json", real).returncode == 0
    os.chmod(real, 0o640)
    os.chown(real, 1234, 5678)
    link = tmp_path / "current.bin"
    link.symlink_to("tables/forwarding_table.bin")
    before = real.stat().st_ino

    assert cli("build-config", EXAMPLE / "table.json", link).returncode == 0
    assert link.is_symlink() and os.readlink(link) == "tables/forwarding_table.bin"
    st = real.stat()
    assert st.st_ino != before  # replaced, not rewritten in place
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o640, 1234, 5678)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current.bin", "tables"]

    # A link to a file that does not exist yet creates the file.
    dangling = tmp_path / "next.bin"
    dangling.symlink_to("tables/next.bin")
    assert cli("build-config", EXAMPLE / "table.json", dangling).returncode == 0
    assert dangling.is_symlink() and (tmp_path / "tables" / "next.bin").is_file()


@pytest.mark.parametrize("doc, reason, source_warning", [
    ({"tables": []}, "no tables", "tables: no tables: the director will forward nothing"),
    ({"tables": [{"hash_key": "00112233445566778899aabbccddeeff", "seed": "0123456789abcdef0123456789abcdef",
                  "binds": [], "backends": [{"ip": "10.0.0.1", "state": "active", "healthy": True}]}]}, "no table has a bind",
     "binds: no binds: this table will receive no traffic"),
])
def test_a_table_that_forwards_nothing_needs_saying_so(cli, tmp_path, doc, reason, source_warning):
    src = tmp_path / "t.json"
    src.write_text(json.dumps(doc))
    dst = tmp_path / "t.bin"
    r = cli("build-config", src, dst)
    assert r.returncode == 1 and f"{reason}: a director loading it would drop all traffic; pass --allow-no-binds" in r.stderr, r.stderr
    assert not dst.exists()
    r = cli("build-config", "--allow-no-binds", src, dst)
    assert r.returncode == 0 and dst.exists(), r.stderr
    r = cli("validate", dst)  # the binary table written with --allow-no-binds
    assert f"warning: {dst}: {reason}: a director loading this table drops all traffic" in r.stdout, r.stdout
    assert cli("validate", "--strict", dst).returncode == 1
    r = cli("validate", src)  # the source: its decoder's own warning, once
    assert r.stdout.count("warning:") == 1 and source_warning in r.stdout, r.stdout
    assert cli("validate", "--strict", src).returncode == 1


def test_a_fifo_is_refused_instead_of_waited_for(cli, tmp_path):
    fifo = tmp_path / "t.json"
    os.mkfifo(fifo)
    for args in (["build-config", fifo, tmp_path / "t.bin"], ["validate", fifo]):
        r = cli(*args)  # the fixture's time limit: a hang fails the test
        assert r.returncode == 1 and "not a regular file" in r.stdout + r.stderr, r


def test_a_damaged_binary_table_is_not_called_invalid_json(cli, tmp_path):
    good = tmp_path / "t.bin"
    assert cli("build-config", EXAMPLE / "table.json", good).returncode == 0
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GLBX" + good.read_bytes()[4:])
    for command in ("validate", "dump"):
        r = cli(command, bad)
        assert r.returncode == 1
        assert f'{bad}: neither JSON nor a binary forwarding table: it starts with "GLBX" (47 4c 42 58), a binary table with "GLBD"' in r.stdout + r.stderr
        assert "JSON" in r.stdout + r.stderr and "invalid JSON" not in r.stdout + r.stderr


def test_encap_replays_what_a_cut_capture_holds(cli, tmp_path):
    table = tmp_path / "t.bin"
    assert cli("build-config", EXAMPLE / "table.json", table).returncode == 0
    whole = (EXAMPLE / "in.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(whole[:-10])  # the last frame loses its end
    out = tmp_path / "out.pcap"
    r = cli("encap", "--config-file", EXAMPLE / "director.json", "--forwarding-table", table, cut, out)
    assert r.returncode == 1
    assert "the frames before it were replayed and written" in r.stderr, r.stderr
    full = cli("encap", "--config-file", EXAMPLE / "director.json", "--forwarding-table", table, EXAMPLE / "in.pcap", tmp_path / "full.pcap")
    assert full.returncode == 0
    read_cut = int(r.stdout.split()[0])
    read_full = int(full.stdout.split()[0])
    assert read_cut == read_full - 1 and out.stat().st_size > 24


def test_checksum_file_catches_damage_that_the_format_cannot(cli, tmp_path):
    """GLB's format has no checksum: a changed row passes validate. With --checksum,
    build-config writes DST.sha256 (sha256sum's format), and every reader checks it."""
    table = tmp_path / "t.bin"
    assert cli("build-config", "--checksum", EXAMPLE / "table.json", table).returncode == 0
    subprocess.run(["sha256sum", "-c", "t.bin.sha256"], cwd=tmp_path, check=True, capture_output=True)
    r = cli("validate", table)
    assert r.returncode == 0 and "SHA-256 matches" in r.stdout, r.stdout

    data = bytearray(table.read_bytes())
    data[-4] ^= 0x01  # the last row's secondary: backend 0 <-> 1, both valid
    table.write_bytes(bytes(data))
    r = cli("validate", table)
    assert r.returncode == 1 and "does not match" in r.stdout + r.stderr, r.stdout + r.stderr
    # The negative control: without the checksum file the same damage passes.
    (tmp_path / "t.bin.sha256").unlink()
    assert cli("validate", table).returncode == 0

    # A table written without --checksum removes a checksum file left from an earlier one.
    assert cli("build-config", "--checksum", EXAMPLE / "table.json", table).returncode == 0
    assert cli("build-config", EXAMPLE / "table.json", table).returncode == 0
    assert not (tmp_path / "t.bin.sha256").exists()
