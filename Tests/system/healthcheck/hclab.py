"""Backends in network namespaces and glb-healthcheck run against them.

    checker ──┐
    b1 ───────┼── br0 (in "switch")      every host on 10.78.0.0/24
    b2 ───────┘

Backends serve HTTP with Python's http.server from a folder of their own, so a test
makes a check fail by removing a file (the server answers 404) and pass again by
putting it back, without restarting anything. The checker runs in its own namespace,
writes its destination table into the test's tmp folder, and its reload command
snapshots the destination it was run for, so a test can see exactly which tables
were reloaded, and in which order.
"""

import contextlib
import json
import pathlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import types

from glbtools.shell import wait_for
from glbtools import netns

SUBNET = "10.78.0"
CHECKER_IP = f"{SUBNET}.2"
HASH_KEY = "00112233445566778899aabbccddeeff"
SEED = "0123456789abcdef0123456789abcdef"

# One logfmt field: key=value or key="quoted \"value\"".
_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_logfmt(line):
    out = {}
    for key, value in _FIELD.findall(line):
        if value.startswith('"'):
            value = json.loads(value)
        out[key] = value
    return out


def source_table(backends, healthchecks=None, name="web"):
    """A source forwarding table: backends is a list of (ip, checks dict[, state])."""
    doc = {}
    if healthchecks is not None:
        doc["healthchecks"] = healthchecks
    doc["tables"] = [{
        "name": name,
        "hash_key": HASH_KEY,
        "seed": SEED,
        "binds": [{"ip": "192.0.2.80", "proto": "tcp", "port": 80}],
        "backends": [
            {"ip": b[0], "state": b[2] if len(b) > 2 else "active", **({"healthchecks": b[1]} if b[1] else {})}
            for b in backends
        ],
    }]
    return doc


def health_of(dst_doc):
    """{ip: healthy} of the first table of a destination document."""
    return {b["ip"]: b["healthy"] for b in dst_doc["tables"][0]["backends"]}


class Cluster:
    """The checker's namespace and named backends, each with an HTTP server."""

    def __init__(self, lab, backends, www):
        self.lab = lab
        self.switch = lab.netns("switch")
        lab.bridge(self.switch, "br0", mtu=1600)
        self.checker = lab.netns("checker")
        self.hosts = {}
        self.ips = {}
        self.www = www
        for role, ns, ip in [("checker", self.checker, CHECKER_IP),
                             *[(name, None, ip) for name, ip in backends.items()]]:
            ns = ns or lab.netns(role)
            lab.port(self.switch, "br0", ns, "eth0", f"p-{role}", mtu=1600, offloads=False)
            ns.ip("addr", "add", f"{ip}/24", "dev", "eth0")
            if role != "checker":
                self.hosts[role] = ns
                self.ips[role] = ip

    def serve_http(self, name, port=80):
        """Start an HTTP server on the backend; its folder has `health` (200) until removed."""
        folder = self.www / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "health").write_text("ok\n")
        ns, ip = self.hosts[name], self.ips[name]
        server = pathlib.Path(__file__).with_name("healthserver.py")
        self.lab.spawn(ns, [sys.executable, server, str(port), ip, folder],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: ns.run("ss", "-Hltn", f"src {ip}:{port}").stdout.strip(),
                       f"the HTTP server of {name}")
        return folder

    def fail_next(self, name, count):
        """The next `count` health requests fail (503), then the server answers as before."""
        budget = self.www / name / "fail_next"
        tmp = budget.with_suffix(".tmp")
        tmp.write_text(str(count))
        tmp.replace(budget)

    def set_healthy(self, name, healthy):
        health = self.www / name / "health"
        if healthy:
            health.write_text("ok\n")
        else:
            health.unlink()


