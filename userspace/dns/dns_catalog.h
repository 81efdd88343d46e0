// DnsCatalog: the ServiceImports the DNS server answers for, as plain values.
// The agent builds one from its merged imports and hands it to the server;
// the catalog is immutable afterwards, so the lookup index built in the
// constructor can never go stale.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/ipv4.h"
#include "model/protocol.h"

namespace meridian::dns {

struct DnsPort {
  std::string name;  // empty: unnamed port, which has no SRV record
  model::Protocol protocol = model::Protocol::kTcp;
  std::uint16_t port = 0;
};

struct DnsEndpoint {
  model::Ipv4Address address;
  std::string hostname;  // empty: no per-endpoint name
  std::string cluster;   // cluster id, the label in <hostname>.<clusterid>.<svc>...
  bool ready = true;
};

struct DnsImport {
  std::string ns;
  std::string name;
  bool headless = false;
  std::optional<model::Ipv4Address> clusterset_ip;  // ClusterSetIP imports only
  std::vector<DnsPort> ports;
  std::vector<DnsEndpoint> endpoints;  // headless imports only
};

// Lower-cases ASCII letters: DNS names compare case-insensitively (RFC 4343)
// and Kubernetes names are lower-case, so the index keys are lower-case.
inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

class DnsCatalog {
 public:
  DnsCatalog() = default;
  // `serial` goes into the SOA record so caches can tell catalogs apart.
  explicit DnsCatalog(std::vector<DnsImport> imports, std::uint32_t serial = 1)
      : imports_(std::move(imports)), serial_(serial) {
    for (std::size_t i = 0; i < imports_.size(); ++i) {
      const DnsImport& imp = imports_[i];
      // First one wins on a duplicate: the merge upstream should never
      // produce two, and answering one consistently beats answering both.
      index_.emplace(Key(imp.ns, imp.name), i);
      namespaces_.insert(AsciiLower(imp.ns));
    }
  }

  const std::vector<DnsImport>& imports() const { return imports_; }
  std::uint32_t serial() const { return serial_; }

  // Case-insensitive lookup; nullptr when the service is not imported.
  const DnsImport* Find(std::string_view ns, std::string_view name) const {
    auto it = index_.find(Key(ns, name));
    return it == index_.end() ? nullptr : &imports_[it->second];
  }
  // Whether any import lives in `ns` (so <ns>.svc.clusterset.local exists
  // as an empty non-terminal rather than being NXDOMAIN).
  bool HasNamespace(std::string_view ns) const { return namespaces_.count(AsciiLower(ns)) > 0; }

 private:
  // '/' cannot occur in a Kubernetes name, so the key is unambiguous.
  static std::string Key(std::string_view ns, std::string_view name) {
    return AsciiLower(ns) + "/" + AsciiLower(name);
  }

  std::vector<DnsImport> imports_;
  std::uint32_t serial_ = 1;
  std::map<std::string, std::size_t> index_;
  std::set<std::string> namespaces_;
};

}  // namespace meridian::dns
