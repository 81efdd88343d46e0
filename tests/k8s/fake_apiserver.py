#!/usr/bin/env python3
"""Meridian's test Kubernetes API server: a stand-in for kube-apiserver.

No kube-apiserver can run on the build machines, so the Kubernetes source of
the agent and the controller (LIST + WATCH over HTTPS with a bearer token) is
tested against this server. It serves the real wire shapes of the API (JSON
only, HTTP/1.1 over TLS) and is proven against the real kubectl by
tests/k8s/kubectl_proof_test.sh. docs/test-apiserver.md lists what it does not
implement. Python 3 standard library only (PyYAML is imported lazily, only for
YAML bodies and YAML seed files); the certificates are made with `openssl`.

Usage:
  fake_apiserver.py --dir DIR [--port 0] [--token TOKEN]
                    [--address ADDR] [--forbidden-token TOKEN2] [--forbidden-user USER]
                    [--seed FILE.json|FILE.yaml ...] [--bookmark-interval S]
                    [--watch-timeout S] [--service-cidr CIDR]
                    [--no-aggregated-discovery] [--verbose]

At start it writes into DIR: ca.crt, ca.key, server.crt, server.key (a CA and
a server certificate for IP:127.0.0.1 and DNS:localhost; kept and reused if
DIR already holds them, so a restarted server on the same DIR and --port is
trusted by clients that loaded ca.crt), kubeconfig (cluster, user with the
token, context, current-context), token (the token, no newline) and url. It
then prints exactly one line `READY https://127.0.0.1:PORT` on stdout.
SIGTERM or SIGINT: open watches end cleanly, the server exits 0.

Authentication (like kube-apiserver with --anonymous-auth=false): every path
except /_test/ needs `Authorization: Bearer <token>`; missing or wrong -> 401
Status reason Unauthorized. The --forbidden-token authenticates as
--forbidden-user, who may read /version, /healthz and discovery but gets a 403
Status reason Forbidden (the real RBAC message) on every resource request.

Resources: v1 services (svc), nodes (no, cluster), namespaces (ns, cluster);
discovery.k8s.io/v1 endpointslices; multicluster.x-k8s.io/v1alpha1
serviceexports (svcex) and serviceimports (svcim); about.k8s.io/v1alpha1
clusterproperties (cluster); meridian.io/v1alpha1 clusters (cluster).
services, nodes, namespaces, serviceexports and serviceimports have a /status
subresource: writes to the main resource keep the stored .status, writes to
/status change only .status. Verbs: get, list, watch, create, update, patch
(merge, strategic-merge for the v1 and discovery kinds only, json-patch,
apply-patch+yaml), delete, deletecollection. Lists and watches accept
labelSelector, fieldSelector (metadata.name, metadata.namespace and a few
per-kind fields), limit/continue, resourceVersion, resourceVersionMatch,
timeoutSeconds, allowWatchBookmarks, sendInitialEvents. `Accept: ...;as=Table`
gets server-side printing (what kubectl get asks for).

Wire notes: list items of the built-in kinds carry no kind/apiVersion, those
of the custom resources do (as with the real server); watch event objects
always carry both. A watch from a resourceVersion older than the compaction
point gets HTTP 200 and one in-stream ERROR event (Status 410, reason Expired);
a LIST with a stale continue token gets HTTP 410. BOOKMARKs come every
--bookmark-interval seconds (default 1) and once right before a timeoutSeconds
end. One resourceVersion counter for every kind; a write that changes nothing
keeps the old resourceVersion and sends no event.

Test control endpoints (no authentication; they are not logged in /_test/requests):
  GET    /_test/requests           JSON array of the API requests seen, oldest
                                   first: {id, time, method, path, query (map,
                                   last value wins), rawQuery, auth
                                   (ok|missing|wrong|forbidden), status,
                                   watch, accept, contentType, userAgent, body
                                   (the request body's first 4 KiB)}.
                                   ?since=ID returns only entries with id > ID.
  DELETE /_test/requests           Forget the log.
  GET    /_test/state              {resourceVersion, compactedResourceVersion,
                                   objects (count per resource), watches (the
                                   open watch streams: id, resource, namespace,
                                   startResourceVersion, bookmarks, labelSelector,
                                   fieldSelector)}. Tests poll it to know that
                                   a client's watch is established.
  POST   /_test/compact[?rv=N]     Forget the change history up to N (default:
                                   the current resourceVersion). A watch from an
                                   older RV then gets an in-stream ERROR event
                                   (410, reason Expired) and its stream ends; a
                                   LIST with a continue token taken before gets
                                   HTTP 410 (reason Expired); a LIST with an
                                   older resourceVersion and
                                   resourceVersionMatch=Exact gets HTTP 410.
  POST   /_test/drop-watches       Close every open watch stream abruptly: the
                                   TCP connection is shut down mid-stream,
                                   without the terminating zero-length chunk
                                   and without a TLS close_notify.
  POST   /_test/fail?path=REGEX&status=CODE[&count=N]
                                   The next N (default 1; -1 = until cleared)
                                   API requests whose target (path?query)
                                   matches REGEX (re.search) get HTTP CODE with
                                   a Status body: 410 -> reason Expired, 429 ->
                                   TooManyRequests with `Retry-After: 1`, 500 ->
                                   InternalError, 503 -> ServiceUnavailable, 504
                                   -> Timeout, 401, 403, 404, 409 likewise. For
                                   a watch the error replaces the stream.
  POST   /_test/slow?path=REGEX&seconds=S[&count=N]
                                   Delay the next N matching requests by S
                                   seconds before they are handled.
  POST   /_test/malformed?path=REGEX[&count=N]
                                   The next N matching requests get a body cut
                                   in half (valid headers, Content-Length of the
                                   cut body); a matching watch first gets the
                                   line `{"type":"ADDED","object":{"kind":` and
                                   then goes on normally.
  GET    /_test/faults             The pending fault rules.
  DELETE /_test/faults             Clear every fault rule.
  POST   /_test/token?value=NEW[&keep=1]
                                   Rotate the accepted token to NEW (keep=1:
                                   accept the old tokens too). DIR/token and
                                   DIR/kubeconfig are rewritten.
  POST   /_test/objects            Body: one object or a List (JSON, or YAML
                                   with a yaml Content-Type). Each object is
                                   created, or replaced if it exists, as stored,
                                   status included, without the API's defaulting
                                   or the status subresource rules; RV bumps and
                                   watch events as for any write. Returns the
                                   stored objects as a v1 List.
  DELETE /_test/objects?apiVersion=V&kind=K&name=N[&namespace=NS]
                                   Delete one object now (finalizers ignored).
"""

import argparse
import base64
import collections
import copy
import datetime
import http.server
import ipaddress
import itertools
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

GIT_VERSION = "v1.32.0-meridian-test"
VERSION_INFO = {
    "major": "1",
    "minor": "32",
    "gitVersion": GIT_VERSION,
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}
DEFAULT_TOKEN = "meridian-test-token"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
STATUS_VERBS = ["get", "patch", "update"]
AGGREGATED_CT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
TABLE_CT = "application/json;as=Table;v=v1;g=meta.k8s.io"

# --------------------------------------------------------------------------- resources


class Resource:
    def __init__(self, group, version, plural, singular, kind, namespaced, short_names=(),
                 categories=(), status=False, builtin=True, fields=()):
        self.group = group
        self.version = version
        self.plural = plural
        self.singular = singular
        self.kind = kind
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.categories = list(categories)
        self.status = status          # has a /status subresource
        self.builtin = builtin        # compiled into the real server (accepts strategic merge patch)
        self.fields = set(fields) | {"metadata.name", "metadata.namespace"}
        self.api_version = f"{group}/{version}" if group else version
        self.qualified = f"{plural}.{group}" if group else plural


RESOURCES = [
    Resource("", "v1", "services", "service", "Service", True, ["svc"], ["all"], status=True,
             fields=["spec.clusterIP", "spec.type"]),
    Resource("", "v1", "nodes", "node", "Node", False, ["no"], status=True,
             fields=["spec.unschedulable"]),
    Resource("", "v1", "namespaces", "namespace", "Namespace", False, ["ns"], status=True,
             fields=["status.phase"]),
    Resource("discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice", True,
             fields=["addressType"]),
    Resource("multicluster.x-k8s.io", "v1alpha1", "serviceexports", "serviceexport",
             "ServiceExport", True, ["svcex"], status=True, builtin=False),
    Resource("multicluster.x-k8s.io", "v1alpha1", "serviceimports", "serviceimport",
             "ServiceImport", True, ["svcim"], status=True, builtin=False),
    Resource("about.k8s.io", "v1alpha1", "clusterproperties", "clusterproperty", "ClusterProperty",
             False, builtin=False),
    Resource("meridian.io", "v1alpha1", "clusters", "cluster", "Cluster", False, builtin=False),
    Resource("apps", "v1", "deployments", "deployment", "Deployment", True, ["deploy"], ["all"],
             status=True),
]
BY_GVR = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}
GROUP_VERSIONS = []  # (group, version) in first-seen order
for _r in RESOURCES:
    if (_r.group, _r.version) not in GROUP_VERSIONS:
        GROUP_VERSIONS.append((_r.group, _r.version))


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dumps(obj):
    return json.dumps(obj, separators=(",", ":")) + "\n"


