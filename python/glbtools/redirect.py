"""The glb-redirect binary as the tests and benchmarks run it, and what it left in the kernel as seen
by other tools (tc, bpftool), so that tests never check the loader only against itself."""

import ctypes
import json
import os
import re
import socket
import struct
import subprocess
from pathlib import Path

from . import counters
from .netns import entered
from .repo import ROOT

BPF_DIR = ROOT / "Sources" / "glb-redirect" / "bpf"

TC_HANDLE = 0x474C42
TC_PRIORITY = 0x4742


# glb-redirect's two maps, as its own header declares them, for test programs that the loader
# must accept (it looks for both).
GLB_REDIRECT_MAPS = '#include "glb_redirect_maps.h"\n'


def compile_bpf(workdir, name, body, btf=True):
    """A tc program from `body` (the usual headers and licence around it), compiled with
    clang into workdir/name.o; `btf=False` leaves out the type information (no -g)."""
    src = Path(workdir) / f"{name}.bpf.c"
    src.write_text("#include <linux/bpf.h>\n#include <linux/pkt_cls.h>\n#include <bpf/bpf_helpers.h>\n"
                   + body + '\nchar LICENSE[] SEC("license") = "GPL";\n')
    out = src.with_suffix(".o")
    subprocess.run(["clang", "-O2", *(["-g"] if btf else []), "-target", "bpf",
                    "-I/usr/include/x86_64-linux-gnu", f"-I{BPF_DIR}", "-c", str(src), "-o", str(out)],
                   check=True)
    return out


def snmp(ns, group):
    """One group of the namespace's /proc/net/snmp ("Udp", "Tcp", ...) as {name: value}."""
    lines = [line.split() for line in ns.run("cat", "/proc/net/snmp").stdout.splitlines()
             if line.startswith(group + ":")]
    return dict(zip(lines[0][1:], map(int, lines[1][1:])))


class Loader:
    """Runs glb-redirect in a namespace: under `ip netns exec` (a private /sys, no bpffs)
    or, with via="nsenter", in a process that only switched its network namespace."""

    def __init__(self, path):
        self.path = Path(path)

    def run(self, ns, *args, via="exec", wrap=(), check=False):
        if via == "exec":
            argv = ns.cmd(*wrap, self.path, *args)
        elif via == "nsenter":
            argv = ["nsenter", f"--net={ns.path()}", *wrap, str(self.path), *map(str, args)]
        else:
            raise ValueError(via)
        res = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if check and res.returncode != 0:
            raise AssertionError(f"glb-redirect {' '.join(map(str, args))} failed "
                                 f"({res.returncode}):\n{res.stdout}{res.stderr}")
        return res

    def attach(self, ns, iface, *extra, **kw):
        return self.run(ns, "attach", "--iface", iface, *extra, check=True, **kw)

    def status(self, ns, iface, **kw):
        """status --json as a dict, and the exit code."""
        res = self.run(ns, "status", "--iface", iface, "--json", **kw)
        assert res.returncode in (0, 3), res.stderr
        return json.loads(res.stdout), res.returncode

    def stats(self, ns, iface, **kw):
        res = self.run(ns, "stats", "--iface", iface, "--json", check=True, **kw)
        return json.loads(res.stdout)


# --------------------------------------------------------------------------
# Prometheus text exposition (stats --format prometheus)
# --------------------------------------------------------------------------

