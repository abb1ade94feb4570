#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Draws bench/soak-retention.sh's results as one SVG (no plotting library needed):
#   bench/soak-plot.py WORKDIR OUT.svg
# Three panels over the run's minutes: ack p99 per interval (with the 250 ms target), the
# server's RSS, PSS and private memory, and the database's size (file + WAL).
import csv
import json
import sys

work, out = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(f"{work}/soak.csv")))
intervals = json.load(open(f"{work}/loadgen.json")).get("intervals", [])
result = {}
try:
    result = json.load(open(f"{work}/result.json"))
except (OSError, ValueError):
    pass

W, PANEL_H, LEFT, RIGHT, TOP, GAP = 900, 200, 80, 30, 75, 60
H = TOP + 3 * PANEL_H + 2 * GAP + 50
t_max = max([int(r["t_s"]) for r in rows] + [i["t_s"] for i in intervals] + [60]) / 60.0


def esc(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def panel(index, title, unit, series, y_max, target=None):
    top = TOP + index * (PANEL_H + GAP)
    plot_w = W - LEFT - RIGHT
    parts = [f'<text x="{LEFT}" y="{top - 12}" font-size="14" font-weight="bold">{esc(title)}</text>',
             f'<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{PANEL_H}" fill="none" stroke="#888"/>']
    for k in range(5):
        y = top + PANEL_H - k * PANEL_H / 4
        value = y_max * k / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{value:.0f}</text>')
    parts.append(f'<text x="{LEFT - 60}" y="{top + PANEL_H / 2}" font-size="11" '
                 f'transform="rotate(-90 {LEFT - 60} {top + PANEL_H / 2})" text-anchor="middle">{esc(unit)}</text>')
    for m in range(0, int(t_max) + 1, 10):
        x = LEFT + plot_w * m / t_max
        parts.append(f'<text x="{x:.1f}" y="{top + PANEL_H + 14}" font-size="11" text-anchor="middle">{m}</text>')
    if target is not None:
        y = top + PANEL_H - PANEL_H * target / y_max
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#c00" '
                     f'stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{LEFT + plot_w - 4}" y="{y - 4:.1f}" font-size="11" fill="#c00" '
                     f'text-anchor="end">target {target:g} {esc(unit)}</text>')
    legend_x = LEFT + 10
    for name, colour, points in series:
        path = " ".join(f"{LEFT + plot_w * t / t_max:.1f},{top + PANEL_H - PANEL_H * min(v, y_max) / y_max:.1f}"
                        for t, v in points)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{path}"/>')
        parts.append(f'<text x="{legend_x}" y="{top + 16}" font-size="12" fill="{colour}">{esc(name)}</text>')
        legend_x += 10 + 8 * len(name)
    return "\n".join(parts)


p99 = [(i["t_s"] / 60.0, i["p99_ms"]) for i in intervals]
mem = {k: [(int(r["t_s"]) / 60.0, int(r[k]) / 1024.0) for r in rows] for k in ("rss_kib", "pss_kib", "private_kib")}
db = [(int(r["t_s"]) / 60.0, int(r["db_bytes"]) / 1e6) for r in rows]

title = (f"Soak: {result.get('agents', '?')} agents at 1 s, raw samples kept {result.get('keep_raw', '?')}"
         f" — minutes since start")
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<text x="{LEFT}" y="24" font-size="16" font-weight="bold">{esc(title)}</text>',
       panel(0, "Ack latency p99 per interval", "ms", [("p99", "#1f77b4", p99)],
             max(300, max([v for _, v in p99] + [0]) * 1.1), target=250),
       panel(1, "Server memory (smaps_rollup)", "MiB",
             [("RSS", "#1f77b4", mem["rss_kib"]), ("PSS", "#2ca02c", mem["pss_kib"]),
              ("private", "#ff7f0e", mem["private_kib"])],
             max([v for _, v in mem["rss_kib"]] + [1]) * 1.2),
       panel(2, "Database size (file + WAL)", "MB", [("size", "#9467bd", db)],
             max([v for _, v in db] + [1]) * 1.2),
       "</svg>"]
open(out, "w").write("\n".join(svg))
