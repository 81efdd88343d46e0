#!/usr/bin/env python3
"""Offline checks of the manifests in deploy/, as `kubectl kustomize` renders them.

No API server exists where this runs, so the checks stand in for what one would reject (and
for some things it would accept silently but that are wrong for Meridian):

  check FILE        every object: apiVersion/kind allowlisted, hand schemas of the built-in kinds
                    (unknown field names are errors, so a typo such as `hostNetwrok` is caught),
                    custom resources against the openAPIV3Schema of their CRD in the same render,
                    CRD schemas structural, references resolve (ServiceAccounts, ConfigMap keys,
                    volumes, probe ports, selectors), RBAC without wildcards and with the grants
                    each component needs, and Meridian's own rules for the agent DaemonSet and the
                    controller Deployment.
  clusterset F...   several overlays' renders together: one ClusterSet (unique cluster names and
                    ids, disjoint pod CIDRs, the same registry, VXLAN port and ClusterSet CIDR).
  flags FILE        runs the real binaries' CLI parser (`--check-flags`) over the container args
                    of meridian-agent and meridian-controller, $(VAR) expanded as the kubelet
                    does, plus negative controls that must fail.
  --self-test       negative controls for the checks above: mutations of a real render (a
                    misspelled field, a wildcard, a bad Cluster ...) that must each be reported.

Prints PASS:/FAIL:/SKIP: lines; exits 1 when anything failed.
"""

import argparse
import copy
import ipaddress
import os
import re
import subprocess
import sys

import jsonschema
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
NAMESPACE = "meridian-system"
AGENT = ("DaemonSet", "meridian-agent", "agent", "meridian-agent")  # kind, name, container, binary
CONTROLLER = ("Deployment", "meridian-controller", "controller", "meridian-controller")

# ---------------------------------------------------------------------------------------------
# Hand schemas of the built-in kinds. Each object level lists ALL the field names the real API
# type has (Kubernetes 1.32), so a valid field we do not use passes and a misspelt one fails;
# the fields we use get a real schema, the others accept anything.

STR = {"type": "string"}
NONEMPTY = {"type": "string", "minLength": 1}
BOOL = {"type": "boolean"}
INT = {"type": "integer"}
NONNEG = {"type": "integer", "minimum": 0}
PORTNUM = {"type": "integer", "minimum": 1, "maximum": 65535}
INT_OR_STR = {"type": ["integer", "string"]}
STRMAP = {"type": "object", "additionalProperties": {"type": "string"}}
STRLIST = {"type": "array", "items": {"type": "string"}}


def arr(items, **kw):
    return dict({"type": "array", "items": items}, **kw)


def fields(names, detailed=None, required=()):
    """A strict object: only `names` are allowed; `detailed` gives some of them a schema."""
    detailed = detailed or {}
    unknown = set(detailed) - set(names)
    assert not unknown, f"schema bug: {unknown} not in the field list"
    props = {n: detailed.get(n, {}) for n in names}
    return {"type": "object", "properties": props, "required": list(required),
            "additionalProperties": False}


OBJECT_META_FIELDS = ["annotations", "creationTimestamp", "deletionGracePeriodSeconds",
                      "deletionTimestamp", "finalizers", "generateName", "generation", "labels",
                      "managedFields", "name", "namespace", "ownerReferences", "resourceVersion",
                      "selfLink", "uid"]
DNS_SUBDOMAIN = {"type": "string", "maxLength": 253,
                 "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"}
OBJECT_META = fields(OBJECT_META_FIELDS, {"name": DNS_SUBDOMAIN, "namespace": STR,
                                          "labels": STRMAP, "annotations": STRMAP},
                     required=["name"])
TEMPLATE_META = fields(OBJECT_META_FIELDS, {"labels": STRMAP, "annotations": STRMAP})
SELECTOR = fields(["matchExpressions", "matchLabels"], {"matchLabels": STRMAP})

KEY_REF = fields(["key", "name", "optional"], {"key": NONEMPTY, "name": NONEMPTY,
                                               "optional": BOOL}, required=["key", "name"])
ENV_VAR = fields(["name", "value", "valueFrom"], {
    "name": NONEMPTY, "value": STR,
    "valueFrom": fields(["configMapKeyRef", "fieldRef", "resourceFieldRef", "secretKeyRef"], {
        "configMapKeyRef": KEY_REF, "secretKeyRef": KEY_REF,
        "fieldRef": fields(["apiVersion", "fieldPath"], {"fieldPath": NONEMPTY},
                           required=["fieldPath"])})}, required=["name"])
HTTP_GET = fields(["host", "httpHeaders", "path", "port", "scheme"], {
    "path": {"type": "string", "pattern": "^/"}, "port": INT_OR_STR,
    "scheme": {"enum": ["HTTP", "HTTPS"]}}, required=["port"])
PROBE = fields(["exec", "failureThreshold", "grpc", "httpGet", "initialDelaySeconds",
                "periodSeconds", "successThreshold", "tcpSocket", "terminationGracePeriodSeconds",
                "timeoutSeconds"], {
    "httpGet": HTTP_GET, "failureThreshold": {"type": "integer", "minimum": 1},
    "initialDelaySeconds": NONNEG, "periodSeconds": {"type": "integer", "minimum": 1},
    "successThreshold": {"type": "integer", "minimum": 1},
    "timeoutSeconds": {"type": "integer", "minimum": 1}})
CONTAINER_PORT = fields(["containerPort", "hostIP", "hostPort", "name", "protocol"], {
    "containerPort": PORTNUM, "hostPort": PORTNUM,
    "name": {"type": "string", "maxLength": 15, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
    "protocol": {"enum": ["TCP", "UDP", "SCTP"]}}, required=["containerPort"])
PROFILE = fields(["localhostProfile", "type"], {
    "type": {"enum": ["RuntimeDefault", "Unconfined", "Localhost"]}}, required=["type"])
SELINUX = fields(["level", "role", "type", "user"], {k: STR for k in ["level", "role", "type",
                                                                      "user"]})
CAPABILITY = {"type": "string", "pattern": "^[A-Z_]+$"}
CONTAINER_SC = fields(["allowPrivilegeEscalation", "appArmorProfile", "capabilities",
                       "privileged", "procMount", "readOnlyRootFilesystem", "runAsGroup",
                       "runAsNonRoot", "runAsUser", "seLinuxOptions", "seccompProfile",
                       "windowsOptions"], {
    "allowPrivilegeEscalation": BOOL, "privileged": BOOL, "readOnlyRootFilesystem": BOOL,
    "runAsNonRoot": BOOL, "runAsUser": NONNEG, "runAsGroup": NONNEG,
    "capabilities": fields(["add", "drop"], {"add": arr(CAPABILITY), "drop": arr(CAPABILITY)}),
    "appArmorProfile": PROFILE, "seccompProfile": PROFILE, "seLinuxOptions": SELINUX})
QUANTITY = {"type": ["string", "integer", "number"],
            "pattern": r"^[0-9.]+(m|k|Ki|Mi|Gi|Ti|M|G|T)?$"}
RESOURCE_LIST = {"type": "object", "additionalProperties": QUANTITY,
                 "propertyNames": {"pattern": r"^(cpu|memory|ephemeral-storage|hugepages-.+|.+/.+)$"}}
RESOURCES = fields(["claims", "limits", "requests"], {"limits": RESOURCE_LIST,
                                                      "requests": RESOURCE_LIST})
VOLUME_MOUNT = fields(["mountPath", "mountPropagation", "name", "readOnly", "recursiveReadOnly",
                       "subPath", "subPathExpr"], {
    "mountPath": {"type": "string", "pattern": "^/"}, "name": NONEMPTY, "readOnly": BOOL,
    "mountPropagation": {"enum": ["None", "HostToContainer", "Bidirectional"]}},
    required=["mountPath", "name"])
CONTAINER = fields(["args", "command", "env", "envFrom", "image", "imagePullPolicy", "lifecycle",
                    "livenessProbe", "name", "ports", "readinessProbe", "resizePolicy",
                    "resources", "restartPolicy", "securityContext", "startupProbe", "stdin",
                    "stdinOnce", "terminationMessagePath", "terminationMessagePolicy", "tty",
                    "volumeDevices", "volumeMounts", "workingDir"], {
    "name": NONEMPTY, "image": NONEMPTY, "imagePullPolicy": {"enum": ["Always", "IfNotPresent",
                                                                     "Never"]},
    "command": arr(STR, minItems=1), "args": arr(STR), "env": arr(ENV_VAR),
    "ports": arr(CONTAINER_PORT), "livenessProbe": PROBE, "readinessProbe": PROBE,
    "startupProbe": PROBE, "resources": RESOURCES, "securityContext": CONTAINER_SC,
    "volumeMounts": arr(VOLUME_MOUNT)}, required=["name", "image"])
TOLERATION = fields(["effect", "key", "operator", "tolerationSeconds", "value"], {
    "operator": {"enum": ["Exists", "Equal"]}, "key": STR, "value": STR,
    "effect": {"enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"]}})
