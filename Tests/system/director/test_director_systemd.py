"""What glb-director tells its monitoring: glb_director_build_info names the build."""
import subprocess

from glbdirector import Director, base_config  # (puts demo/ on the path)
from glbsys import changelog_version
from test_director_readiness import IDLE_PORT, TABLE


def test_build_info(hugepages, bin_dir, tmp_path):
    dpdk = subprocess.run(["pkg-config", "--modversion", "libdpdk"], capture_output=True, text=True, check=True).stdout.strip()
    with Director(bin_dir, tmp_path, base_config(), TABLE, eal=[IDLE_PORT], metrics_port=9140) as d:
        metrics = d.metrics()
        info = {k: v for k, v in metrics.items() if k.startswith("glb_director_build_info")}
        assert info == {f'glb_director_build_info{{version="{changelog_version()}",dpdk="{dpdk}"}}': 1}
