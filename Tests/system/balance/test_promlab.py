"""The Prometheus fixture for glb-balance's tests: a value the test sets in the exporter
comes back from a real Prometheus's HTTP API, changes and removals follow within a
scrape or two, and a stopped (or killed) Prometheus no longer answers."""

import urllib.error

import pytest

import promlab


@pytest.fixture
def exporter():
    e = promlab.Exporter().start()
    yield e
    e.stop()


@pytest.fixture
def prometheus(exporter, tmp_path):
    exporter.set_all({"10.0.0.1": 0.25, "10.0.0.2": 0.75})
    p = promlab.Prometheus(exporter.address, workdir=tmp_path / "prometheus")
    try:
        p.start()
        yield p
    finally:
        p.cleanup()


def test_exporter_serves_the_values_set(exporter):
    exporter.set("10.0.0.9", 0.5)
    exporter.set('we"ird', 1)
    with promlab._opener.open(exporter.url, timeout=5) as resp:
        text = resp.read().decode()
    assert "# TYPE glb_test_backend_utilization gauge" in text
    assert 'glb_test_backend_utilization{backend="10.0.0.9"} 0.5' in text
    assert 'glb_test_backend_utilization{backend="we\\"ird"} 1.0' in text


def test_value_set_in_exporter_comes_back_from_prometheus(exporter, prometheus):
    # Ready means a scrape landed: the values set before the start are there at once.
    assert exporter.scrapes >= 1
    assert prometheus.values(promlab.METRIC) == {"10.0.0.1": 0.25, "10.0.0.2": 0.75}
    query = prometheus.query(f'{promlab.METRIC}{{backend="10.0.0.1"}}')
    assert len(query) == 1 and query[0]["metric"]["job"] == promlab.JOB

    exporter.set("10.0.0.1", 0.9)
    exporter.set("10.0.0.3", 0.0)
    prometheus.wait_exporter(exporter, timeout=10)

    # A backend the exporter no longer reports drops out at the next scrape (staleness).
    exporter.remove("10.0.0.2")
    assert prometheus.wait_exporter(exporter, timeout=10) == {"10.0.0.1": 0.9, "10.0.0.3": 0.0}


def test_stopped_prometheus_is_unreachable(prometheus):
    assert prometheus.reachable()
    prometheus.stop()
    assert not prometheus.running()
    assert not prometheus.reachable()
    with pytest.raises(urllib.error.URLError):
        prometheus.values(promlab.METRIC)


def test_killed_prometheus_is_unreachable_and_cleanup_removes_its_folder(exporter):
    p = promlab.Prometheus(exporter.address)
    try:
        p.start()
        assert p.reachable()
        p.kill()
        assert p.proc.returncode == -9
        assert not p.reachable()
    finally:
        p.cleanup()
    assert not p.dir.exists()
