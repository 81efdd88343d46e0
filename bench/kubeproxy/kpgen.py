#!/usr/bin/env python3
"""Generates the same N-service set in three forms, for the east-west benchmark:

  iptables   kube-proxy-shaped rules for `iptables-restore` (table nat):
             KUBE-SERVICES -> KUBE-SVC-<hash> -> KUBE-SEP-<hash>, one
             `-m statistic --mode random --probability 1/(n-i)` rule per
             endpoint, DNAT, KUBE-MARK-MASQ / KUBE-POSTROUTING masquerade.
  nft        kube-proxy-shaped rules for `nft -f` (table ip kube-proxy): a
             `service-ips` verdict map (daddr . proto . port), one chain per
             service port with `numgen random mod N vmap` to endpoint chains.
  manifests  Service + EndpointSlice YAML for meridian-agent --manifests,
             sharded (the agent rejects files above 4 MiB).

Service set (identical in every form, so the three translators see the same
work): N services; VIP of service i = 10.96.0.0 + 1 + i. Service i = N//2 is
the measured one ("bench", ports iperf 5201/TCP, sockperf 11111/TCP+UDP,
echo 8080/TCP) with one endpoint, --server. Every other service ("s<i>") has
one port 80/TCP -> 8080 and 10 endpoints drawn from 10.200.0.0/16 (never
sent to; they only load the lookup).

--sparse (iptables and nft): every VIP match rule / map element is present,
but only the measured service has its full service and endpoint chains; the
others jump to one shared empty chain. A packet to the measured VIP walks
exactly the same rules as with the full set, and the ruleset loads in
seconds at 50k services (full 10k-service iptables sets take > 600 s here).

--update: the one-endpoint update of the update target (service 0, or the
measured one when N = 1): its last endpoint is replaced by 10.201.0.1 (with
N = 1: 10.201.0.1 is added). For iptables/nft the output is the incremental
transaction kube-proxy would write (iptables: `iptables-restore --noflush`
input with the full KUBE-SERVICES chain, as kube-proxy always rewrites it,
plus the changed service chain and the new endpoint chain; nft: flush and
refill the service chain, add the endpoint chain, delete the old one); for
manifests it is the new content of the target's own file.

Chain names follow kube-proxy: base32(sha256(...)) truncated to 16 (iptables)
or 8 (nft) characters, deterministic.
"""
import argparse
import base64
import hashlib
import ipaddress
import json
import os
import sys

CLUSTER_CIDR = "10.1.0.0/16"
VIP_BASE = int(ipaddress.IPv4Address("10.96.0.1"))
FILLER_BASE = int(ipaddress.IPv4Address("10.200.0.0"))
FILLER_POOL = 60000  # distinct filler endpoint addresses (agent backends are deduplicated)
UPDATED_EP = "10.201.0.1"
ENDPOINTS_PER_SERVICE = 10
BENCH_PORTS = [("iperf", "TCP", 5201, 5201), ("sockperf-tcp", "TCP", 11111, 11111),
               ("sockperf-udp", "UDP", 11111, 11111), ("echo", "TCP", 8080, 8080)]
FILLER_PORTS = [("http", "TCP", 80, 8080)]


def ip(n):
    return str(ipaddress.IPv4Address(n))


class Service:
    def __init__(self, index, name, vip, ports, endpoints):
        self.index, self.name, self.vip, self.ports, self.endpoints = index, name, vip, ports, endpoints


def measured_index(n):
    return n // 2


def update_index(n):
    return 0 if n > 1 else measured_index(n)


def services(n, server, updated=False):
    m, u = measured_index(n), update_index(n)
    for i in range(n):
        if i == m:
            eps = [server]
            name, ports = "bench", BENCH_PORTS
        else:
            eps = [ip(FILLER_BASE + (i * ENDPOINTS_PER_SERVICE + j) % FILLER_POOL)
                   for j in range(ENDPOINTS_PER_SERVICE)]
            name, ports = f"s{i}", FILLER_PORTS
        if updated and i == u:
            eps = eps + [UPDATED_EP] if i == m else eps[:-1] + [UPDATED_EP]
        yield Service(i, name, ip(VIP_BASE + i), ports, eps)


def h(s, n):
    return base64.b32encode(hashlib.sha256(s.encode()).digest()).decode()[:n]


