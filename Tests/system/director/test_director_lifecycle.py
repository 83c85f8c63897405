"""glb-director's start-up, shutdown and reloads: GLB's pcap check, configuration errors,
systemd notification, and reloads under full load without losing a packet."""
import json
import os
import socket
import subprocess
import tempfile

import pytest
from scapy.all import IP, TCP, Ether, wrpcap

from glbdirector import Director, base_config
from glbtools.repo import FIXTURES, iter_pcap, read_pcap as pcap_frames
from glbtools.shell import wait_for

EXAMPLE = FIXTURES / "compat" / "director" / "example1"


def test_glb_pcap_check(hugepages, bin_dir, tmp_path):
    """As GLB's own suite does: net_pcap from the reference capture to a pcap file, with
    GLB's director.conf (distributor and worker), then SIGINT: a complete file, exit 0."""
    out = tmp_path / "out.pcap"
    d = Director(bin_dir, tmp_path, json.loads((EXAMPLE / "director.json").read_text()), EXAMPLE / "table.json",
                 lcores="0@0,1@1,2@1", eal=[f"--vdev=net_pcap0,rx_pcap={EXAMPLE / 'in.pcap'},tx_pcap={out}"], metrics_port=9121)
    d.start()
    # Stop once the whole capture went through (the worker counts what the distributor handed it).
    forwarded = 'glb_director_packets_total{lcore="2",outcome="forwarded"}'
    wait_for(lambda: d.metrics().get(forwarded, 0) >= 164, "the worker to forward the whole capture", timeout=30)
    assert d.stop() == 0, d.log()
    assert "stopped" in d.lines[-1]
    assert pcap_frames(out) == pcap_frames(EXAMPLE / "expected.pcap")


def run_director(bin_dir, args, env=None):
    return subprocess.run([str(bin_dir / "glb-director"), *map(str, args)], capture_output=True, text=True, env=env, timeout=60)


def test_configuration_errors_stop_before_any_port(bin_dir, tmp_path):
    table = tmp_path / "t.bin"
    subprocess.run([str(bin_dir / "glb-director-cli"), "build-config", EXAMPLE / "table.json", table], check=True)
    bad = base_config(outbound_src_ip="2001:db8::1", hash_fields={"src_addr": False},
                      lcores={"lcore-1": {"rx": True, "tx": True, "flow_paths": [3]}})
    cfg = tmp_path / "director.json"
    cfg.write_text(json.dumps(bad))
    r = run_director(bin_dir, ["--no-huge", "-m", "128", "--no-pci", "--", "--config-file", cfg, "--forwarding-table", table])
    assert r.returncode == 2  # a configuration error: systemd's unit does not restart it
    messages = [json.loads(line)["message"] for line in r.stderr.splitlines() if line.startswith("{")]
    assert any("outbound_src_ip: expected an IPv4 address" in m for m in messages), messages
    assert any("hash_fields: must contain at least one field set to true" in m for m in messages), messages
    assert any("lcores.lcore-1.flow_paths[0]: expected the index of one of the 1 flow_paths" in m for m in messages), messages
    assert "EAL:" not in r.stdout + r.stderr  # nothing was started

    r = run_director(bin_dir, ["--no-huge", "-m", "128", "--no-pci", "--", "--config-file", EXAMPLE / "director.json", "--forwarding-table", tmp_path / "missing.bin"])
    # A table may appear later (written by the health checker): a failure, restarted.
    assert r.returncode == 1 and "missing.bin: cannot open: No such file or directory" in r.stderr
    r = run_director(bin_dir, ["--", "--config-file", EXAMPLE / "director.json"])
    assert r.returncode == 64 and "--forwarding-table" in r.stderr  # a usage error (EX_USAGE)


