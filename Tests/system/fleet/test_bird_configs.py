"""The BIRD configurations shipped in glb-config/bird parse with Debian's BIRD 2 (with the
include files glb-announce writes), and the router's one accepts what a director exports."""
import subprocess

from glbtools.repo import ROOT

BIRD = ROOT / "glb-config" / "bird"


def check(conf, tmp_path):
    """`bird -p` on a copy whose include files live in tmp_path; returns bird's result."""
    text = conf.read_text()
    for name in ("bird-vips4.conf", "bird-vips6.conf"):
        include = tmp_path / name
        include.write_text('route 192.0.2.80/32 via "glbvip";\n' if name.endswith("4.conf") else 'route 2001:db8::80/128 via "glbvip";\n')
        text = text.replace(f"/run/glb/{name}", str(include))
    copy = tmp_path / conf.name
    copy.write_text(text)
    return subprocess.run(["bird", "-p", "-c", copy], capture_output=True, text=True)


def test_director_config_parses(tmp_path):
    r = check(BIRD / "director.conf", tmp_path)
    assert r.returncode == 0, r.stderr


def test_router_config_parses(tmp_path):
    r = check(BIRD / "router.conf", tmp_path)
    assert r.returncode == 0, r.stderr


def test_a_broken_config_is_refused(tmp_path):
    """The check can fail: an include line that BIRD cannot read makes bird -p fail."""
    bad = tmp_path / "bad"
    bad.mkdir()
    r = check(BIRD / "director.conf", bad)
    assert r.returncode == 0
    (bad / "bird-vips4.conf").write_text("route 192.0.2.80/32 via;\n")
    r = subprocess.run(["bird", "-p", "-c", bad / "director.conf"], capture_output=True, text=True)
    assert r.returncode != 0 and "syntax error" in r.stderr