class Checker:
    """glb-healthcheck running in a namespace; its log lines parsed as they arrive."""

    def __init__(self, lab, ns, binary, folder, source_doc, extra_args=(), reload=True, reload_prefix=""):
        self.folder = folder
        self.src = folder / "forwarding_table.src.json"
        self.dst = folder / "forwarding_table.checked.json"
        self.conf = folder / "healthcheck.conf"
        self.snapshots = folder / "reloads"
        self.snapshots.mkdir()
        self.write_source(source_doc)
        conf = {"forwarding_table": {"src": str(self.src), "dst": str(self.dst)}}
        if reload:
            # Each run copies the destination it was run for: reloads/1.json, 2.json, …
            # (after `reload_prefix`, shell commands of the test's own).
            conf["reload_command"] = (f'{reload_prefix}n=$(ls {self.snapshots} | wc -l); '
                                      f'cp {self.dst} {self.snapshots}/$((n + 1)).json')
        self.conf.write_text(json.dumps(conf, indent=2))
        self.lines = []
        self._cond = threading.Condition()
        self.proc = lab.spawn(ns, [binary, "--config", self.conf, "--verbose", *extra_args],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def write_source(self, doc):
        tmp = self.src.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2) if not isinstance(doc, str) else doc)
        os.replace(tmp, self.src)

    def _read(self):
        with contextlib.suppress(ValueError, OSError):  # the stream closes when the test ends
            for line in self.proc.stderr:
                with self._cond:
                    self.lines.append(line.rstrip("\n"))
                    self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def events(self, msg=None, **fields):
        """Parsed log lines, optionally only those with this msg and these field values."""
        with self._cond:
            parsed = [parse_logfmt(line) for line in self.lines]
        return [e for e in parsed if (msg is None or e.get("msg") == msg)
                and all(e.get(k) == v for k, v in fields.items())]

    def wait_for(self, msg, count=1, timeout=20.0, **fields):
        """The first `count` log events with this msg and fields; fail if they do not come."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self.events(msg, **fields)
                if len(found) >= count:
                    return found[:count]
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"glb-healthcheck ended ({self.proc.returncode}) before logging {msg!r} "
                                         f"{fields}:\n" + "\n".join(self.lines))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {count} × {msg!r} {fields} within {timeout:.0f} s; log:\n"
                                         + "\n".join(self.lines[-40:]))
                self._cond.wait(min(left, 0.5))

    def check_results(self, target):
        """The outcomes ("passed"/"failed") of one check, in order, from the debug log."""
        return [e["msg"].split()[1] for e in self.events()
                if e.get("msg") in ("check passed", "check failed") and e.get("check") == target]

    def destination(self):
        return json.loads(self.dst.read_text())

    def reloads(self):
        """The destination tables the reload command was run for, in order."""
        files = sorted(self.snapshots.iterdir(), key=lambda p: int(p.stem))
        return [json.loads(p.read_text()) for p in files]

    def sighup(self):
        self.proc.send_signal(signal.SIGHUP)


def run_once(ns, binary, folder, source_doc, timeout=30):
    """`glb-healthcheck --once --json` in `ns`: (returncode, parsed status or None, stderr)."""
    src = folder / "once.src.json"
    src.write_text(json.dumps(source_doc, indent=2))
    conf = folder / "once.conf"
    conf.write_text(json.dumps({"forwarding_table": {"src": str(src), "dst": str(folder / "once.dst.json")}}))
    res = ns.run(binary, "--config", conf, "--once", "--json", check=False, timeout=timeout)
    status = json.loads(res.stdout) if res.stdout.strip() else None
    assert not (folder / "once.dst.json").exists(), "--once must not write the destination"
    return res.returncode, status, res.stderr


def backend_status(status, ip):
    for table in status["tables"]:
        for b in table["backends"]:
            if b["ip"] == ip:
                return b
    raise KeyError(ip)


@contextlib.contextmanager
def cluster(tmp_path, backends):
    netns.reap_stale()
    with netns.Lab() as lab:
        yield types.SimpleNamespace(lab=lab, cluster=Cluster(lab, backends, tmp_path / "www"))