# --------------------------------------------------------------------------- errors


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        return status_obj(self.code, self.reason, self.message, self.details)


def status_obj(code, reason, message, details=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason, "code": code}
    if details:
        s["details"] = details
    return s


def res_details(res, name=None):
    d = {}
    if name:
        d["name"] = name
    if res.group:
        d["group"] = res.group
    d["kind"] = res.plural
    return d


def not_found(res, name):
    return ApiError(404, "NotFound", f'{res.qualified} "{name}" not found', res_details(res, name))


def already_exists(res, name):
    return ApiError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists',
                    res_details(res, name))


def conflict(res, name):
    return ApiError(409, "Conflict",
                    f'Operation cannot be fulfilled on {res.qualified} "{name}": the object has been '
                    "modified; please apply your changes to the latest version and try again",
                    res_details(res, name))


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def invalid(res, name, field, value, detail):
    shown = json.dumps(value) if isinstance(value, str) else repr(value)
    cause = {"reason": "FieldValueInvalid", "message": f"Invalid value: {shown}: {detail}", "field": field}
    d = res_details(res, name)
    d["kind"] = res.kind
    d["causes"] = [cause]
    return ApiError(422, "Invalid", f'{res.kind} "{name}" is invalid: {field}: Invalid value: {shown}: {detail}', d)


def generic_error(code, message=None):
    reasons = {400: ("BadRequest", "bad request"),
               401: ("Unauthorized", "Unauthorized"),
               403: ("Forbidden", "forbidden"),
               404: ("NotFound", "the server could not find the requested resource"),
               405: ("MethodNotAllowed", "the server does not allow this method on the requested resource"),
               409: ("Conflict", "the object has been modified; please apply your changes to the latest version and try again"),
               410: ("Expired", "The resourceVersion for the provided list is too old."),
               415: ("UnsupportedMediaType", "the body of the request was in an unknown format"),
               422: ("Invalid", "the request is invalid"),
               429: ("TooManyRequests", "Too many requests, please try again later."),
               500: ("InternalError", "Internal error occurred: injected fault"),
               503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
               504: ("Timeout", "the server was unable to return a response in the time allotted, but may still be processing the request")}
    reason, msg = reasons.get(code, ("InternalError", f"injected HTTP {code}"))
    headers = {}
    details = None
    if code == 429:
        headers["Retry-After"] = "1"
        details = {"retryAfterSeconds": 1}
    return ApiError(code, reason, message or msg, details, headers)


# --------------------------------------------------------------------------- selectors

_LABEL_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_LABEL_VAL = r"[-A-Za-z0-9_.]*"


def _split_top(s):
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(s):
    reqs = []
    for part in _split_top(s or ""):
        m = re.fullmatch(rf"(!?)\s*({_LABEL_KEY})", part)
        if m:
            reqs.append((m.group(2), "!exists" if m.group(1) else "exists", None))
            continue
        m = re.fullmatch(rf"({_LABEL_KEY})\s*(==|=|!=)\s*({_LABEL_VAL})", part)
        if m:
            reqs.append((m.group(1), "!=" if m.group(2) == "!=" else "=", {m.group(3)}))
            continue
        m = re.fullmatch(rf"({_LABEL_KEY})\s+(in|notin)\s*\(([^)]*)\)", part)
        if m:
            vals = {v.strip() for v in m.group(3).split(",") if v.strip()}
            reqs.append((m.group(1), m.group(2), vals))
            continue
        raise bad_request(f'unable to parse requirement: found \'{part}\', expected: valid label selector')
    return reqs


def label_match(reqs, obj):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for key, op, vals in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
        if op in ("=", "in") and (not has or v not in vals):
            return False
        if op in ("!=", "notin") and has and v in vals:
            return False
    return True


def parse_field_selector(s, res):
    reqs = []
    for part in _split_top(s or ""):
        m = re.fullmatch(r"([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)", part)
        if not m:
            raise bad_request(f'invalid selector: \'{part}\'; can\'t understand \'{part}\'')
        field, op, val = m.group(1), m.group(2), m.group(3)
        if field not in res.fields:
            raise bad_request(f'field label not supported: {field}')
        reqs.append((field, op != "!=", val))
    return reqs


def field_value(obj, path):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def field_match(reqs, obj):
    for field, eq, val in reqs:
        if (field_value(obj, field) == val) != eq:
            return False
    return True


# --------------------------------------------------------------------------- patches


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


# Strategic merge patch: the list fields that merge by a key in the real types
# (patchMergeKey/patchStrategy=merge). Every other list is replaced.
SMP_MERGE_KEYS = {
    ("Service", "spec.ports"): "port",
    ("Node", "status.conditions"): "type",
    ("Node", "status.addresses"): "type",
    ("Namespace", "status.conditions"): "type",
    ("*", "metadata.ownerReferences"): "uid",
    ("*", "metadata.finalizers"): None,   # primitive list, merged as a set
}


def _strip_directives(v):
    if isinstance(v, dict):
        return {k: _strip_directives(x) for k, x in v.items() if not k.startswith("$")}
    if isinstance(v, list):
        return [_strip_directives(x) for x in v if not (isinstance(x, dict) and x.get("$patch") == "delete")]
    return v


def strategic_merge_patch(kind, target, patch, path=""):
    if not isinstance(patch, dict):
        return _strip_directives(patch)
    if patch.get("$patch") == "replace":
        return _strip_directives({k: v for k, v in patch.items() if k != "$patch"})
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    orders, retain = {}, None
    for k, v in patch.items():
        sub = f"{path}.{k}" if path else k
        if k.startswith("$setElementOrder/"):
            orders[k[len("$setElementOrder/"):]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k[len("$deleteFromPrimitiveList/"):]
            if isinstance(result.get(field), list):
                result[field] = [x for x in result[field] if x not in v]
            continue
        if k == "$retainKeys":
            retain = set(v or [])
            continue
        if k.startswith("$"):
            continue
        if v is None:
            result.pop(k, None)
            continue
        if isinstance(v, dict):
            if v.get("$patch") == "delete":
                result.pop(k, None)
            else:
                result[k] = strategic_merge_patch(kind, result.get(k), v, sub)
            continue
        if isinstance(v, list):
            key_known = (kind, sub) in SMP_MERGE_KEYS or ("*", sub) in SMP_MERGE_KEYS
            mk = SMP_MERGE_KEYS.get((kind, sub), SMP_MERGE_KEYS.get(("*", sub)))
            cur = result.get(k) if isinstance(result.get(k), list) else []
            if key_known and mk is None:
                merged = list(cur)
                for x in v:
                    if x not in merged:
                        merged.append(x)
                result[k] = merged
            elif key_known:
                merged = copy.deepcopy(cur)
                for elem in v:
                    if not isinstance(elem, dict):
                        continue
                    if elem.get("$patch") == "replace":
                        merged = []
                        continue
                    idx = next((i for i, e in enumerate(merged)
                                if isinstance(e, dict) and e.get(mk) == elem.get(mk)), None)
                    if elem.get("$patch") == "delete":
                        if idx is not None:
                            merged.pop(idx)
                    elif idx is not None:
                        merged[idx] = strategic_merge_patch(kind, merged[idx], elem, sub)
                    else:
                        merged.append(_strip_directives(elem))
                result[k] = merged
            else:
                result[k] = _strip_directives(v)
            continue
        result[k] = v
    for field, order in orders.items():
        lst = result.get(field)
        if not isinstance(lst, list):
            continue
        mk = SMP_MERGE_KEYS.get((kind, f"{path}.{field}" if path else field))
        keyf = (lambda e: e.get(mk) if isinstance(e, dict) else e) if mk else (lambda e: e)
        wanted = [keyf(o) if mk else o for o in order]
        lst.sort(key=lambda e: wanted.index(keyf(e)) if keyf(e) in wanted else len(wanted))
    if retain is not None:
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"json patch: invalid path {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(doc, ops):
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise bad_request("json patch: the body must be a JSON array of operations")

    def walk(parts):
        cur = doc
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        return cur, parts[-1]

    def get(parts):
        cur = doc
        for p in parts:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        return cur

    def add(parts, value):
        parent, last = walk(parts)
        if isinstance(parent, list):
            if last == "-":
                parent.append(value)
            else:
                parent.insert(int(last), value)
        else:
            parent[last] = value

    def remove(parts):
        parent, last = walk(parts)
        if isinstance(parent, list):
            return parent.pop(int(last))
        return parent.pop(last)

    for op in ops:
        try:
            kind = op["op"]
            parts = _pointer(op["path"])
            if kind == "add":
                add(parts, copy.deepcopy(op["value"]))
            elif kind == "remove":
                remove(parts)
            elif kind == "replace":
                remove(parts)
                add(parts, copy.deepcopy(op["value"]))
            elif kind == "move":
                v = remove(_pointer(op["from"]))
                add(parts, v)
            elif kind == "copy":
                add(parts, copy.deepcopy(get(_pointer(op["from"]))))
            elif kind == "test":
                if get(parts) != op["value"]:
                    raise ApiError(422, "Invalid", f"the server rejected our request due to an error in our request: testing value {op['path']} failed")
            else:
                raise bad_request(f"json patch: unknown op {kind!r}")
        except ApiError:
            raise
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise ApiError(422, "Invalid", f"the server rejected our request due to an error in our request: {type(e).__name__} {e}")
    return doc


# --------------------------------------------------------------------------- printing (Table)


def human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def age(obj):
    ts = (obj.get("metadata") or {}).get("creationTimestamp")
    if not ts:
        return "<unknown>"
    try:
        t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())


