#include "controller/export_publisher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <set>

#include "common/unix_time.h"
#include "mcs/clusterset_ip.h"
#include "mcs/import_merge.h"
#include "mcs/records.h"
#include "mcs/registry_keys.h"

namespace meridian::controller {
namespace {

// Services some cluster (other than `except`) exports, from the key layout
// of the clusters' records.
std::set<model::ObjectKey> ExportedServices(const std::vector<registry::KeyValue>& records,
                                            const std::string& except) {
  std::set<model::ObjectKey> out;
  for (const auto& kv : records) {
    auto parsed = mcs::ParseKey(kv.key);
    if (!parsed) continue;
    if (const auto* e = std::get_if<mcs::ExportKeyParts>(&*parsed); e && e->cluster != except) {
      out.insert(e->service);
    }
  }
  return out;
}

Result<std::set<model::ObjectKey>> ExportedServices(registry::Registry& reg,
                                                    const std::string& except) {
  auto all = reg.List(mcs::kClustersPrefix);
  if (!all) return all.error();
  return ExportedServices(*all, except);
}

}  // namespace

SyncReport ExportPublisher::Sync(const model::Cluster& info,
                                 const std::vector<model::ExportedService>& exports) {
  SyncReport report;
  if (started_ms_ == 0) started_ms_ = UnixNowMs();
  // Every record is decoded back as a reader would before it is written:
  // one that readers would reject (a string that is not UTF-8 serializes,
  // with a libprotobuf ERROR, but does not parse) is reported and never
  // published, instead of vanishing silently on every agent.
  std::map<std::string, std::string> desired;
  std::string cluster_info = mcs::EncodeClusterInfo(info, started_ms_);
  if (auto back = mcs::DecodeClusterInfo(options_.cluster, cluster_info); !back) {
    report.errors.push_back(fmt::format("Cluster {}: not published: its record does not decode: {}",
                                        options_.cluster, back.error().message));
  } else {
    desired[mcs::ClusterInfoKey(options_.cluster)] = std::move(cluster_info);
  }
  for (const auto& e : exports) {
    std::string bytes = mcs::EncodeExportedService(e);
    if (auto back = mcs::DecodeExportedService(options_.cluster, e.service, bytes); !back) {
      report.errors.push_back(
          fmt::format("export {}: not published: its record does not decode: {}",
                      e.service.ToString(), back.error().message));
      continue;
    }
    desired[mcs::ExportKey(options_.cluster, e.service)] = std::move(bytes);
  }

  if (!adopted_) {
    if (auto adopted = Adopt(); !adopted) {
      report.errors.push_back(adopted.error().message);
      return report;
    }
  }

  for (const auto& [key, value] : desired) {
    auto it = published_.find(key);
    if (it != published_.end() && it->second == value) {
      if (reg_.KeepAlive(key)) {
        ++report.keepalives;
        continue;
      }
      // Expired (e.g. we were paused longer than the TTL): write it again.
    }
    auto rev = reg_.Put(key, value, options_.lease_ttl);
    if (!rev) {
      report.errors.push_back(rev.error().message);
      published_.erase(key);
      continue;
    }
    published_[key] = value;
    ++report.puts;
  }
  for (auto it = published_.begin(); it != published_.end();) {
    if (desired.count(it->first)) {
      ++it;
      continue;
    }
    if (auto s = reg_.Delete(it->first); !s) {
      report.errors.push_back(s.error().message);
      ++it;
      continue;
    }
    ++report.deletes;
    auto parsed = mcs::ParseKey(it->first);
    it = published_.erase(it);
    if (parsed) {
      if (const auto* e = std::get_if<mcs::ExportKeyParts>(&*parsed)) {
        ReleaseIfUnexported(e->service, report);
      }
    }
  }
  auto records = reg_.List(mcs::kClustersPrefix);
  if (!records) {
    report.errors.push_back(records.error().message);
    return report;
  }
  FollowImports(exports, *records, report);
  CollectOrphanImports(*records, report);
  return report;
}

Result<std::map<model::ObjectKey, std::int64_t>> ExportPublisher::Adopt() {
  std::map<model::ObjectKey, std::int64_t> created;
  if (adopted_) return created;
  // A previous run's records: keep the ones we still want (their lease
  // continues, readers see no change), delete the rest (in Sync).
  auto mine = reg_.List(mcs::ClusterPrefix(options_.cluster));
  if (!mine) return mine.error();
  for (const auto& kv : *mine) {
    published_[kv.key] = kv.value;
    auto parsed = mcs::ParseKey(kv.key);
    const auto* e = parsed ? std::get_if<mcs::ExportKeyParts>(&*parsed) : nullptr;
    if (!e) continue;
    auto previous = mcs::DecodeExportedService(e->cluster, e->service, kv.value);
    if (previous && previous->export_creation_ms > 0) {
      created[e->service] = previous->export_creation_ms;
    }
  }
  adopted_ = true;
  return created;
}

void ExportPublisher::FollowImports(const std::vector<model::ExportedService>& exports,
                                    const std::vector<registry::KeyValue>& records,
                                    SyncReport& report) {
  std::set<model::ObjectKey> ours;
  for (const auto& e : exports) ours.insert(e.service);
  // Our own exports as we mean them (a failed Put left the registry's
  // older copy), then the other clusters' records of the same services.
  std::vector<model::ExportedService> all = exports;
  for (const auto& kv : records) {
    auto parsed = mcs::ParseKey(kv.key);
    const auto* e = parsed ? std::get_if<mcs::ExportKeyParts>(&*parsed) : nullptr;
    if (!e || e->cluster == options_.cluster || !ours.count(e->service)) continue;
    // A record that does not decode is rejected by every agent too: it
    // takes no part in the merge.
    if (auto other = mcs::DecodeExportedService(e->cluster, e->service, kv.value)) {
      all.push_back(std::move(*other));
    }
  }
  for (auto& imp : mcs::MergeImports(std::move(all), {})) {
    report.exports.push_back({.service = imp.key,
                              .import_type = imp.type,
                              .session_affinity = imp.session_affinity,
                              .clusters = imp.Clusters(),
                              .conflicts = std::move(imp.conflicts)});
    if (imp.type == model::ImportType::kClusterSetIP) {
      auto ip = mcs::EnsureClusterSetIp(reg_, imp.key, options_.clusterset_cidr);
      if (!ip) report.errors.push_back(ip.error().message);
      continue;
    }
    auto existing = reg_.Get(mcs::ImportKey(imp.key));
    if (!existing) {
      report.errors.push_back(existing.error().message);
      continue;
    }
    if (!*existing) continue;
    if (auto s = mcs::ReleaseClusterSetIp(reg_, imp.key); !s) {
      report.errors.push_back(s.error().message);
      continue;
    }
    ++report.released_imports;
    spdlog::info(
        "released the ClusterSet IP of {}: its import is headless (oldest export, "
        "cluster {})",
        imp.key.ToString(), report.exports.back().clusters.front());
  }
}

SyncReport ExportPublisher::Withdraw() {
  SyncReport report;
  auto mine = reg_.List(mcs::ClusterPrefix(options_.cluster));
  if (!mine) {
    report.errors.push_back(mine.error().message);
    return report;
  }
  for (const auto& kv : *mine) {
    if (auto s = reg_.Delete(kv.key); !s) {
      report.errors.push_back(s.error().message);
      continue;
    }
    ++report.deletes;
    auto parsed = mcs::ParseKey(kv.key);
    if (!parsed) continue;
    if (const auto* e = std::get_if<mcs::ExportKeyParts>(&*parsed)) {
      ReleaseIfUnexported(e->service, report);
    }
  }
  published_.clear();
  return report;
}

void ExportPublisher::ReleaseIfUnexported(const model::ObjectKey& service, SyncReport& report) {
  auto others = ExportedServices(reg_, options_.cluster);
  if (!others) {
    report.errors.push_back(others.error().message);
    return;
  }
  if (others->count(service)) return;
  auto existing = reg_.Get(mcs::ImportKey(service));
  if (!existing || !*existing) return;
  if (auto s = mcs::ReleaseClusterSetIp(reg_, service); !s) {
    report.errors.push_back(s.error().message);
    return;
  }
  ++report.released_imports;
  spdlog::info("released the ClusterSet IP of {}: no cluster exports it", service.ToString());
}

void ExportPublisher::CollectOrphanImports(const std::vector<registry::KeyValue>& records,
                                           SyncReport& report) {
  auto imports = reg_.List(mcs::kImportsPrefix);
  if (!imports) return;
  auto exported = ExportedServices(records, "");
  auto now = std::chrono::steady_clock::now();
  std::map<std::string, std::chrono::steady_clock::time_point> still;
  for (const auto& kv : *imports) {
    auto parsed = mcs::ParseKey(kv.key);
    if (!parsed) continue;
    const auto* imp = std::get_if<mcs::ImportKeyParts>(&*parsed);
    if (!imp || exported.count(imp->service)) continue;
    auto since = orphan_since_.count(kv.key) ? orphan_since_[kv.key] : now;
    if (now - since < options_.orphan_grace) {
      still[kv.key] = since;
      continue;
    }
    if (auto s = reg_.Delete(kv.key); !s) {
      report.errors.push_back(s.error().message);
      continue;
    }
    ++report.released_imports;
    spdlog::info("released the ClusterSet IP of {}: unexported for {} ms", imp->service.ToString(),
                 options_.orphan_grace.count());
  }
  orphan_since_ = std::move(still);
}

}  // namespace meridian::controller
