"""fuzz/make-corpus writes exactly the committed seeds, with the input bits it reads from
FuzzInput.swift's `enum InputBits` (their one definition, which the fuzzer uses)."""
import subprocess
import sys

from glbtools.repo import ROOT

SEEDS = ROOT / "fuzz" / "corpus"


def test_make_corpus_writes_the_committed_seeds(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "fuzz" / "make-corpus"), str(tmp_path)], check=True,
                   capture_output=True)
    written = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_bytes() for p in SEEDS.iterdir()}
    assert written.keys() == committed.keys()
    assert [name for name in written if written[name] != committed[name]] == []


def test_input_bits_come_from_fuzz_input_swift(tmp_path):
    """A bit renamed in FuzzInput.swift stops make-corpus, rather than leaving a stale copy."""
    fuzz = tmp_path / "fuzz"
    (fuzz / "Sources" / "glb-packet-fuzz").mkdir(parents=True)
    (fuzz / "make-corpus").write_text((ROOT / "fuzz" / "make-corpus").read_text())
    source = (ROOT / "fuzz" / "Sources" / "glb-packet-fuzz" / "FuzzInput.swift").read_text()
    assert "    static let noEcho = 0x20\n" in source
    (fuzz / "Sources" / "glb-packet-fuzz" / "FuzzInput.swift").write_text(source.replace("static let noEcho", "static let noPing"))
    r = subprocess.run([sys.executable, str(fuzz / "make-corpus"), str(tmp_path / "out")], capture_output=True, text=True)
    assert r.returncode != 0 and "NO_ECHO" in r.stderr