def test_a_forgotten_separator_is_explained(bin_dir, tmp_path):
    """Without `--`, every argument goes to EAL, and the director's own options seem missing
    though they were given: the error shows the command line as meant instead."""
    cfg, table = EXAMPLE / "director.json", tmp_path / "t.bin"
    glb = str(bin_dir / "glb-director")
    r = run_director(bin_dir, ["-l", "0-1", "--no-huge", "--config-file", cfg, "-t", table, "-v"])
    assert r.returncode == 64
    assert r.stderr.splitlines()[:2] == [
        "glb-director: the director's options must follow `--` (EAL's options come before it); as meant:",
        f"  {glb} -l 0-1 --no-huge -- --config-file {cfg} -t {table} -v"], r.stderr
    assert "EAL:" not in r.stdout + r.stderr  # nothing was started
    # Control: with the separator and an option really missing, the parser's own message.
    r = run_director(bin_dir, ["-l", "0-1", "--", "--config-file", cfg])
    assert r.returncode == 64 and "Missing expected argument '--forwarding-table <file>'" in r.stderr
    assert "must follow `--`" not in r.stderr
    # And EAL's options alone: nothing of the director's to move.
    r = run_director(bin_dir, ["-l", "0-1"])
    assert r.returncode == 64 and "Missing expected argument '--config-file <file>'" in r.stderr
    assert "must follow `--`" not in r.stderr


def test_lcore_and_port_errors_are_explained(hugepages, bin_dir, tmp_path):
    cfg = base_config(lcores={"lcore-5": {"rx": True, "tx": True, "flow_paths": [0]}})
    d = Director(bin_dir, tmp_path, cfg, EXAMPLE / "table.json", lcores="0-1", eal=["--vdev=net_null0"])
    with pytest.raises(AssertionError, match="lcore 5 is not enabled in EAL; add it to -l/--lcores"):
        d.start()
    d = Director(bin_dir, tmp_path / "b", base_config(), EXAMPLE / "table.json", lcores="0-1")
    with pytest.raises(AssertionError, match="port 0 does not exist"):
        d.start()


def test_glb_short_options(hugepages, bin_dir, tmp_path):
    """GLB's own short forms: -c config, -t table, -v debug, as its unit files pass them."""
    d = Director(bin_dir, tmp_path, base_config(), EXAMPLE / "table.json", eal=["--vdev=net_null0"])
    cmd = [str(bin_dir / "glb-director"), *d.eal, "--", "-c", str(d.config_path), "-t", str(d.table_path), "-v"]
    d.command = lambda: cmd
    with d:
        pass
    assert d.proc.returncode == 0, d.log()


def test_help(bin_dir):
    r = run_director(bin_dir, ["--", "--help"])
    assert r.returncode == 0
    for text in ("--config-file", "--forwarding-table", "--pid-file", "SIGHUP", "net_af_packet", "--no-huge -m 1024"):
        assert text in r.stdout, text


def test_systemd_ready_and_pid_file(hugepages, bin_dir, tmp_path):
    sock_path = tempfile.mktemp(prefix="glbnotify", dir="/tmp")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(sock_path)
    notify.settimeout(30)
    pid_file = tmp_path / "glb.pid"
    d = Director(bin_dir, tmp_path, base_config(), EXAMPLE / "table.json", eal=["--vdev=net_null0"])
    cmd = d.command() + ["--pid-file", str(pid_file)]
    d.command = lambda: cmd
    os.environ["NOTIFY_SOCKET"] = sock_path
    try:
        d.start()
    finally:
        del os.environ["NOTIFY_SOCKET"]
    try:
        message = notify.recv(4096).decode()
        assert "READY=1" in message
        assert int(pid_file.read_text()) == d.proc.pid
        # The director logs this after sending the datagram, so the line may reach the
        # reader thread after the datagram reaches us.
        d.wait_for(r"told systemd READY=1", timeout=10)
    finally:
        assert d.stop() == 0
        notify.close()
        os.unlink(sock_path)
    assert not pid_file.exists()