def spn(svc, pname):  # kube-proxy's ServicePortName string
    return f"default/{svc.name}:{pname}"


def svc_chain(svc, pname, proto):
    return "KUBE-SVC-" + h(spn(svc, pname) + proto.lower(), 16)


def sep_chain(svc, pname, proto, ep, port):
    return "KUBE-SEP-" + h(spn(svc, pname) + proto.lower() + f"{ep}:{port}", 16)


# ---------------------------------------------------------------- iptables
def ipt_services_rules(svcs, sparse_target, measured):
    out = []
    for s in svcs:
        for pname, proto, port, _ in s.ports:
            p = proto.lower()
            target = svc_chain(s, pname, proto) if (sparse_target is None or s.index == measured) else sparse_target
            out.append(f'-A KUBE-SERVICES -d {s.vip}/32 -p {p} -m comment --comment "{spn(s, pname)} cluster IP" '
                       f'-m {p} --dport {port} -j {target}')
    return out


def ipt_service_chain(s, pname, proto, port, tport):
    """(declarations, rules) of one service port's KUBE-SVC chain and its KUBE-SEP chains."""
    p = proto.lower()
    svc = svc_chain(s, pname, proto)
    decl, rules = [svc], []
    rules.append(f'-A {svc} ! -s {CLUSTER_CIDR} -d {s.vip}/32 -p {p} -m comment --comment "{spn(s, pname)} cluster IP" '
                 f'-m {p} --dport {port} -j KUBE-MARK-MASQ')
    n = len(s.endpoints)
    for k, ep in enumerate(s.endpoints):
        sep = sep_chain(s, pname, proto, ep, tport)
        stat = f"-m statistic --mode random --probability {1.0 / (n - k):0.10f} " if k < n - 1 else ""
        rules.append(f'-A {svc} -m comment --comment "{spn(s, pname)} -> {ep}:{tport}" {stat}-j {sep}')
        decl.append(sep)
        rules.append(f'-A {sep} -s {ep}/32 -m comment --comment {spn(s, pname)} -j KUBE-MARK-MASQ')
        rules.append(f'-A {sep} -p {p} -m comment --comment {spn(s, pname)} -m {p} -j DNAT --to-destination {ep}:{tport}')
    return decl, rules


def iptables(n, server, sparse):
    svcs = list(services(n, server))
    m = measured_index(n)
    decl = ["KUBE-SERVICES", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"]
    body = []
    filler = "KUBE-SVC-SPARSEFILLER0000" if sparse else None
    if sparse:
        decl.append(filler)
    for s in svcs:
        if sparse and s.index != m:
            continue
        for pname, proto, port, tport in s.ports:
            d, r = ipt_service_chain(s, pname, proto, port, tport)
            decl += d
            body += r
    out = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
           ":POSTROUTING ACCEPT [0:0]"]
    out += [f":{c} - [0:0]" for c in decl]
    out += ['-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
            '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
            '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
            "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
            "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000",
            '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
            "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000"]
    out += ipt_services_rules(svcs, filler, m)
    out += body
    out.append("COMMIT")
    return "\n".join(out) + "\n"


def iptables_update(n, server):
    """`iptables-restore --noflush` input: KUBE-SERVICES rewritten in full (as kube-proxy
    always does), the target's service chain rewritten, new endpoint chain, old one deleted."""
    old = list(services(n, server))
    new = list(services(n, server, updated=True))
    u = update_index(n)
    s_old, s_new = old[u], new[u]
    decl, rules, delete = ["KUBE-SERVICES"], [], []
    for pname, proto, port, tport in s_new.ports:
        d, r = ipt_service_chain(s_new, pname, proto, port, tport)
        decl += d
        rules += r
        gone = set(s_old.endpoints) - set(s_new.endpoints)
        delete += [sep_chain(s_old, pname, proto, ep, tport) for ep in sorted(gone)]
    out = ["*nat"] + [f":{c} - [0:0]" for c in decl] + [f":{c} - [0:0]" for c in delete]
    out += ipt_services_rules(new, None, measured_index(n))
    out += rules
    out += [f"-X {c}" for c in delete]
    out.append("COMMIT")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- nftables
def nft_svc_chain(s, pname, proto):
    p = proto.lower()
    return f"service-{h(spn(s, pname) + p, 8)}-default/{s.name}/{p}/{pname}"


