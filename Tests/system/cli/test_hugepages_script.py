"""scripts/hugepages reserve --persist: the sysctl file and the fstab entry are written (once),
where HUGEPAGES_SYSCTL_DIR and HUGEPAGES_FSTAB point, and the reservation itself is made."""
import os
import subprocess

from glbtools.repo import ROOT

SCRIPT = ROOT / "scripts" / "hugepages"
PAGES = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"


def test_reserve_persist_writes_sysctl_and_fstab(hugepages, tmp_path):
    before = int(open(PAGES).read())
    want = str(max(before, 64))
    sysctl_dir = tmp_path / "sysctl.d"
    sysctl_dir.mkdir()
    fstab = tmp_path / "fstab"
    fstab.write_text("# test fstab\n")
    env = dict(os.environ, HUGEPAGES_SYSCTL_DIR=str(sysctl_dir), HUGEPAGES_FSTAB=str(fstab))
    for _ in range(2):
        r = subprocess.run([SCRIPT, "reserve", want, "--persist"], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
    assert (sysctl_dir / "80-swiftglb-hugepages.conf").read_text() == f"vm.nr_hugepages = {want}\n"
    entries = [line for line in fstab.read_text().splitlines() if "hugetlbfs" in line]
    assert entries == ["nodev /dev/hugepages hugetlbfs pagesize=2M 0 0"], fstab.read_text()
    assert int(open(PAGES).read()) >= int(want)