def test_reloads_under_load_lose_nothing(hugepages, bin_dir, tmp_path):
    """A looping capture at full rate through 50 reloads alternating two tables: every packet
    received is sent, none dropped, and each was encapsulated by exactly one of the tables."""
    flows = [bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=f"198.18.{i}.{i % 250 + 1}", dst="192.0.2.80") / TCP(sport=10000 + i, dport=443, flags="S")) for i in range(64)]
    inp = tmp_path / "in.pcap"
    wrpcap(str(inp), [Ether(f) for f in flows])
    table_a = json.loads((EXAMPLE / "table.json").read_text())
    table_b = json.loads((EXAMPLE / "table.json").read_text())
    table_b["tables"][0]["seed"] = "00000000000000000000000000000042"  # every row reshuffled
    out = tmp_path / "out.pcap"
    d = Director(bin_dir, tmp_path, base_config(), table_a,
                 eal=[f"--vdev=net_pcap0,rx_pcap={inp},tx_pcap={out},infinite_rx=1"])
    # What each table makes of each flow, from the offline encap.
    valid = set()
    for name, table in (("a", table_a), ("b", table_b)):
        src = tmp_path / f"{name}.json"
        src.write_text(json.dumps(table))
        binary = tmp_path / f"{name}.bin"
        subprocess.run([str(bin_dir / "glb-director-cli"), "build-config", src, binary], check=True)
        expected = tmp_path / f"{name}-expected.pcap"
        subprocess.run([str(bin_dir / "glb-director-cli"), "encap", "--config-file", d.config_path, "--forwarding-table", binary, inp, expected], check=True, capture_output=True)
        valid |= set(pcap_frames(expected))
    assert len(valid) > 64  # the two tables differ
    d.start()
    for i in range(50):
        line = d.reload(tmp_path / ("b.bin" if i % 2 == 0 else "a.bin"))
        assert f"table generation {i + 2} loaded" in line, line
    assert d.stop() == 0, d.log()
    totals = next(line for line in d.lines if "lcore 1 totals" in line)
    counts = dict(part.rsplit(" ", 1) for part in json.loads(totals)["message"].split(": ", 1)[1].split(", "))
    assert set(counts) == {"rx_packets", "tx_packets", "forwarded"}, totals  # no drop of any kind
    assert int(counts["rx_packets"]) > 0
    assert int(counts["rx_packets"]) == int(counts["tx_packets"]) == int(counts["forwarded"]), totals
    set_a = set(pcap_frames(tmp_path / "a-expected.pcap"))
    total, by_table, bad = 0, {"a": 0, "b": 0}, 0
    for f in iter_pcap(out):
        total += 1
        if f not in valid:
            bad += 1
        else:
            by_table["a" if f in set_a else "b"] += 1
    assert total == int(counts["tx_packets"])
    assert bad == 0, f"{bad} of {total} frames match neither table"
    assert by_table["a"] > 0 and by_table["b"] > 0  # both tables were really used
    out.unlink()  # hundreds of MB: not worth keeping among pytest's temporary folders


def test_missing_hugepages_are_explained(hugepages, bin_dir, tmp_path):
    """Without reserved hugepages the director says how to reserve them or run without."""
    from glbtools.repo import ROOT
    path = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
    before = int(open(path).read())
    subprocess.run([str(ROOT / "scripts" / "hugepages"), "release"], check=True, capture_output=True)
    try:
        d = Director(bin_dir, tmp_path, base_config(), EXAMPLE / "table.json", eal=["--vdev=net_null0"])
        d.eal.remove("--in-memory")
        with pytest.raises(AssertionError, match=r"no hugepages are reserved: reserve hugepages with `scripts/hugepages reserve 256`.*--no-huge -m 1024"):
            d.start()
    finally:
        subprocess.run([str(ROOT / "scripts" / "hugepages"), "reserve", str(before)], check=True, capture_output=True)
    # And --no-huge runs without them.
    d = Director(bin_dir, tmp_path / "nohuge", base_config(), EXAMPLE / "table.json", eal=["--vdev=net_null0", "--no-huge", "-m", "256"])
    d.eal.remove("--in-memory")
    with d:
        pass
    assert d.proc.returncode == 0
