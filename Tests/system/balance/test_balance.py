"""glb-balance against a real Prometheus scraping a test exporter: it reads each backend's
utilization, writes a transition table (weights, previous_weight on the backends that
changed) that compiles, moves weight away from the loaded backend, and freezes (writes
nothing, says why) when Prometheus goes away or a backend's series is missing."""
import json
import subprocess
import threading

import pytest

import promlab
from glbtools.shell import wait_for

TABLE = {"tables": [{
    "name": "web", "hash_key": "00112233445566778899aabbccddeeff", "seed": "ffeeddccbbaa99887766554433221100",
    "binds": [{"ip": "192.0.2.1", "proto": "tcp", "port": 80}],
    "backends": [{"ip": f"10.0.0.{i}", "state": "active", "healthy": True} for i in (1, 2, 3)],
}]}
QUERY = promlab.METRIC


@pytest.fixture
def lab(tmp_path):
    exporter = promlab.Exporter().start()
    exporter.set_all({"10.0.0.1": 0.3, "10.0.0.2": 0.3, "10.0.0.3": 0.9})
    prometheus = promlab.Prometheus(exporter.address, workdir=tmp_path / "prometheus")
    try:
        prometheus.start()
        prometheus.wait_exporter(exporter)
        yield exporter, prometheus
    finally:
        prometheus.cleanup()
        exporter.stop()


def configure(tmp_path, prometheus_url, **extra):
    source = tmp_path / "forwarding_table.json"
    source.write_text(json.dumps(TABLE))
    config = {"source": str(source), "output": str(tmp_path / "balanced.json"), "prometheus": prometheus_url,
              "interval_s": 1, "min_change_interval_s": 0,
              "tables": [{"table": "web", "query": QUERY, "address_label": "backend"}]}
    config.update(extra)
    path = tmp_path / "balance.json"
    path.write_text(json.dumps(config))
    return path, tmp_path / "balanced.json"


def balance(bin_dir, config, *args):
    return subprocess.run([str(bin_dir / "glb-balance"), "--config", str(config), "--once", *args],
                          capture_output=True, text=True, timeout=60)


def messages(result):
    return [json.loads(line)["message"] for line in (result.stdout + result.stderr).splitlines() if line.startswith("{")]


def test_warnings_of_valid_files_are_logged(bin_dir, tmp_path):
    """A typo in glb-balance's file and in the source table, both otherwise valid, is logged
    (before the step, which freezes here: nothing answers at the Prometheus address)."""
    for name, typo, logged in [("clean", False, False), ("typo", True, True)]:
        folder = tmp_path / name
        folder.mkdir()
        config, _ = configure(folder, "http://127.0.0.1:9", **({"intreval_s": 5} if typo else {}))
        if typo:
            source = folder / "forwarding_table.json"
            table = json.loads(source.read_text())
            table["tables"][0]["bakends"] = []
            source.write_text(json.dumps(table))
        text = "\n".join(messages(balance(bin_dir, config)))
        assert ("intreval_s: unknown key, ignored" in text) == logged, text
        assert ("source table: " in text and "bakends: unknown key, ignored" in text) == logged, text


def test_reads_prometheus_and_writes_a_transition_table(lab, bin_dir, cli, tmp_path):
    exporter, prometheus = lab
    config, output = configure(tmp_path, prometheus.url)
    r = balance(bin_dir, config)
    assert r.returncode == 0, r.stdout + r.stderr
    text = "\n".join(messages(r))
    assert "web: weights changed: 10.0.0.1 100->125, 10.0.0.2 100->125, 10.0.0.3 100->75: utilization spread 0.60" in text, text
    backends = json.loads(output.read_text())["tables"][0]["backends"]
    weights = {b["ip"]: b["weight"] for b in backends}
    assert weights["10.0.0.3"] < 100 and weights["10.0.0.1"] > 100 and weights["10.0.0.2"] > 100, weights
    # previous_weight only where the weight changed: all three here.
    assert {b["ip"]: b.get("previous_weight") for b in backends} == {f"10.0.0.{i}": 100 for i in (1, 2, 3)}
    # A valid transition table: it compiles, and the diff shows no broken flow.
    assert cli("validate", output).returncode == 0
    diff = json.loads(cli("diff", "--json", tmp_path / "forwarding_table.json", output).stdout)["tables"][0]
    assert diff["primary_changed"] > 0 and diff["broken"] == 0, diff