VOLUME_SOURCES = ["awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder",
                  "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "fc", "flexVolume",
                  "flocker", "gcePersistentDisk", "gitRepo", "glusterfs", "hostPath", "image",
                  "iscsi", "nfs", "persistentVolumeClaim", "photonPersistentDisk",
                  "portworxVolume", "projected", "quobyte", "rbd", "scaleIO", "secret",
                  "storageos", "vsphereVolume"]
VOLUME = fields(["name"] + VOLUME_SOURCES, {
    "name": NONEMPTY,
    "hostPath": fields(["path", "type"], {
        "path": {"type": "string", "pattern": "^/"},
        "type": {"enum": ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
                          "CharDevice", "BlockDevice"]}}, required=["path"]),
    "emptyDir": fields(["medium", "sizeLimit"], {"medium": {"enum": ["", "Memory"]}}),
    "secret": fields(["defaultMode", "items", "optional", "secretName"], {"secretName": STR}),
    "configMap": fields(["defaultMode", "items", "name", "optional"], {"name": STR})},
    required=["name"])
POD_SC = fields(["appArmorProfile", "fsGroup", "fsGroupChangePolicy", "runAsGroup",
                 "runAsNonRoot", "runAsUser", "seLinuxChangePolicy", "seLinuxOptions",
                 "seccompProfile", "supplementalGroups", "supplementalGroupsPolicy", "sysctls",
                 "windowsOptions"], {
    "runAsNonRoot": BOOL, "runAsUser": NONNEG, "runAsGroup": NONNEG, "fsGroup": NONNEG,
    "seccompProfile": PROFILE, "appArmorProfile": PROFILE, "seLinuxOptions": SELINUX})
POD_SPEC = fields(["activeDeadlineSeconds", "affinity", "automountServiceAccountToken",
                   "containers", "dnsConfig", "dnsPolicy", "enableServiceLinks",
                   "ephemeralContainers", "hostAliases", "hostIPC", "hostNetwork", "hostPID",
                   "hostUsers", "hostname", "imagePullSecrets", "initContainers", "nodeName",
                   "nodeSelector", "os", "overhead", "preemptionPolicy", "priority",
                   "priorityClassName", "readinessGates", "resourceClaims", "resources",
                   "restartPolicy", "runtimeClassName", "schedulerName", "schedulingGates",
                   "securityContext", "serviceAccount", "serviceAccountName", "setHostnameAsFQDN",
                   "shareProcessNamespace", "subdomain", "terminationGracePeriodSeconds",
                   "tolerations", "topologySpreadConstraints", "volumes"], {
    "containers": arr(CONTAINER, minItems=1), "initContainers": arr(CONTAINER),
    "volumes": arr(VOLUME), "tolerations": arr(TOLERATION), "hostNetwork": BOOL,
    "hostPID": BOOL, "hostIPC": BOOL,
    "dnsPolicy": {"enum": ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]},
    "priorityClassName": NONEMPTY, "serviceAccountName": NONEMPTY,
    "terminationGracePeriodSeconds": NONNEG, "nodeSelector": STRMAP,
    "securityContext": POD_SC, "automountServiceAccountToken": BOOL},
    required=["containers"])
POD_TEMPLATE = fields(["metadata", "spec"], {"metadata": TEMPLATE_META, "spec": POD_SPEC},
                      required=["metadata", "spec"])
ROLLING = fields(["maxSurge", "maxUnavailable"], {"maxSurge": INT_OR_STR,
                                                  "maxUnavailable": INT_OR_STR})


def top(api_version, kind, extra_names=(), detailed=None, required=()):
    d = {"apiVersion": {"const": api_version}, "kind": {"const": kind}, "metadata": OBJECT_META}
    d.update(detailed or {})
    return fields(["apiVersion", "kind", "metadata", *extra_names], d,
                  required=["apiVersion", "kind", "metadata", *required])


DAEMONSET = top("apps/v1", "DaemonSet", ["spec", "status"], {
    "spec": fields(["minReadySeconds", "revisionHistoryLimit", "selector", "template",
                    "updateStrategy"], {
        "selector": SELECTOR, "template": POD_TEMPLATE,
        "updateStrategy": fields(["rollingUpdate", "type"], {
            "type": {"enum": ["RollingUpdate", "OnDelete"]}, "rollingUpdate": ROLLING})},
        required=["selector", "template"])}, required=["spec"])
DEPLOYMENT = top("apps/v1", "Deployment", ["spec", "status"], {
    "spec": fields(["minReadySeconds", "paused", "progressDeadlineSeconds", "replicas",
                    "revisionHistoryLimit", "selector", "strategy", "template"], {
        "replicas": NONNEG, "selector": SELECTOR, "template": POD_TEMPLATE,
        "strategy": fields(["rollingUpdate", "type"], {
            "type": {"enum": ["RollingUpdate", "Recreate"]}, "rollingUpdate": ROLLING})},
        required=["selector", "template"])}, required=["spec"])
SERVICE_ACCOUNT = top("v1", "ServiceAccount", ["automountServiceAccountToken",
                                               "imagePullSecrets", "secrets"],
                      {"automountServiceAccountToken": BOOL})
POLICY_RULE = fields(["apiGroups", "nonResourceURLs", "resourceNames", "resources", "verbs"], {
    "apiGroups": STRLIST, "nonResourceURLs": STRLIST, "resourceNames": STRLIST,
    "resources": STRLIST, "verbs": arr(STR, minItems=1)}, required=["verbs"])
CLUSTER_ROLE = top("rbac.authorization.k8s.io/v1", "ClusterRole", ["aggregationRule", "rules"],
                   {"rules": arr(POLICY_RULE)})
ROLE_REF = fields(["apiGroup", "kind", "name"], {
    "apiGroup": {"const": "rbac.authorization.k8s.io"},
    "kind": {"enum": ["ClusterRole", "Role"]}, "name": NONEMPTY},
    required=["apiGroup", "kind", "name"])
SUBJECT = fields(["apiGroup", "kind", "name", "namespace"], {
    "kind": {"enum": ["ServiceAccount", "User", "Group"]}, "name": NONEMPTY, "namespace": STR},
    required=["kind", "name"])
CLUSTER_ROLE_BINDING = top("rbac.authorization.k8s.io/v1", "ClusterRoleBinding",
                           ["roleRef", "subjects"],
                           {"roleRef": ROLE_REF, "subjects": arr(SUBJECT, minItems=1)},
                           required=["roleRef"])
NAMESPACE_SCHEMA = top("v1", "Namespace", ["spec", "status"])
CONFIG_MAP = top("v1", "ConfigMap", ["binaryData", "data", "immutable"],
                 {"data": STRMAP, "binaryData": STRMAP, "immutable": BOOL})
SECRET = top("v1", "Secret", ["data", "immutable", "stringData", "type"],
             {"data": STRMAP, "stringData": STRMAP, "type": STR, "immutable": BOOL})
PRINTER_COLUMN = fields(["description", "format", "jsonPath", "name", "priority", "type"], {
    "jsonPath": NONEMPTY, "name": NONEMPTY,
    "type": {"enum": ["integer", "number", "string", "boolean", "date"]}},
    required=["jsonPath", "name", "type"])
