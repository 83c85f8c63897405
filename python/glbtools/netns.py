"""Labs of network namespaces, veth pairs and bridges for the system tests and benchmarks.

Everything is built inside namespaces created here, so a test touches nothing
of the host's own network: deleting a namespace deletes its interfaces (and
their veth peers), qdiscs, tc filters and eBPF attachments with it. Cleanup
always runs, whatever the test did, and ends every process started through
these helpers before the namespaces go.

Namespace names carry the creating process id ("glbt<pid>-<run>-<role>"),
so a crashed run never blocks the next one, and `reap_stale()` removes the
namespaces of runs whose process is gone. Interface names need no such care:
each lives in a namespace of its own run.

    from glbtools.netns import Lab

    with Lab() as lab:
        a, b = lab.netns("a"), lab.netns("b")
        lab.veth(a, "eth0", b, "eth0", mtu=1600)
        a.ip("addr", "add", "10.0.0.1/24", "dev", "eth0")
        server = lab.spawn(b, ["python3", "-m", "http.server"])
"""

import contextlib
import ctypes
import os
import re
import secrets
import signal
import subprocess

from .shell import Netns, run

PREFIX = "glbt"
CLONE_NEWNET = 0x40000000
_NAME = re.compile(rf"^{PREFIX}(\d+)-")


@contextlib.contextmanager
def entered(ns):
    """Run the block with the calling thread in `ns`: sockets created there stay in
    `ns` for good. The thread returns to its own namespace afterwards."""
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(ns.path(), os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {ns.name}: {os.strerror(err)}")
        try:
            yield
        finally:
            if libc.setns(own, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns back from {ns.name}: {os.strerror(err)}")
    finally:
        os.close(target)
        os.close(own)


def _unique_prefix():
    return f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}"


def _create(name):
    ns = Netns(name)
    ns.create()  # lo up, IPv6 off: no router solicitations or DAD behind a test's back
    return ns


def _destroy(ns):
    """Ends what still runs in the namespace (started by this run: the namespace is
    ours), then deletes it."""
    for pid in ns.pids():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    run(["ip", "netns", "del", ns.name], check=False)


@contextlib.contextmanager
def veth(a, a_if, b, b_if, mtu=None, offloads=True):
    """A veth pair a:a_if <-> b:b_if, both up; deleted on exit. The kernel creates each end
    directly in its namespace, so the names only have to be free there."""
    run(["ip", "link", "add", "name", a_if, "netns", a.name, "type", "veth",
         "peer", "name", b_if, "netns", b.name])
    try:
        for ns, ifname in ((a, a_if), (b, b_if)):
            if mtu:
                ns.ip("link", "set", ifname, "mtu", str(mtu))
            if not offloads:
                ns.offloads_off(ifname)
            ns.ip("link", "set", ifname, "up")
        yield
    finally:
        # Deleting one end deletes the pair; the namespace may be gone already.
        a.ip("link", "del", a_if, check=False)


@contextlib.contextmanager
def bridge(ns, name="br0", mtu=None):
    """A bridge in `ns`, up, that forwards at once (no STP, no learning delay)."""
    ns.ip("link", "add", name, "type", "bridge", "stp_state", "0", "forward_delay", "0")
    try:
        if mtu:
            ns.ip("link", "set", name, "mtu", str(mtu))
        ns.ip("link", "set", name, "up")
        yield
    finally:
        ns.ip("link", "del", name, check=False)


class Lab(contextlib.ExitStack):
    """Namespaces, links and processes of one test, torn down together in reverse
    order of creation when the `with` block ends, also on failure."""

    def __init__(self):
        super().__init__()
        self.prefix = _unique_prefix()
        self._veths = 0

    def netns(self, role):
        ns = _create(f"{self.prefix}-{role}")
        self.callback(_destroy, ns)
        return ns

    def veth(self, a, a_if, b, b_if, mtu=None, offloads=True):
        self.enter_context(veth(a, a_if, b, b_if, mtu=mtu, offloads=offloads))

    def bridge(self, ns, name="br0", mtu=None):
        self.enter_context(bridge(ns, name, mtu=mtu))

    def port(self, switch, bridge_name, host, host_if, switch_if, mtu=None, offloads=False):
        """A veth from `host` to a port of a bridge in `switch`."""
        self.veth(host, host_if, switch, switch_if, mtu=mtu, offloads=offloads)
        switch.ip("link", "set", switch_if, "master", bridge_name)

    def spawn(self, ns, args, **popen):
        """Start `args` in `ns` as a process of its own group; ended on exit."""
        proc = subprocess.Popen(ns.cmd(*args), start_new_session=True, **popen)
        self.callback(stop, proc)
        return proc


def stop(proc, timeout=5.0):
    """End a process started by these helpers (its whole group) and reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream:
            stream.close()


def reap_stale():
    """Delete namespaces left by earlier runs whose process no longer exists."""
    out = run(["ip", "netns", "list"], check=False).stdout
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        m = _NAME.match(name)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            _destroy(Netns(name))

