"""Another package can depend on SwiftGLB's libraries (GLBCore, GLBPacket) by version.

SwiftPM refuses a dependency pinned to a version whose library targets carry unsafe build
flags ("contains unsafe build flags"); a branch, a revision or a local path would hide that.
So this copies the working tree into a scratch git repository, tags it, and builds a small
package that uses every library product from it by that tag. The negative control tags a
copy whose GLBPacket has an unsafe flag again, and shows that SwiftPM refuses it."""
import json
import shutil
import subprocess

import pytest

from glbtools.repo import ROOT


def run(args, cwd, timeout=900):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def git(repo, *args):
    r = run(["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args], cwd=repo)
    assert r.returncode == 0, r.stderr
    return r.stdout


def library_products():
    r = run(["swift", "package", "dump-package"], cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    products = json.loads(r.stdout)["products"]
    return [p["name"] for p in products if "library" in p["type"]]


def tagged_copy(tmp_path, name, tag, edit=None):
    """The working tree's tracked files, committed in a new repository and tagged `tag`."""
    repo = tmp_path / name
    files = run(["git", "ls-files", "-z"], cwd=ROOT).stdout.split("\0")
    for f in filter(None, files):
        source = ROOT / f
        if source.is_file():
            target = repo / f
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    if edit:
        edit(repo / "Package.swift")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "copy")
    git(repo, "tag", tag)
    return repo


def consumer(tmp_path, repo, tag, products):
    """A package that imports every library product of `repo` at exactly `tag`."""
    root = tmp_path / f"consumer-{tag}"
    (root / "Sources" / "consumer").mkdir(parents=True)
    deps = ", ".join(f'.product(name: "{p}", package: "{repo.name}")' for p in products)
    (root / "Package.swift").write_text(
        "// swift-tools-version: 6.0\nimport PackageDescription\n"
        f'let package = Package(name: "consumer", dependencies: [.package(url: "file://{repo}", exact: "{tag}")],\n'
        f'    targets: [.executableTarget(name: "consumer", dependencies: [{deps}])])\n')
    imports = "".join(f"import {p}\n" for p in products)
    (root / "Sources" / "consumer" / "main.swift").write_text(
        imports + "print(PlaneView.srcAddrBit, BinaryTableFormat.version)\n")
    return root


@pytest.fixture(scope="module")
def products():
    names = library_products()
    assert {"GLBCore", "GLBPacket"} <= set(names), names
    return names


def test_a_package_builds_against_the_libraries_by_version(tmp_path, products):
    repo = tagged_copy(tmp_path, "swiftglb", "1.0.0")
    root = consumer(tmp_path, repo, "1.0.0", products)
    r = run(["swift", "build"], cwd=root)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = run([str(root / ".build" / "debug" / "consumer")], cwd=root)
    assert out.returncode == 0 and out.stdout.split() == ["1", "2"], out.stdout + out.stderr


def test_negative_control_unsafe_flags_on_a_library_are_refused(tmp_path, products):
    def unsafe(manifest):
        text = manifest.read_text()
        plain = '.target(name: "GLBPacket", dependencies: ["GLBCore", "CPrefetch"]),'
        assert plain in text, "GLBPacket's target declaration moved: update this control"
        manifest.write_text(text.replace(plain, plain[:-2] + ', swiftSettings: [.unsafeFlags(["-Ounchecked"])]),'))

    repo = tagged_copy(tmp_path, "swiftglb", "1.0.0", edit=unsafe)
    root = consumer(tmp_path, repo, "1.0.0", products)
    r = run(["swift", "build"], cwd=root)
    assert r.returncode != 0
    assert "contains unsafe build flags" in r.stdout + r.stderr, r.stdout[-2000:] + r.stderr[-2000:]