CRD = top("apiextensions.k8s.io/v1", "CustomResourceDefinition", ["spec", "status"], {
    "spec": fields(["conversion", "group", "names", "preserveUnknownFields", "scope",
                    "versions"], {
        "group": DNS_SUBDOMAIN,
        "names": fields(["categories", "kind", "listKind", "plural", "shortNames", "singular"], {
            "kind": NONEMPTY, "listKind": STR, "plural": NONEMPTY, "singular": STR,
            "shortNames": STRLIST, "categories": STRLIST}, required=["kind", "plural"]),
        "scope": {"enum": ["Namespaced", "Cluster"]},
        "preserveUnknownFields": {"const": False},
        "versions": arr(fields(["additionalPrinterColumns", "deprecated", "deprecationWarning",
                                "name", "schema", "selectableFields", "served", "storage",
                                "subresources"], {
            "name": NONEMPTY, "served": BOOL, "storage": BOOL,
            "schema": fields(["openAPIV3Schema"], {"openAPIV3Schema": {"type": "object"}},
                             required=["openAPIV3Schema"]),
            "subresources": fields(["scale", "status"]),
            "additionalPrinterColumns": arr(PRINTER_COLUMN)},
            required=["name", "served", "storage", "schema"]), minItems=1)},
        required=["group", "names", "scope", "versions"])}, required=["spec"])

# apiVersion, kind -> (schema, namespaced). Custom resources are allowed when their CRD is in
# the same render.
BUILTIN = {
    ("v1", "Namespace"): (NAMESPACE_SCHEMA, False),
    ("v1", "ServiceAccount"): (SERVICE_ACCOUNT, True),
    ("v1", "ConfigMap"): (CONFIG_MAP, True),
    ("v1", "Secret"): (SECRET, True),
    ("apps/v1", "DaemonSet"): (DAEMONSET, True),
    ("apps/v1", "Deployment"): (DEPLOYMENT, True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): (CLUSTER_ROLE, False),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): (CLUSTER_ROLE_BINDING, False),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): (CRD, False),
}