def _col(name, typ="string", fmt="", priority=0, desc=""):
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": priority}


def table_columns(res):
    name = _col("Name", fmt="name", desc="Name must be unique within a namespace.")
    agec = _col("Age", desc="CreationTimestamp is a timestamp representing the server time when this object was created.")
    if res.kind == "Service":
        return [name, _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), agec,
                _col("Selector", priority=1)]
    if res.kind == "EndpointSlice":
        return [name, _col("AddressType"), _col("Ports"), _col("Endpoints"), agec]
    if res.kind == "Node":
        return [name, _col("Status"), _col("Roles"), agec, _col("Version"),
                _col("Internal-IP", priority=1), _col("External-IP", priority=1)]
    if res.kind == "Namespace":
        return [name, _col("Status"), agec]
    return [name, _col("Age", typ="date")]


def _service_cells(o):
    spec = o.get("spec") or {}
    typ = spec.get("type") or "ClusterIP"
    ext = "<none>"
    if typ == "ExternalName":
        ext = spec.get("externalName") or "<none>"
    elif typ == "LoadBalancer":
        ing = ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        ips = [i.get("ip") or i.get("hostname") for i in ing if i.get("ip") or i.get("hostname")]
        ext = ",".join(ips + list(spec.get("externalIPs") or [])) or "<pending>"
    elif spec.get("externalIPs"):
        ext = ",".join(spec["externalIPs"])
    ports = []
    for p in spec.get("ports") or []:
        s = str(p.get("port"))
        if p.get("nodePort"):
            s += f":{p['nodePort']}"
        ports.append(f"{s}/{p.get('protocol', 'TCP')}")
    sel = spec.get("selector") or {}
    return [typ, spec.get("clusterIP") or "<none>", ext, ",".join(ports) or "<none>", age(o),
            ",".join(f"{k}={v}" for k, v in sorted(sel.items())) or "<none>"]


def _slice_cells(o):
    ports = [str(p.get("port")) for p in (o.get("ports") or []) if p.get("port") is not None]
    addrs = [a for e in (o.get("endpoints") or []) for a in (e.get("addresses") or [])]
    eps = ",".join(addrs[:3]) + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "")
    return [o.get("addressType", ""), ",".join(ports) or "<unset>", eps or "<unset>", age(o)]


def _node_cells(o):
    st = o.get("status") or {}
    ready = next((c for c in st.get("conditions") or [] if c.get("type") == "Ready"), None)
    status = "Unknown" if not ready else ("Ready" if ready.get("status") == "True" else "NotReady")
    if (o.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    labels = (o.get("metadata") or {}).get("labels") or {}
    roles = sorted(k[len("node-role.kubernetes.io/"):] for k in labels if k.startswith("node-role.kubernetes.io/"))
    addrs = st.get("addresses") or []
    iip = next((a.get("address") for a in addrs if a.get("type") == "InternalIP"), "<none>")
    eip = next((a.get("address") for a in addrs if a.get("type") == "ExternalIP"), "<none>")
    return [status, ",".join(roles) or "<none>", age(o),
            (st.get("nodeInfo") or {}).get("kubeletVersion", ""), iip, eip]


def table_cells(res, o):
    name = (o.get("metadata") or {}).get("name", "")
    if res.kind == "Service":
        return [name] + _service_cells(o)
    if res.kind == "EndpointSlice":
        return [name] + _slice_cells(o)
    if res.kind == "Node":
        return [name] + _node_cells(o)
    if res.kind == "Namespace":
        return [name, (o.get("status") or {}).get("phase", ""), age(o)]
    # A CRD's default Age column has type "date": the real server formats it
    # as a duration too (ConvertToHumanReadableDateType).
    return [name, age(o)]


def partial_metadata(obj):
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": copy.deepcopy(obj.get("metadata") or {})}


def to_table(res, objs, meta, include_object, headers=True):
    rows = []
    for o in objs:
        row = {"cells": table_cells(res, o)}
        if include_object == "Object":
            row["object"] = o
        elif include_object != "None":
            row["object"] = partial_metadata(o)
        rows.append(row)
    t = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
    if headers:
        t["columnDefinitions"] = table_columns(res)
    t["rows"] = rows
    return t


# --------------------------------------------------------------------------- discovery


def _verbs(res):
    return list(ALL_VERBS)


def api_resource_list(group, version):
    resources = []
    for r in RESOURCES:
        if (r.group, r.version) != (group, version):
            continue
        e = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
             "kind": r.kind, "verbs": _verbs(r)}
        if r.short_names:
            e["shortNames"] = r.short_names
        if r.categories:
            e["categories"] = r.categories
        if r.builtin:
            e["storageVersionHash"] = base64.b64encode(r.qualified.encode())[:11].decode()
        resources.append(e)
        if r.status:
            resources.append({"name": f"{r.plural}/status", "singularName": "", "namespaced": r.namespaced,
                              "kind": r.kind, "verbs": STATUS_VERBS})
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def api_group(group):
    versions = [{"groupVersion": f"{group}/{v}", "version": v} for g, v in GROUP_VERSIONS if g == group]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": versions,
            "preferredVersion": versions[0]}


def api_group_list():
    groups = []
    for g in dict.fromkeys(g for g, _ in GROUP_VERSIONS if g):
        grp = api_group(g)
        del grp["kind"], grp["apiVersion"]
        groups.append(grp)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def aggregated_discovery(core):
    items = []
    groups = [""] if core else list(dict.fromkeys(g for g, _ in GROUP_VERSIONS if g))
    for g in groups:
        versions = []
        for gg, v in GROUP_VERSIONS:
            if gg != g:
                continue
            rs = []
            for r in RESOURCES:
                if (r.group, r.version) != (g, v):
                    continue
                kind = {"group": g, "version": v, "kind": r.kind}
                e = {"resource": r.plural, "responseKind": kind,
                     "scope": "Namespaced" if r.namespaced else "Cluster",
                     "singularResource": r.singular, "verbs": _verbs(r)}
                if r.short_names:
                    e["shortNames"] = r.short_names
                if r.categories:
                    e["categories"] = r.categories
                if r.status:
                    e["subresources"] = [{"subresource": "status", "responseKind": kind, "verbs": STATUS_VERBS}]
                rs.append(e)
            versions.append({"version": v, "resources": rs, "freshness": "Current"})
        items.append({"metadata": {"name": g, "creationTimestamp": None}, "versions": versions})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
            "items": items}


# --------------------------------------------------------------------------- store


class Event:
    __slots__ = ("rv", "type", "res", "key", "obj", "prev")

    def __init__(self, rv, typ, res, key, obj, prev):
        self.rv, self.type, self.res, self.key, self.obj, self.prev = rv, typ, res, key, obj, prev


