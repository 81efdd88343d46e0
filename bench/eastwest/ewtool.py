#!/usr/bin/env python3
"""Small timing helpers of the east-west suite (bench/run-eastwest-bench.sh).

  timed --timeout S --stdin FILE -- CMD...
      Runs CMD with FILE as stdin, killed after S seconds. Prints
      "elapsed_s maxrss_mib rc" (rc 124 = timed out; elapsed is then a lower bound).
  agent-sync --status FILE --services K --pidfile P --log L --timeout S -- AGENT CMD...
      Starts the agent (left running, pid in P), prints the seconds from
      the start until status.json says state=serving with >= K services.
  update --status FILE --file F --content C --timeout S
      Remembers the agent's reconcile count, atomically replaces F with the
      content of C (temp file beside F's directory + rename, as docs/manifests.md asks),
      prints the seconds until status.json reports a newer reconcile that
      wrote to the maps.
  maps-before
      Prints the ids of every BPF map (one line).
  map-mem --before IDS
      Sums bytes_memlock of the maps created since `maps-before`; prints MiB and count.
  map-mem-by-name --before IDS
      The same, one "name MiB" line per map.
  rss --pid P [--field F]
      VmRSS of P in MiB, or another field of /proc/P/status: RssAnon (the
      process's own memory), RssFile (its binary and libraries, and, for the
      agent, its mapping of the BPF Maglev array, whose pages the kernel map
      owns).
  phases --status FILE
      The agent's last apply by phase (status.json last_apply_ms), in seconds:
      "read desired write" (manifests -> model, model -> desired state with
      Maglev tables, map writer -> kernel).
"""
import json
import os
import resource
import subprocess
import sys
import time


def status(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def cmd_timed(args):
    timeout, stdin = float(opt(args, "--timeout")), opt(args, "--stdin")
    cmd = args[args.index("--") + 1:]
    t0 = time.monotonic()
    with open(stdin) as f:
        p = subprocess.Popen(cmd, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _, err = p.communicate(timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            rc = 124
            err = b""
    el = time.monotonic() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    if rc not in (0, 124):
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    print(f"{el:.3f} {rss:.1f} {rc}")
    return 0


def opt(args, name, default=None):
    if name in args:
        return args[args.index(name) + 1]
    return default


def cmd_agent_sync(args):
    st, want = opt(args, "--status"), int(opt(args, "--services"))
    pidfile, log, timeout = opt(args, "--pidfile"), opt(args, "--log"), float(opt(args, "--timeout", "600"))
    cmd = args[args.index("--") + 1:]
    try:
        os.unlink(st)
    except FileNotFoundError:
        pass
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
    with open(pidfile, "w") as f:
        f.write(str(p.pid))
    while time.monotonic() - t0 < timeout:
        s = status(st)
        if s and s.get("state") == "serving" and s.get("services", 0) >= want:
            print(f"{time.monotonic() - t0:.3f}")
            return 0
        if p.poll() is not None:
            print("agent exited", file=sys.stderr)
            return 1
        time.sleep(0.002)
    print(f"timeout; last status: {s}", file=sys.stderr)
    return 1


def cmd_update(args):
    st, target, content = opt(args, "--status"), opt(args, "--file"), opt(args, "--content")
    timeout = float(opt(args, "--timeout", "120"))
    s = status(st) or {}
    before = s.get("reconciles", 0)
    # Beside the directory, not in it: a file event there would start a
    # reconcile before the rename that is being timed.
    tmp = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(target))), ".ewtool-update.tmp")
    with open(content) as f, open(tmp, "w") as g:
        g.write(f.read())
    t0 = time.monotonic()
    os.rename(tmp, target)
    while time.monotonic() - t0 < timeout:
        s = status(st)
        if s and s.get("reconciles", 0) > before:
            w = s.get("last_writes", {})
            if any(v for v in w.values()):
                print(f"{time.monotonic() - t0:.4f}")
                return 0
            before = s["reconciles"]  # a reconcile that wrote nothing (e.g. the periodic resync)
        time.sleep(0.0005)
    print(f"timeout; last status: {s}", file=sys.stderr)
    return 1


def maps():
    out = subprocess.run(["bpftool", "map", "show", "-j"], capture_output=True, check=True).stdout
    return json.loads(out or b"[]")


def cmd_maps_before(_):
    print(" ".join(str(m["id"]) for m in maps()))
    return 0


def cmd_map_mem(args):
    before = set(int(x) for x in opt(args, "--before", "").split())
    new = [m for m in maps() if m["id"] not in before]
    total = sum(int(m.get("bytes_memlock", 0)) for m in new)
    print(f"{total / 1048576.0:.1f} {len(new)}")
    return 0


def cmd_map_mem_by_name(args):
    """One line per map created since --before: name and MiB (bytes_memlock)."""
    before = set(int(x) for x in opt(args, "--before", "").split())
    for m in maps():
        if m["id"] not in before:
            print(f"{m.get('name', '?')} {int(m.get('bytes_memlock', 0)) / 1048576.0:.2f}")
    return 0


def cmd_rss(args):
    field = (opt(args, "--field") or "VmRSS") + ":"
    with open(f"/proc/{opt(args, '--pid')}/status") as f:
        for line in f:
            if line.startswith(field):
                print(f"{int(line.split()[1]) / 1024.0:.1f}")
                return 0
    return 1


def cmd_phases(args):
    s = status(opt(args, "--status")) or {}
    p = s.get("last_apply_ms", {})
    print(" ".join(f"{p.get(k, 0) / 1000:.4f}" for k in ("read", "desired", "write")))
    return 0


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0
    return {"timed": cmd_timed, "agent-sync": cmd_agent_sync, "update": cmd_update,
            "maps-before": cmd_maps_before, "map-mem": cmd_map_mem, "map-mem-by-name": cmd_map_mem_by_name, "rss": cmd_rss,
            "phases": cmd_phases}[sys.argv[1]](sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