# RBAC: verbs that exist, and the resources of built-in groups we may name.
RBAC_VERBS = {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
BUILTIN_RESOURCES = {
    "": {"services", "nodes", "events", "endpoints", "pods", "configmaps", "secrets",
         "namespaces", "serviceaccounts"},
    "discovery.k8s.io": {"endpointslices"},
    "events.k8s.io": {"events"},
    "coordination.k8s.io": {"leases"},
    "apps": {"deployments", "deployments/scale", "daemonsets", "statefulsets", "replicasets"},
}
READ = {"get", "list", "watch"}
WRITE = {"create", "update", "patch", "delete"}
# What each component must be granted (group, resource) -> verbs; anything beyond is allowed
# only for the controller, and the agent is read-only.
AGENT_NEEDS = {("", "services"): READ, ("", "nodes"): READ,
               ("discovery.k8s.io", "endpointslices"): READ,
               ("multicluster.x-k8s.io", "serviceexports"): READ,
               ("multicluster.x-k8s.io", "serviceimports"): READ,
               ("about.k8s.io", "clusterproperties"): READ,
               ("meridian.io", "clusters"): READ}
CONTROLLER_NEEDS = dict(AGENT_NEEDS)
CONTROLLER_NEEDS.update({
    ("discovery.k8s.io", "endpointslices"): READ | WRITE,
    ("multicluster.x-k8s.io", "serviceimports"): READ | WRITE,
    ("multicluster.x-k8s.io", "serviceexports/status"): {"update", "patch"},
    ("multicluster.x-k8s.io", "serviceimports/status"): {"update", "patch"},
    ("apps", "deployments"): {"patch"},  # spec.replicas: the cluster's share of a decision
    ("", "events"): {"create", "patch"}})

# The agent's capabilities, each justified by a comment in the raw DaemonSet file.
AGENT_CAPS = {"BPF", "NET_ADMIN", "PERFMON", "SYS_RESOURCE"}
AGENT_HOST_PATHS = {"/sys/fs/bpf", "/run/meridian"}

# Keywords of apiextensions.k8s.io/v1 JSONSchemaProps.
SCHEMA_KEYWORDS = {
    "description", "type", "format", "title", "default", "maximum", "exclusiveMaximum",
    "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
    "uniqueItems", "multipleOf", "enum", "maxProperties", "minProperties", "required", "items",
    "allOf", "oneOf", "anyOf", "not", "properties", "additionalProperties", "patternProperties",
    "dependencies", "additionalItems", "definitions", "externalDocs", "example", "nullable",
    "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource",
    "x-kubernetes-int-or-string", "x-kubernetes-list-map-keys", "x-kubernetes-list-type",
    "x-kubernetes-map-type", "x-kubernetes-validations", "$ref", "$schema", "id"}


# ---------------------------------------------------------------------------------------------
# Helpers

def load_render(path):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    return docs


def ident(obj):
    md = obj.get("metadata") or {}
    ns = md.get("namespace")
    name = md.get("name", "?")
    return f"{obj.get('kind', '?')} {ns + '/' if ns else ''}{name}"


def path_str(parts):
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (("." if out else "") + str(p))
    return out or "(root)"


def find(docs, kind, name):
    for d in docs:
        if d.get("kind") == kind and (d.get("metadata") or {}).get("name") == name:
            return d
    return None


def container(obj, name):
    try:
        for c in obj["spec"]["template"]["spec"].get("containers", []):
            if c.get("name") == name:
                return c
    except (KeyError, TypeError, AttributeError):
        pass
    return None


def flag_value(args, flag):
    """The value of --flag=V or --flag V in args (the last one wins, as in CLI11); None if
    absent."""
    value = None
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            value = args[i + 1]
        elif a.startswith(flag + "="):
            value = a[len(flag) + 1:]
    return value


def listen_port(value):
    if value is None or ":" not in value:
        return None
    try:
        return int(value.rsplit(":", 1)[1])
    except ValueError:
        return None


def crds_of(docs):
    """(group/version, kind) -> (CRD object, version entry)."""
    out = {}
    for d in docs:
        if d.get("kind") != "CustomResourceDefinition":
            continue
        spec = d.get("spec") or {}
        for v in spec.get("versions") or []:
            if v.get("served"):
                out[(f"{spec.get('group')}/{v.get('name')}", (spec.get("names") or {}).get(
                    "kind"))] = (d, v)
    return out


# ---------------------------------------------------------------------------------------------
# CRD schemas: structural, and converted to JSON Schema to validate custom resources.

def structural_errors(node, path, in_logic=False, int_or_string=False, root=False):
    errs = []
    if not isinstance(node, dict):
        return [f"{path}: a schema must be an object"]
    for k in node:
        if k not in SCHEMA_KEYWORDS:
            errs.append(f"{path}: unknown schema keyword {k!r}")
    for k in ("$ref", "$schema", "id", "definitions", "additionalItems"):
        if k in node:
            errs.append(f"{path}: {k!r} is not allowed in a CRD schema")
    if node.get("uniqueItems") is True:
        errs.append(f"{path}: uniqueItems: true is not allowed in a CRD schema")
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    ios = node.get("x-kubernetes-int-or-string") is True
    if in_logic:
        # Inside allOf/anyOf/oneOf/not only value validations (except the int-or-string form).
        banned = ["description", "default", "additionalProperties", "nullable"]
        if not int_or_string:
            banned.append("type")
        for k in banned:
            if k in node:
                errs.append(f"{path}: {k!r} is not allowed inside allOf/anyOf/oneOf/not")
        for k in node:
            if k.startswith("x-kubernetes-"):
                errs.append(f"{path}: {k!r} is not allowed inside allOf/anyOf/oneOf/not")
    elif "type" not in node and not (preserve or ios):
        errs.append(f"{path}: no type (a structural schema types every node)")
    if root and node.get("type") != "object":
        errs.append(f"{path}: the root must be type: object")
    if "properties" in node and "additionalProperties" in node:
        errs.append(f"{path}: properties and additionalProperties are mutually exclusive")
    if node.get("type") == "array" and "items" not in node:
        errs.append(f"{path}: an array needs items")
    props = node.get("properties") or {}
    if root and "metadata" in props:
        md = props["metadata"]
        extra = set(md.get("properties") or {}) - {"name", "generateName"}
        if extra or md.get("type") != "object":
            errs.append(f"{path}.metadata: only type: object and restrictions of name and "
                        f"generateName are allowed")
    for k, v in props.items():
        errs += structural_errors(v, f"{path}.properties.{k}", in_logic)
    if isinstance(node.get("items"), dict):
        errs += structural_errors(node["items"], f"{path}.items", in_logic)
    if isinstance(node.get("additionalProperties"), dict):
        errs += structural_errors(node["additionalProperties"], f"{path}.additionalProperties",
                                  in_logic)
    for k in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(node.get(k) or []):
            errs += structural_errors(sub, f"{path}.{k}[{i}]", True, ios)
    if "not" in node:
        errs += structural_errors(node["not"], f"{path}.not", True)
    return errs


def to_json_schema(node, at_root=True):
    """openAPIV3Schema -> JSON Schema. x-kubernetes-* keys are dropped (int-or-string is already
    spelt out as anyOf). An object that lists its properties gets additionalProperties: false
    unless it preserves unknown fields: the API server would prune an unknown field silently,
    which for a manifest of ours is a typo. metadata is checked by the ObjectMeta schema."""
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k.startswith("x-kubernetes-") or k in ("nullable", "example", "externalDocs"):
            continue
        if k == "properties":
            out[k] = {pk: (pv if (at_root and pk == "metadata") else to_json_schema(pv, False))
                      for pk, pv in v.items()}
        elif k in ("items", "additionalProperties", "not"):
            out[k] = to_json_schema(v, False)
        elif k in ("allOf", "anyOf", "oneOf"):
            out[k] = [to_json_schema(s, False) for s in v]
        else:
            out[k] = v
    if node.get("nullable") is True and "type" in out:
        out["type"] = [out["type"], "null"]
    if ("properties" in node and "additionalProperties" not in node
            and node.get("x-kubernetes-preserve-unknown-fields") is not True):
        out["additionalProperties"] = False
    return out


# ---------------------------------------------------------------------------------------------
# The checks. Each returns a list of error strings.

def check_schemas(docs):
    errs = []
    crds = crds_of(docs)
    seen = set()
    for d in docs:
        if not isinstance(d, dict):
            errs.append(f"a document is not an object: {d!r:.60}")
            continue
        key = (d.get("apiVersion"), d.get("kind"))
        who = ident(d)
        ident_key = (d.get("apiVersion", "").split("/")[0] if "/" in d.get("apiVersion", "")
                     else "", d.get("kind"), (d.get("metadata") or {}).get("namespace"),
                     (d.get("metadata") or {}).get("name"))
        if ident_key in seen:
            errs.append(f"{who}: defined twice")
        seen.add(ident_key)
        if key in BUILTIN:
            schema, namespaced = BUILTIN[key]
        elif key in crds:
            crd, version = crds[key]
            namespaced = crd["spec"].get("scope") == "Namespaced"
            # metadata by our ObjectMeta schema, the rest by the CRD's own schema.
            errs += [f"{who}: metadata{'.' if e.absolute_path else ''}"
                     f"{path_str(list(e.absolute_path))}: {e.message}"
                     for e in jsonschema.Draft7Validator(OBJECT_META).iter_errors(
                         d.get("metadata") or {})]
            schema = to_json_schema(version["schema"]["openAPIV3Schema"])
        else:
            errs.append(f"{who}: apiVersion {key[0]!r} kind {key[1]!r} is not in the allowlist "
                        f"and no CRD in this render defines it")
            continue
        for e in sorted(jsonschema.Draft7Validator(schema).iter_errors(d),
                        key=lambda e: list(map(str, e.absolute_path))):
            errs.append(f"{who}: {path_str(list(e.absolute_path))}: {e.message}")
        ns = (d.get("metadata") or {}).get("namespace")
        if namespaced and ns != NAMESPACE:
            errs.append(f"{who}: namespaced kind must be in namespace {NAMESPACE}, got {ns!r}")
        if not namespaced and ns:
            errs.append(f"{who}: cluster-scoped kind must not have a namespace ({ns!r})")
    return errs


def check_crds(docs):
    errs = []
    for d in docs:
        if d.get("kind") != "CustomResourceDefinition":
            continue
        who = ident(d)
        spec = d.get("spec") or {}
        names = spec.get("names") or {}
        want = f"{names.get('plural')}.{spec.get('group')}"
        if (d.get("metadata") or {}).get("name") != want:
            errs.append(f"{who}: metadata.name must be <plural>.<group> = {want}")
        versions = spec.get("versions") or []
        if sum(1 for v in versions if v.get("storage")) != 1:
            errs.append(f"{who}: exactly one version must be the storage version")
        for v in versions:
            s = ((v.get("schema") or {}).get("openAPIV3Schema"))
            if s is None:
                errs.append(f"{who}: version {v.get('name')} has no openAPIV3Schema")
                continue
            errs += [f"{who}: version {v.get('name')}: {e}"
                     for e in structural_errors(s, "openAPIV3Schema", root=True)]
            try:
                jsonschema.Draft7Validator.check_schema(to_json_schema(s))
            except jsonschema.SchemaError as e:
                errs.append(f"{who}: version {v.get('name')}: not a valid schema: {e.message}")
    return errs


def check_rbac(docs):
    errs = []
    crd_resources = {}  # group -> {plural, plural/status ...}
    for d in docs:
        if d.get("kind") == "CustomResourceDefinition":
            spec = d["spec"]
            res = crd_resources.setdefault(spec["group"], set())
            res.add(spec["names"]["plural"])
            if any("status" in (v.get("subresources") or {}) for v in spec["versions"]):
                res.add(spec["names"]["plural"] + "/status")
    for d in docs:
        if d.get("kind") not in ("ClusterRole", "Role"):
            continue
        who = ident(d)
        for i, rule in enumerate(d.get("rules") or []):
            for field in ("verbs", "resources", "apiGroups", "resourceNames", "nonResourceURLs"):
                for v in rule.get(field) or []:
                    if "*" in v:
                        errs.append(f"{who}: rules[{i}].{field} has a wildcard {v!r}")
            if rule.get("nonResourceURLs"):
                errs.append(f"{who}: rules[{i}]: nonResourceURLs are not needed")
            for v in rule.get("verbs") or []:
                if v not in RBAC_VERBS and "*" not in v:
                    errs.append(f"{who}: rules[{i}]: unknown verb {v!r}")
            groups = rule.get("apiGroups")
            if not groups:
                errs.append(f"{who}: rules[{i}]: apiGroups missing")
                continue
            for g in groups:
                known = BUILTIN_RESOURCES.get(g, set()) | crd_resources.get(g, set())
                for r in rule.get("resources") or []:
                    if "*" not in r and r not in known:
                        errs.append(f"{who}: rules[{i}]: resource {r!r} does not exist in API "
                                    f"group {g!r} (known: {sorted(known)})")
    # Bindings resolve.
    for d in docs:
        if d.get("kind") != "ClusterRoleBinding":
            continue
        who = ident(d)
        ref = d.get("roleRef") or {}
        if not find(docs, ref.get("kind"), ref.get("name")):
            errs.append(f"{who}: roleRef {ref.get('kind')} {ref.get('name')} is not in the render")
        for s in d.get("subjects") or []:
            if s.get("kind") == "ServiceAccount":
                sa = find(docs, "ServiceAccount", s.get("name"))
                if not sa or (sa.get("metadata") or {}).get("namespace") != s.get("namespace"):
                    errs.append(f"{who}: subject ServiceAccount {s.get('namespace')}/"
                                f"{s.get('name')} is not in the render")
    return errs


def grants(docs, sa_name):
    """(group, resource) -> verbs granted to ServiceAccount sa_name through ClusterRoleBindings."""
    out = {}
    for b in docs:
        if b.get("kind") != "ClusterRoleBinding":
            continue
        if not any(s.get("kind") == "ServiceAccount" and s.get("name") == sa_name
                   and s.get("namespace") == NAMESPACE for s in b.get("subjects") or []):
            continue
        role = find(docs, "ClusterRole", (b.get("roleRef") or {}).get("name"))
        for rule in (role or {}).get("rules") or []:
            for g in rule.get("apiGroups") or []:
                for r in rule.get("resources") or []:
                    out.setdefault((g, r), set()).update(rule.get("verbs") or [])
    return out


def check_component_rbac(docs, sa_name, needs, read_only):
    errs = []
    got = grants(docs, sa_name)
    for (g, r), verbs in needs.items():
        missing = verbs - got.get((g, r), set())
        if missing:
            errs.append(f"ServiceAccount {sa_name}: missing {sorted(missing)} on "
                        f"{r} ({g or 'core'})")
    for (g, r), verbs in got.items():
        if read_only and verbs - READ:
            errs.append(f"ServiceAccount {sa_name}: must be read-only, has {sorted(verbs - READ)}"
                        f" on {r} ({g or 'core'})")
        if (g, r) not in needs:
            errs.append(f"ServiceAccount {sa_name}: {r} ({g or 'core'}) is granted but not "
                        f"needed (least privilege: add it to the test's needs if it is)")
        elif verbs - needs[(g, r)]:
            errs.append(f"ServiceAccount {sa_name}: {sorted(verbs - needs[(g, r)])} on {r} "
                        f"({g or 'core'}) are granted but not needed")
    return errs


def check_references(docs):
    errs = []
    for d in docs:
        if d.get("kind") not in ("DaemonSet", "Deployment"):
            continue
        who = ident(d)
        spec = d.get("spec") or {}
        tmpl = spec.get("template") or {}
        labels = (tmpl.get("metadata") or {}).get("labels") or {}
        sel = (spec.get("selector") or {}).get("matchLabels") or {}
        if not sel:
            errs.append(f"{who}: spec.selector.matchLabels is empty")
        for k, v in sel.items():
            if labels.get(k) != v:
                errs.append(f"{who}: selector {k}={v} does not match the template's labels")
        pod = tmpl.get("spec") or {}
        sa = pod.get("serviceAccountName")
        if not sa:
            errs.append(f"{who}: no serviceAccountName (it would run as 'default')")
        elif not find(docs, "ServiceAccount", sa):
            errs.append(f"{who}: serviceAccountName {sa} is not in the render")
        volumes = {v.get("name") for v in pod.get("volumes") or []}
        all_containers = (pod.get("initContainers") or []) + (pod.get("containers") or [])
        names = [c.get("name") for c in all_containers]
        if len(names) != len(set(names)):
            errs.append(f"{who}: container names are not unique: {names}")
        for c in all_containers:
            cw = f"{who} container {c.get('name')}"
            if not c.get("image"):
                errs.append(f"{cw}: no image")
            for m in c.get("volumeMounts") or []:
                if m.get("name") not in volumes:
                    errs.append(f"{cw}: volumeMount {m.get('name')} names no volume")
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
                if ref:
                    cm = find(docs, "ConfigMap", ref.get("name"))
                    if not cm:
                        errs.append(f"{cw}: env {e.get('name')}: ConfigMap {ref.get('name')} "
                                    f"is not in the render")
                    elif ref.get("key") not in (cm.get("data") or {}):
                        errs.append(f"{cw}: env {e.get('name')}: ConfigMap {ref.get('name')} "
                                    f"has no key {ref.get('key')}")
            ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                port = ((c.get(probe) or {}).get("httpGet") or {}).get("port")
                if isinstance(port, str) and port not in ports:
                    errs.append(f"{cw}: {probe} port {port!r} names no container port")
    return errs


def probe_target(c, probe):
    hg = (c.get(probe) or {}).get("httpGet") or {}
    port = hg.get("port")
    if isinstance(port, str):
        port = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}.get(port)
    return hg.get("path"), port