def nft_ep_chain(s, pname, proto, ep, tport):
    p = proto.lower()
    return f"endpoint-{h(spn(s, pname) + p + f'{ep}:{tport}', 8)}-default/{s.name}/{p}/{pname}__{ep}/{tport}"


def nft_service_chain(s, pname, proto, port, tport):
    """Statements creating one service port's chain and its endpoint chains."""
    p = proto.lower()
    svc = nft_svc_chain(s, pname, proto)
    out = [f"add chain ip kube-proxy {svc}"]
    eps = []
    for ep in s.endpoints:
        c = nft_ep_chain(s, pname, proto, ep, tport)
        eps.append(c)
        out.append(f"add chain ip kube-proxy {c}")
        out.append(f"add rule ip kube-proxy {c} ip saddr {ep} jump mark-for-masquerade")
        out.append(f"add rule ip kube-proxy {c} meta l4proto {p} dnat to {ep}:{tport}")
    out.append(f"add rule ip kube-proxy {svc} ip daddr {s.vip} {p} dport {port} ip saddr != {CLUSTER_CIDR} "
               f"jump mark-for-masquerade")
    vmap = ", ".join(f"{k} : goto {c}" for k, c in enumerate(eps))
    out.append(f"add rule ip kube-proxy {svc} numgen random mod {len(eps)} vmap {{ {vmap} }}")
    return out


def nft(n, server, sparse):
    svcs = list(services(n, server))
    m = measured_index(n)
    out = ["add table ip kube-proxy { comment \"rules for kube-proxy\" ; }",
           "add chain ip kube-proxy mark-for-masquerade",
           "add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000",
           "add chain ip kube-proxy masquerading",
           "add rule ip kube-proxy masquerading mark and 0x4000 == 0 return",
           "add rule ip kube-proxy masquerading mark set mark xor 0x4000",
           "add rule ip kube-proxy masquerading masquerade fully-random",
           "add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; "
           "comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }",
           "add chain ip kube-proxy services",
           "add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips",
           "add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }",
           "add rule ip kube-proxy nat-prerouting jump services",
           "add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }",
           "add rule ip kube-proxy nat-output jump services",
           "add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }",
           "add rule ip kube-proxy nat-postrouting jump masquerading"]
    if sparse:
        out.append("add chain ip kube-proxy service-sparse-filler")
    elems = []
    for s in svcs:
        for pname, proto, port, tport in s.ports:
            full = not sparse or s.index == m
            if full:
                out += nft_service_chain(s, pname, proto, port, tport)
            target = nft_svc_chain(s, pname, proto) if full else "service-sparse-filler"
            elems.append(f"{s.vip} . {proto.lower()} . {port} : goto {target}")
    for k in range(0, len(elems), 1000):  # bounded statement size
        out.append("add element ip kube-proxy service-ips { " + ", ".join(elems[k:k + 1000]) + " }")
    return "\n".join(out) + "\n"