def check_exposition(text):
    """Fails unless promtool, Prometheus' own parser and linter, accepts the text."""
    res = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert res.returncode == 0, f"promtool check metrics:\n{res.stdout}{res.stderr}\n{text}"


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def parse_exposition(text):
    """{(metric, frozenset of (label, value)): value} with label values unescaped, and
    {metric: type} from the TYPE lines."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = _SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset((k, re.sub(r'\\[\\"n]', lambda e: _UNESCAPE[e.group(0)], v))
                           for k, v in _LABEL.findall(m.group(2) or ""))
        value = m.group(3)
        samples[(m.group(1), labels)] = int(value) if value.isdigit() else float(value)
    return samples, types


# --------------------------------------------------------------------------
# The kernel's view
# --------------------------------------------------------------------------

def tc_ingress_filters(ns, iface):
    """Filter entries on iface's clsact ingress that carry options (one per filter)."""
    res = ns.run("tc", "-j", "filter", "show", "dev", iface, "ingress", check=False)
    if res.returncode != 0 or not res.stdout.strip():
        return []
    return [f for f in json.loads(res.stdout) if "options" in f]


def slot_programs(ns, iface):
    """(handle, priority, prog id, prog name) of every bpf filter on iface ingress."""
    out = []
    for f in tc_ingress_filters(ns, iface):
        prog = f["options"].get("prog", {})
        out.append((int(f["options"]["handle"], 16), f["pref"], prog.get("id"), prog.get("name")))
    return out


BPF_PROG_QUERY = 16
BPF_TCX_INGRESS = 46
SYS_BPF = 321  # x86_64


def tcx_programs(ns, iface):
    """(prog id, prog name) of every program on iface's tcx ingress hook, in the order they
    run, asked of the kernel with BPF_PROG_QUERY (Debian 12's bpftool predates tcx)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    ids = (ctypes.c_uint32 * 64)()
    attr = ctypes.create_string_buffer(128)
    with entered(ns):
        ifindex = socket.if_nametoindex(iface)
        # union bpf_attr's query: target_ifindex, attach_type, query_flags, attach_flags,
        # prog_ids, prog_cnt.
        struct.pack_into("<IIIIQI", attr, 0, ifindex, BPF_TCX_INGRESS, 0, 0, ctypes.addressof(ids), len(ids))
        rc = libc.syscall(ctypes.c_long(SYS_BPF), ctypes.c_int(BPF_PROG_QUERY), attr, ctypes.c_uint(len(attr)))
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"BPF_PROG_QUERY tcx ingress of {iface}: {os.strerror(err)}")
    count = struct.unpack_from("<I", attr, 24)[0]
    return [(ids[i], bpftool("prog", "show", "id", ids[i])["name"]) for i in range(count)]


def has_clsact(ns, iface):
    res = ns.run("tc", "-j", "qdisc", "show", "dev", iface)
    return any(q["kind"] == "clsact" for q in json.loads(res.stdout))


def bpftool(*args, check=True):
    res = subprocess.run(["bpftool", "-j", *map(str, args)], capture_output=True, text=True)
    if check and res.returncode != 0:
        raise AssertionError(f"bpftool {' '.join(map(str, args))}: {res.stderr}")
    return json.loads(res.stdout) if res.returncode == 0 else None


def prog_exists(prog_id):
    return subprocess.run(["bpftool", "prog", "show", "id", str(prog_id)],
                          capture_output=True).returncode == 0


def prog_maps(prog_id):
    """{map name: map id} of a loaded program."""
    info = bpftool("prog", "show", "id", prog_id)
    return {bpftool("map", "show", "id", m)["name"]: m for m in info.get("map_ids", [])}


def config_bytes(prog_id):
    """Entry 0 of the program's glb_config, raw."""
    entry = bpftool("map", "lookup", "id", prog_maps(prog_id)["glb_config"], "key", 0, 0, 0, 0)
    return bytes(int(b, 16) for b in entry["value"])


def counters_from_bpftool(prog_id):
    """The program's counters summed over CPUs, by name, read with bpftool."""
    map_id = prog_maps(prog_id)["glb_counters"]
    out = {}
    for i, name in enumerate(counters.names()):
        entry = bpftool("map", "lookup", "id", map_id, "key", *struct.pack("<I", i))
        out[name] = sum(int.from_bytes(bytes(int(b, 16) for b in v["value"]), "little")
                        for v in entry["values"])
    return out