STARTUP_ALLOWANCE_S = 60


def check_probes(c, who, port):
    errs = []
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        got = probe_target(c, probe)
        if got != (path, port):
            errs.append(f"{who}: {probe} must be httpGet {path} on port {port}, got "
                        f"{got[0]} on {got[1]}")
    # A startup probe on /healthz that allows at least STARTUP_ALLOWANCE_S: the start may wait
    # up to 30 s for the API server's first complete read (docs/kubernetes.md), and a slow API
    # server at start must not get the pod restarted.
    got = probe_target(c, "startupProbe")
    if got != ("/healthz", port):
        errs.append(f"{who}: startupProbe must be httpGet /healthz on port {port}, got "
                    f"{got[0]} on {got[1]}")
    else:
        sp = c.get("startupProbe") or {}
        allowed = (sp.get("initialDelaySeconds", 0) +
                   sp.get("periodSeconds", 10) * sp.get("failureThreshold", 3))
        if allowed < STARTUP_ALLOWANCE_S:
            errs.append(f"{who}: startupProbe allows {allowed} s, needs at least "
                        f"{STARTUP_ALLOWANCE_S} s (initialDelaySeconds + periodSeconds x "
                        f"failureThreshold)")
    hl = listen_port(flag_value(c.get("args") or [], "--health-listen"))
    if hl != port:
        errs.append(f"{who}: --health-listen port {hl} is not the probes' port {port}")
    return errs


def check_metrics(obj, c, who):
    """--metrics-listen: a port declared as containerPort `metrics` (TCP), and the pod's
    prometheus.io/port annotation, when present, naming it (docs/metrics.md)."""
    errs = []
    port = listen_port(flag_value(c.get("args") or [], "--metrics-listen"))
    if not port:
        return [f"{who}: --metrics-listen must serve on a port Prometheus can reach (not off)"]
    named = [p for p in c.get("ports") or [] if p.get("name") == "metrics"]
    if not named or named[0].get("containerPort") != port or \
            named[0].get("protocol", "TCP") != "TCP":
        errs.append(f"{who}: --metrics-listen port {port} must be declared as the TCP "
                    f"containerPort named metrics")
    ann = ((obj.get("spec") or {}).get("template") or {}).get("metadata", {}).get(
        "annotations") or {}
    if "prometheus.io/port" in ann and str(ann["prometheus.io/port"]) != str(port):
        errs.append(f"{who}: annotation prometheus.io/port {ann['prometheus.io/port']} is not "
                    f"the --metrics-listen port {port}")
    return errs


def comment_of_capability(raw_text, cap):
    """The comment on the `- CAP` line of a capabilities add: list in the raw file, or None."""
    m = re.search(r"^\s*-\s*(?:CAP_)?" + re.escape(cap) + r"\s*(#.*)?$", raw_text, re.M)
    if not m:
        return None
    return (m.group(1) or "").lstrip("#").strip()


