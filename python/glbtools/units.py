"""The systemd units of glb-config/systemd as data: their settings, and how to run a command
with the capabilities a unit leaves it (setpriv), without systemd."""
from .repo import ROOT

UNIT_DIR = ROOT / "glb-config" / "systemd"
UNITS = sorted(p.name for p in UNIT_DIR.glob("*.service"))


def settings(unit):
    """{key: [values]} of a unit file's [Service] and [Unit] sections, continuation lines joined."""
    out = {}
    logical = []
    for line in (UNIT_DIR / unit).read_text().splitlines():
        if logical and logical[-1].endswith("\\"):
            logical[-1] = logical[-1][:-1] + " " + line.strip()
        else:
            logical.append(line)
    for line in logical:
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def setting(unit, key):
    values = settings(unit).get(key)
    assert values, f"{unit} has no {key}="
    return values[-1]


def exec_paths(unit):
    """The absolute paths of the programs the unit's Exec*= lines run."""
    paths = []
    for key, values in settings(unit).items():
        if key.startswith("Exec"):
            for value in values:
                program = value.split()[0].lstrip("-@:+!")
                paths.append(program)
    return paths


def capabilities(unit):
    """The unit's CapabilityBoundingSet= as names without CAP_, lower case (setpriv's form)."""
    return [c.removeprefix("CAP_").lower() for c in setting(unit, "CapabilityBoundingSet").split()]


def capped(unit, command, without=()):
    """`command` run as root with only the unit's capabilities (less `without`), as systemd
    runs it: the bounding set, no inheritable ones, no new privileges."""
    caps = "".join(f",+{c}" for c in capabilities(unit) if c not in without)
    return ["setpriv", "--inh-caps=-all", f"--bounding-set=-all{caps}", "--no-new-privs", "--", *map(str, command)]