def nft_update(n, server):
    old = list(services(n, server))
    new = list(services(n, server, updated=True))
    u = update_index(n)
    s_old, s_new = old[u], new[u]
    out = []
    for pname, proto, port, tport in s_new.ports:
        svc = nft_svc_chain(s_new, pname, proto)
        out.append(f"flush chain ip kube-proxy {svc}")
        for ep in s_new.endpoints:
            if ep not in s_old.endpoints:
                c = nft_ep_chain(s_new, pname, proto, ep, tport)
                out.append(f"add chain ip kube-proxy {c}")
                out.append(f"add rule ip kube-proxy {c} ip saddr {ep} jump mark-for-masquerade")
                out.append(f"add rule ip kube-proxy {c} meta l4proto {proto.lower()} dnat to {ep}:{tport}")
        # refill the service chain (same two rules as nft_service_chain)
        full = nft_service_chain(s_new, pname, proto, port, tport)
        out += [st for st in full if st.startswith(f"add rule ip kube-proxy {svc} ")]
        for ep in s_old.endpoints:
            if ep not in s_new.endpoints:
                out.append(f"delete chain ip kube-proxy {nft_ep_chain(s_old, pname, proto, ep, tport)}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- manifests
def service_yaml(s):
    out = ["apiVersion: v1", "kind: Service", f"metadata: {{name: {s.name}, namespace: default}}",
           "spec:", f"  clusterIP: {s.vip}", "  ports:"]
    out += [f"  - {{name: {pn}, protocol: {pr}, port: {po}, targetPort: {tp}}}" for pn, pr, po, tp in s.ports]
    out += ["---", "apiVersion: discovery.k8s.io/v1", "kind: EndpointSlice",
            f"metadata: {{name: {s.name}-1, namespace: default, labels: {{kubernetes.io/service-name: {s.name}}}}}",
            "addressType: IPv4", "ports:"]
    out += [f"- {{name: {pn}, protocol: {pr}, port: {tp}}}" for pn, pr, po, tp in s.ports]
    out.append("endpoints:")
    out += [f"- {{addresses: [{ep}], conditions: {{ready: true}}}}" for ep in s.endpoints]
    out.append("---")
    return "\n".join(out) + "\n"


def service_objects(s):
    """The Service and its EndpointSlice as JSON-ready dicts (same content as service_yaml)."""
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": s.name, "namespace": "default"},
           "spec": {"clusterIP": s.vip,
                    "ports": [{"name": pn, "protocol": pr, "port": po, "targetPort": tp}
                              for pn, pr, po, tp in s.ports]}}
    eps = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": f"{s.name}-1", "namespace": "default",
                        "labels": {"kubernetes.io/service-name": s.name}},
           "addressType": "IPv4",
           "ports": [{"name": pn, "protocol": pr, "port": tp} for pn, pr, po, tp in s.ports],
           "endpoints": [{"addresses": [ep], "conditions": {"ready": True}} for ep in s.endpoints]}
    return [svc, eps]


def json_list(objects):
    """One .json file holds one value: a v1 List of the objects."""
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, separators=(",", ":")) + "\n"


def own_file(n, i):
    """The measured service and the update target get a file of their own."""
    return i in (measured_index(n), update_index(n))


def file_of(n, i, shard, fmt="yaml"):
    if i == measured_index(n):
        return f"bench.{fmt}"
    if i == update_index(n):
        return f"update-target.{fmt}"
    return f"services-{i // shard:04d}.{fmt}"


def manifests(n, server, out_dir, shard, fmt="yaml"):
    os.makedirs(out_dir, exist_ok=True)
    files = {}
    for s in services(n, server):
        doc = service_objects(s) if fmt == "json" else [service_yaml(s)]
        files.setdefault(file_of(n, s.index, shard, fmt), []).extend(doc)
    for name, docs in files.items():
        with open(os.path.join(out_dir, name), "w") as f:
            f.write(json_list(docs) if fmt == "json" else "".join(docs))
    return sorted(files)


def manifest_update(n, server, fmt="yaml"):
    u = update_index(n)
    s = list(services(n, server, updated=True))[u]
    return json_list(service_objects(s)) if fmt == "json" else service_yaml(s)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("form", choices=["iptables", "nft", "manifests"])
    ap.add_argument("--services", type=int, required=True, help="number of services N (>= 1)")
    ap.add_argument("--server", required=True, help="endpoint address of the measured service")
    ap.add_argument("--sparse", action="store_true", help="full chains only for the measured service")
    ap.add_argument("--update", action="store_true", help="emit the one-endpoint update instead")
    ap.add_argument("--out", help="manifests: output directory (required); else a file (default stdout)")
    ap.add_argument("--shard", type=int, default=500, help="manifests: services per file (default 500)")
    ap.add_argument("--format", choices=["yaml", "json"], default="yaml",
                    help="manifests: YAML documents, or one JSON v1 List per file (what a watch delivers)")
    a = ap.parse_args(argv)
    if a.services < 1:
        ap.error("--services must be >= 1")
    if a.form == "manifests":
        if a.update:
            text = manifest_update(a.services, a.server, a.format)
        else:
            if not a.out:
                ap.error("manifests needs --out DIR")
            for f in manifests(a.services, a.server, a.out, a.shard, a.format):
                print(os.path.join(a.out, f))
            return 0
    elif a.form == "iptables":
        text = iptables_update(a.services, a.server) if a.update else iptables(a.services, a.server, a.sparse)
    else:
        text = nft_update(a.services, a.server) if a.update else nft(a.services, a.server, a.sparse)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