def check_agent(docs, raw_text):
    kind, name, cname, _ = AGENT
    ds = find(docs, kind, name)
    if not ds:
        return [f"{kind} {name} is not in the render"]
    who = ident(ds)
    errs = []
    spec = ds.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    if pod.get("hostNetwork") is not True:
        errs.append(f"{who}: hostNetwork must be true")
    # Default, not ClusterFirstWithHostNet: see the comment in the DaemonSet.
    if pod.get("dnsPolicy") != "Default":
        errs.append(f"{who}: dnsPolicy must be Default (the cluster DNS ClusterIP is not "
                    f"reachable from the host network without kube-proxy), got "
                    f"{pod.get('dnsPolicy')!r}")
    if pod.get("priorityClassName") != "system-node-critical":
        errs.append(f"{who}: priorityClassName must be system-node-critical")
    if {"operator": "Exists"} not in (pod.get("tolerations") or []):
        errs.append(f"{who}: needs a toleration {{operator: Exists}} (no key, no effect) to run "
                    f"on every node")
    us = spec.get("updateStrategy") or {}
    ru = us.get("rollingUpdate") or {}
    if us.get("type") != "RollingUpdate" or ru.get("maxUnavailable") != 1 or \
            ru.get("maxSurge") not in (0, "0"):
        errs.append(f"{who}: updateStrategy must be RollingUpdate with maxUnavailable 1 and "
                    f"maxSurge 0, got {us}")
    if not isinstance(pod.get("terminationGracePeriodSeconds"), int):
        errs.append(f"{who}: terminationGracePeriodSeconds must be set")
    c = container(ds, cname)
    if not c:
        return errs + [f"{who}: no container {cname}"]
    cw = f"{who} container {cname}"
    errs += check_probes(c, cw, 10256)
    errs += check_metrics(ds, c, cw)
    args = c.get("args") or []
    env = {e.get("name"): e for e in c.get("env") or []}
    fp = ((env.get("NODE_NAME") or {}).get("valueFrom") or {}).get("fieldRef") or {}
    if fp.get("fieldPath") != "spec.nodeName":
        errs.append(f"{cw}: env NODE_NAME must come from fieldRef spec.nodeName")
    node = flag_value(args, "--node")
    if node not in (None, "$(NODE_NAME)"):
        errs.append(f"{cw}: --node must be $(NODE_NAME) or absent, got {node!r}")
    if flag_value(args, "--source") != "kubernetes":
        errs.append(f"{cw}: --source must be kubernetes")
    sc = c.get("securityContext") or {}
    if sc.get("privileged") is not False:
        errs.append(f"{cw}: securityContext.privileged must be false")
    if sc.get("allowPrivilegeEscalation") is not False:
        errs.append(f"{cw}: allowPrivilegeEscalation must be false")
    if sc.get("readOnlyRootFilesystem") is not True:
        errs.append(f"{cw}: readOnlyRootFilesystem must be true")
    caps = sc.get("capabilities") or {}
    if caps.get("drop") != ["ALL"]:
        errs.append(f"{cw}: capabilities.drop must be [ALL]")
    added = {a.removeprefix("CAP_") for a in caps.get("add") or []}
    if added != AGENT_CAPS:
        errs.append(f"{cw}: capabilities.add must be {sorted(AGENT_CAPS)}, got {sorted(added)}")
    for cap in sorted(added):
        comment = comment_of_capability(raw_text, cap)
        if comment is None:
            errs.append(f"{cw}: capability {cap} is not on a line of its own in the raw file")
        elif len(comment) < 15:
            errs.append(f"{cw}: capability {cap} has no comment saying why it is needed")
    if not re.search(r"#.*Not SYS_ADMIN", raw_text):
        errs.append(f"{cw}: the raw file must say (in a comment) why CAP_SYS_ADMIN is not added")
    # Volumes: only the host paths the agent uses, and the ones its flags name are mounted.
    vols = {v.get("name"): v for v in pod.get("volumes") or []}
    host = {n: (v.get("hostPath") or {}).get("path") for n, v in vols.items() if "hostPath" in v}
    for n, p in host.items():
        if p not in AGENT_HOST_PATHS:
            errs.append(f"{who}: hostPath {p} (volume {n}) is not needed by the agent")
    mounts = {m.get("mountPath"): m for m in c.get("volumeMounts") or []}
    bpffs = flag_value(args, "--bpffs") or "/sys/fs/bpf"
    m = mounts.get(bpffs)
    if not m or host.get(m.get("name")) != "/sys/fs/bpf":
        errs.append(f"{cw}: --bpffs {bpffs} must be the host's /sys/fs/bpf (hostPath)")
    elif m.get("mountPropagation") != "HostToContainer":
        errs.append(f"{cw}: the bpffs mount needs mountPropagation HostToContainer (Bidirectional "
                    f"is for privileged containers only)")
    state = flag_value(args, "--state-dir")
    if not state or not any(state == mp or state.startswith(mp.rstrip("/") + "/")
                            for mp, mm in mounts.items()
                            if host.get(mm.get("name")) == "/run/meridian"):
        errs.append(f"{cw}: --state-dir {state} must be under the /run/meridian hostPath mount")
    # The init container mounts bpffs on the host.
    inits = pod.get("initContainers") or []
    if not any((i.get("securityContext") or {}).get("privileged") is True and any(
            mm.get("mountPropagation") == "Bidirectional" and
            host.get(mm.get("name")) == "/sys/fs/bpf" for mm in i.get("volumeMounts") or [])
            for i in inits):
        errs.append(f"{who}: needs a privileged init container mounting /sys/fs/bpf "
                    f"Bidirectional (it mounts bpffs on the host)")
    for i in inits:
        if any(mm.get("mountPropagation") == "Bidirectional" for mm in i.get("volumeMounts") or
               []) and (i.get("securityContext") or {}).get("privileged") is not True:
            errs.append(f"{who}: init container {i.get('name')}: Bidirectional needs privileged")
    # DNS port declared.
    dns = listen_port(flag_value(args, "--dns-listen"))
    declared = {(p.get("containerPort"), p.get("protocol", "TCP")) for p in c.get("ports") or []}
    if dns and not {(dns, "UDP"), (dns, "TCP")} <= declared:
        errs.append(f"{cw}: --dns-listen port {dns} must be declared for UDP and TCP")
    return errs


def check_controller(docs):
    kind, name, cname, _ = CONTROLLER
    dep = find(docs, kind, name)
    if not dep:
        return [f"{kind} {name} is not in the render"]
    who = ident(dep)
    errs = []
    spec = dep.get("spec") or {}
    if spec.get("replicas") != 1:
        errs.append(f"{who}: replicas must be 1 (one publisher per cluster)")
    if (spec.get("strategy") or {}).get("type") != "Recreate":
        errs.append(f"{who}: strategy must be Recreate (never two publishers at once)")
    pod = (spec.get("template") or {}).get("spec") or {}
    if pod.get("hostNetwork"):
        errs.append(f"{who}: must not use the host network")
    c = container(dep, cname)
    if not c:
        return errs + [f"{who}: no container {cname}"]
    cw = f"{who} container {cname}"
    errs += check_probes(c, cw, 10257)
    errs += check_metrics(dep, c, cw)
    psc = pod.get("securityContext") or {}
    sc = c.get("securityContext") or {}
    if not (sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True and
            sc.get("runAsUser", psc.get("runAsUser")) not in (None, 0)):
        errs.append(f"{cw}: must run as a non-root uid (runAsNonRoot and runAsUser != 0)")
    if sc.get("readOnlyRootFilesystem") is not True:
        errs.append(f"{cw}: readOnlyRootFilesystem must be true")
    if sc.get("allowPrivilegeEscalation") is not False:
        errs.append(f"{cw}: allowPrivilegeEscalation must be false")
    if sc.get("privileged"):
        errs.append(f"{cw}: must not be privileged")
    caps = sc.get("capabilities") or {}
    if caps.get("drop") != ["ALL"] or caps.get("add"):
        errs.append(f"{cw}: capabilities must be drop [ALL] and nothing added")
    args = c.get("args") or []
    if flag_value(args, "--source") != "kubernetes":
        errs.append(f"{cw}: --source must be kubernetes")
    status = flag_value(args, "--status-file")
    mounts = [m.get("mountPath") for m in c.get("volumeMounts") or []]
    if status and not any(status.startswith(mp.rstrip("/") + "/") for mp in mounts):
        errs.append(f"{cw}: --status-file {status} is on the read-only root filesystem")
    return errs


def check_cluster_consistency(docs, require_cluster):
    """The agent and the controller name the same cluster and registry, and a Cluster object of
    that name is in the render."""
    errs = []
    a = container(find(docs, AGENT[0], AGENT[1]) or {}, AGENT[2]) or {}
    c = container(find(docs, CONTROLLER[0], CONTROLLER[1]) or {}, CONTROLLER[2]) or {}
    aa, ca = a.get("args") or [], c.get("args") or []
    for flag in ("--cluster", "--registry"):
        av, cv = flag_value(aa, flag), flag_value(ca, flag)
        if (require_cluster or av is not None) and av != cv:
            errs.append(f"agent {flag}={av} and controller {flag}={cv} differ")
    if require_cluster:
        name = flag_value(ca, "--cluster")
        if not find(docs, "Cluster", name):
            errs.append(f"no Cluster object named {name!r} (the --cluster of both components)")
        for flag in ("--cluster", "--registry", "--uplink"):
            if flag_value(aa, flag) is None:
                errs.append(f"agent: {flag} is not set")
        reg = flag_value(ca, "--registry") or ""
        if not re.fullmatch(r"etcd://[^/:]+:[0-9]+", reg):
            errs.append(f"controller: --registry {reg!r} is not etcd://host:port (the only "
                        f"form the etcd client supports today)")
        prop = find(docs, "ClusterProperty", "cluster.clusterset.k8s.io")
        if prop and (prop.get("spec") or {}).get("value") != name:
            errs.append(f"ClusterProperty cluster.clusterset.k8s.io is {(prop.get('spec') or {}).get('value')!r}"
                        f", not the cluster name {name!r}")
    return errs


def check_render(docs, raw_text, require_cluster, profile):
    """[(group, errors)] for one render."""
    groups = [("objects", check_schemas(docs)), ("crds", check_crds(docs))]
    if profile == "full":
        groups += [
            ("references", check_references(docs)),
            ("rbac", check_rbac(docs)),
            ("rbac-agent", check_component_rbac(docs, "meridian-agent", AGENT_NEEDS, True)),
            ("rbac-controller", check_component_rbac(docs, "meridian-controller",
                                                     CONTROLLER_NEEDS, False)),
            ("agent", check_agent(docs, raw_text)),
            ("controller", check_controller(docs)),
            ("cluster", check_cluster_consistency(docs, require_cluster)),
        ]
    return groups


# ---------------------------------------------------------------------------------------------
# Several overlays: one ClusterSet.

