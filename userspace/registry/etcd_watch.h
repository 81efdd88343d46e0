// etcd watches for EtcdRegistry: a bounded read of past changes (for
// ChangesSince) and a long-lived, resuming WatchStream (for Watch). Internal
// to registry/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "registry/etcd_connection.h"
#include "registry/registry.h"

namespace meridian::registry {

// Every change under prefix with revision in (since, until], read through one
// etcd watch started at since + 1 and cancelled once caught up to `until`
// (a revision etcd has already reached). Raw events, in revision order. An
// error containing "compacted" if etcd no longer has that history.
Result<std::vector<WatchEvent>> ReadEtcdHistory(EtcdConnection& conn, const std::string& prefix,
                                                std::int64_t since, std::int64_t until);

// A native etcd watch on prefix from since + 1 that reconnects and resumes
// after the last revision it delivered.
std::unique_ptr<WatchStream> OpenEtcdWatch(std::shared_ptr<EtcdConnection> conn, std::string prefix,
                                           std::int64_t since);

// etcd event -> registry event (a delete carries the delete's revision).
WatchEvent ToWatchEvent(const mvccpb::Event& event);

}  // namespace meridian::registry
