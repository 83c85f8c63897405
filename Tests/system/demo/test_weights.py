"""Weights in the demo cluster under load: lowering a backend's weight as a transition table
(previous_weight) breaks no connection, because each moved row keeps its previous primary
as secondary and glb-redirect sends those flows on to it; lowering a weight without
previous_weight breaks connections (negative control).

The clients' flows hash on their source address, so each change is made where some of the
clients' 64 addresses move, and downloads from exactly those addresses are in flight when
the table changes."""
import json
import os
import subprocess
import time

import pytest

from glbtools import glbref
from glbtools.repo import ROOT

from glbdemo.cluster import SOURCES, VIP, Cluster
from glbtools.shell import spawn
from glbdemo.traffic import parse_sources

MEMBERS = {"b1": "active", "b2": "active", "b3": "active"}


@pytest.fixture
def cluster(hugepages, bin_dir, tmp_path):
    c = Cluster(bin_dir, tmp_path / "weights", prefix=f"glbt{os.getpid()}-w", directors=1, backends=tuple(MEMBERS),
                large_size=256 << 10, interval_ms=200, trigger=2, log=lambda *_: None)
    try:
        c.up(members=tuple(MEMBERS))
        yield c
    finally:
        c.down(quiet=True)


def compiled(c, weights, name):
    """The table the cluster would run with `weights` (every backend healthy)."""
    doc = c.table_doc(MEMBERS, weights=weights)
    for backend in doc["tables"][0]["backends"]:
        backend["healthy"] = True
    path, out = c.work / f"{name}.json", c.work / f"{name}.bin"
    path.write_text(json.dumps(doc))
    subprocess.run([c.bin / "glb-director-cli", "build-config", path, out], check=True, capture_output=True)
    return glbref.read_table(out.read_bytes())[0]


def moved_sources(c, before, after, stranded):
    """Client addresses whose primary changes from `before` to `after`; with `stranded`, only
    those whose old primary is in neither slot afterwards (second chance cannot help)."""
    old, new = compiled(c, before, "before"), compiled(c, after, "after")
    out = []
    for src in parse_sources(SOURCES):
        h = glbref.packet_hash(old.hash_key, {"src_addr": True}, src, "", 0, 0)
        was, now = glbref.route(old, h)[0], glbref.route(new, h)
        if (was not in now) if stranded else (was != now[0]):
            out.append(src)
    return out


def downloads_across(c, sources, before, after, describe, name):
    """Publishes `before`, starts slow downloads from `sources`, publishes `after` while they
    run; returns the connections that were running at the change."""
    c.change_table(MEMBERS, f"{describe}: before", weights=before)
    events = c.work / f"{name}.jsonl"
    traffic = spawn(c.ns["client"], [
        "env", f"PYTHONPATH={ROOT / 'demo'}", "python3", "-m", "glbdemo.traffic", "--vip", VIP,
        "--sources", ",".join(sources), "--events", events, "--short-rate", 0, "--long-concurrency", 3 * len(sources),
        "--long-rate", 20_000, "--large-sha256", c.large_sha256, "--stall-timeout", 5], c.logs / f"{name}.traffic.log")
    time.sleep(3)
    changed_at = time.time()
    c.change_table(MEMBERS, describe, weights=after)
    time.sleep(8)
    traffic.terminate()
    traffic.wait(timeout=120)
    with open(events) as f:
        recorded = [json.loads(line) for line in f if line.strip()]
    return [e for e in recorded if e["start"] < changed_at < e["end"]]


def test_transition_tables_keep_connections_and_plain_weight_changes_do_not(cluster):
    c = cluster
    equal = {"b1": 4, "b2": 4, "b3": 4}
    lowered = {"b1": 4, "b2": (1, 4), "b3": 4}
    sources = moved_sources(c, equal, lowered, stranded=False)
    assert sources, "no client address moves: the test would show nothing"
    running = downloads_across(c, sources, equal, lowered, "b2 weight 4 -> 1 as a transition table", "transition")
    assert len(running) >= len(sources), f"only {len(running)} downloads ran across the change"
    broken = [e for e in running if e["status"] != "ok"]
    assert broken == [], f"the transition table broke {len(broken)} of {len(running)} connections: {broken[:3]}"

    # Negative control: the same kind of change without previous_weight, where it strands
    # some addresses.
    settled = {"b1": 4, "b2": 1, "b3": 4}
    for name in ("b3", "b1"):
        plain = dict(settled, **{name: 1})
        stranded = moved_sources(c, settled, plain, stranded=True)
        if stranded:
            break
    assert stranded, "no plain weight change strands a client address"
    running = downloads_across(c, stranded, settled, plain, f"{name} weight 4 -> 1 without previous_weight", "plain")
    assert len(running) >= len(stranded), f"only {len(running)} downloads from stranded addresses ran across the change"
    broken = [e for e in running if e["status"] != "ok"]
    assert broken, f"lowering {name}'s weight without previous_weight broke none of {len(running)} connections"
