#!/usr/bin/env python3
"""Unit tests of kpgen.py (no root needed): python3 bench/kubeproxy/test_kpgen.py"""
import json
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kpgen  # noqa: E402

SERVER = "10.1.2.11"


class IptablesTest(unittest.TestCase):
    def test_shape_and_counts(self):
        text = kpgen.iptables(5, SERVER, sparse=False)
        lines = text.splitlines()
        self.assertEqual(lines[0], "*nat")
        self.assertEqual(lines[-1], "COMMIT")
        svc_rules = [l for l in lines if l.startswith("-A KUBE-SERVICES")]
        self.assertEqual(len(svc_rules), 4 * 1 + 4)  # 4 fillers x 1 port + bench x 4 ports
        # filler: 1 masq + 10 jumps, 10 endpoint chains of 2 rules; bench ports: 1 + 1 + 2
        self.assertEqual(len([l for l in lines if l.startswith("-A KUBE-SVC-")]), 4 * 11 + 4 * 2)
        self.assertEqual(len([l for l in lines if l.startswith("-A KUBE-SEP-")]), 4 * 20 + 4 * 2)
        self.assertIn("-j DNAT --to-destination 10.1.2.11:5201", text)

    def test_probabilities(self):
        text = kpgen.iptables(2, SERVER, sparse=False)
        probs = re.findall(r"--probability (\S+)", text)
        want = [f"{1.0 / (10 - k):0.10f}" for k in range(9)]
        self.assertEqual(probs, want)  # last endpoint: no statistic match

    def test_names_deterministic_kube_proxy_shape(self):
        s = list(kpgen.services(3, SERVER))[0]
        a = kpgen.svc_chain(s, "http", "TCP")
        self.assertEqual(a, kpgen.svc_chain(s, "http", "TCP"))
        self.assertRegex(a, r"^KUBE-SVC-[A-Z2-7]{16}$")
        self.assertRegex(kpgen.sep_chain(s, "http", "TCP", "10.200.0.1", 8080), r"^KUBE-SEP-[A-Z2-7]{16}$")

    def test_sparse_keeps_every_vip_rule(self):
        full = kpgen.iptables(101, SERVER, sparse=False)
        sparse = kpgen.iptables(101, SERVER, sparse=True)
        vips = lambda t: re.findall(r"-A KUBE-SERVICES -d (\S+) -p (\w+) .* --dport (\d+)", t)
        self.assertEqual(vips(full), vips(sparse))
        self.assertEqual(len([l for l in sparse.splitlines() if l.startswith("-A KUBE-SEP-")]), 8)
        # the measured VIP is at the same position and reaches the same DNAT
        m = list(kpgen.services(101, SERVER))[50]
        self.assertEqual(m.name, "bench")
        self.assertIn(kpgen.svc_chain(m, "iperf", "TCP"), sparse)

    def test_update_replaces_one_endpoint(self):
        up = kpgen.iptables_update(5, SERVER)
        self.assertIn("10.201.0.1:8080", up)
        self.assertEqual(len(re.findall(r"^-X KUBE-SEP-", up, re.M)), 1)
        self.assertEqual(len([l for l in up.splitlines() if l.startswith("-A KUBE-SERVICES")]), 8)


class NftTest(unittest.TestCase):
    def test_shape(self):
        text = kpgen.nft(5, SERVER, sparse=False)
        self.assertIn("numgen random mod 10 vmap { 0 : goto endpoint-", text)
        self.assertIn("ip daddr . meta l4proto . th dport vmap @service-ips", text)
        elems = re.findall(r"(\d+\.\d+\.\d+\.\d+) \. (tcp|udp) \. (\d+) : goto", text)
        self.assertEqual(len(elems), 8)
        # chains are declared before they are referenced
        seen = set()
        for line in text.splitlines():
            m = re.match(r"add chain ip kube-proxy (\S+)", line)
            if m:
                seen.add(m.group(1))
            for ref in re.findall(r"(?:goto|jump) ([\w./-]+)", line):
                self.assertIn(ref, seen, line)

    def test_sparse_and_update(self):
        sparse = kpgen.nft(1001, SERVER, sparse=True)
        self.assertEqual(len(re.findall(r" : goto ", sparse.split("add element", 1)[1])), 1000 + 4)
        self.assertEqual(sparse.count("numgen random"), 4)
        up = kpgen.nft_update(5, SERVER)
        self.assertIn("dnat to 10.201.0.1:8080", up)
        self.assertEqual(up.count("delete chain"), 1)


class ManifestTest(unittest.TestCase):
    def test_files(self):
        with tempfile.TemporaryDirectory() as d:
            files = kpgen.manifests(1201, SERVER, d, shard=500)
            self.assertIn("bench.yaml", files)
            self.assertIn("update-target.yaml", files)
            text = "".join(open(os.path.join(d, f)).read() for f in files)
            self.assertEqual(text.count("kind: Service\n"), 1201)
            self.assertEqual(text.count("kind: EndpointSlice\n"), 1201)
            for f in files:
                self.assertLess(os.path.getsize(os.path.join(d, f)), 4 << 20)
        self.assertIn("10.201.0.1", kpgen.manifest_update(1201, SERVER))
        self.assertIn("addresses: [10.201.0.1]", kpgen.manifest_update(1, SERVER))

    def test_json_files_hold_the_same_objects(self):
        with tempfile.TemporaryDirectory() as d:
            files = kpgen.manifests(1201, SERVER, d, shard=500, fmt="json")
            self.assertIn("bench.json", files)
            self.assertIn("update-target.json", files)
            items = []
            for f in files:
                doc = json.load(open(os.path.join(d, f)))
                self.assertEqual((doc["apiVersion"], doc["kind"]), ("v1", "List"))
                items += doc["items"]
                self.assertLess(os.path.getsize(os.path.join(d, f)), 4 << 20)
            kinds = [i["kind"] for i in items]
            self.assertEqual(kinds.count("Service"), 1201)
            self.assertEqual(kinds.count("EndpointSlice"), 1201)
            svc = next(i for i in items if i["kind"] == "Service" and i["metadata"]["name"] == "bench")
            self.assertEqual(svc["spec"]["ports"][0]["port"], 5201)  # numbers stay numbers
        upd = json.loads(kpgen.manifest_update(1201, SERVER, "json"))
        self.assertIn("10.201.0.1", json.dumps(upd))

    def test_vips_unique(self):
        vips = [s.vip for s in kpgen.services(50000, SERVER)]
        self.assertEqual(len(set(vips)), 50000)
        self.assertTrue(all(v.startswith(("10.96.", "10.97.")) for v in vips))


if __name__ == "__main__":
    unittest.main()
