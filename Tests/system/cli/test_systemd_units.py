"""The systemd units in glb-config/systemd: `systemd-analyze verify` says nothing about any of
them (an unknown key, a bad value, a program missing at its ExecStart path are all reported),
and each has the hardening and restart policy the docs promise."""
import shutil
import subprocess

import pytest

from glbtools.units import UNIT_DIR, UNITS, exec_paths, setting, settings

SYSTEM_UNITS = "/usr/lib/systemd/system"


@pytest.fixture(scope="module")
def root(tmp_path_factory, bin_dir):
    """A file system root for `systemd-analyze verify --root`: the host's own units (targets
    such as sysinit.target), ours in /etc/systemd/system, and at each Exec path the program it
    names: the built binaries for ours, the host's for the rest (/bin/kill)."""
    root = tmp_path_factory.mktemp("unit-root")
    shutil.copytree(SYSTEM_UNITS, root / SYSTEM_UNITS.lstrip("/"), symlinks=True)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "bin").symlink_to("usr/bin")
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    for unit in UNITS:
        shutil.copy(UNIT_DIR / unit, root / "etc" / "systemd" / "system" / unit)
        for path in exec_paths(unit):
            name = path.rsplit("/", 1)[1]
            source = bin_dir / name if name.startswith("glb-") else shutil.which(name)
            assert source, f"{unit}: nothing to stand for {path}"
            target = root / path.lstrip("/")
            if not target.exists():
                shutil.copy(source, target)
    return root


def verify(root, unit):
    res = subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={root}", unit],
                         capture_output=True, text=True, timeout=60)
    return res.returncode, (res.stdout + res.stderr).strip()


@pytest.mark.parametrize("unit", UNITS)
def test_verify_says_nothing(root, unit):
    assert verify(root, unit) == (0, "")


def test_verify_reports_what_is_wrong(root):
    """Negative control: the same check sees a misspelt key, an unknown address family and a
    missing program."""
    units = root / "etc" / "systemd" / "system"
    text = (units / "glb-balance.service").read_text()
    (units / "glb-broken.service").write_text(
        text.replace("NoNewPrivileges=yes", "NoNewPrivileges=yes\nProtectSystm=full\nRestrictAddressFamilies=AF_BOGUS")
            .replace("/usr/bin/glb-balance", "/usr/bin/glb-missing"))
    status, output = verify(root, "glb-broken.service")
    assert "Unknown key 'ProtectSystm'" in output
    assert "AF_BOGUS" in output
    assert "/usr/bin/glb-missing is not executable" in output


@pytest.mark.parametrize("unit", UNITS)
def test_hardening(unit):
    s = settings(unit)
    assert setting(unit, "NoNewPrivileges") == "yes"
    assert setting(unit, "PrivateTmp") == "yes"
    assert setting(unit, "ProtectSystem") in ("full", "strict")
    assert "CapabilityBoundingSet" in s
    families = setting(unit, "RestrictAddressFamilies").split()
    assert {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"} <= set(families)
    for path in exec_paths(unit):
        assert path.startswith("/usr/bin/glb-") or path == "/bin/kill", path
    if "Restart" in s:
        assert setting(unit, "RestartPreventExitStatus").split() == ["2", "64"]


def test_director_watchdog_and_ports():
    unit = "glb-director.service"
    assert setting(unit, "Type") == "notify"
    assert int(setting(unit, "WatchdogSec")) > 0
    assert {"AF_PACKET", "AF_XDP"} <= set(setting(unit, "RestrictAddressFamilies").split())


@pytest.mark.parametrize("unit", ["glb-announce.service", "glb-balance.service"])
def test_notify_where_the_daemon_tells_systemd(unit):
    assert setting(unit, "Type") == "notify"
