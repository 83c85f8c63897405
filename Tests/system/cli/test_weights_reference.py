"""The rows build-config writes agree with an independent Python compiler written from
docs/table-format.md ("How the rows are filled", "Weights"), row by row."""
import collections
import json

import pytest

from glbtools import glbref
from glbtools.glbref import ROWS, compile_rows, rank_glb, read_table_file


def table(backends, seed):
    return {
        "name": "web",
        "hash_key": "00112233445566778899aabbccddeeff",
        "seed": seed,
        "binds": [{"ip": "192.0.2.1", "proto": "tcp", "port": 80}],
        "backends": backends,
    }


def backend(ip, state="active", healthy=True, **weights):
    return {"ip": ip, "state": state, "healthy": healthy, **weights}


# name -> (source table, stride of the rows compared: 1 compares all 65,536)
CASES = {
    # equal explicit weights: GLB's ranking
    "equal": (table([backend(f"10.0.0.{i}", weight=3) for i in range(1, 6)],
                    "0123456789abcdef0123456789abcdef"), 5),
    "weighted": (table([backend(f"10.0.1.{i}", weight=w) for i, w in enumerate([1, 2, 3, 5, 8, 13], 1)],
                       "a3c6d2e1f0b49587a6b5c4d3e2f1a0b9"), 1),
    # 10.0.2.2 goes 2 -> 4, 10.0.2.4 3 -> 1, 10.0.2.6 is new (previous 0), the others keep theirs
    "transition": (table([backend("10.0.2.1", weight=2),
                          backend("10.0.2.2", weight=4, previous_weight=2),
                          backend("10.0.2.3"),
                          backend("10.0.2.4", weight=1, previous_weight=3),
                          backend("10.0.2.5", weight=2),
                          backend("10.0.2.6", weight=3, previous_weight=0)],
                         "f00dfeed00112233445566778899aabb"), 1),
    # states and health with weights: draining, unhealthy (active and filling), filling, inactive
    "states-weighted": (table([backend("10.0.3.1", weight=4),
                               backend("10.0.3.2", state="draining", weight=6),
                               backend("10.0.3.3", healthy=False, weight=3),
                               backend("10.0.3.4", state="filling", weight=2),
                               backend("10.0.3.5", state="inactive", weight=9),
                               backend("10.0.3.6", weight=1),
                               backend("10.0.3.7", state="filling", healthy=False, weight=5),
                               backend("10.0.3.8", state="draining", healthy=False, weight=2)],
                              "00000000000000000000000000000001"), 1),
    # the same states without weights: GLB's ranking and swap rule; no "healthy" means unhealthy
    "states-glb": (table([{"ip": "10.0.4.1", "state": "active"},
                          backend("10.0.4.2", state="draining"),
                          backend("10.0.4.3", healthy=False),
                          backend("10.0.4.4", state="filling"),
                          backend("10.0.4.5", state="inactive"),
                          backend("10.0.4.6")],
                         "ffeeddccbbaa99887766554433221100"), 7),
    # IPv6 backends (16-byte addresses), mixed with IPv4, in a transition with a draining one
    "ipv6-transition": (table([backend("2001:db8::1", weight=3),
                               backend("2001:db8::2", weight=1, previous_weight=2),
                               backend("10.0.5.1", weight=2),
                               backend("2001:db8:0:1::5", state="draining", weight=2),
                               backend("2001:db8::ff", weight=5, previous_weight=0)],
                              "13579bdf02468ace13579bdf02468ace"), 5),
}


def build(cli, tmp_path, source):
    """Compiles one table with build-config; returns its rows."""
    src, dst = tmp_path / "t.json", tmp_path / "t.bin"
    src.write_text(json.dumps({"tables": [source]}))
    r = cli("build-config", src, dst)
    assert r.returncode == 0, r.stderr
    (compiled,) = read_table_file(dst)
    return compiled.rows


def mismatches(source, compiled, rows, **kwargs):
    expected = compile_rows(source, rows, **kwargs)
    return [(i, compiled[i], e) for i, e in zip(rows, expected) if compiled[i] != e]


@pytest.mark.parametrize("case", sorted(CASES))
def test_rows_match_the_documented_compiler(cli, tmp_path, case):
    source, stride = CASES[case]
    compiled = build(cli, tmp_path, source)
    bad = mismatches(source, compiled, range(0, ROWS, stride))
    assert not bad, f"{len(bad)} rows differ, first (row, compiled, python): {bad[:5]}"


def test_equal_weights_rank_the_same_either_way(cli, tmp_path):
    """With equal weights the weighted ranking gives GLB's rows."""
    source, _ = CASES["equal"]
    compiled = build(cli, tmp_path, source)
    assert not mismatches(source, compiled, range(0, ROWS, 64), rank=glbref.rank_weighted)


def test_weighted_shares_follow_weights(cli, tmp_path):
    source, _ = CASES["weighted"]
    primaries = collections.Counter(p for p, _ in build(cli, tmp_path, source))
    weights = [b["weight"] for b in source["backends"]]
    for pos, w in enumerate(weights):
        assert abs(primaries[pos] / ROWS - w / sum(weights)) < 0.01, (pos, primaries)


def test_negative_control_ignoring_weights_disagrees(cli, tmp_path):
    """The comparison can fail: GLB's ranking on a weighted table misses many rows."""
    source, _ = CASES["weighted"]
    compiled = build(cli, tmp_path, source)
    rows = range(0, ROWS, 64)
    assert not mismatches(source, compiled, rows)
    assert len(mismatches(source, compiled, rows, rank=rank_glb)) > len(rows) // 4


def test_negative_control_ignoring_the_transition_disagrees(cli, tmp_path):
    """Dropping previous_weight changes the secondaries of the rows whose primary moved."""
    source, _ = CASES["transition"]
    compiled = build(cli, tmp_path, source)
    plain = {**source, "backends": [{k: v for k, v in b.items() if k != "previous_weight"}
                                    for b in source["backends"]]}
    rows = range(0, ROWS, 64)
    bad = mismatches(plain, compiled, rows)
    assert len(bad) > len(rows) // 10
    assert all(c[0] == e[0] and c[1] != e[1] for _, c, e in bad)  # primaries agree, secondaries not


def test_negative_control_ignoring_health_disagrees(cli, tmp_path):
    """Treating every backend as healthy changes rows of the states table."""
    source, _ = CASES["states-weighted"]
    compiled = build(cli, tmp_path, source)
    healthy = {**source, "backends": [{**b, "healthy": True} for b in source["backends"]]}
    assert mismatches(healthy, compiled, range(0, ROWS, 64))
