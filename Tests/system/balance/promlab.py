"""A real Prometheus scraping a gauge the test controls, for glb-balance's tests.

    Exporter (http.server thread, 127.0.0.1:port)  <── scraped every second ──  Prometheus
      glb_test_backend_utilization{backend="IP"} v                              127.0.0.1:free port

The test sets each backend's value at any time (`Exporter.set`); Prometheus has it after
its next scrape (within about a second; `Prometheus.wait_value` waits for it). A backend
removed from the exporter drops out of Prometheus's instant queries at the next scrape
(staleness), as a backend whose exporter lost it would.

Needs Debian's prometheus package (`prometheus` on PATH, or the binary given).
"""

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from glbtools.shell import wait_for

METRIC = "glb_test_backend_utilization"
JOB = "exporter"

# Loopback only: never through a proxy that the environment may name.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port(host="127.0.0.1"):
    """A TCP port nothing listens on now (another process may still take it before use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _format_value(v):
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


class Exporter:
    """Serves `metric{label="<backend>"} value` for every backend set, on 127.0.0.1:`port`
    (0: a free port, see `.port`). Thread-safe; counts the scrapes it answered."""

    def __init__(self, port=0, host="127.0.0.1", metric=METRIC, label="backend"):
        self.metric = metric
        self.label = label
        self._values = {}
        self._lock = threading.Lock()
        self.scrapes = 0
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                with exporter._lock:
                    exporter.scrapes += 1

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.host = host
        self.port = self.server.server_address[1]
        self._thread = None

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    @property
    def url(self):
        return f"http://{self.address}/metrics"

    def start(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                            name=f"exporter-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self):
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def set(self, backend, value):
        with self._lock:
            self._values[backend] = float(value)

    def set_all(self, values):
        """Replaces every value at once ({backend: value}); backends left out disappear."""
        with self._lock:
            self._values = {b: float(v) for b, v in values.items()}

    def remove(self, backend):
        with self._lock:
            self._values.pop(backend, None)

    def values(self):
        with self._lock:
            return dict(self._values)

    def render(self):
        with self._lock:
            items = sorted(self._values.items())
        lines = [f"# HELP {self.metric} Busy fraction of each backend's capacity (set by the test).",
                 f"# TYPE {self.metric} gauge"]
        for backend, value in items:
            escaped = backend.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            lines.append(f'{self.metric}{{{self.label}="{escaped}"}} {_format_value(value)}')
        return "\n".join(lines) + "\n"


class PrometheusError(RuntimeError):
    pass


class Prometheus:
    """A prometheus process on 127.0.0.1 (a free port unless `port` is given) scraping
    `targets` ("host:port" of exporters) every `scrape_interval`, with its own storage
    in `workdir` (a temporary folder, removed by `cleanup`, when none is given)."""

    def __init__(self, targets, workdir=None, port=None, scrape_interval="1s", binary=None, job=JOB):
        self.targets = [targets] if isinstance(targets, str) else list(targets)
        self.binary = binary or shutil.which("prometheus") or "/usr/bin/prometheus"
        self.job = job
        self.scrape_interval = scrape_interval
        self._own_dir = workdir is None
        self.dir = pathlib.Path(workdir) if workdir else pathlib.Path(tempfile.mkdtemp(prefix="promlab-"))
        self.requested_port = port
        self.port = None
        self.proc = None
        self.log_path = self.dir / "prometheus.log"
        self.config_path = self.dir / "prometheus.yml"
        self.tsdb = self.dir / "tsdb"

    # MARK: the process

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    @property
    def url(self):
        return f"http://{self.address}"

    def write_config(self):
        targets = ", ".join(json.dumps(t) for t in self.targets)
        self.config_path.write_text(f"""global:
  scrape_interval: {self.scrape_interval}
  scrape_timeout: {self.scrape_interval}
  evaluation_interval: {self.scrape_interval}
