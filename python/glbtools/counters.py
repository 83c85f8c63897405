"""glb-redirect's counters as its C header defines them (Sources/glb-redirect/bpf/
glb_redirect_counters.h), read from the header itself so that Python holds no copy: the
names in map order, which of them are details rather than outcomes, and the sums the
program leaves to its readers."""
import functools
import re

from .repo import ROOT

HEADER = ROOT / "Sources" / "glb-redirect" / "bpf" / "glb_redirect_counters.h"


@functools.cache
def _text():
    return HEADER.read_text()


def names():
    """Counter names in map order: GLB_C_ACCEPTED_SYN -> accepted_syn (the header's format
    contract: one enumerator a line, the enum order is the map index)."""
    text = _text()
    body = text[text.index("enum glb_counter {"): text.index("GLB_COUNTER_MAX")]
    return [m.lower() for m in re.findall(r"^\s*GLB_C_([A-Z0-9_]+),", body, re.M)]


def meanings():
    """{name: the header's comment on it}."""
    return {m.group(1).lower(): m.group(2).strip()
            for m in re.finditer(r"^\s*GLB_C_([A-Z0-9_]+),\s*/\*(.*?)\*/", _text(), re.M)}


def _prose():
    """The header's closing comment as one line of words."""
    return " ".join(line.strip(" *") for line in _text().split("GLB_COUNTER_MAX", 1)[1].splitlines())


def details():
    """The counters that detail another outcome and are not outcomes themselves ("... are
    details of other outcomes" in the header)."""
    m = re.search(r"([a-z_]+(?:, [a-z_]+)*(?:,? and [a-z_]+)?) are details of other outcomes", _prose())
    assert m, f"{HEADER.name}: no sentence naming the details of other outcomes"
    found = set(re.split(r",\s*|\s+and\s+", m.group(1).strip()))
    assert found <= set(names()), f"{HEADER.name}: details {found - set(names())} are not counters"
    return found


def forwarded_parts():
    """The counters whose sum is "forwarded" ("forwarded = a + b" in the header)."""
    m = re.search(r"forwarded = ([a-z_]+(?: \+ [a-z_]+)+)", _prose())
    assert m, f"{HEADER.name}: no sum for forwarded"
    return m.group(1).split(" + ")


def with_sums(raw):
    """The counters as readers report them: the program leaves "packets" (every outcome)
    and "forwarded" (its forwarding paths) at 0 for readers to add up."""
    out = dict(raw)
    out["forwarded"] = sum(raw.get(name, 0) for name in forwarded_parts())
    out["packets"] = sum(v for k, v in out.items() if k != "packets" and k not in details())
    return out
