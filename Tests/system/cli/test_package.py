"""scripts/package: one Debian package per component, with the binaries (Swift's runtime linked
in), units, example configuration as conffiles, docs, and Depends derived from what the
binaries link; they install with apt on this machine and purge without a trace.

The install test changes the machine (a disposable CI box): it refuses to run when a
swiftglb package is installed already, and purges what it installed whatever happens.
GLB_PACKAGE_BIN_DIR=DIR packages the programs of an existing release build
(scripts/package --bin-dir) instead of building them."""
import contextlib
import glob
import os
import pathlib
import re
import subprocess

import pytest

from glbtools.repo import ROOT, changelog_version

COMPONENTS = {
    "swiftglb-director": ("glb-director", "glb-director.service"),
    "swiftglb-director-cli": ("glb-director-cli", None),
    "swiftglb-healthcheck": ("glb-healthcheck", "glb-healthcheck.service"),
    "swiftglb-announce": ("glb-announce", "glb-announce.service"),
    "swiftglb-balance": ("glb-balance", "glb-balance.service"),
    "swiftglb-redirect": ("glb-redirect", "glb-redirect.service"),
}
CONFFILES = {
    "swiftglb-director": ["/etc/default/glb-director", "/etc/glb/director.conf"],
    "swiftglb-director-cli": [],
    "swiftglb-healthcheck": ["/etc/glb/healthcheck.conf"],
    "swiftglb-announce": [],
    "swiftglb-balance": ["/etc/glb/balance.json"],
    "swiftglb-redirect": ["/etc/default/glb-redirect"],
}
# What the packages install, or what installing, enabling or running them makes: looked at
# before the install and after the purge.
WATCHED = ["/usr/bin/glb-*", "/usr/lib/systemd/system/glb-*", "/usr/lib/tmpfiles.d/glb.conf",
           "/usr/share/doc/swiftglb-*", "/etc/glb", "/etc/default/glb-*", "/etc/systemd/system/*/glb-*",
           "/etc/systemd/system/glb-*", "/run/glb", "/run/dpdk/glb-director"]
# Where a package may put files.
PLACES = ("/usr/bin/", "/usr/lib/systemd/system/", "/usr/lib/tmpfiles.d/", "/etc/glb/", "/etc/default/")


def run(*args, check=True, **kw):
    res = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({res.returncode}):\n{res.stdout}{res.stderr}")
    return res


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    """{package: path of its .deb}, built by scripts/package (a release build: minutes when cold)."""
    out = tmp_path_factory.mktemp("dist")
    given = os.environ.get("GLB_PACKAGE_BIN_DIR")
    run(ROOT / "scripts" / "package", "--out", out, *(["--bin-dir", given] if given else []), timeout=3600)
    found = {p.name.split("_")[0]: p for p in out.glob("*.deb")}
    assert sorted(found) == sorted(COMPONENTS)
    return found


def field(deb, name):
    return run("dpkg-deb", "-f", deb, name).stdout.strip()


def contents(deb):
    """{path: (mode string, owner)} of the package's files and folders."""
    out = {}
    for line in run("dpkg-deb", "-c", deb).stdout.splitlines():
        parts = line.split()
        path = parts[5].lstrip(".").rstrip("/") or "/"
        out[path] = (parts[0], parts[1])
    return out


def depends(deb):
    return [d.strip().split()[0] for d in re.split(r"[,|]", field(deb, "Depends")) if d.strip()]


def test_versions_and_fields(debs):
    arch = run("dpkg", "--print-architecture").stdout.strip()
    for name, deb in debs.items():
        assert deb.name == f"{name}_{changelog_version()}_{arch}.deb"
        assert field(deb, "Package") == name
        assert field(deb, "Version") == changelog_version()
        assert field(deb, "Maintainer")
        assert field(deb, "Description")


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_contents(debs, name):
    program, unit = COMPONENTS[name]
    files = contents(debs[name])
    assert files[f"/usr/bin/{program}"][0] == "-rwxr-xr-x"
    assert all(owner == "root/root" for _, owner in files.values())
    doc = f"/usr/share/doc/{name}"
    for path in (f"{doc}/copyright", f"{doc}/changelog.gz", f"{doc}/README.md"):
        assert path in files
    if unit:
        assert f"/usr/lib/systemd/system/{unit}" in files
        # The unit's Documentation= names a file of the package.
        text = (ROOT / "glb-config" / "systemd" / unit).read_text()
        documentation = re.search(r"^Documentation=file://(\S+)", text, re.M).group(1)
        assert documentation in files
    for conffile in CONFFILES[name]:
        assert conffile in files
    # Files only in the usual places (the routers' sysctl file, for one, is an example).
    for path, (mode, _) in files.items():
        if not mode.startswith("d"):
            assert path.startswith(PLACES + (f"{doc}/",)), path


def test_conffiles_are_listed(debs, tmp_path):
    for name, deb in debs.items():
        control = tmp_path / name
        run("dpkg-deb", "-e", deb, control)
        listed = (control / "conffiles").read_text().split() if (control / "conffiles").exists() else []
        assert listed == CONFFILES[name], name


def test_depends_are_derived_from_what_the_binaries_link(debs):
    director = depends(debs["swiftglb-director"])
    # Linked (dpkg-shlibdeps) ...
    assert {"libc6", "librte-eal23", "librte-ethdev23", "librte-mbuf23"} <= set(director)
    # ... and the drivers EAL loads as plugins: the mbuf pool's, and the documented ports'.
    assert {"librte-mempool-ring23", "librte-net-af-packet23", "librte-net-af-xdp23", "librte-net-tap23",
            "librte-bus-pci23"} <= set(director)
    assert "libbpf1" in depends(debs["swiftglb-redirect"])
    assert "libpcap0.8" in depends(debs["swiftglb-director-cli"])
    for name, deb in debs.items():
        if name != "swiftglb-director" and name != "swiftglb-announce":
            assert not any(d.startswith("librte") for d in depends(deb)), name
        assert not any("swift" in d and not d.startswith("swiftglb-") for d in depends(deb)), name
    assert "swiftglb-director" in depends(debs["swiftglb-announce"])


def test_binaries_need_no_swift_runtime(debs, tmp_path):
    for name, deb in debs.items():
        root = tmp_path / name
        run("dpkg-deb", "-x", deb, root)
        program = root / "usr" / "bin" / COMPONENTS[name][0]
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", run("readelf", "-d", program).stdout)
        assert needed and not [n for n in needed if re.match(r"lib(swift|Foundation|dispatch|BlocksRuntime|_)", n)], needed
        ldd = run("ldd", program).stdout
        assert "not found" not in ldd and "/opt/swift" not in ldd, ldd
        # It runs without the toolchain on the search paths.
        env = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": ""}
        assert run(program, "--version", env=env).stdout == f"{COMPONENTS[name][0]} {changelog_version()}\n"


def snapshot():
    """Every watched path that exists, with everything below it."""
    paths = set()
    for pattern in WATCHED:
        for top in glob.glob(pattern):
            paths.add(top)
            for dirpath, dirnames, filenames in os.walk(top):
                paths.update(os.path.join(dirpath, n) for n in dirnames + filenames)
    return paths


def installed_swiftglb():
    res = run("dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\\n", "swiftglb-*", check=False)
    return [line.split()[0] for line in res.stdout.splitlines() if line.split()[1:] != ["not-installed"]]


@contextlib.contextmanager
def installed(debs):
    """Installs every package with apt, and purges them afterwards whatever happened."""
    try:
        run("apt-get", "install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=600",
            *[str(d) for d in debs.values()], env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), timeout=900)
        yield
    finally:
        leftover = installed_swiftglb()
        if leftover:
            run("dpkg", "--purge", *leftover, check=False, timeout=300)


def test_install_with_apt_and_purge_leaves_nothing(debs):
    if installed_swiftglb():
        pytest.skip(f"swiftglb packages are installed on this machine already: {installed_swiftglb()}")
    # apt must need nothing but our packages: the machine has their dependencies (scripts/setup),
    # and whatever apt installed besides would stay after the purge.
    plan = run("apt-get", "install", "--simulate", "--no-install-recommends", *[str(d) for d in debs.values()]).stdout
    new = sorted(re.findall(r"^Inst (\S+)", plan, re.M))
    assert new == sorted(COMPONENTS), f"apt would also install {sorted(set(new) - set(COMPONENTS))}"

    before = snapshot()
    files = {path for deb in debs.values() for path, (mode, _) in contents(deb).items() if not mode.startswith("d")}
    with installed(debs):
        for name, (program, unit) in COMPONENTS.items():
            assert run("dpkg-query", "-W", "-f", "${db:Status-Status}", name).stdout == "installed"
            assert run(f"/usr/bin/{program}", "--version").stdout == f"{program} {changelog_version()}\n"
            assert run("dpkg", "-S", f"/usr/bin/{program}").stdout.startswith(f"{name}:")
            if unit:
                # The installed units verify against the real root: the programs are where
                # ExecStart says.
                res = run("systemd-analyze", "verify", "--man=no", f"/usr/lib/systemd/system/{unit}", check=False)
                assert (res.returncode, (res.stdout + res.stderr).strip()) == (0, ""), unit
        # The tmpfiles entry made BIRD's include files.
        assert pathlib.Path("/run/glb/bird-vips4.conf").exists()
        # An operator enables units; purging removes the links with the packages.
        run("systemctl", "enable", "glb-director.service", "glb-announce.service")
        assert pathlib.Path("/etc/systemd/system/glb-director.service.wants/glb-announce.service").is_symlink()
        assert pathlib.Path("/etc/systemd/system/multi-user.target.wants/glb-director.service").is_symlink()
        # A changed conffile survives a reinstall, as configuration does.
        conf = pathlib.Path("/etc/glb/director.conf")
        conf.write_text(conf.read_text().replace("127.0.0.1:19540", "127.0.0.1:19550"))
        run("apt-get", "install", "-y", "--reinstall", "-o", "DPkg::Lock::Timeout=600", str(debs["swiftglb-director"]),
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), timeout=900)
        assert "127.0.0.1:19550" in conf.read_text()

    assert installed_swiftglb() == []
    for path in sorted(files):
        assert not os.path.lexists(path), f"{path} is left after the purge"
        assert run("dpkg", "-S", path, check=False).returncode != 0, path
    after = snapshot()
    assert sorted(after - before) == [], "left after the purge"
    assert sorted(before - after) == [], "removed although it was there before"