class Watcher:
    _ids = itertools.count(1)

    def __init__(self, res, namespace, lsel, fsel, lsel_text, fsel_text, start_rv, bookmarks):
        self.id = next(Watcher._ids)
        self.res, self.namespace, self.lsel, self.fsel = res, namespace, lsel, fsel
        self.lsel_text, self.fsel_text = lsel_text, fsel_text
        self.start_rv, self.bookmarks = start_rv, bookmarks
        self.queue = collections.deque()
        self.dropped = False
        self.closing = False

    def matches(self, obj):
        md = obj.get("metadata") or {}
        if self.namespace and md.get("namespace") != self.namespace:
            return False
        return label_match(self.lsel, obj) and field_match(self.fsel, obj)

    def offer(self, ev):
        if ev.res is not self.res:
            return
        old_m = ev.prev is not None and self.matches(ev.prev)
        if ev.type == "DELETED":
            if old_m:
                self.queue.append(("DELETED", ev.obj))
            return
        new_m = self.matches(ev.obj)
        if new_m and old_m:
            self.queue.append(("MODIFIED", ev.obj))
        elif new_m:
            self.queue.append(("ADDED", ev.obj))
        elif old_m:
            self.queue.append(("DELETED", ev.obj))


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = 0
        self.compacted_rv = 0          # history holds every event with rv > compacted_rv
        self.objects = {r: {} for r in RESOURCES}   # res -> {(ns, name): obj}
        self.history = []
        self.watchers = set()
        self.shutting_down = False

    @staticmethod
    def key_of(res, obj):
        md = obj.get("metadata") or {}
        return (md.get("namespace", "") if res.namespaced else "", md.get("name", ""))

    def commit(self, res, typ, key, obj, prev):
        """Record a change whose obj already carries the new resourceVersion (self.rv)."""
        if typ == "DELETED":
            self.objects[res].pop(key, None)
        else:
            self.objects[res][key] = obj
        ev = Event(self.rv, typ, res, key, copy.deepcopy(obj), copy.deepcopy(prev) if prev else None)
        self.history.append(ev)
        for w in self.watchers:
            w.offer(ev)
        self.cond.notify_all()

    def state_at(self, res, rv):
        """{key: obj} of res as of resourceVersion rv (rv >= compacted_rv)."""
        state = dict(self.objects[res])
        for ev in reversed(self.history):
            if ev.rv <= rv:
                break
            if ev.res is not res:
                continue
            if ev.prev is None:
                state.pop(ev.key, None)
            else:
                state[ev.key] = ev.prev
        return state

    def compact(self, rv=None):
        rv = self.rv if rv is None else min(int(rv), self.rv)
        self.compacted_rv = max(self.compacted_rv, rv)
        self.history = [e for e in self.history if e.rv > self.compacted_rv]


def list_item(res, obj):
    """A list item as the real server encodes it: a built-in kind's items carry
    no kind/apiVersion (typed lists), a custom resource's items keep both
    (the apiextensions server stores and returns them as they are)."""
    if not res.builtin:
        return obj
    o = dict(obj)
    o.pop("kind", None)
    o.pop("apiVersion", None)
    return o


def encode_continue(rv, start):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\x00"}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token):
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        d = json.loads(raw)
        if d.get("v") != "meta.k8s.io/v1":
            raise ValueError("unknown version")
        return int(d["rv"]), d["start"].rstrip("\x00")
    except Exception as e:  # noqa: BLE001 - any garbage is a bad token
        raise bad_request(f"continue key is not valid: {e}")


def sort_key(key):
    ns, name = key
    return f"{ns}/{name}" if ns else name


# --------------------------------------------------------------------------- the application