scrape_configs:
  - job_name: {json.dumps(self.job)}
    static_configs:
      - targets: [{targets}]
""")

    def start(self, timeout=60):
        """Starts prometheus; returns once every target's first scrape has landed
        (up == 1 for each). A port taken between choosing and binding is retried."""
        if not os.path.exists(self.binary):
            raise PrometheusError(f"{self.binary} not found: install Debian's prometheus package (scripts/setup)")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.write_config()
        for attempt in range(5):
            self.port = self.requested_port or free_port()
            if self.tsdb.exists():
                shutil.rmtree(self.tsdb)
            self.tsdb.mkdir()
            mark = self.log_path.stat().st_size if self.log_path.exists() else 0
            log = open(self.log_path, "ab")
            try:
                self.proc = subprocess.Popen([
                    self.binary, "--config.file", str(self.config_path), "--storage.tsdb.path", str(self.tsdb),
                    "--storage.tsdb.retention.time", "1h", "--web.listen-address", self.address],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            finally:
                log.close()
            try:
                wait_for(self._first_scrape_landed,
                         f"prometheus on {self.address} to scrape {', '.join(self.targets)}", timeout=timeout, interval=0.1)
                return self
            except PrometheusError:
                text = self.log_path.read_bytes()[mark:].decode(errors="replace")
                self.proc = None
                if "address already in use" in text and self.requested_port is None and attempt < 4:
                    continue
                raise PrometheusError(f"prometheus exited:\n{text[-4000:]}")
            except BaseException:
                self.kill()
                raise
        raise PrometheusError("prometheus found no free port")

    def _first_scrape_landed(self):
        if self.proc.poll() is not None:
            raise PrometheusError(f"prometheus exited ({self.proc.returncode})")
        try:
            up = self.values(f'up{{job="{self.job}"}}', label="instance")
        except (OSError, PrometheusError):
            return False
        return len(up) == len(self.targets) and all(v == 1 for v in up.values())

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15):
        """SIGTERM, and SIGKILL if it has not exited within `timeout` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def kill(self):
        """SIGKILL: gone at once, as a crashed server."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def cleanup(self):
        """Stops it, and removes the folder it was given none."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # MARK: the HTTP API

    def get(self, path, params=None, timeout=5):
        """GET on the server; the parsed JSON answer. Raises OSError (URLError) when
        nothing answers, PrometheusError when the API reports an error."""
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with _opener.open(url, timeout=timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            raise PrometheusError(f"GET {path}: HTTP {e.code}: {e.read().decode(errors='replace')}") from None

    def reachable(self):
        try:
            with _opener.open(self.url + "/-/ready", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def query(self, promql):
        """The instant query's result: [{"metric": {...}, "value": [t, "v"]}, ...]."""
        doc = self.get("/api/v1/query", {"query": promql})
        if doc.get("status") != "success":
            raise PrometheusError(f"query {promql!r} failed: {doc}")
        if doc["data"]["resultType"] != "vector":
            raise PrometheusError(f"query {promql!r} gives a {doc['data']['resultType']}, not a vector")
        return doc["data"]["result"]

    def values(self, promql, label="backend"):
        """Instant query as {value of `label`: float}."""
        return {s["metric"].get(label, ""): float(s["value"][1]) for s in self.query(promql)}

    def wait_values(self, promql, expected, label="backend", timeout=10):
        """Until the query gives exactly `expected` ({label value: float}); returns it."""
        def match():
            got = self.values(promql, label)
            return got if got.keys() == expected.keys() and all(abs(got[k] - expected[k]) < 1e-9 for k in got) else None
        return wait_for(match, f"{promql} == {expected}", timeout=timeout, interval=0.1)

    def wait_exporter(self, exporter, timeout=10):
        """Until Prometheus has what `exporter` serves now (its metric, by its label)."""
        return self.wait_values(exporter.metric, exporter.values(), label=exporter.label, timeout=timeout)
