"""Draws the demo's control-loop phase (control-loop.json) as an SVG: utilization and
weights of each backend over time, one panel each, with nothing but the standard library.

    python3 -m glbdemo.plot WORK/control-loop.json OUT.svg
"""
import json
import sys

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
WIDTH, PANEL, MARGIN = 720, 200, 50


def panel(series, key, top, title, backends, ymax=None):
    points = [(s["t"], s[key].get(b)) for s in series for b in backends]
    values = [v for _, v in points if v is not None]
    tmax = max(s["t"] for s in series) or 1
    ymax = ymax or (max(values) * 1.1 if values else 1)
    x = lambda t: MARGIN + (WIDTH - 2 * MARGIN) * t / tmax
    y = lambda v: top + PANEL - PANEL * v / ymax
    out = [f'<text x="{MARGIN}" y="{top - 8}" font-size="13">{title}</text>',
           f'<rect x="{MARGIN}" y="{top}" width="{WIDTH - 2 * MARGIN}" height="{PANEL}" fill="none" stroke="#999"/>']
    for i in range(5):
        v = ymax * i / 4
        label = f"{v:.0f}" if ymax >= 10 else f"{v:.2f}"
        out.append(f'<text x="{MARGIN - 6}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end">{label}</text>')
    for i in range(7):
        t = tmax * i / 6
        out.append(f'<text x="{x(t):.1f}" y="{top + PANEL + 13}" font-size="10" text-anchor="middle">{t:.0f}</text>')
    for i, b in enumerate(backends):
        pts = " ".join(f"{x(s['t']):.1f},{y(s[key][b]):.1f}" for s in series if s[key].get(b) is not None)
        out.append(f'<polyline points="{pts}" fill="none" stroke="{COLOURS[i % 4]}" stroke-width="2"/>')
        out.append(f'<text x="{WIDTH - MARGIN + 6}" y="{top + 14 + 14 * i}" font-size="11" fill="{COLOURS[i % 4]}">{b}</text>')
    return out


def render(data):
    series = data["series"]
    backends = sorted({b for s in series for b in s["utilization"]} | {b for s in series for b in s["weight"]})
    height = 2 * PANEL + 3 * MARGIN + 20
    tmax = max(s["t"] for s in series)
    caps = ", ".join(f"{b} {c:g} core" for b, c in data["capacity"].items())
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH + 60}" height="{height}" font-family="sans-serif">',
             '<rect width="100%" height="100%" fill="white"/>']
    parts += panel(series, "utilization", MARGIN, f"utilization (CPU used / capacity: {caps})", backends)
    parts += panel(series, "weight", 2 * MARGIN + PANEL, "weight set by glb-balance", backends)
    parts.append(f'<text x="{WIDTH / 2}" y="{height - 12}" font-size="11" text-anchor="middle">seconds (0 to {tmax:.0f}); '
                 f'spread {data["before"]:.2f} before, {data["after"]:.2f} after, {data["changes"]} weight changes</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    data = json.load(open(sys.argv[1]))
    with open(sys.argv[2], "w") as f:
        f.write(render(data))


if __name__ == "__main__":
    main()
