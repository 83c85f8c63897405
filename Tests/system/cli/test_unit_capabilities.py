"""glb-redirect and glb-announce do their jobs with no more than their unit's
CapabilityBoundingSet, and each capability of the set is needed (the director's are tested
in Tests/system/director/test_director_systemd.py)."""
import subprocess

from glbtools.netns import Lab
from glbtools.shell import wait_for
from glbtools.units import capped


def redirect(ns, bin_dir, command, without=()):
    return ns.run(*capped("glb-redirect.service", [bin_dir / "glb-redirect", *command], without=without), check=False)


def test_redirect_attach_replace_status_detach(bin_dir):
    with Lab() as lab:
        ns, peer = lab.netns("backend"), lab.netns("peer")
        lab.veth(ns, "eth0", peer, "eth0")
        for command in (["attach", "--iface", "eth0"], ["attach", "--iface", "eth0"],
                        ["status", "--iface", "eth0"], ["detach", "--iface", "eth0"]):
            res = redirect(ns, bin_dir, command)
            assert res.returncode == 0, (command, res.stdout, res.stderr)
        assert "replacing" not in redirect(ns, bin_dir, ["attach", "--iface", "eth0"]).stdout


def test_redirect_needs_each_capability(bin_dir):
    with Lab() as lab:
        ns, peer = lab.netns("backend"), lab.netns("peer")
        lab.veth(ns, "eth0", peer, "eth0")
        # A clsact filter (the hook on kernels before 6.6) is added through rtnetlink, which
        # takes CAP_NET_ADMIN (tcx takes CAP_SYS_ADMIN as well).
        clsact = ["attach", "--iface", "eth0", "--hook", "clsact"]
        res = redirect(ns, bin_dir, clsact, without=["net_admin"])
        assert res.returncode != 0, res.stdout
        assert redirect(ns, bin_dir, clsact).returncode == 0
        assert redirect(ns, bin_dir, ["detach", "--iface", "eth0"]).returncode == 0
        # Loading the program takes CAP_SYS_ADMIN (or CAP_BPF, which alone cannot tell
        # glb-redirect's program from others when it replaces one).
        res = redirect(ns, bin_dir, ["attach", "--iface", "eth0"], without=["sys_admin"])
        assert res.returncode != 0, res.stdout
        assert redirect(ns, bin_dir, ["attach", "--iface", "eth0"]).returncode == 0


def announce(lab, ns, bin_dir, tmp_path, without=()):
    command = [bin_dir / "glb-announce", "--forwarding-table", tmp_path / "none.bin",
               "--ready-url", "http://127.0.0.1:1/ready", "--birdc", "/bin/false",
               "--bird-include4", tmp_path / "v4.conf", "--bird-include6", tmp_path / "v6.conf"]
    return lab.spawn(ns, capped("glb-announce.service", command, without=without),
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_announce_makes_its_interface(bin_dir, tmp_path):
    with Lab() as lab:
        ns = lab.netns("director")
        proc = announce(lab, ns, bin_dir, tmp_path)
        wait_for(lambda: ns.ip("link", "show", "glbvip", check=False).returncode == 0 or proc.poll() is not None,
                 "the interface glbvip")
        assert proc.poll() is None, proc.stdout.read()


def test_announce_without_net_admin_does_not_start(bin_dir, tmp_path):
    with Lab() as lab:
        ns = lab.netns("director")
        proc = announce(lab, ns, bin_dir, tmp_path, without=["net_admin"])
        assert proc.wait(timeout=30) == 1
        assert "not starting: cannot create the TUN interface glbvip" in proc.stdout.read()
