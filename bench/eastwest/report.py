#!/usr/bin/env python3
"""Renders the east-west suite's raw rows into tables and plots.

Usage: report.py --raw eastwest-raw.csv --out DIR --command "..." [--crosscluster crosscluster.md]
Writes DIR/eastwest.md, DIR/eastwest.csv (median, min, max, rounds, ratio to
direct per scale/mode/metric) and DIR/eastwest-*.png (gnuplot, if present).

Ratios to direct are paired: the ratio mode/direct is taken per round (both
measured back to back in that round), then the median over the rounds.
"""
import argparse
import csv
import os
import platform
import shutil
import statistics
import subprocess
from collections import defaultdict

MODES = ["direct", "iptables", "nft", "meridian"]
DP = [("tcp1_gbps", "TCP 1 flow Gbit/s"), ("tcp4_gbps", "TCP 4 flows Gbit/s"),
      ("tcp_rr_p50_us", "TCP RR p50 µs"), ("tcp_rr_p99_us", "TCP RR p99 µs"),
      ("udp_rr_p50_us", "UDP RR p50 µs"), ("udp_rr_p99_us", "UDP RR p99 µs"),
      ("conn_per_s", "new conn/s"), ("first_pkt_p50_us", "first-packet p50 µs"),
      ("first_pkt_p99_us", "first-packet p99 µs"), ("conn_txn_p50_us", "connect+request+close p50 µs"),
      ("conn_errors", "connrate errors (1 s timeouts) per run")]


