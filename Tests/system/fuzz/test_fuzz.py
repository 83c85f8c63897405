"""A short libFuzzer run of the packet path (scripts/fuzz: parse, classify, hash, encapsulate,
with AddressSanitizer and the target's invariant checks), from the committed seeds."""
import os
import re
import subprocess

import pytest

from glbtools.repo import ROOT

SECONDS = 20
SEEDS = ROOT / "fuzz" / "corpus"
TARGET = ROOT / ".build-fuzz" / "debug" / "glb-packet-fuzz"


@pytest.fixture(scope="module")
def fuzz_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("fuzz")
    env = dict(os.environ, GLB_FUZZ_WORK=str(work))
    r = subprocess.run([str(ROOT / "scripts" / "fuzz"), str(SECONDS)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=1800)
    return r, work


def test_short_run_finds_nothing(fuzz_run):
    r, work = fuzz_run
    assert r.returncode == 0, r.stderr[-6000:]
    assert list((work / "crashes").iterdir()) == []
    # The run executed inputs beyond the seeds, starting from coverage the seeds reached.
    stats = dict(re.findall(r"^stat::(\w+):\s+(\d+)", r.stderr, re.M))
    seeds = len(list(SEEDS.glob("*.bin")))
    assert seeds >= 30
    assert int(stats["number_of_executed_units"]) > seeds, r.stderr[-2000:]
    inited = re.search(r"INITED cov: (\d+)", r.stderr)
    done = re.search(r"DONE\s+cov: (\d+)", r.stderr)
    assert inited and done, r.stderr[-2000:]
    assert int(inited.group(1)) > 0
    print(f"fuzz: {stats['number_of_executed_units']} inputs in {SECONDS}s, coverage {inited.group(1)} → {done.group(1)}")


def test_a_read_past_the_frame_is_caught(fuzz_run):
    # The target can read one byte past each frame on purpose: AddressSanitizer must stop it,
    # so a real over-read in the packet path could not pass unnoticed.
    assert TARGET.exists()
    seed = SEEDS / "ipv4-tcp-443.bin"
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
    clean = subprocess.run([str(TARGET), str(seed)], env=env, capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stderr[-3000:]
    r = subprocess.run([str(TARGET), str(seed)], env=dict(env, GLB_FUZZ_CANARY="overread"),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "AddressSanitizer: heap-buffer-overflow" in r.stderr
