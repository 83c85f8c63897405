"""What the observability files (glb-config/prometheus, glb-config/grafana) are checked
against: the metric names the components' code emits, the metric names a PromQL expression
uses, promtool, and the anchors of the runbook the alerts point to."""

import re
import shutil
import subprocess

from glbtools.repo import ROOT

SOURCES = ROOT / "Sources"
PROMETHEUS_DIR = ROOT / "glb-config" / "prometheus"
GRAFANA_DIR = ROOT / "glb-config" / "grafana"
RUNBOOK = ROOT / "docs" / "runbooks" / "metrics.md"

# Every component writes a family through a call that starts with its name: the writers'
# family()/single() (director, health checker, balance, glb-redirect) and gauge()/counter()
# (announce).
_FAMILY = re.compile(r'\b(?:family|single|gauge|counter)\(\s*"(glb_[a-z0-9_]+)"')

COMPONENTS = ("glb_director_", "glb_healthcheck_", "glb_announce_", "glb_balance_", "glb_redirect_")

# Metrics that are not SwiftGLB's, which the rules may use, with who exports them.
EXTERNAL = {
    "up": "Prometheus, for every scrape target",
    "node_textfile_mtime_seconds": "node_exporter's textfile collector, per file",
}


def emitted_metrics():
    """{metric family: source file} for every family the Swift sources write."""
    out = {}
    for path in sorted(SOURCES.rglob("*.swift")):
        for name in _FAMILY.findall(path.read_text()):
            out.setdefault(name, path.relative_to(ROOT))
    missing = [c for c in COMPONENTS if not any(n.startswith(c) for n in out)]
    assert not missing, f"no metric family found in the sources for {missing}: has a writer changed its calls?"
    return out


def known_metrics():
    return set(emitted_metrics()) | set(EXTERNAL)


_KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"}


def metric_names(expr):
    """The metric names a PromQL expression selects: identifiers left once strings, label
    matchers, ranges, grouping clauses, numbers and durations are taken out, that are not
    functions (followed by a parenthesis) or keywords."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    s = re.sub(r"#[^\n]*", " ", s)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    s = re.sub(r"\boffset\s+-?\w+", " ", s)
    s = re.sub(r"(?<![\w:])\d[\w.]*(?:[eE][+-]?\d+)?", " ", s)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", s):
        if s[m.end():].lstrip().startswith("(") or m.group(0).lower() in _KEYWORDS:
            continue
        names.add(m.group(0))
    return names


def promtool(*args, cwd=None, input=None):
    """Runs promtool (Debian's prometheus package, which scripts/setup installs)."""
    path = shutil.which("promtool")
    assert path, "promtool not found: install Debian's prometheus package (scripts/setup does)"
    return subprocess.run([path, *map(str, args)], cwd=cwd, input=input, capture_output=True, text=True)


def github_anchors(markdown):
    """The anchors GitHub gives a Markdown file's headings: lower case, punctuation other
    than '-' and '_' removed, spaces as '-', and -1, -2, ... after repeats."""
    anchors, seen = set(), {}
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not re.match(r"#{1,6} ", line):
            continue
        slug = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors
