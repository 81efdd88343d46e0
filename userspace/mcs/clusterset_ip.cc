#include "mcs/clusterset_ip.h"

#include <fmt/format.h>

#include <set>

#include "mcs/records.h"
#include "mcs/registry_keys.h"

namespace meridian::mcs {
namespace {

// Lost races are retried; more than this many in a row means something
// else is wrong (e.g. a writer looping), so give up with an error.
constexpr int kMaxAttempts = 32;

}  // namespace

Result<model::Ipv4Address> EnsureClusterSetIp(registry::Registry& reg,
                                              const model::ObjectKey& service,
                                              const model::Cidr& cidr) {
  const std::string key = ImportKey(service);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    auto current = reg.Get(key);
    if (!current) return current.error();
    if (*current) {
      auto ip = DecodeImportRecord(service, (*current)->value);
      if (ip) return *ip;
      // A malformed record would block the import forever: replace it.
      auto swapped = reg.CompareAndSwap(key, (*current)->revision, "");
      if (!swapped) return swapped.error();
      if (*swapped) {
        if (auto d = reg.Delete(key); !d) return d.error();
      }
      continue;
    }
    auto imports = reg.List(kImportsPrefix);
    if (!imports) return imports.error();
    std::set<std::uint32_t> used;
    for (const auto& kv : *imports) {
      auto parsed = ParseKey(kv.key);
      if (!parsed) continue;
      const auto* parts = std::get_if<ImportKeyParts>(&*parsed);
      if (!parts) continue;
      if (auto ip = DecodeImportRecord(parts->service, kv.value)) used.insert(ip->host_order());
    }
    const std::uint32_t first = cidr.network().host_order();
    const std::uint64_t size = std::uint64_t{1} << (32 - cidr.prefix_len());
    std::optional<model::Ipv4Address> pick;
    for (std::uint64_t i = size > 2 ? 1 : 0; i < (size > 2 ? size - 1 : size); ++i) {
      auto candidate = static_cast<std::uint32_t>(first + i);
      if (!used.count(candidate)) {
        pick = model::Ipv4Address(candidate);
        break;
      }
    }
    if (!pick) {
      return Error{fmt::format("ClusterSet CIDR {} is exhausted ({} imports hold its addresses)",
                               cidr.ToString(), used.size())};
    }
    // Two imports can race for the same free address; the import key is the
    // claim, so a duplicate is detected by re-listing: the later revision
    // yields and retries.
    auto won = reg.CompareAndSwap(key, 0, EncodeImportRecord(service, *pick));
    if (!won) return won.error();
    if (!*won) continue;  // someone allocated this import first: read theirs
    auto again = reg.List(kImportsPrefix);
    if (!again) return again.error();
    std::int64_t mine = 0, rival = 0;
    for (const auto& kv : *again) {
      auto parsed = ParseKey(kv.key);
      if (!parsed) continue;
      const auto* parts = std::get_if<ImportKeyParts>(&*parsed);
      if (!parts) continue;
      auto ip = DecodeImportRecord(parts->service, kv.value);
      if (!ip || *ip != *pick) continue;
      if (kv.key == key) {
        mine = kv.revision;
      } else if (rival == 0 || kv.revision < rival) {
        rival = kv.revision;
      }
    }
    if (rival != 0 && rival < mine) {
      if (auto d = reg.Delete(key); !d) return d.error();
      continue;
    }
    return *pick;
  }
  return Error{fmt::format("ClusterSet IP for {}: gave up after {} lost races", service.ToString(),
                           kMaxAttempts)};
}

Status ReleaseClusterSetIp(registry::Registry& reg, const model::ObjectKey& service) {
  return reg.Delete(ImportKey(service));
}

}  // namespace meridian::mcs