def test_within_the_dead_band_nothing_is_written_but_the_first_output(lab, bin_dir, tmp_path):
    exporter, prometheus = lab
    exporter.set_all({"10.0.0.1": 0.5, "10.0.0.2": 0.52, "10.0.0.3": 0.48})
    prometheus.wait_values(QUERY, {"10.0.0.1": 0.5, "10.0.0.2": 0.52, "10.0.0.3": 0.48})
    config, output = configure(tmp_path, prometheus.url)
    r = balance(bin_dir, config)
    assert "web: holding: every utilization within the dead band" in "\n".join(messages(r)), r.stdout + r.stderr
    backends = json.loads(output.read_text())["tables"][0]["backends"]
    assert all(b["weight"] == 100 and "previous_weight" not in b for b in backends)


def test_freezes_when_prometheus_goes_away(lab, bin_dir, tmp_path):
    exporter, prometheus = lab
    config, output = configure(tmp_path, prometheus.url)
    assert balance(bin_dir, config).returncode == 0
    written = output.read_bytes()
    prometheus.stop()
    r = balance(bin_dir, config)
    assert r.returncode == 0
    text = "\n".join(messages(r))
    assert "web: frozen: no load metrics: Prometheus at" in text, text
    assert output.read_bytes() == written, "a frozen loop wrote its output"


def test_freezes_on_a_missing_backend(lab, bin_dir, tmp_path):
    exporter, prometheus = lab
    exporter.remove("10.0.0.2")
    prometheus.wait_values(QUERY, {"10.0.0.1": 0.3, "10.0.0.3": 0.9})
    config, output = configure(tmp_path, prometheus.url)
    r = balance(bin_dir, config)
    assert "web: frozen: no load for 10.0.0.2 (missing or stale in the query's result)" in "\n".join(messages(r)), r.stdout + r.stderr


def test_dry_run_writes_nothing(lab, bin_dir, tmp_path):
    exporter, prometheus = lab
    config, output = configure(tmp_path, prometheus.url)
    r = balance(bin_dir, config, "--dry-run")
    assert "dry run: would write" in "\n".join(messages(r)), r.stdout + r.stderr
    assert not output.exists()


def test_a_second_loop_on_the_same_output_is_refused(lab, bin_dir, tmp_path):
    exporter, prometheus = lab
    config, output = configure(tmp_path, prometheus.url, interval_s=60)
    first = subprocess.Popen([str(bin_dir / "glb-balance"), "--config", str(config)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: output.exists(), "the first loop's output", timeout=30)
        r = balance(bin_dir, config)
        assert r.returncode == 1 and any("another glb-balance writes" in m for m in messages(r)), r.stdout + r.stderr
    finally:
        first.terminate()
        first.wait(timeout=30)


def test_an_output_changed_by_another_writer_is_left_alone(lab, bin_dir, tmp_path):
    exporter, prometheus = lab
    config, output = configure(tmp_path, prometheus.url, interval_s=1)
    loop = subprocess.Popen([str(bin_dir / "glb-balance"), "--config", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(loop.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: output.exists(), "the loop's output", timeout=30)
        # Another writer (a second loop elsewhere, a hand edit) replaces the file.
        foreign = output.read_text().replace('"name"', '"comment": "edited", "name"', 1)
        output.write_text(foreign)
        wait_for(lambda: any("was changed by another writer" in line for line in lines),
                 "the loop to notice the other writer", timeout=30)
        # It keeps stepping, frozen, and never writes over it.
        wait_for(lambda: sum("frozen:" in line for line in lines) >= 2, "two frozen steps", timeout=30)
        assert output.read_text() == foreign
    finally:
        loop.terminate()
        loop.wait(timeout=30)


def test_a_transition_completes_after_the_minimum_interval(lab, bin_dir, tmp_path):
    """previous_weight stays for min_change_interval_s, then goes (each moved row gets its
    normal secondary back) while the weights stay."""
    exporter, prometheus = lab
    config, output = configure(tmp_path, prometheus.url, interval_s=1, min_change_interval_s=3)
    loop = subprocess.Popen([str(bin_dir / "glb-balance"), "--config", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    threading.Thread(target=lambda: lines.extend(loop.stdout), daemon=True).start()

    def backends():
        return json.loads(output.read_text())["tables"][0]["backends"] if output.exists() else []
    try:
        wait_for(lambda: any("previous_weight" in b for b in backends()), "a transition table", timeout=30)
        weights = {b["ip"]: b["weight"] for b in backends()}
        # Balanced from now on: no further change, so only the completion rewrites the file.
        exporter.set_all({"10.0.0.1": 0.5, "10.0.0.2": 0.5, "10.0.0.3": 0.5})
        wait_for(lambda: backends() and not any("previous_weight" in b for b in backends()),
                 "previous_weight to be removed", timeout=30)
        assert {b["ip"]: b["weight"] for b in backends()} == weights
        # The line is logged just after the file is written.
        wait_for(lambda: any("a transition is complete (previous_weight removed)" in line for line in lines),
                 "the completion to be logged", timeout=30)
    finally:
        loop.terminate()
        loop.wait(timeout=30)
