#!/usr/bin/env python3
"""Traffic patterns for the lab tests, run inside a pod's namespace.

  hold  --dst IP:PORT --count N --out FILE --stop FILE [--udp] [--timeout S]
        N long-lived connections (TCP line mode, or UDP sockets), each
        sending a line every 0.2 s until FILE --stop exists; a connection
        is broken when an exchange fails or another pod answers (a UDP
        exchange that times out is a lost datagram, not a break). Each
        exchange may take --timeout seconds (2). Writes {"conns", "rounds",
        "broken", "pods", "lost", "max_stall_s"} as JSON to --out:
        max_stall_s is the longest time a connection went without a
        completed exchange.
  probe --dst IP:PORT --out FILE --stop FILE [--interval S] [--timeout S]
        a new TCP connection (connect, one line, close) started every
        --interval seconds (0.1), whether or not the last one finished,
        until FILE --stop exists, each allowed --timeout seconds (1); writes [[start, end, ok], ...] (unix times) to --out.
  churn --dst IP:PORT --count N
        N short TCP connections (connect, one line, close); prints
        {"ok", "failed", "pods": {pod: connections it answered}}.
  pair  --dst IP:PORT --dst2 IP:PORT --port P
        two TCP connections from the same local port P (SO_REUSEADDR) to
        two VIPs; exchanges on the first, then the second, then the first
        again; prints {"first", "second", "first_again"} (pod names or
        "FAILED: reason").
  udp   --dst IP:PORT --port P
        one datagram from local port P; prints the pod that answered.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time


def addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def exchange(sock, udp, dst=None):
    if udp:
        sock.sendto(b"ping\n", dst)
        data, _ = sock.recvfrom(2048)
    else:
        sock.sendall(b"ping\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(2048)
            if not chunk:
                raise ConnectionError("closed by peer")
            data += chunk
    return data.decode().split()[0]


def hold(a):
    dst = addr(a.dst)
    conns, pods, broken = [], [], set()
    for _ in range(a.count):
        if a.udp:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        else:
            s = socket.create_connection(dst, timeout=2)
        s.settimeout(2)
        pods.append(exchange(s, a.udp, dst))
        s.settimeout(a.timeout)
        conns.append(s)
    rounds = lost = 0
    last_ok = [time.time()] * len(conns)
    max_stall = 0.0
    while not os.path.exists(a.stop):
        for i, s in enumerate(conns):
            if i in broken:
                continue
            try:
                if exchange(s, a.udp, dst) != pods[i]:
                    broken.add(i)
                    continue
                now = time.time()
                max_stall = max(max_stall, now - last_ok[i])
                last_ok[i] = now
            except socket.timeout:
                if a.udp:
                    lost += 1
                else:
                    broken.add(i)
            except OSError:
                broken.add(i)
        rounds += 1
        time.sleep(0.2)
    with open(a.out, "w") as f:
        json.dump({"conns": len(conns), "rounds": rounds, "broken": sorted(broken), "pods": pods,
                   "lost": lost, "max_stall_s": round(max_stall, 3)}, f)


def probe(a):
    # A new attempt starts every --interval seconds whether or not the last
    # one has finished, so a hung attempt does not hide when service came
    # back: the first success after a fault ends is known to --interval.
    dst = addr(a.dst)
    out = []
    lock = threading.Lock()

    def attempt():
        start = time.time()
        ok = False
        try:
            with socket.create_connection(dst, timeout=a.timeout) as s:
                s.settimeout(a.timeout)
                exchange(s, False)
                ok = True
        except OSError:
            pass
        with lock:
            out.append([round(start, 3), round(time.time(), 3), ok])

    threads = []
    next_start = time.time()
    while not os.path.exists(a.stop):
        t = threading.Thread(target=attempt)
        t.start()
        threads.append(t)
        next_start += a.interval
        time.sleep(max(0.0, next_start - time.time()))
    for t in threads:
        t.join()
    out.sort()
    with open(a.out, "w") as f:
        json.dump(out, f)


def churn(a):
    dst = addr(a.dst)
    ok = failed = 0
    pods = {}
    for _ in range(a.count):
        try:
            with socket.create_connection(dst, timeout=2) as s:
                s.settimeout(2)
                pod = exchange(s, False)
                pods[pod] = pods.get(pod, 0) + 1
                ok += 1
        except OSError:
            failed += 1
    print(json.dumps({"ok": ok, "failed": failed, "pods": pods}))


def pair(a):
    out = {}
    socks = []
    for dst in (addr(a.dst), addr(a.dst2)):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(2)
        s.bind(("0.0.0.0", a.port))
        socks.append((s, dst))
    for name, (s, dst) in (("first", socks[0]), ("second", socks[1]), ("first_again", socks[0])):
        try:
            if name != "first_again":
                s.connect(dst)
            out[name] = exchange(s, False)
        except OSError as e:
            out[name] = "FAILED: %s" % e
    print(json.dumps(out))


def udp(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(2)
    s.bind(("0.0.0.0", a.port))
    try:
        print(exchange(s, True, addr(a.dst)))
    except OSError as e:
        print("FAILED: %s" % e)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["hold", "churn", "pair", "udp", "probe"])
    p.add_argument("--dst", required=True)
    p.add_argument("--dst2")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--out")
    p.add_argument("--stop")
    p.add_argument("--udp", action="store_true")
    p.add_argument("--timeout", type=float, default=None)
    p.add_argument("--interval", type=float, default=0.1)
    a = p.parse_args()
    if a.timeout is None:
        a.timeout = 2.0 if a.mode == "hold" else 1.0
    {"hold": hold, "churn": churn, "pair": pair, "udp": udp, "probe": probe}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