class App:
    def __init__(self, args):
        self.args = args
        self.store = Store()
        self.tokens = {args.token}
        self.forbidden_tokens = {args.forbidden_token} if args.forbidden_token else set()
        self.log_lock = threading.Lock()
        self.requests = []
        self.req_ids = itertools.count(1)
        self.faults = []
        self.fault_lock = threading.Lock()
        net = ipaddress.ip_network(args.service_cidr, strict=False)
        self.service_net = net
        self.next_ip = 10
        self.next_node_port = 30000
        self.url = None
        self.current_token = args.token
        self.dir = os.path.abspath(args.dir)

    # ---- logging / faults

    def log_request(self, handler, auth):
        e = {"id": next(self.req_ids), "time": time.time(), "method": handler.command,
             "path": handler.req_path, "query": handler.query, "rawQuery": handler.raw_query,
             "auth": auth, "status": None, "watch": handler.is_watch(),
             "accept": handler.headers.get("Accept", ""),
             "contentType": handler.headers.get("Content-Type", ""),
             "userAgent": handler.headers.get("User-Agent", ""),
             "body": handler.body[:4096].decode("utf-8", "replace")}
        with self.log_lock:
            self.requests.append(e)
            if len(self.requests) > 100000:
                del self.requests[:10000]
        return e

    def add_fault(self, kind, q):
        try:
            rule = {"kind": kind, "path": q.get("path", ".*"), "count": int(q.get("count", "1")),
                    "status": int(q.get("status", "500")), "seconds": float(q.get("seconds", "0"))}
            re.compile(rule["path"])
        except (ValueError, re.error) as e:
            raise bad_request(f"bad fault rule: {e}")
        with self.fault_lock:
            self.faults.append(rule)
        return rule

    def take_faults(self, target):
        got = []
        with self.fault_lock:
            for rule in list(self.faults):
                if any(g["kind"] == rule["kind"] for g in got):
                    continue
                if re.search(rule["path"], target):
                    got.append(dict(rule))
                    if rule["count"] > 0:
                        rule["count"] -= 1
                        if rule["count"] == 0:
                            self.faults.remove(rule)
        return got

    # ---- files

    def write_client_files(self):
        token = self.current_token
        kc = (
            "apiVersion: v1\n"
            "kind: Config\n"
            "clusters:\n"
            "- name: meridian-test\n"
            "  cluster:\n"
            f"    server: {json.dumps(self.url)}\n"
            f"    certificate-authority: {json.dumps(os.path.join(self.dir, 'ca.crt'))}\n"
            "users:\n"
            "- name: meridian-test\n"
            "  user:\n"
            f"    token: {json.dumps(token)}\n"
            "contexts:\n"
            "- name: meridian-test\n"
            "  context:\n"
            "    cluster: meridian-test\n"
            "    user: meridian-test\n"
            "    namespace: default\n"
            "current-context: meridian-test\n"
            "preferences: {}\n")
        for name, text in (("kubeconfig", kc), ("token", token), ("url", self.url + "\n")):
            tmp = os.path.join(self.dir, f".{name}.tmp")
            with open(tmp, "w") as f:
                f.write(text)
            os.chmod(tmp, 0o600)
            os.replace(tmp, os.path.join(self.dir, name))

    # ---- object lifecycle

    def _alloc_ip(self, exclude):
        used = {((o.get("spec") or {}).get("clusterIP")) for o in self.store.objects[BY_KIND[("v1", "Service")]].values()}
        used |= exclude
        for _ in range(self.service_net.num_addresses):
            ip = str(self.service_net.network_address + self.next_ip)
            self.next_ip += 1
            if self.next_ip >= self.service_net.num_addresses - 1:
                self.next_ip = 10
            if ip not in used:
                return ip
        raise ApiError(500, "InternalError", "Internal error occurred: failed to allocate a serviceIP: range is full")

    def _alloc_node_port(self):
        used = {p.get("nodePort") for o in self.store.objects[BY_KIND[("v1", "Service")]].values()
                for p in ((o.get("spec") or {}).get("ports") or [])}
        while self.next_node_port in used:
            self.next_node_port += 1
        p = self.next_node_port
        self.next_node_port += 1
        return p

    def default_service(self, res, obj, old):
        """The real server's defaulting and IP/port allocation for a Service (a subset)."""
        spec = obj.setdefault("spec", {})
        name = obj["metadata"].get("name", "")
        ospec = (old or {}).get("spec") or {}
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        typ = spec["type"]
        if typ not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
            raise ApiError(422, "Invalid", f'Service "{name}" is invalid: spec.type: Unsupported value: "{typ}": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"')
        for p in spec.get("ports") or []:
            p.setdefault("protocol", "TCP")
            if "targetPort" not in p and "port" in p:
                p["targetPort"] = p["port"]
        if typ == "ExternalName":
            return
        if old is not None and not spec.get("clusterIP") and ospec.get("clusterIP"):
            spec["clusterIP"] = ospec["clusterIP"]
            if not spec.get("clusterIPs") and ospec.get("clusterIPs"):
                spec["clusterIPs"] = ospec["clusterIPs"]
        if old is not None and ospec.get("clusterIP") and spec.get("clusterIP") != ospec.get("clusterIP"):
            raise invalid(res, name, "spec.clusterIPs[0]", spec.get("clusterIP"), "may not change once set")
        if not spec.get("clusterIP"):
            spec["clusterIP"] = self._alloc_ip(set())
        elif spec["clusterIP"] != "None" and old is None:
            try:
                ipaddress.ip_address(spec["clusterIP"])
            except ValueError:
                raise invalid(res, name, "spec.clusterIPs[0]", spec["clusterIP"], "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
            for k, o in self.store.objects[res].items():
                if (o.get("spec") or {}).get("clusterIP") == spec["clusterIP"]:
                    raise invalid(res, name, "spec.clusterIPs", [spec["clusterIP"]],
                                  f"failed to allocate IP {spec['clusterIP']}: provided IP is already allocated")
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        if typ in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
            oldports = {p.get("port"): p.get("nodePort") for p in ospec.get("ports") or []}
            for p in spec.get("ports") or []:
                if not p.get("nodePort"):
                    p["nodePort"] = oldports.get(p.get("port")) or self._alloc_node_port()
        if typ == "LoadBalancer":
            spec.setdefault("allocateLoadBalancerNodePorts", True)

    def check_kind(self, res, obj):
        if not isinstance(obj, dict):
            raise bad_request("the body of the request must be a JSON object")
        av, kind = obj.get("apiVersion"), obj.get("kind")
        if av and av != res.api_version:
            raise bad_request(f"the API version in the data ({av}) does not match the expected API version ({res.api_version})")
        if kind and kind != res.kind:
            raise bad_request(f"the kind in the data ({kind}) does not match the expected kind ({res.kind})")
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        if not isinstance(obj.get("metadata", {}), dict):
            raise bad_request("metadata must be an object")
        obj.setdefault("metadata", {})

    def validate_name(self, res, name):
        if not name:
            raise ApiError(422, "Invalid", f'{res.kind} "" is invalid: metadata.name: Required value: name or generateName is required',
                           {"kind": res.kind, "causes": [{"reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"}]})
        if len(name) > 253 or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", name):
            raise invalid(res, name, "metadata.name", name,
                          "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                          "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                          "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")

    def create(self, res, namespace, obj, dry_run=False, raw=False):
        """POST semantics. raw=True (the /_test/ path and seeds) skips defaulting and status rules."""
        with self.store.lock:
            self.check_kind(res, obj)
            md = obj["metadata"]
            if res.namespaced:
                ns = md.get("namespace") or namespace or "default"
                if namespace and md.get("namespace") and md["namespace"] != namespace:
                    raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
                md["namespace"] = ns
            else:
                md.pop("namespace", None)
            if not md.get("name") and md.get("generateName"):
                md["name"] = md["generateName"] + uuid.uuid4().hex[:5]
            self.validate_name(res, md.get("name"))
            key = Store.key_of(res, obj)
            if key in self.store.objects[res]:
                raise already_exists(res, md["name"])
            if not raw:
                if res.status and res.kind not in ("Node", "Namespace"):
                    obj.pop("status", None)
                if res.kind == "Namespace":
                    obj["status"] = {"phase": "Active"}
                    obj.setdefault("spec", {"finalizers": ["kubernetes"]})
                    md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md["name"]
                if res.kind == "Service":
                    self.default_service(res, obj, None)
                    obj.setdefault("status", {"loadBalancer": {}})
                if res.kind == "EndpointSlice":
                    for p in obj.get("ports") or []:
                        p.setdefault("protocol", "TCP")
            for f in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
                md.pop(f, None)
            md["uid"] = md.get("uid") if raw and md.get("uid") else str(uuid.uuid4())
            md["creationTimestamp"] = md.get("creationTimestamp") if raw and md.get("creationTimestamp") else now_rfc3339()
            md["generation"] = 1
            if dry_run:
                md.pop("resourceVersion", None)
                return copy.deepcopy(obj)
            self.store.rv += 1
            md["resourceVersion"] = str(self.store.rv)
            self.store.commit(res, "ADDED", key, obj, None)
            return copy.deepcopy(obj)

    def update(self, res, key, new, subresource=None, check_rv=True, dry_run=False, raw=False):
        """PUT semantics for the main resource or /status; also the end of every patch."""
        with self.store.lock:
            old = self.store.objects[res].get(key)
            if old is None:
                raise not_found(res, key[1])
            self.check_kind(res, new)
            nmd = new["metadata"]
            if nmd.get("name") and nmd["name"] != key[1]:
                raise bad_request(f'the name of the object ({nmd["name"]}) does not match the name on the URL ({key[1]})')
            if res.namespaced and nmd.get("namespace") and nmd["namespace"] != key[0]:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
            if check_rv and nmd.get("resourceVersion") and nmd["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise conflict(res, key[1])
            if subresource == "status":
                merged = copy.deepcopy(old)
                if "status" in new:
                    merged["status"] = new["status"]
                else:
                    merged.pop("status", None)
                new = merged
            else:
                if res.status and not raw:
                    if "status" in old:
                        new["status"] = copy.deepcopy(old["status"])
                    else:
                        new.pop("status", None)
                if res.kind == "Service" and not raw:
                    self.default_service(res, new, old)
            md = new["metadata"]
            omd = old["metadata"]
            for f in ("name", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
                if f in omd:
                    md[f] = omd[f]
                else:
                    md.pop(f, None)
            if res.namespaced:
                md["namespace"] = key[0]
            else:
                md.pop("namespace", None)

            def body(o):
                return {k: v for k, v in o.items() if k not in ("metadata", "status", "kind", "apiVersion")}
            md["generation"] = omd.get("generation", 1) + (1 if body(new) != body(old) else 0)
            md["resourceVersion"] = omd["resourceVersion"]
            if new == old:
                return copy.deepcopy(old)     # a no-op write: no new resourceVersion, no event
            if dry_run:
                return copy.deepcopy(new)
            self.store.rv += 1
            md["resourceVersion"] = str(self.store.rv)
            if md.get("deletionTimestamp") and not md.get("finalizers"):
                self.store.commit(res, "DELETED", key, new, old)
            else:
                self.store.commit(res, "MODIFIED", key, new, old)
            return copy.deepcopy(new)

    def delete(self, res, key, options=None, dry_run=False, force=False):
        with self.store.lock:
            old = self.store.objects[res].get(key)
            if old is None:
                raise not_found(res, key[1])
            pre = (options or {}).get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{key[1]}": Precondition failed: UID in precondition: {pre["uid"]}, UID in object meta: {old["metadata"]["uid"]}', res_details(res, key[1]))
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{key[1]}": Precondition failed: ResourceVersion in precondition: {pre["resourceVersion"]}, ResourceVersion in object meta: {old["metadata"]["resourceVersion"]}', res_details(res, key[1]))
            obj = copy.deepcopy(old)
            pending = bool(obj["metadata"].get("finalizers")) and not force
            if dry_run or (pending and obj["metadata"].get("deletionTimestamp")):
                return obj, not pending
            self.store.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.store.rv)
            if pending:
                obj["metadata"]["deletionTimestamp"] = now_rfc3339()
                obj["metadata"]["deletionGracePeriodSeconds"] = 0
                self.store.commit(res, "MODIFIED", key, obj, old)
                return copy.deepcopy(obj), False
            self.store.commit(res, "DELETED", key, obj, old)
            return copy.deepcopy(obj), True

    def put_raw(self, obj):
        """/_test/objects and --seed: create or replace as stored."""
        if not isinstance(obj, dict):
            raise bad_request("each object must be a JSON object")
        res = BY_KIND.get((obj.get("apiVersion"), obj.get("kind")))
        if res is None:
            raise bad_request(f'no resource for apiVersion {obj.get("apiVersion")!r} kind {obj.get("kind")!r}')
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {})
        if res.namespaced:
            obj["metadata"].setdefault("namespace", "default")
        with self.store.lock:
            key = Store.key_of(res, obj)
            if key in self.store.objects[res]:
                obj["metadata"].pop("resourceVersion", None)
                return self.update(res, key, obj, check_rv=False, raw=True)
            return self.create(res, key[0], obj, raw=True)


# --------------------------------------------------------------------------- HTTP


def parse_body_text(text, content_type):
    ct = (content_type or "").split(";")[0].strip().lower()
    if not text.strip():
        raise bad_request("the request body is empty")
    try:
        return json.loads(text)
    except ValueError as e:
        if "yaml" not in ct:
            raise bad_request(f"the body of the request was not valid JSON: {e}")
    try:
        import yaml  # noqa: PLC0415 - only YAML bodies need it
    except ImportError:
        raise ApiError(415, "UnsupportedMediaType", "YAML bodies need PyYAML on the test server")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise bad_request(f"the body of the request was not valid YAML: {e}")


def load_documents(path):
    with open(path) as f:
        text = f.read()
    if path.endswith(".json"):
        docs = [json.loads(text)]
    else:
        import yaml  # noqa: PLC0415
        docs = [d for d in yaml.safe_load_all(text) if d]
    out = []
    for d in docs:
        if isinstance(d, dict) and d.get("kind", "").endswith("List") and "items" in d:
            out.extend(d["items"])
        else:
            out.append(d)
    return out


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "meridian-test-apiserver"
    sys_version = ""
    app = None  # set by main

    # ---- plumbing

    def log_message(self, fmt, *args):
        if self.app.args.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def is_watch(self):
        return self.query.get("watch", "") in ("1", "true", "True")

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return data
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send_bytes(self, code, data, content_type="application/json", headers=None):
        if self.malformed and len(data) > 1:
            data = data[: len(data) // 2]
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        if self.log_entry is not None:
            self.log_entry["status"] = code

    def send_json(self, code, obj, content_type="application/json", headers=None):
        self.send_bytes(code, dumps(obj).encode(), content_type, headers)

    def send_error_status(self, e):
        self.send_json(e.code, e.status(), headers=e.headers)

    def dispatch(self):
        u = urllib.parse.urlsplit(self.path)
        self.req_path = u.path
        self.raw_query = u.query
        self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        self.log_entry = None
        self.malformed = False
        try:
            self.body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        try:
            if self.req_path == "/_test" or self.req_path.startswith("/_test/"):
                self.handle_test()
                return
            auth = self.authenticate()
            self.log_entry = self.app.log_request(self, auth)
            if auth in ("missing", "wrong"):
                raise ApiError(401, "Unauthorized", "Unauthorized")
            target = self.req_path + ("?" + self.raw_query if self.raw_query else "")
            for rule in self.app.take_faults(target):
                if rule["kind"] == "slow":
                    time.sleep(rule["seconds"])
                elif rule["kind"] == "malformed":
                    self.malformed = True
                elif rule["kind"] == "fail":
                    raise generic_error(rule["status"])
            self.route(auth)
        except ApiError as e:
            try:
                self.send_error_status(e)
            except OSError:
                self.close_connection = True
        except (OSError, ssl.SSLError):
            self.close_connection = True

    def authenticate(self):
        h = self.headers.get("Authorization")
        if not h:
            return "missing"
        if not h.startswith("Bearer "):
            return "wrong"
        tok = h[len("Bearer "):].strip()
        if tok in self.app.tokens:
            return "ok"
        if tok in self.app.forbidden_tokens:
            return "forbidden"
        return "wrong"

    def accept_mode(self):
        accept = self.headers.get("Accept", "")
        if not accept.strip():
            return "json"
        for part in accept.split(","):
            bits = [b.strip() for b in part.split(";")]
            media = bits[0].lower()
            params = {}
            for b in bits[1:]:
                if "=" in b:
                    k, v = b.split("=", 1)
                    params[k.strip().lower()] = v.strip()
            if media not in ("application/json", "*/*", "application/*"):
                continue
            as_ = params.get("as")
            if as_ is None:
                return "json"
            if as_ == "Table" and params.get("g", "meta.k8s.io") == "meta.k8s.io" and params.get("v", "v1") in ("v1", "v1beta1"):
                return "table"
            if as_ in ("PartialObjectMetadata", "PartialObjectMetadataList") and params.get("v", "v1") in ("v1", "v1beta1"):
                return "meta"
        raise ApiError(406, "NotAcceptable", f"only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io")

    # ---- routing

    def route(self, auth):
        path = self.req_path.rstrip("/") or "/"
        m = self.command
        if path in ("/version", "/healthz", "/livez", "/readyz", "/api", "/apis") or path.startswith("/openapi"):
            if m != "GET":
                raise generic_error(405)
        if path == "/version":
            return self.send_json(200, VERSION_INFO)
        if path in ("/healthz", "/livez", "/readyz"):
            return self.send_bytes(200, b"ok", "text/plain; charset=utf-8")
        if path.startswith("/openapi"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if path in ("/api", "/apis"):
            accept = self.headers.get("Accept", "")
            if not self.app.args.no_aggregated_discovery and "as=APIGroupDiscoveryList" in accept and re.search(r"v=v2(;|,|$)", accept.replace(" ", "")):
                return self.send_json(200, aggregated_discovery(path == "/api"), AGGREGATED_CT)
            if path == "/api":
                host, port = self.server.server_address[:2]
                return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"{host}:{port}"}]})
            return self.send_json(200, api_group_list())
        parts = [p for p in path.split("/") if p]
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 2:
            group = parts[1]
            if len(parts) == 2:
                if m != "GET" or not any(g == group for g, _ in GROUP_VERSIONS):
                    raise generic_error(404)
                return self.send_json(200, api_group(group))
            version, rest = parts[2], parts[3:]
        else:
            return self.send_bytes(404, b"404 page not found\n", "text/plain; charset=utf-8")
        if (group, version) not in GROUP_VERSIONS:
            raise generic_error(404)
        if not rest:
            if m != "GET":
                raise generic_error(405)
            return self.send_json(200, api_resource_list(group, version))
        namespace, res, name, sub = self.parse_resource_path(group, version, rest)
        self.resource_request(auth, res, namespace, name, sub)

    def parse_resource_path(self, group, version, rest):
        def res_of(plural):
            r = BY_GVR.get((group, version, plural))
            if r is None:
                raise generic_error(404)
            return r
        if len(rest) >= 3 and rest[0] == "namespaces" and (group, version, rest[2]) in BY_GVR:
            r = res_of(rest[2])
            if not r.namespaced:
                raise generic_error(404)
            name = rest[3] if len(rest) > 3 else None
            sub = rest[4] if len(rest) > 4 else None
            if len(rest) > 5:
                raise generic_error(404)
            return rest[1], r, name, sub
        r = res_of(rest[0])
        if len(rest) > 3:
            raise generic_error(404)
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if r.namespaced and name is not None:
            raise generic_error(404)
        return None, r, name, sub

    def verb(self, name):
        m = self.command
        if m == "GET":
            return ("watch" if self.is_watch() else "list") if name is None else "get"
        return {"POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if name else "deletecollection"}[m]

    # ---- resources

    def resource_request(self, auth, res, namespace, name, sub):
        if sub is not None and (sub != "status" or not res.status):
            raise generic_error(404)
        verb = self.verb(name)
        if auth == "forbidden":
            user = self.app.args.forbidden_user
            resname = res.plural + (f"/{sub}" if sub else "")
            who = f'{res.qualified} "{name}"' if name else res.qualified
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            raise ApiError(403, "Forbidden",
                           f'{who} is forbidden: User "{user}" cannot {verb} resource "{resname}" in API group "{res.group}" {scope}',
                           res_details(res, name))
        dry_run = self.query.get("dryRun") == "All"
        app = self.app
        if verb == "watch":
            return self.serve_watch(res, namespace)
        if verb == "list":
            return self.serve_list(res, namespace)
        if verb == "get":
            with app.store.lock:
                obj = app.store.objects[res].get((namespace or "", name))
                obj = copy.deepcopy(obj) if obj else None
            if obj is None:
                raise not_found(res, name)
            return self.send_object(200, res, obj)
        if verb == "create":
            if name is not None:
                raise generic_error(405)
            if res.namespaced and namespace is None:
                raise generic_error(405)
            obj = self.body_object()
            created = app.create(res, namespace, obj, dry_run=dry_run)
            return self.send_object(201, res, created)
        key = (namespace or "", name)
        if verb == "update":
            obj = self.body_object()
            updated = app.update(res, key, obj, subresource=sub, dry_run=dry_run)
            return self.send_object(200, res, updated)
        if verb == "patch":
            return self.serve_patch(res, key, sub, dry_run)
        if verb == "delete":
            opts = {}
            if self.body.strip():
                try:
                    opts = json.loads(self.body)
                except ValueError:
                    raise bad_request("the body of the request was not valid JSON DeleteOptions")
            dry_run = dry_run or opts.get("dryRun") == ["All"]
            obj, gone = app.delete(res, key, opts, dry_run=dry_run)
            if not gone:
                return self.send_object(200, res, obj)
            st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                  "details": dict(res_details(res, name), uid=obj["metadata"]["uid"])}
            return self.send_json(200, st)
        if verb == "deletecollection":
            lsel = parse_label_selector(self.query.get("labelSelector", ""))
            fsel = parse_field_selector(self.query.get("fieldSelector", ""), res)
            deleted = []
            with app.store.lock:
                for k, o in sorted(app.store.objects[res].items(), key=lambda kv: sort_key(kv[0])):
                    if namespace and k[0] != namespace:
                        continue
                    if label_match(lsel, o) and field_match(fsel, o):
                        obj, _ = app.delete(res, k, dry_run=dry_run)
                        deleted.append(list_item(res, obj))
                rv = str(app.store.rv)
            return self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                                        "metadata": {"resourceVersion": rv}, "items": deleted})
        raise generic_error(405)

    def body_object(self):
        ct = self.headers.get("Content-Type", "application/json")
        if "protobuf" in ct:
            raise ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml')
        return parse_body_text(self.body.decode("utf-8", "replace"), ct)

    def send_object(self, code, res, obj):
        mode = self.accept_mode()
        if mode == "table":
            t = to_table(res, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                         self.query.get("includeObject", "Metadata"))
            return self.send_json(code, t, TABLE_CT)
        if mode == "meta":
            return self.send_json(code, partial_metadata(obj),
                                  "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io")
        return self.send_json(code, obj)

    def serve_patch(self, res, key, sub, dry_run):
        app = self.app
        ct = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        text = self.body.decode("utf-8", "replace")
        types = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
        if res.builtin:
            types.insert(2, "application/strategic-merge-patch+json")
        if ct not in types:
            raise ApiError(415, "UnsupportedMediaType",
                           f'the body of the request was in an unknown format - accepted media types include: {", ".join(types)}')
        if ct == "application/apply-patch+yaml":
            if "fieldManager" not in self.query:
                raise bad_request("PATCH /apply requires fieldManager to be set")
            applied = parse_body_text(text, "application/yaml")
            if not isinstance(applied, dict):
                raise bad_request("the applied configuration must be an object")
            with app.store.lock:
                old = app.store.objects[res].get(key)
                if old is None:
                    if sub:
                        raise not_found(res, key[1])
                    applied.setdefault("metadata", {}).setdefault("name", key[1])
                    created = app.create(res, key[0] or None, applied, dry_run=dry_run)
                    return self.send_object(201, res, created)
                amd = applied.get("metadata") or {}
                if amd.get("name") and amd["name"] != key[1]:
                    raise bad_request(f'the name of the object ({amd["name"]}) does not match the name on the URL ({key[1]})')
                applied = dict(applied)
                applied["metadata"] = {k: v for k, v in amd.items() if k not in ("resourceVersion", "managedFields")}
                new = apply_merge(old, applied)
                updated = app.update(res, key, new, subresource=sub, check_rv=False, dry_run=dry_run)
                return self.send_object(200, res, updated)
        patch = parse_body_text(text, "application/json")
        with app.store.lock:
            old = app.store.objects[res].get(key)
            if old is None:
                raise not_found(res, key[1])
            if ct == "application/merge-patch+json":
                new = merge_patch(old, patch)
            elif ct == "application/strategic-merge-patch+json":
                new = strategic_merge_patch(res.kind, old, patch)
            else:
                new = json_patch(old, patch)
            if not isinstance(new, dict):
                raise bad_request("the patched object is not an object")
            updated = app.update(res, key, new, subresource=sub, dry_run=dry_run)
            return self.send_object(200, res, updated)

    def serve_list(self, res, namespace):
        app = self.app
        q = self.query
        lsel = parse_label_selector(q.get("labelSelector", ""))
        fsel = parse_field_selector(q.get("fieldSelector", ""), res)
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            raise bad_request(f'invalid limit: {q.get("limit")!r}')
        cont = q.get("continue", "")
        rvq = q.get("resourceVersion", "")
        match = q.get("resourceVersionMatch", "")
        with app.store.lock:
            store = app.store
            start = ""
            if cont:
                if rvq:
                    raise bad_request("specifying resource version is not allowed when using continue")
                list_rv, start = decode_continue(cont)
                if list_rv < store.compacted_rv:
                    raise ApiError(410, "Expired",
                                   "The provided continue parameter is too old to display a consistent list result. "
                                   "You can start a new list without the continue parameter, or use the continue value "
                                   "from the response to retrieve the remainder of the results.")
                state = store.state_at(res, list_rv)
            elif rvq and match == "Exact":
                try:
                    list_rv = int(rvq)
                except ValueError:
                    raise bad_request(f"invalid resource version: {rvq}")
                if list_rv < store.compacted_rv:
                    raise ApiError(410, "Expired", f"too old resource version: {list_rv} ({store.compacted_rv})")
                if list_rv > store.rv:
                    raise ApiError(504, "Timeout", f"Too large resource version: {list_rv}, current: {store.rv}",
                                   {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1})
                state = store.state_at(res, list_rv)
            else:
                if match and match not in ("NotOlderThan", "Exact"):
                    raise ApiError(422, "Invalid", f'resourceVersionMatch: Unsupported value: "{match}"')
                if match and not rvq:
                    raise ApiError(422, "Invalid", "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided")
                if rvq and rvq != "0":
                    try:
                        want = int(rvq)
                    except ValueError:
                        raise bad_request(f"invalid resource version: {rvq}")
                    if want > store.rv:
                        raise ApiError(504, "Timeout", f"Too large resource version: {want}, current: {store.rv}",
                                       {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1})
                list_rv = store.rv
                state = store.objects[res]
            items = []
            for k in sorted(state, key=sort_key):
                if namespace and k[0] != namespace:
                    continue
                if start and sort_key(k) <= start:
                    continue
                o = state[k]
                if label_match(lsel, o) and field_match(fsel, o):
                    items.append(copy.deepcopy(o))
        meta = {"resourceVersion": str(list_rv)}
        if limit > 0 and len(items) > limit:
            rest = len(items) - limit
            items = items[:limit]
            meta["continue"] = encode_continue(list_rv, sort_key(Store.key_of(res, items[-1])))
            if not lsel and not fsel:
                meta["remainingItemCount"] = rest
        mode = self.accept_mode()
        if mode == "table":
            return self.send_json(200, to_table(res, items, meta, q.get("includeObject", "Metadata")), TABLE_CT)
        if mode == "meta":
            return self.send_json(200, {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                                        "metadata": meta, "items": [partial_metadata(o) for o in items]},
                                  "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io")
        return self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.api_version, "metadata": meta,
                                    "items": [list_item(res, o) for o in items]})

    # ---- watch

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def serve_watch(self, res, namespace):
        app = self.app
        store = app.store
        q = self.query
        mode = self.accept_mode()
        lsel_text, fsel_text = q.get("labelSelector", ""), q.get("fieldSelector", "")
        lsel = parse_label_selector(lsel_text)
        fsel = parse_field_selector(fsel_text, res)
        bookmarks = q.get("allowWatchBookmarks") in ("1", "true", "True")
        rvq = q.get("resourceVersion", "")
        send_initial = q.get("sendInitialEvents")
        if send_initial is not None:
            if q.get("resourceVersionMatch") != "NotOlderThan":
                raise ApiError(422, "Invalid", 'resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan')
            if send_initial in ("true", "1") and not bookmarks:
                raise ApiError(422, "Invalid", "allowWatchBookmarks: Required value: allowWatchBookmarks must be set to true when sendInitialEvents is set")
        send_initial = send_initial in ("true", "1")
        try:
            timeout = float(q.get("timeoutSeconds") or app.args.watch_timeout)
        except ValueError:
            raise bad_request(f'invalid timeoutSeconds: {q.get("timeoutSeconds")!r}')
        expired = None
        w = Watcher(res, namespace, lsel, fsel, lsel_text, fsel_text, rvq, bookmarks)
        with store.lock:
            synthetic = send_initial or rvq in ("", "0")
            if synthetic:
                for k in sorted(store.objects[res], key=sort_key):
                    o = store.objects[res][k]
                    if w.matches(o):
                        w.queue.append(("ADDED", copy.deepcopy(o)))
                if send_initial:
                    w.queue.append(("INITIAL-END", None))
                w.start_rv = str(store.rv) if not rvq or rvq == "0" else rvq
            else:
                try:
                    start = int(rvq)
                except ValueError:
                    raise bad_request(f"invalid resource version: {rvq}")
                if start < store.compacted_rv:
                    expired = status_obj(410, "Expired", f"too old resource version: {start} ({store.compacted_rv})")
                else:
                    for ev in store.history:
                        if ev.rv > start:
                            w.offer(ev)
            if expired is None:
                store.watchers.add(w)
        first_table = [True]

        def encode(typ, obj):
            if mode == "table" and typ in ("ADDED", "MODIFIED", "DELETED"):
                obj = to_table(res, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                               q.get("includeObject", "Metadata"), headers=first_table[0])
                first_table[0] = False
            elif mode == "meta" and typ in ("ADDED", "MODIFIED", "DELETED"):
                obj = partial_metadata(obj)
            return dumps({"type": typ, "object": obj}).encode()

        try:
            self.send_response(200)
            self.send_header("Content-Type", TABLE_CT if mode == "table" else "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Audit-Id", str(uuid.uuid4()))
            self.end_headers()
            if self.log_entry is not None:
                self.log_entry["status"] = 200
            if expired is not None:
                self.write_chunk(dumps({"type": "ERROR", "object": expired}).encode())
                self.write_chunk(b"")
                return
            if self.malformed:
                self.write_chunk(b'{"type":"ADDED","object":{"kind":\n')
            deadline = time.monotonic() + timeout
            interval = app.args.bookmark_interval
            next_bm = time.monotonic() + interval
            while True:
                bookmark_rv = None
                with store.cond:
                    while True:
                        now = time.monotonic()
                        if w.queue or w.dropped or w.closing or now >= deadline:
                            break
                        if bookmarks and now >= next_bm:
                            break
                        wait = deadline - now
                        if bookmarks:
                            wait = min(wait, next_bm - now)
                        store.cond.wait(max(wait, 0.001))
                    events = list(w.queue)
                    w.queue.clear()
                    dropped, closing = w.dropped, w.closing
                    now = time.monotonic()
                    ending = closing or now >= deadline
                    # A bookmark every interval, and one right before a
                    # timeoutSeconds end (the real server sends one shortly
                    # before the deadline) unless one was just due anyway.
                    if bookmarks and not dropped and (now >= next_bm or (ending and not closing)):
                        bookmark_rv = str(store.rv)
                        next_bm = now + interval
                    cur_rv = str(store.rv)
                if dropped:
                    self.abort_connection()
                    return
                for typ, obj in events:
                    if typ == "INITIAL-END":
                        self.write_chunk(dumps({"type": "BOOKMARK", "object": {
                            "kind": res.kind, "apiVersion": res.api_version,
                            "metadata": {"resourceVersion": cur_rv,
                                         "annotations": {"k8s.io/initial-events-end": "true"}}}}).encode())
                    else:
                        self.write_chunk(encode(typ, obj))
                if bookmark_rv is not None and mode != "table":
                    self.write_chunk(dumps({"type": "BOOKMARK", "object": {
                        "kind": res.kind, "apiVersion": res.api_version,
                        "metadata": {"resourceVersion": bookmark_rv}}}).encode())
                if ending:
                    self.write_chunk(b"")
                    return
        except (OSError, ssl.SSLError):
            self.close_connection = True
        finally:
            with store.lock:
                store.watchers.discard(w)

    def abort_connection(self):
        self.close_connection = True
        try:
            self.request.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ---- /_test/

    def handle_test(self):
        app = self.app
        p = self.req_path.rstrip("/")
        m = self.command
        q = self.query
        store = app.store
        if p == "/_test/requests" and m == "GET":
            since = int(q.get("since", "0") or 0)
            with app.log_lock:
                out = [dict(e) for e in app.requests if e["id"] > since]
            return self.send_json(200, out)
        if p == "/_test/requests" and m == "DELETE":
            with app.log_lock:
                app.requests.clear()
            return self.send_json(200, {"ok": True})
        if p == "/_test/state" and m == "GET":
            with store.lock:
                out = {"resourceVersion": str(store.rv), "compactedResourceVersion": str(store.compacted_rv),
                       "objects": {r.qualified: len(store.objects[r]) for r in RESOURCES},
                       "watches": [{"id": w.id, "resource": w.res.qualified, "namespace": w.namespace or "",
                                    "startResourceVersion": w.start_rv, "bookmarks": w.bookmarks,
                                    "labelSelector": w.lsel_text, "fieldSelector": w.fsel_text}
                                   for w in sorted(store.watchers, key=lambda w: w.id)]}
            return self.send_json(200, out)
        if p == "/_test/compact" and m == "POST":
            with store.lock:
                store.compact(q.get("rv"))
                out = {"compactedResourceVersion": str(store.compacted_rv)}
            return self.send_json(200, out)
        if p == "/_test/drop-watches" and m == "POST":
            with store.cond:
                n = len(store.watchers)
                for w in store.watchers:
                    w.dropped = True
                store.cond.notify_all()
            return self.send_json(200, {"dropped": n})
        if p in ("/_test/fail", "/_test/slow", "/_test/malformed") and m == "POST":
            rule = app.add_fault(p[len("/_test/"):], q)
            return self.send_json(200, rule)
        if p == "/_test/faults" and m == "GET":
            with app.fault_lock:
                return self.send_json(200, list(app.faults))
        if p == "/_test/faults" and m == "DELETE":
            with app.fault_lock:
                app.faults.clear()
            return self.send_json(200, {"ok": True})
        if p == "/_test/token" and m == "POST":
            value = q.get("value", "")
            if not value:
                raise bad_request("value is required")
            if q.get("keep") in ("1", "true"):
                app.tokens.add(value)
            else:
                app.tokens = {value}
            app.current_token = value
            app.write_client_files()
            return self.send_json(200, {"tokens": len(app.tokens)})
        if p == "/_test/objects" and m == "POST":
            body = parse_body_text(self.body.decode("utf-8", "replace"), self.headers.get("Content-Type", ""))
            objs = body.get("items", []) if isinstance(body, dict) and body.get("kind", "").endswith("List") and "items" in body else [body]
            out = [app.put_raw(o) for o in objs]
            return self.send_json(200, {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": out})
        if p == "/_test/objects" and m == "DELETE":
            res = BY_KIND.get((q.get("apiVersion"), q.get("kind")))
            if res is None:
                raise bad_request("apiVersion and kind must name a served resource")
            key = (q.get("namespace", "default") if res.namespaced else "", q.get("name", ""))
            obj, _ = app.delete(res, key, force=True)
            return self.send_json(200, obj)
        self.send_json(404, status_obj(404, "NotFound", f"no test endpoint {m} {p}"))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        if Handler.app and Handler.app.args.verbose:
            super().handle_error(request, client_address)


# --------------------------------------------------------------------------- certificates


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit(f"fake_apiserver: {' '.join(cmd)} failed: {r.stderr.strip()}")


def make_certs(d, address="127.0.0.1"):
    ca_key, ca_crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    key, crt = os.path.join(d, "server.key"), os.path.join(d, "server.crt")
    if all(os.path.exists(f) for f in (ca_key, ca_crt, key, crt)):
        return
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca_crt, "-days", "3650",
         "-subj", "/CN=meridian-test-ca",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    csr = os.path.join(d, "server.csr")
    ext = os.path.join(d, "server.ext")
    run(["openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=meridian-test-apiserver"])
    with open(ext, "w") as f:
        sans = "IP:127.0.0.1,DNS:localhost" + ("" if address == "127.0.0.1" else f",IP:{address}")
        f.write(f"subjectAltName={sans}\n"
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n")
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
         "-out", crt, "-days", "3650", "-sha256", "-extfile", ext])
    for f in (csr, ext, os.path.join(d, "ca.srl")):
        if os.path.exists(f):
            os.remove(f)
    os.chmod(ca_key, 0o600)
    os.chmod(key, 0o600)


# --------------------------------------------------------------------------- main


def apply_merge(old, applied):
    """Server-side apply without field ownership: maps merge recursively, lists and scalars are replaced."""
    def merge(a, b):
        if isinstance(a, dict) and isinstance(b, dict):
            out = copy.deepcopy(a)
            for k, v in b.items():
                if v is None:
                    out.pop(k, None)
                else:
                    out[k] = merge(a.get(k), v)
            return out
        return copy.deepcopy(b)
    return merge(old, applied)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Meridian's test Kubernetes API server (see the file's header).")
    ap.add_argument("--dir", required=True, help="where certificates, kubeconfig, token and url are written")
    ap.add_argument("--port", type=int, default=0, help="TCP port (0: pick a free one)")
    ap.add_argument("--address", default="127.0.0.1",
                    help="IPv4 address to listen on; also put in the certificate and the URL (lab tests: a node's address)")
    ap.add_argument("--token", default=DEFAULT_TOKEN, help="the accepted bearer token")
    ap.add_argument("--forbidden-token", default="", help="a token that authenticates but is forbidden everything but discovery")
    ap.add_argument("--forbidden-user", default="system:serviceaccount:meridian-system:unprivileged",
                    help="the user the forbidden token authenticates as (shown in 403 messages)")
    ap.add_argument("--seed", action="append", default=[], help="JSON or YAML file of objects (or Lists) stored at start")
    ap.add_argument("--bookmark-interval", type=float, default=1.0, help="seconds between BOOKMARK events (allowWatchBookmarks)")
    ap.add_argument("--watch-timeout", type=float, default=1800.0, help="seconds a watch without timeoutSeconds stays open")
    ap.add_argument("--service-cidr", default="10.96.0.0/12", help="where Service cluster IPs are allocated from")
    ap.add_argument("--no-aggregated-discovery", action="store_true",
                    help="answer /api and /apis only in the classic format (clients fall back to /api/v1, /apis/G/V)")
    ap.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = ap.parse_args(argv)

    os.makedirs(args.dir, exist_ok=True)
    make_certs(args.dir, args.address)
    app = App(args)
    Handler.app = app
    for path in args.seed:
        for obj in load_documents(path):
            try:
                app.put_raw(obj)
            except ApiError as e:
                raise SystemExit(f"fake_apiserver: seed {path}: {e.message}")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(args.dir, "server.crt"), os.path.join(args.dir, "server.key"))
    ctx.set_alpn_protocols(["http/1.1"])
    server = Server((args.address, args.port), Handler)
    # The handshake happens in the request's thread (on its first read), so a
    # stalled client never blocks accept().
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    port = server.server_address[1]
    app.url = f"https://{args.address}:{port}"
    app.write_client_files()

    def stop(signum, frame):
        with app.store.cond:
            app.store.shutting_down = True
            for w in app.store.watchers:
                w.closing = True
            app.store.cond.notify_all()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write(f"READY {app.url}\n")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        time.sleep(0.2)   # let the watch threads write their last chunk
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
