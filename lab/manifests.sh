# shellcheck shell=bash
# lab/manifests.sh: Kubernetes-shaped manifests for lab pods. Source after
# lab/lib.sh.

# lab_service_yaml NAME VIP PORTS POD...: a Service (namespace default) and
# its EndpointSlice with the given pods ready, ending with "---".
# PORTS is a comma-separated list of name:PROTO:port:targetPort, e.g.
# "http:TCP:80:8080,echo:UDP:80:8080".
lab_service_yaml() {
  local name=$1 vip=$2 ports=$3 spec pname proto port target pod
  shift 3
  printf 'apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: default}\n' "$name"
  printf 'spec:\n  clusterIP: %s\n  ports:\n' "$vip"
  for spec in ${ports//,/ }; do
    IFS=: read -r pname proto port target <<<"$spec"
    printf '  - {name: %s, protocol: %s, port: %s, targetPort: %s}\n' "$pname" "$proto" "$port" "$target"
  done
  printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n'
  printf 'metadata:\n  name: %s-1\n  namespace: default\n' "$name"
  printf '  labels: {kubernetes.io/service-name: %s}\naddressType: IPv4\nports:\n' "$name"
  for spec in ${ports//,/ }; do
    IFS=: read -r pname proto port target <<<"$spec"
    printf -- '- {name: %s, protocol: %s, port: %s}\n' "$pname" "$proto" "$target"
  done
  if (($# == 0)); then echo "endpoints: []"; else echo "endpoints:"; fi
  for pod in "$@"; do
    printf -- '- {addresses: [%s], conditions: {ready: true}}\n' "$(lab_pod_ip "$pod")"
  done
  echo "---"
}

# lab_service_export NAME: the ServiceExport of NAME (namespace default).
lab_service_export() {
  printf 'apiVersion: multicluster.x-k8s.io/v1alpha1\nkind: ServiceExport\n'
  printf 'metadata: {name: %s, namespace: default}\n---\n' "$1"
}
