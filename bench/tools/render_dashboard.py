#!/usr/bin/env python3
"""Renders the Grafana dashboard (deploy/grafana/meridian-dashboard.json) as a
picture: every panel's PromQL, evaluated over a time range by a real
Prometheus (its HTTP API, query_range), drawn by gnuplot in the dashboard's
grid. No Grafana runs here; the queries and the layout are the dashboard's.

Usage: render_dashboard.py --prometheus URL --dashboard JSON --start UNIX --end UNIX
                           --out PNG [--step 2] [--rate-interval 10s]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request


def query_range(url, expr, start, end, step):
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{url}/api/v1/query_range?{q}", timeout=10) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body.get('error')}")
    return body["data"]["result"]


def label(metric, legend):
    """The series name: the panel's legendFormat with {{label}} filled in."""
    if legend:
        out = legend
        for k, v in metric.items():
            out = out.replace("{{" + k + "}}", v)
        return out
    shown = {k: v for k, v in metric.items() if k not in ("__name__", "job", "instance")}
    return ",".join(f"{k}={v}" for k, v in sorted(shown.items())) or "value"


def gp_escape(text):
    return text.replace("\\", "\\\\").replace("'", "''").replace("_", "\\_")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prometheus", required=True)
    ap.add_argument("--dashboard", required=True)
    ap.add_argument("--start", type=float, required=True)
    ap.add_argument("--end", type=float, required=True)
    ap.add_argument("--step", type=float, default=2)
    ap.add_argument("--rate-interval", default="10s")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    panels = json.load(open(a.dashboard))["panels"]
    work = tempfile.mkdtemp(prefix="meridian-dash.")
    cols = 3
    rows = (len(panels) + cols - 1) // cols
    g = [f"set terminal pngcairo size {cols * 560},{rows * 300} font ',9'",
         f"set output '{a.out}'",
         f"set multiplot layout {rows},{cols} title 'Meridian dashboard (deploy/grafana), "
         f"lab run, {int(a.end - a.start)} s' font ',12'",
         "set key top left font ',7' samplen 1 maxrows 4",
         "set xlabel 's' offset 0,0.5", "set grid", "set tmargin 2", "set bmargin 3"]
    summary = []
    for i, p in enumerate(panels):
        plots = []
        for t in p.get("targets", []):
            expr = t["expr"].replace("$__rate_interval", a.rate_interval)
            for j, series in enumerate(query_range(a.prometheus, expr, a.start, a.end, a.step)):
                path = os.path.join(work, f"p{i}_{len(plots)}.dat")
                with open(path, "w") as f:
                    for ts, v in series["values"]:
                        if v not in ("NaN", "+Inf", "-Inf"):
                            f.write(f"{float(ts) - a.start:.1f} {float(v)}\n")
                name = label(series["metric"], t.get("legendFormat", ""))
                plots.append(f"'{path}' using 1:2 with lines lw 1.5 title '{gp_escape(name)[:48]}'")
        summary.append(f"{p['title']}: {len(plots)} series")
        g.append(f"set title '{gp_escape(p['title'])}'")
        if plots:
            g.append("plot " + ", ".join(plots[:12]))
        else:
            g.append("set label 1 'no data in this lab' at graph 0.5,0.5 center")
            g.append("plot [0:1] [0:1] NaN notitle")
            g.append("unset label 1")
    g.append("unset multiplot")
    script = os.path.join(work, "dashboard.gp")
    open(script, "w").write("\n".join(g) + "\n")
    subprocess.run(["gnuplot", script], check=True)
    print("\n".join(summary))


if __name__ == "__main__":
    sys.exit(main())