def check_clusterset(renders):
    errs = []
    clusters = []
    shared = {}
    for label, docs in renders:
        for d in docs:
            if d.get("kind") == "Cluster":
                clusters.append((label, d))
        a = container(find(docs, AGENT[0], AGENT[1]) or {}, AGENT[2]) or {}
        c = container(find(docs, CONTROLLER[0], CONTROLLER[1]) or {}, CONTROLLER[2]) or {}
        for who, args, flag, default in (("agent", a.get("args") or [], "--vxlan-port", "4789"),
                                         ("agent", a.get("args") or [], "--registry", None),
                                         ("controller", c.get("args") or [], "--clusterset-cidr",
                                          "10.255.0.0/16"),
                                         ("controller", c.get("args") or [], "--registry", None)):
            shared.setdefault((who, flag), {})[label] = flag_value(args, flag) or default
    for (who, flag), values in sorted(shared.items()):
        if len(set(values.values())) != 1:
            errs.append(f"{who} {flag} differs between overlays: {values}")
    names, ids, cidrs = {}, {}, []
    for label, cl in clusters:
        name = cl["metadata"]["name"]
        spec = cl.get("spec") or {}
        if name in names:
            errs.append(f"Cluster {name} is defined by {names[name]} and {label}")
        names[name] = label
        if spec.get("id") in ids:
            errs.append(f"Cluster {name} ({label}) has id {spec.get('id')}, like "
                        f"{ids[spec.get('id')]}")
        ids[spec.get("id")] = name
        for cidr in spec.get("podCIDRs") or []:
            net = ipaddress.ip_network(cidr, strict=True)
            for other_name, other in cidrs:
                if net.overlaps(other):
                    errs.append(f"Cluster {name} pod CIDR {net} overlaps {other} of {other_name}")
            cidrs.append((name, net))
    if len(clusters) != len(renders):
        errs.append(f"{len(renders)} overlays but {len(clusters)} Cluster objects")
    # ClusterSet IPs must not collide with pod CIDRs.
    for label, cs in (shared.get(("controller", "--clusterset-cidr")) or {}).items():
        try:
            net = ipaddress.ip_network(cs)
        except ValueError:
            errs.append(f"{label}: --clusterset-cidr {cs!r} is not a CIDR")
            continue
        for name, pod in cidrs:
            if net.overlaps(pod):
                errs.append(f"{label}: --clusterset-cidr {net} overlaps pod CIDR {pod} of {name}")
    return errs


# ---------------------------------------------------------------------------------------------
# The binaries' own flag parser.

NODE = "node-1"
UNSUPPORTED = re.compile(r"(not expected|unknown|unrecognized|extra).*--check-flags|"
                         r"--check-flags.*(not expected|unknown|unrecognized)", re.I | re.S)


