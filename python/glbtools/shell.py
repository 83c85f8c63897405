"""Commands, network namespaces and processes: the basics of the demo cluster and of the
system tests (glbtools.netns builds the tests' labs on them)."""
import os
import signal
import subprocess
import time


class CommandError(RuntimeError):
    pass


def run(args, check=True, **kw):
    res = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if check and res.returncode != 0:
        raise CommandError(f"{' '.join(map(str, args))} failed ({res.returncode}):\n{res.stdout}{res.stderr}")
    return res


class Netns:
    """One network namespace, by name (`ip netns`)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"Netns({self.name!r})"

    def path(self):
        return f"/run/netns/{self.name}"

    def cmd(self, *args):
        return ["ip", "netns", "exec", self.name, *map(str, args)]

    def run(self, *args, check=True, **kw):
        return run(self.cmd(*args), check=check, **kw)

    def ip(self, *args, check=True):
        return run(["ip", "-n", self.name, *args], check=check)

    def sysctl(self, name, value):
        self.run("sysctl", "-q", "-w", f"{name}={value}")

    def mac(self, ifname):
        return self.run("cat", f"/sys/class/net/{ifname}/address").stdout.strip()

    def offloads_off(self, ifname):
        """TX checksum and segmentation offloads off (docs/design.md §10): frames that AF_PACKET
        or a tunnel copies must carry complete checksums."""
        self.run("ethtool", "-K", ifname, "tx", "off", "tso", "off", "gso", "off")

    def enable_ipv6(self, *ifnames):
        """IPv6 on for lo and `ifnames` of a namespace created without it, without duplicate
        address detection (addresses are usable at once) or router solicitations."""
        for scope in ("all", "default", "lo", *ifnames):
            self.sysctl(f"net.ipv6.conf.{scope}.disable_ipv6", 0)
        for ifname in ifnames:
            self.sysctl(f"net.ipv6.conf.{ifname}.accept_dad", 0)
            self.sysctl(f"net.ipv6.conf.{ifname}.router_solicitations", 0)

    def exists(self):
        return os.path.exists(f"/run/netns/{self.name}")

    def pids(self):
        return [int(p) for p in run(["ip", "netns", "pids", self.name], check=False).stdout.split()]

    def create(self, ipv6=False):
        """A new namespace with lo up; IPv6 off unless `ipv6`, and then without duplicate
        address detection (addresses are usable at once) or router solicitations on the
        interfaces made in it afterwards."""
        run(["ip", "netns", "add", self.name])
        self.ip("link", "set", "lo", "up")
        if not ipv6:
            self.sysctl("net.ipv6.conf.all.disable_ipv6", 1)
            self.sysctl("net.ipv6.conf.default.disable_ipv6", 1)
            return
        for scope in ("all", "default"):
            self.sysctl(f"net.ipv6.conf.{scope}.accept_dad", 0)
            self.sysctl(f"net.ipv6.conf.{scope}.router_solicitations", 0)

    def destroy(self, grace=5.0):
        """Stops what runs inside (SIGTERM, then SIGKILL), then deletes the namespace."""
        pids = self.pids()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and self.pids():
            time.sleep(0.1)
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        run(["ip", "netns", "del", self.name], check=False)


def spawn(ns, args, log_path, env=None):
    """Starts a long-running process in `ns`, in its own session (so it outlives the demo
    with --keep), its output in `log_path`."""
    log = open(log_path, "ab")
    full_env = dict(os.environ, **(env or {}))
    return subprocess.Popen(ns.cmd(*args), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env=full_env)


def parse_metrics(text):
    """Prometheus text as {"name{labels}": value}."""
    values = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def wait_for(condition, what="the condition", timeout=10.0, interval=0.05):
    """Poll `condition()` until it returns a true value, and return that value; after
    `timeout` seconds, fail with a TimeoutError that says `what` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)
