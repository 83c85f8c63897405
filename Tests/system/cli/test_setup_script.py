"""scripts/setup on a host that already runs services: with apt-get, dpkg-query and
systemctl replaced by stand-ins, what it installs and which services it switches off."""
import os
import shutil
import subprocess

from glbtools.repo import ROOT

STUBS = {
    # Every package is installed except those named in $MISSING.
    "dpkg-query": '#!/bin/sh\nfor a; do pkg=$a; done\nfor p in $MISSING; do [ "$p" = "$pkg" ] && exit 1; done\necho "install ok installed"\n',
    # Installing starts the packages' services, as Debian does.
    "apt-get": '#!/bin/sh\necho "apt-get $*" >> "$STATE/log"\n'
               'case "$1" in install) for s in $STARTS; do touch "$STATE/$s.active"; done;; esac\n',
    "systemctl": '#!/bin/sh\necho "systemctl $*" >> "$STATE/log"\n'
                 'case "$1" in\n  is-active) [ -e "$STATE/$3.active" ];;\n'
                 '  disable) rm -f "$STATE/$3.active";;\nesac\n',
    "swift": "#!/bin/sh\nexit 0\n",
}


def run_setup(tmp_path, missing, starts, active_before):
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup", checkout / "scripts" / "setup")
    req = checkout / "Tests" / "system" / "requirements.txt"
    req.parent.mkdir(parents=True)
    shutil.copy(ROOT / "Tests" / "system" / "requirements.txt", req)
    # A virtual environment that is up to date: nothing to install there.
    venv = checkout / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("#!/bin/sh\nexit 0\n")
    (venv / "bin" / "python").chmod(0o755)
    shutil.copy(req, venv / "requirements.installed")
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name, text in STUBS.items():
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    for s in active_before:
        (state / f"{s}.active").touch()
    # No /usr/sbin on PATH: the host has no nginx of its own unless a test puts one there.
    env = dict(os.environ, PATH=f"{stubs}:/usr/bin:/bin", STATE=str(state), MISSING=" ".join(missing), STARTS=" ".join(starts))
    r = subprocess.run([str(checkout / "scripts" / "setup")], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    log = (state / "log").read_text().splitlines() if (state / "log").exists() else []
    return log, {p.name[:-7] for p in state.glob("*.active")}, r.stdout


def test_a_service_the_host_ran_is_left_running(tmp_path):
    """BIRD ran before; installing nginx-light and bird2 starts nginx and restarts BIRD:
    nginx (started by the installation) is switched off, BIRD is not touched."""
    log, active, out = run_setup(tmp_path, missing=["nginx-light", "bird2"], starts=["nginx", "bird"], active_before=["bird"])
    assert any(l.startswith("apt-get install") and "nginx-light" in l and "bird2" in l for l in log), log
    assert "systemctl disable --now nginx" in log
    assert not any(l.startswith("systemctl disable") and l.endswith(" bird") for l in log), log
    assert active == {"bird"}


def test_a_service_started_only_by_the_installation_is_switched_off(tmp_path):
    """The control: the same installation on a host that did not run BIRD switches it off,
    so the test above sees a disable when there is one."""
    log, active, _ = run_setup(tmp_path, missing=["nginx-light", "bird2"], starts=["nginx", "bird"], active_before=[])
    assert "systemctl disable --now bird" in log and "systemctl disable --now nginx" in log
    assert active == set()


def test_nothing_missing_changes_nothing(tmp_path):
    log, active, out = run_setup(tmp_path, missing=[], starts=["nginx"], active_before=["nginx"])
    assert not any(l.startswith("apt-get") or l.startswith("systemctl disable") for l in log), log
    assert active == {"nginx"} and "Debian packages already installed" in out


def test_host_mode_installs_no_development_package(tmp_path):
    log, _, _ = run_setup(tmp_path, missing=["bird2", "clang", "prometheus"], starts=[], active_before=[])
    assert any("clang" in l for l in log if l.startswith("apt-get install"))
    # --host: only the runtime set; clang and prometheus are not part of it.
    checkout = tmp_path / "checkout"
    state = tmp_path / "state"
    (state / "log").unlink()
    env = dict(os.environ, PATH=f"{tmp_path / 'stubs'}:/usr/bin:/bin", STATE=str(state), MISSING="bird2 clang prometheus", STARTS="")
    r = subprocess.run([str(checkout / "scripts" / "setup"), "--host"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    installs = [l for l in (state / "log").read_text().splitlines() if l.startswith("apt-get install")]
    assert len(installs) == 1 and "bird2" in installs[0] and "clang" not in installs[0] and "prometheus" not in installs[0]