def f(x, nd=2):
    return "–" if x is None else f"{x:,.{nd}f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--command", default="")
    ap.add_argument("--crosscluster", default="")
    ap.add_argument("--elapsed", default="")
    a = ap.parse_args()
    rows = list(csv.DictReader(open(a.raw)))
    vals = defaultdict(dict)  # (scale, mode, metric) -> {round: value}
    notes = {}
    for r in rows:
        key = (int(r["scale"]), r["mode"], r["metric"])
        if r["note"]:
            notes[key] = r["note"]
        if r["value"] == "":
            continue
        if r["metric"] in ("first_pkt_p50_us", "first_pkt_p99_us", "conn_txn_p50_us") and float(r["value"]) == 0:
            continue  # connrate made no good connection in that run (older raw files recorded 0)
        try:
            vals[key][int(r["round"])] = float(r["value"])
        except ValueError:
            notes[key] = r["value"]
    scales = sorted({k[0] for k in vals} | {k[0] for k in notes})

    def stat(scale, mode, metric):
        v = vals.get((scale, mode, metric))
        if not v:
            return None
        xs = list(v.values())
        return statistics.median(xs), min(xs), max(xs), len(xs)

    def ratio(scale, mode, metric):
        v, d = vals.get((scale, mode, metric)), vals.get((scale, "direct", metric))
        if not v or not d:
            return None
        rs = [v[r] / d[r] for r in v if r in d and d[r]]
        return statistics.median(rs) if rs else None

    def med(scale, mode, metric):
        s = stat(scale, mode, metric)
        return s[0] if s else None

    os.makedirs(a.out, exist_ok=True)
    # ---------------------------------------------------------- CSV summary
    with open(os.path.join(a.out, "eastwest.csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["scale", "mode", "metric", "median", "min", "max", "rounds", "ratio_to_direct", "note"])
        for (scale, mode, metric) in sorted(set(vals) | set(notes)):
            s = stat(scale, mode, metric)
            rt = ratio(scale, mode, metric) if mode in MODES and any(metric == m for m, _ in DP) else None
            w.writerow([scale, mode, metric] + (list(s) if s else ["", "", "", 0]) +
                       ["" if rt is None else f"{rt:.4f}", notes.get((scale, mode, metric), "")])

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    rounds = max((len(v) for k, v in vals.items() if k[2] == "tcp1_gbps"), default=0)
    L = []
    L.append("# East-west: Meridian vs kube-proxy-shaped iptables and nftables vs direct pod IP\n")
    L.append(f"Command: `{a.command}`" + (f" (took {a.elapsed})" if a.elapsed else "") + "\n")
    L.append(f"Machine: {os.cpu_count()} CPUs, {cpu}, kernel {platform.release()}, "
             f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB\n")
    L.append(f"Client pod (node 1) -> server pod (node 2) of one lab cluster; {rounds} rounds, the four modes "
             "back to back in every round. Cells: median (min–max) over the rounds; ×direct: median of the "
             "per-round ratios to direct. RR latency as sockperf reports it (half the round trip). "
             "First packet = the connect() time of a new connection (SYN -> SYN-ACK through the translator).\n")
    rs = {s: (notes.get((s, "all", "datapath_ruleset")) or
              ("sparse" if vals.get((s, "all", "datapath_ruleset")) else "")) for s in scales}
    for r in rows:
        if r["metric"] == "datapath_ruleset":
            rs[int(r["scale"])] = r["value"].lstrip("-")
    L.append("Baseline rule sets used for the datapath rounds: " +
             ", ".join(f"{s:,} services: {rs.get(s) or '?'}" for s in scales) +
             " (sparse = every VIP match rule, full chains only for the measured service; see docs/benchmarks.md).\n")

    L.append("## Datapath\n")
    for metric, title in DP:
        if not any(vals.get((s, m, metric)) for s in scales for m in MODES):
            continue
        L.append(f"### {title}\n")
        L.append("| services | " + " | ".join(MODES) + " | " + " | ".join(f"{m} ×direct" for m in MODES[1:]) + " |")
        L.append("|---:|" + "---:|" * (2 * len(MODES) - 1))
        for s in scales:
            cells = []
            for m in MODES:
                st = stat(s, m, metric)
                cells.append("–" if not st else f"{f(st[0])} ({f(st[1])}–{f(st[2])})")
            rats = [f(ratio(s, m, metric), 3) for m in MODES[1:]]
            L.append(f"| {s:,} | " + " | ".join(cells) + " | " + " | ".join(rats) + " |")
        L.append("")

    L.append("## Control plane: full sync from cold and one-endpoint update\n")
    L.append("One measurement per scale. iptables: `iptables-restore` (full set, table nat); update: "
             "`iptables-restore --noflush` with KUBE-SERVICES rewritten in full plus the changed chains, as "
             "kube-proxy does. nft: `nft -f` (table ip kube-proxy); update: flush and refill the service "
             "chain, add/delete the endpoint chains. meridian: agent start with no pins -> status.json "
             "serving every frontend (end to end: process start, BPF load, reading and decoding the "
             "manifests, Maglev tables, map writes); map writer: the same sync's desired state -> BPF "
             "maps phase, as the agent timed it (status.json `last_apply_ms.write`), the counterpart of "
             "iptables-restore and nft loading a ruleset prepared for them; update: one EndpointSlice file "
             "replaced -> status.json reports the reconcile that wrote the maps. `>`: the load hit the "
             "timeout (lower bound).\n")
    L.append("| services | iptables full s | nft full s | meridian full s | meridian map writer s "
             "| iptables ÷ meridian | nft ÷ meridian | iptables ÷ map writer "
             "| iptables update s | nft update s | meridian update s | iptables-restore peak RSS MiB | nft peak RSS MiB |")
    L.append("|---:|" + "---:|" * 12)

    def cp(s, m, metric, nd=3):
        v = med(s, m, metric)
        n = notes.get((s, m, metric), "")
        if v is None:
            return "n/a" if not n else f"n/a ({n})"
        return (">" if n.startswith("lower bound") else "") + f(v, nd)

    for s in scales:
        mi = med(s, "meridian", "full_sync_s")
        ri = lambda m: ("≥ " if notes.get((s, m, "full_sync_s"), "").startswith("lower") else "") + \
            (f(med(s, m, "full_sync_s") / mi, 1) if mi and med(s, m, "full_sync_s") else "–")
        wi, ii = med(s, "meridian", "writer_s"), med(s, "iptables", "full_sync_s")
        rw = (("≥ " if notes.get((s, "iptables", "full_sync_s"), "").startswith("lower") else "")
              + f(ii / wi, 1)) if wi and ii else "–"
        L.append(f"| {s:,} | {cp(s, 'iptables', 'full_sync_s')} | {cp(s, 'nft', 'full_sync_s')} | "
                 f"{cp(s, 'meridian', 'full_sync_s')} | {cp(s, 'meridian', 'writer_s', 4)} | "
                 f"{ri('iptables')} | {ri('nft')} | {rw} | "
                 f"{cp(s, 'iptables', 'update_s', 4)} | {cp(s, 'nft', 'update_s', 4)} | {cp(s, 'meridian', 'update_s', 4)} | "
                 f"{cp(s, 'iptables', 'loader_peak_rss_mib', 1)} | {cp(s, 'nft', 'loader_peak_rss_mib', 1)} |")
    L.append("")
    L.append("## Memory (Meridian)\n")
    L.append("Agent RSS (VmRSS after the full sync) and the memlock of every BPF map the agent created "
             "(`bpftool map show`, maps new since before the start: pinned maps, Maglev inner tables, .bss/.rodata).\n")
    L.append("| services | agent RSS MiB | BPF maps MiB | maps |")
    L.append("|---:|---:|---:|---:|")
    for s in scales:
        L.append(f"| {s:,} | {cp(s, 'meridian', 'agent_rss_mib', 1)} | {cp(s, 'meridian', 'bpf_map_mib', 1)} | "
                 f"{notes.get((s, 'meridian', 'bpf_map_mib'), '').replace(' maps', '')} |")
    L.append("")

    # ------------------------------------------------------------- goals
    L.append("## Goals (issue #5)\n")
    def yes(b):
        return "**met**" if b else "**not met**"
    for s in scales:
        r1 = ratio(s, "meridian", "tcp1_gbps")
        r4 = ratio(s, "meridian", "tcp4_gbps")
        if r1 is not None:
            L.append(f"- {s:,} services: via-VIP TCP stream ≥ 97% of direct: 1 flow {f(r1 * 100, 1)}%, "
                     f"4 flows {f((r4 or 0) * 100, 1)}% — {yes(r1 >= 0.97 and (r4 or 0) >= 0.97)}")
        p = ratio(s, "meridian", "tcp_rr_p50_us")
        u = ratio(s, "meridian", "udp_rr_p50_us")
        if p is not None:
            L.append(f"- {s:,} services: p50 RR overhead ≤ 3% of direct: TCP {f((p - 1) * 100, 1)}%, UDP "
                     f"{f(((u or 0) - 1) * 100, 1)}% — {yes(p <= 1.03 and u is not None and u <= 1.03)}")
    ps = [ratio(s, "meridian", "tcp_rr_p50_us") for s in scales]
    ps = [p for p in ps if p is not None]
    if len(ps) > 1:
        L.append(f"- p50 flat from {scales[0]:,} to {scales[-1]:,} services: ratio to direct from "
                 f"{f(min(ps), 3)} to {f(max(ps), 3)} (spread {f((max(ps) - min(ps)) * 100, 1)} points)")
    goal = 10000 if 10000 in scales else None
    if goal is None:
        L.append(f"- 10k-service goals: **not measured in this run** (scales {', '.join(f'{s:,}' for s in scales)}); "
                 f"the largest scale measured, {scales[-1]:,}, is shown as an indication:")
    s = goal or scales[-1]
    fi, fm = med(s, "iptables", "first_pkt_p50_us"), med(s, "meridian", "first_pkt_p50_us")
    if fi and fm:
        L.append(f"  - {s:,} services: first-packet latency ≥ 5× lower than iptables: iptables {f(fi)} µs, "
                 f"meridian {f(fm)} µs = {f(fi / fm, 2)}× — {yes(fi / fm >= 5)}")
    for m, want in (("iptables", 50), ("nft", 2)):
        a_, b_ = med(s, m, "full_sync_s"), med(s, "meridian", "full_sync_s")
        w_ = med(s, "meridian", "writer_s")
        if a_ and b_:
            lb = notes.get((s, m, "full_sync_s"), "").startswith("lower")
            ge = "≥ " if lb else ""
            line = (f"  - {s:,} services: full sync ≥ {want}× faster than {m}: {m} {'>' if lb else ''}{f(a_, 2)} s; "
                    f"meridian map writer {f(w_, 3) if w_ else 'n/a'} s = "
                    f"{ge + f(a_ / w_, 1) if w_ else '–'}× — {yes(bool(w_) and a_ / w_ >= want)}; "
                    f"meridian end to end {f(b_, 3)} s = {ge}{f(a_ / b_, 1)}× — {yes(a_ / b_ >= want)}")
            L.append(line)
    L.append("")
    if a.crosscluster and os.path.exists(a.crosscluster):
        L.append("## Cross-cluster (bench/run-crosscluster-bench.sh, same suite run)\n")
        body = open(a.crosscluster).read().split("\n", 1)[1]
        L.append(body.replace("\n# ", "\n### "))
    L.append("## Plots\n")
    for p in ("throughput", "latency", "firstpkt", "sync", "memory"):
        L.append(f"![{p}](eastwest-{p}.png)")
    with open(os.path.join(a.out, "eastwest.md"), "w") as fh:
        fh.write("\n".join(L) + "\n")

    # ------------------------------------------------------------- plots
    if not shutil.which("gnuplot"):
        print("gnuplot not found: no plots")
        return 0
    dat = os.path.join(a.out, ".plotdata")
    os.makedirs(dat, exist_ok=True)

    def series(mode, metric):
        path = os.path.join(dat, f"{mode}-{metric}.dat")
        with open(path, "w") as fh:
            for s in scales:
                st = stat(s, mode, metric)
                if st:
                    fh.write(f"{s} {st[0]} {st[1]} {st[2]}\n")
        return path

    def plot(name, title, ylabel, lines, logy=False, errbars=True):
        g = [f"set terminal pngcairo size 900,540 font ',10'", f"set output '{os.path.join(a.out, 'eastwest-' + name + '.png')}'",
             f"set title '{title}'", "set xlabel 'services'", f"set ylabel '{ylabel}'", "set logscale x",
             "set key outside right", "set grid", "set xrange [0.5:*]"]
        if logy:
            g.append("set logscale y")
        parts = []
        for path, label in lines:
            if os.path.getsize(path) == 0:
                continue
            if errbars:
                parts.append(f"'{path}' using 1:2:3:4 with yerrorlines title '{label}'")
            else:
                parts.append(f"'{path}' using 1:2 with linespoints title '{label}'")
        if not parts:
            return
        g.append("plot " + ", ".join(parts))
        subprocess.run(["gnuplot"], input="\n".join(g).encode(), check=True)

    plot("throughput", "TCP stream through the service (median, min-max)", "Gbit/s",
         [(series(m, "tcp1_gbps"), f"{m} 1 flow") for m in MODES] +
         [(series(m, "tcp4_gbps"), f"{m} 4 flows") for m in MODES])
    plot("latency", "Request/response latency p50 (sockperf, half RTT)", "µs",
         [(series(m, "tcp_rr_p50_us"), f"{m} TCP") for m in MODES] +
         [(series(m, "udp_rr_p50_us"), f"{m} UDP") for m in MODES])
    plot("firstpkt", "First-packet latency p50 (connect() of a new connection)", "µs",
         [(series(m, "first_pkt_p50_us"), m) for m in MODES])
    plot("sync", "Full sync from cold (lower bound when capped)", "seconds",
         [(series(m, "full_sync_s"), m) for m in ("iptables", "nft", "meridian")], logy=True)
    plot("memory", "Meridian memory", "MiB",
         [(series("meridian", "agent_rss_mib"), "agent RSS"), (series("meridian", "bpf_map_mib"), "BPF maps")])
    shutil.rmtree(dat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
