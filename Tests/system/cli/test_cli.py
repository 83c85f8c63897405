"""glb-director-cli as operators and GLB's tooling use it: exit codes, output, files."""
import hashlib
import json
import os
import re

import pytest

from glbtools.repo import FIXTURES

TABLES = FIXTURES / "compat" / "tables"
EXAMPLE = FIXTURES / "compat" / "director" / "example1" / "table.json"


def expected_digests():
    out = {}
    for line in (TABLES / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        out[name.replace(".bin", "")] = digest
    return out


def table(backends, binds=None, name="web"):
    return {"tables": [{
        "name": name,
        "hash_key": "00112233445566778899aabbccddeeff",
        "seed": "0123456789abcdef0123456789abcdef",
        "binds": binds or [{"ip": "192.0.2.1", "proto": "tcp", "port": 80}],
        "backends": backends,
    }]}


def backend(ip, state="active", healthy=True):
    return {"ip": ip, "state": state, "healthy": healthy}


def write(path, doc):
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("case", sorted(expected_digests()))
def test_build_config_matches_glb(cli, tmp_path, case):
    dst = tmp_path / "out.bin"
    r = cli("build-config", TABLES / f"{case}.json", dst)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert hashlib.sha256(dst.read_bytes()).hexdigest() == expected_digests()[case]
    assert sorted(os.listdir(tmp_path)) == ["out.bin"]


def test_build_config_usage_errors_exit_1(cli, tmp_path):
    for args in ([], ["build-config"], ["build-config", "only-one.json"], ["build-config", "a", "b", "c"], ["frobnicate"]):
        r = cli(*args)
        assert r.returncode == 1, (args, r)
        assert re.search(r"^(Usage|USAGE): glb-director-cli", r.stderr, re.M), (args, r.stderr)


def test_build_config_errors_are_glb_log_lines_and_write_nothing(cli, tmp_path):
    dst = tmp_path / "table.bin"
    dst.write_bytes(b"previous table")
    src = write(tmp_path / "bad.json", table([backend("10.0.0.1", state="gone"), backend("10.0.0.300")]))
    r = cli("build-config", src, dst)
    assert r.returncode == 1
    assert r.stdout == ""
    lines = [json.loads(line) for line in r.stderr.splitlines()]
    assert [line["level"] for line in lines] == ["error", "error"]
    assert all(isinstance(line["timestamp"], float) for line in lines)
    assert lines[0]["message"] == f"{src}: table 0 (web): backends[0].state: expected one of active, draining, filling, inactive, got \"gone\""
    assert lines[1]["message"] == f"{src}: table 0 (web): backends[1].ip: expected an IPv4 or IPv6 address, got \"10.0.0.300\""
    assert dst.read_bytes() == b"previous table"
    assert sorted(os.listdir(tmp_path)) == ["bad.json", "table.bin"]


def test_build_config_unreadable_and_malformed_sources(cli, tmp_path):
    r = cli("build-config", tmp_path / "missing.json", tmp_path / "t.bin")
    assert r.returncode == 1
    missing = tmp_path / "missing.json"
    assert json.loads(r.stderr)["message"] == f"{missing}: cannot open: No such file or directory"
    bad = tmp_path / "bad.json"
    bad.write_text('{"tables": [ {"name": "x",, } ] }')
    r = cli("build-config", bad, tmp_path / "t.bin")
    assert r.returncode == 1
    assert "invalid JSON at line 1, column 27" in json.loads(r.stderr)["message"]
    assert not (tmp_path / "t.bin").exists()


def test_build_config_unwritable_destination(cli, tmp_path):
    r = cli("build-config", EXAMPLE, tmp_path / "no-such-dir" / "t.bin")
    assert r.returncode == 1
    assert "cannot create a temporary file" in json.loads(r.stderr)["message"]


def test_build_config_warns_about_missing_health(cli, tmp_path):
    src = write(tmp_path / "t.json", table([{"ip": "10.0.0.1", "state": "active"}, backend("10.0.0.2")]))
    r = cli("build-config", src, tmp_path / "t.bin")
    assert r.returncode == 0
    warning = json.loads(r.stderr)
    assert warning["level"] == "warning"
    assert warning["message"].endswith("backends[0].healthy: missing: the backend is treated as unhealthy (as GLB does)")


def test_validate_reports_everything_and_exits_1(cli, tmp_path):
    doc = table([backend("10.0.0.1", state="gone"), backend("10.0.0.1")],
                binds=[{"ip": "10.0.0.0/40", "proto": "tcp", "port": 70000}])
    src = write(tmp_path / "t.json", doc)
    r = cli("validate", src)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert f"error: {src}: table 0 (web): binds[0].ip: mask /40 is too long for an IPv4 address (at most /32)" in lines
    assert f"error: {src}: table 0 (web): binds[0].port: port 70000 is out of range (expected 0-65535)" in lines
    assert f"error: {src}: table 0 (web): backends[0].state: expected one of active, draining, filling, inactive, got \"gone\"" in lines
    assert lines[-1] == f"{src}: 3 errors, 0 warnings"


def test_validate_ok_and_strict(cli, tmp_path):
    r = cli("validate", EXAMPLE)
    assert r.returncode == 0, r.stdout
    assert r.stdout.strip() == f"{EXAMPLE}: OK: 2 tables, 6 binds, 6 backends"
    src = write(tmp_path / "t.json", table([{"ip": "10.0.0.1", "state": "active"}]))
    assert cli("validate", src).returncode == 0
    r = cli("validate", "--strict", src)
    assert r.returncode == 1
    assert "1 warning (--strict)" in r.stdout


def test_tables_mixing_address_families(cli, tmp_path):
    """A table whose rows route between IPv4 and IPv6 backends is written as GLB writes it (with
    a warning), refused by validate (JSON and binary alike); one family per table is fine."""
    mixed = write(tmp_path / "mixed.json", table([backend("10.0.0.1"), backend("2001:db8::1")]))
    r = cli("build-config", mixed, tmp_path / "mixed.bin")
    assert r.returncode == 0
    warning = json.loads(r.stderr)
    assert warning["level"] == "warning"
    assert warning["message"].startswith(f"{mixed}: table 0 (web): backends mix IPv4 and IPv6: 65536 of 65536 rows (100.0%)")
    for source in (mixed, tmp_path / "mixed.bin"):
        r = cli("validate", source)
        assert r.returncode == 1
        assert "error: " in r.stdout and "backends mix IPv4 and IPv6" in r.stdout
    # Negative control: the same backends, one family each, pass.
    for ips in (["10.0.0.1", "10.0.0.2"], ["2001:db8::1", "2001:db8::2"]):
        src = write(tmp_path / "one.json", table([backend(ip) for ip in ips]))
        r = cli("validate", src)
        assert r.returncode == 0, r.stdout
        assert cli("build-config", src, tmp_path / "one.bin").stderr == ""


def test_validate_checks_binary_tables(cli, tmp_path):
    dst = tmp_path / "t.bin"
    cli("build-config", EXAMPLE, dst, check=True)
    assert cli("validate", dst).returncode == 0
    data = bytearray(dst.read_bytes())
    data[24 + 4 + 256 * 24 + 4 + 256 * 28 + 16 + 8 * 7] = 9  # row 7 primary → backend 9 of 4
    dst.write_bytes(bytes(data))
    r = cli("validate", dst)
    assert r.returncode == 1
    assert r.stdout.strip() == f"{dst}: table 0: row 7 points at backend 9, but the table has 4"
    dst.write_bytes(bytes(data[:1000]))
    assert "truncated" in cli("validate", dst).stdout


def test_dump_json_counts_rows(cli, tmp_path):
    dst = tmp_path / "t.bin"
    cli("build-config", EXAMPLE, dst, check=True)
    from_bin = json.loads(cli("dump", "--json", dst, check=True).stdout)
    from_json = json.loads(cli("dump", "--json", EXAMPLE, check=True).stdout)
    assert from_bin["tables"][0]["backends"] == from_json["tables"][0]["backends"]
    assert from_json["tables"][0]["name"] == "web" and "name" not in from_bin["tables"][0]
    web = from_bin["tables"][0]
    assert sum(b["primary_rows"] for b in web["backends"]) == 65536
    assert sum(b["secondary_rows"] for b in web["backends"]) == 65536
    draining = web["backends"][2]
    assert draining["ip"] == "10.20.0.3" and draining["state"] == "draining/inactive"
    assert draining["primary_rows"] == 0 and draining["secondary_rows"] > 0
    assert web["binds"][3] == {"ip": "198.51.100.128", "prefix_length": 25, "proto": "udp", "port_start": 5000, "port_end": 5100}


def test_dump_text(cli):
    r = cli("dump", EXAMPLE, check=True)
    out = r.stdout
    assert "table 0 (web): hash_key 6b1f0e2d3c4a59687786a5b4c3d2e1f9" in out
    assert "udp 198.51.100.128/25:5000-5100" in out
    assert "tcp [2001:db8:e::1]:443" in out
    assert any(line.split()[:4] == ["2", "10.20.0.3", "draining/inactive", "up"] and line.split()[4] == "0" for line in out.splitlines())


def test_diff_drain_remove_add(cli, tmp_path):
    ips = [f"10.0.0.{i}" for i in range(1, 6)]
    old = write(tmp_path / "old.json", table([backend(ip) for ip in ips]))
    drained = write(tmp_path / "drain.json", table([backend(ip, state="draining" if ip == "10.0.0.2" else "active") for ip in ips]))
    removed = write(tmp_path / "remove.json", table([backend(ip) for ip in ips if ip != "10.0.0.2"]))
    added = write(tmp_path / "add.json", table([backend(ip) for ip in ips + ["10.0.0.6"]]))
    old_bin = tmp_path / "old.bin"
    cli("build-config", old, old_bin, check=True)

    d = json.loads(cli("diff", "--json", old_bin, drained, check=True).stdout)["tables"][0]
    b2 = next(b for b in d["backends"] if b["ip"] == "10.0.0.2")
    assert d["broken"] == 0
    assert d["primary_changed"] == d["kept_by_second_chance"] == b2["primary_rows_before"] > 0
    assert b2["primary_rows_after"] == 0

    r = cli("diff", "--json", "--fail-on-broken", old, removed)
    assert r.returncode == 2
    d = json.loads(r.stdout)["tables"][0]
    assert d["broken"] == d["primary_changed"] == b2["primary_rows_before"]

    d = json.loads(cli("diff", "--json", "--fail-on-broken", old, added, check=True).stdout)["tables"][0]
    assert d["broken"] == 0 and d["kept_by_second_chance"] == d["primary_changed"] > 0

    text = cli("diff", old, drained, check=True).stdout
    assert "broken:                0 (0.00%) of flows" in text
    assert "10.0.0.2  active/up  draining/inactive/up" in text


def test_help_everywhere(cli):
    for args in (["--help"], ["build-config", "--help"], ["validate", "--help"], ["dump", "--help"], ["diff", "--help"], ["help", "diff"]):
        r = cli(*args)
        assert r.returncode == 0, args
        assert "USAGE" in r.stdout


def test_output_that_is_the_input_is_refused(cli, tmp_path):
    """build-config and encap never write over their input: the same file by another name
    (./x, a symbolic link) is the same file. A different destination is written as usual."""
    src = write(tmp_path / "t.json", table([backend("10.0.0.1")]))
    original = src.read_bytes()
    link = tmp_path / "link.json"
    link.symlink_to(src)
    os.chdir(tmp_path)
    for dst in ("t.json", "./t.json", str(link)):
        r = cli("build-config", "t.json", dst)
        assert r.returncode == 1 and "is the source" in r.stderr, r.stderr
        assert src.read_bytes() == original and link.is_symlink()
    assert cli("build-config", "t.json", "t.bin").returncode == 0

    capture = tmp_path / "in.pcap"
    capture.write_bytes((FIXTURES / "compat" / "director" / "example1" / "in.pcap").read_bytes())
    before = capture.read_bytes()
    r = cli("encap", "--config-file", FIXTURES / "compat" / "director" / "example1" / "director.json",
            "--forwarding-table", "t.bin", "in.pcap", "./in.pcap")
    assert r.returncode == 1 and "is the input capture" in r.stderr, r.stderr
    assert capture.read_bytes() == before


def test_validate_checks_a_director_conf_like_glb_config_check(cli, tmp_path):
    from glbtools.repo import ROOT
    shipped = ROOT / "glb-config" / "director.conf"
    r = cli("validate", shipped)
    assert r.returncode == 0 and r.stdout.strip() == f"{shipped}: OK: director configuration: 1 lcore, 1 flow path, 1 port", r.stdout
    conf = json.loads(shipped.read_text())
    conf["metrics_adress"] = conf.pop("metrics_address")  # a typo: the key would be ignored
    typo = write(tmp_path / "typo.conf", conf)
    r = cli("validate", typo)
    assert r.returncode == 0 and f"warning: {typo}: metrics_adress: unknown key, ignored" in r.stdout, r.stdout
    assert cli("validate", "--strict", typo).returncode == 1
    conf["lcores"]["lcore-1"]["flow_paths"] = [3]
    bad = write(tmp_path / "bad.conf", conf)
    r = cli("validate", bad)
    assert r.returncode == 1 and "lcores.lcore-1.flow_paths[0]" in r.stdout, r.stdout