def expand(value, env):
    """$(VAR) -> env[VAR] as the kubelet expands container args; $$ -> $. Unknown stays."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), value)


def container_env(docs, c):
    env = {}
    for e in c.get("env") or []:
        if "value" in e:
            env[e["name"]] = expand(e["value"], env)
            continue
        vf = e.get("valueFrom") or {}
        if (vf.get("fieldRef") or {}).get("fieldPath") == "spec.nodeName":
            env[e["name"]] = NODE
        elif vf.get("configMapKeyRef"):
            ref = vf["configMapKeyRef"]
            cm = find(docs, "ConfigMap", ref.get("name")) or {}
            if ref.get("key") in (cm.get("data") or {}):
                env[e["name"]] = cm["data"][ref["key"]]
    return env


def run(cmd, env):
    try:
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=20)
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        return "timeout", (e.stdout or "") if isinstance(e.stdout, str) else ""


def check_flags(docs, label, bin_dir, allow_missing):
    """Prints PASS/FAIL/SKIP lines; returns the number of failures."""
    failures = 0

    def out(kind, msg):
        nonlocal failures
        print(f"{kind}: [{label}] {msg}")
        failures += kind == "FAIL"

    for kind, name, cname, binary in (AGENT, CONTROLLER):
        obj = find(docs, kind, name)
        c = container(obj or {}, cname)
        if not c:
            out("FAIL", f"flags {binary}: no {kind} {name} container {cname}")
            continue
        cmd0 = (c.get("command") or [""])[0]
        if os.path.basename(cmd0) != binary:
            out("FAIL", f"flags {binary}: command {cmd0!r} does not run {binary}")
            continue
        env = container_env(docs, c)
        args = [expand(a, env) for a in c.get("args") or []]
        left = [a for a in args if "$(" in a]
        if left:
            out("FAIL", f"flags {binary}: unresolved variables in args: {left}")
            continue
        exe = os.path.join(bin_dir, binary)
        if not os.access(exe, os.X_OK):
            out("FAIL", f"flags {binary}: {exe} is not an executable (build it first)")
            continue
        # A clean environment: NODE_NAME as the downward API gives it, nothing that points at a
        # real API server.
        penv = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NODE_NAME": NODE}
        rc, text = run([exe, *args, "--check-flags"], penv)
        shown = " ".join(args)
        if rc != 0 and UNSUPPORTED.search(text or ""):
            msg = (f"flags {binary}: --check-flags not in this binary ({exe}); "
                   f"it said: {text.strip()[:300]}")
            out("SKIP" if allow_missing else "FAIL", msg)
        elif rc == 0 and "flags ok" in text:
            out("PASS", f"flags {binary}: {shown} --check-flags -> flags ok")
        else:
            out("FAIL", f"flags {binary}: {shown} --check-flags exited {rc}: "
                        f"{text.strip()[:500]}")
        # Negative controls: the same parser must refuse a wrong flag and a wrong value.
        bad_value = (["--dns-listen=0.0.0.0:99999"] if binary == "meridian-agent"
                     else ["--lease-ttl-ms=1"])
        for extra, why in ((["--no-such-flag"], "an unknown flag"),
                           (bad_value, "an out-of-range value")):
            rc2, text2 = run([exe, *args, *extra, "--check-flags"], penv)
            if rc2 not in (0, "timeout"):
                out("PASS", f"flags {binary}: {why} ({extra[0]}) is refused (exit {rc2})")
            else:
                out("FAIL", f"flags {binary}: {why} ({extra[0]}) was accepted (exit {rc2}): "
                            f"{(text2 or '').strip()[:300]}")
    return failures


# ---------------------------------------------------------------------------------------------
# Self-test: the checks must catch known defects.

def self_test(rendered, raw_path):
    docs = load_render(rendered)
    raw = open(raw_path).read()
    failures = 0

    def all_errors(d, r=raw, require_cluster=True):
        return [e for _, errs in check_render(d, r, require_cluster, "full") for e in errs]

    base_errs = all_errors(docs)
    if base_errs:
        print(f"FAIL: self-test baseline: the unmodified render has errors, so the mutations "
              f"below prove nothing: {base_errs[:5]}")
        return 1
    print("PASS: self-test baseline: the unmodified render has no errors")

    def ds(d):
        return find(d, "DaemonSet", "meridian-agent")

    def agent_c(d):
        return container(ds(d), "agent")

    def rename(obj, old, new):
        obj[new] = obj.pop(old)

    def cluster(d):
        return next(x for x in d if x.get("kind") == "Cluster")

    def crd(d, name):
        return find(d, "CustomResourceDefinition", name)

    def cl_schema(d):
        return crd(d, "clusters.meridian.io")["spec"]["versions"][0]["schema"]["openAPIV3Schema"]

    def role(d, name):
        return find(d, "ClusterRole", name)

    mutations = [
        ("DaemonSet field misspelt hostNetwrok",
         lambda d: rename(ds(d)["spec"]["template"]["spec"], "hostNetwork", "hostNetwrok"),
         "hostNetwrok"),
        ("container field misspelt readinesProbe",
         lambda d: rename(agent_c(d), "readinessProbe", "readinesProbe"), "readinesProbe"),
        ("securityContext field misspelt readOnlyRootFileSystem",
         lambda d: rename(agent_c(d)["securityContext"], "readOnlyRootFilesystem",
                          "readOnlyRootFileSystem"), "readOnlyRootFileSystem"),
        ("wildcard verb in the agent's ClusterRole",
         lambda d: role(d, "meridian-agent")["rules"][0].__setitem__("verbs", ["*"]),
         "wildcard"),
        ("wildcard apiGroup in the controller's ClusterRole",
         lambda d: role(d, "meridian-controller")["rules"][0].__setitem__("apiGroups", ["*"]),
         "wildcard"),
        ("agent granted a write verb",
         lambda d: role(d, "meridian-agent")["rules"][0]["verbs"].append("delete"),
         "read-only"),
        ("misspelt RBAC resource",
         lambda d: role(d, "meridian-agent")["rules"][0].__setitem__("resources",
                                                                     ["servics", "nodes"]),
         "servics"),
        ("Cluster field misspelt podCIRDs",
         lambda d: rename(cluster(d)["spec"], "podCIDRs", "podCIRDs"), "podCIRDs"),
        ("Cluster id 0", lambda d: cluster(d)["spec"].__setitem__("id", 0), "id"),
        ("Cluster with both tunnelEndpoints and gateway",
         lambda d: cluster(d)["spec"].update(tunnelEndpoints=[{"address": "172.16.9.1",
                                                               "podCIDRs": ["10.9.0.0/24"]}],
                                             gateway="172.16.9.9"), "valid under each"),
        ("CRD schema node without a type",
         lambda d: cl_schema(d)["properties"]["spec"]["properties"]["id"].pop("type"), "no type"),
        ("CRD schema keyword misspelt",
         lambda d: rename(cl_schema(d)["properties"]["spec"], "properties", "propertes"),
         "propertes"),
        ("unknown kind",
         lambda d: d.append({"apiVersion": "v1", "kind": "Serivce", "metadata": {"name": "x"}}),
         "allowlist"),
        ("selector does not match the template labels",
         lambda d: ds(d)["spec"]["selector"]["matchLabels"].__setitem__(
             "app.kubernetes.io/name", "other"), "does not match"),
        ("container without an image", lambda d: agent_c(d).pop("image"), "image"),
        ("liveness probe on /health", lambda d: agent_c(d)["livenessProbe"]["httpGet"]
         .__setitem__("path", "/health"), "livenessProbe"),
        ("readiness probe on the wrong port", lambda d: agent_c(d)["readinessProbe"]["httpGet"]
         .__setitem__("port", 10257), "readinessProbe"),
        ("controller without a startup probe",
         lambda d: container(find(d, "Deployment", "meridian-controller"), "controller")
         .pop("startupProbe"), "startupProbe"),
        ("agent startup probe allowing 20 s",
         lambda d: agent_c(d)["startupProbe"].update(periodSeconds=2, failureThreshold=10),
         "startupProbe allows"),
        ("toleration with a key instead of Exists for all",
         lambda d: ds(d)["spec"]["template"]["spec"].__setitem__(
             "tolerations", [{"key": "x", "operator": "Exists"}]), "toleration"),
        ("maxUnavailable changed", lambda d: ds(d)["spec"]["updateStrategy"]["rollingUpdate"]
         .__setitem__("maxUnavailable", 2), "maxUnavailable"),
        ("CAP_SYS_ADMIN added", lambda d: agent_c(d)["securityContext"]["capabilities"]["add"]
         .append("SYS_ADMIN"), "capabilities.add"),
        ("agent privileged", lambda d: agent_c(d)["securityContext"].__setitem__(
            "privileged", True), "privileged"),
        ("/lib/modules mounted", lambda d: ds(d)["spec"]["template"]["spec"]["volumes"].append(
            {"name": "modules", "hostPath": {"path": "/lib/modules"}}), "/lib/modules"),
        ("ConfigMap key missing", lambda d: find(d, "ConfigMap", "meridian-apiserver")["data"]
         .pop("KUBERNETES_SERVICE_HOST"), "has no key"),
        ("controller RollingUpdate",
         lambda d: find(d, "Deployment", "meridian-controller")["spec"]["strategy"]
         .__setitem__("type", "RollingUpdate"), "Recreate"),
        ("controller as root",
         lambda d: find(d, "Deployment", "meridian-controller")["spec"]["template"]["spec"]
         ["securityContext"].__setitem__("runAsUser", 0), "non-root"),
        ("agent and controller name different clusters",
         lambda d: container(find(d, "Deployment", "meridian-controller"), "controller")
         ["args"].append("--cluster=other"), "differ"),
        ("agent metrics port not declared",
         lambda d: agent_c(d).__setitem__(
             "ports", [p for p in agent_c(d)["ports"] if p.get("name") != "metrics"]),
         "containerPort named metrics"),
        ("controller scrape annotation on another port",
         lambda d: find(d, "Deployment", "meridian-controller")["spec"]["template"]["metadata"]
         ["annotations"].__setitem__("prometheus.io/port", "9999"), "prometheus.io/port"),
        ("namespaced object outside meridian-system",
         lambda d: find(d, "ServiceAccount", "meridian-agent")["metadata"].__setitem__(
             "namespace", "default"), "namespace"),
    ]
    for title, mutate, expect in mutations:
        d = copy.deepcopy(docs)
        mutate(d)
        errs = all_errors(d)
        hit = [e for e in errs if expect.lower() in e.lower()]
        if hit:
            print(f"PASS: self-test: {title}: reported ({hit[0][:160]})")
        else:
            failures += 1
            print(f"FAIL: self-test: {title}: not reported (wanted {expect!r}; got "
                  f"{errs[:3]})")

    # A capability without its comment in the raw file.
    raw_bad = re.sub(r"(-\s*PERFMON)\s*#.*", r"\1", raw)
    errs = all_errors(docs, raw_bad)
    if any("PERFMON has no comment" in e for e in errs):
        print("PASS: self-test: capability without a comment in the raw file: reported")
    else:
        failures += 1
        print(f"FAIL: self-test: capability without a comment: not reported ({errs[:3]})")

    # Two overlays with the same cluster id / overlapping CIDRs.
    a = copy.deepcopy(docs)
    b = copy.deepcopy(docs)
    cluster(b)["metadata"]["name"] = "other"
    errs = check_clusterset([("a", a), ("b", b)])
    if any("has id" in e for e in errs) and any("overlaps" in e for e in errs):
        print("PASS: self-test: two clusters with one id and overlapping pod CIDRs: reported")
    else:
        failures += 1
        print(f"FAIL: self-test: clusterset duplicates not reported ({errs[:3]})")
    return 1 if failures else 0


# ---------------------------------------------------------------------------------------------

def report(label, groups):
    failed = 0
    for group, errs in groups:
        if errs:
            for e in errs:
                print(f"FAIL: [{label}] {group}: {e}")
            failed += 1
        else:
            print(f"PASS: [{label}] {group}")
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--self-test", action="store_true",
                    help="run the negative controls (on --rendered, or on a fresh render of "
                         "deploy/overlays/cluster-a)")
    ap.add_argument("--rendered", help="a `kubectl kustomize` output (with --self-test)")
    ap.add_argument("--raw-agent", default=os.path.join(REPO, "deploy/base/agent-daemonset.yaml"),
                    help="the agent DaemonSet as written (for the capability comments)")
    sub = ap.add_subparsers(dest="cmd")
    c = sub.add_parser("check", help="check one render")
    c.add_argument("file")
    c.add_argument("--label", default=None)
    c.add_argument("--require-cluster", action="store_true",
                   help="an overlay: a Cluster object and consistent --cluster/--registry")
    c.add_argument("--profile", choices=["full", "crds"], default="full",
                   help="crds: only object schemas and CRD checks (a render of CRDs alone)")
    s = sub.add_parser("clusterset", help="several overlays' renders form one ClusterSet")
    s.add_argument("files", nargs="+", help="LABEL=FILE")
    f = sub.add_parser("flags", help="run the binaries' --check-flags over the container args")
    f.add_argument("file")
    f.add_argument("--label", default=None)
    f.add_argument("--bin-dir", required=True)
    f.add_argument("--allow-missing-check-flags", action="store_true",
                   help="SKIP instead of FAIL when a binary has no --check-flags (development)")
    a = ap.parse_args()

    if a.self_test:
        rendered = a.rendered
        if not rendered:
            import tempfile
            fd, rendered = tempfile.mkstemp(suffix=".yaml")
            with os.fdopen(fd, "w") as out:
                subprocess.run(["kubectl", "kustomize",
                                os.path.join(REPO, "deploy/overlays/cluster-a")],
                               stdout=out, check=True)
        return self_test(rendered, a.raw_agent)
    if a.cmd == "check":
        label = a.label or a.file
        docs = load_render(a.file)
        raw = open(a.raw_agent).read()
        return 1 if report(label, check_render(docs, raw, a.require_cluster, a.profile)) else 0
    if a.cmd == "clusterset":
        renders = []
        for spec in a.files:
            label, _, path = spec.partition("=")
            renders.append((label, load_render(path)))
        labels = ",".join(lbl for lbl, _ in renders)
        return 1 if report(labels, [("clusterset", check_clusterset(renders))]) else 0
    if a.cmd == "flags":
        docs = load_render(a.file)
        return 1 if check_flags(docs, a.label or a.file, a.bin_dir,
                                a.allow_missing_check_flags) else 0
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
