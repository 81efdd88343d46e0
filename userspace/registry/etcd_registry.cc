#include "registry/etcd_registry.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

#include "registry/etcd_connection.h"
#include "registry/etcd_watch.h"

namespace meridian::registry {
namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

// etcd lease TTLs are whole seconds: round up, so a key never disappears
// before the TTL the caller asked for.
std::int64_t LeaseSeconds(std::chrono::milliseconds ttl) { return (ttl.count() + 999) / 1000; }

}  // namespace

EtcdRegistry::EtcdRegistry(std::shared_ptr<EtcdConnection> conn) : conn_(std::move(conn)) {}
EtcdRegistry::~EtcdRegistry() = default;

const std::string& EtcdRegistry::EndpointName() const { return conn_->endpoint_name(); }

std::string EtcdRegistry::PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

Result<EtcdRegistry::Options> EtcdRegistry::ParseUrl(const std::string& url) {
  // Errors show the URL without its password.
  const std::string shown = RedactRegistryUrl(url);
  std::string rest;
  if (url.rfind("etcd://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("etcd:", 0) == 0) {
    rest = url.substr(5);
  } else {
    return Error{fmt::format("registry url '{}': not an etcd: url", shown)};
  }
  Options options;
  std::size_t q = rest.find('?');
  std::string hosts = rest.substr(0, q);
  for (const std::string& h : Split(hosts, ',')) {
    std::size_t colon = h.rfind(':');
    if (h.empty() || colon == std::string::npos || colon == 0 || colon + 1 == h.size() ||
        h.find('/') != std::string::npos) {
      return Error{fmt::format("registry url '{}': endpoint '{}' is not host:port", shown, h)};
    }
    options.endpoints.push_back(h);
  }
  std::string password_file;
  bool password_given = false;
  if (q != std::string::npos) {
    for (const std::string& param : Split(rest.substr(q + 1), '&')) {
      std::size_t eq = param.find('=');
      std::string name = param.substr(0, eq);
      std::string value = eq == std::string::npos ? "" : param.substr(eq + 1);
      if (name == "user") {
        options.username = value;
      } else if (name == "password") {
        options.password = value;
        password_given = true;
      } else if (name == "password_file") {
        password_file = value;
      } else if (name == "ca") {
        options.ca_file = value;
      } else if (name == "cert") {
        options.cert_file = value;
      } else if (name == "key") {
        options.key_file = value;
      } else {
        return Error{fmt::format(
            "registry url '{}': unknown parameter '{}' (expected user, password, password_file, "
            "ca, cert, key)",
            shown, name)};
      }
    }
  }
  if (password_given && !password_file.empty()) {
    return Error{
        fmt::format("registry url '{}': give password= or password_file=, not both", shown)};
  }
  if (!password_file.empty()) {
    // A file a Secret is mounted as: the password stays out of the
    // command line (which every user of the node can read in /proc).
    std::ifstream in(password_file);
    if (!in) {
      return Error{fmt::format("registry url '{}': password_file {}: {}", shown, password_file,
                               std::strerror(errno))};
    }
    std::getline(in, options.password);
    if (!options.password.empty() && options.password.back() == '\r') options.password.pop_back();
    if (options.password.empty()) {
      return Error{fmt::format("registry url '{}': password_file {}: its first line is empty",
                               shown, password_file)};
    }
  }
  if (!options.username.empty() && options.password.empty()) {
    return Error{fmt::format("registry url '{}': user= needs password= or password_file=", shown)};
  }
  return options;
}

Result<std::unique_ptr<EtcdRegistry>> EtcdRegistry::Open(Options options) {
  auto conn = EtcdConnection::Connect(options);
  if (!conn) return conn.error();
  return std::unique_ptr<EtcdRegistry>(new EtcdRegistry(std::move(*conn)));
}

Result<std::int64_t> EtcdRegistry::GrantLease(const std::string& key,
                                              std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0) return std::int64_t{0};
  etcdserverpb::LeaseGrantRequest req;
  req.set_ttl(LeaseSeconds(ttl));
  etcdserverpb::LeaseGrantResponse resp;
  Status s = conn_->Call(fmt::format("lease for {}", key), [&](grpc::ClientContext& ctx) {
    return conn_->lease().LeaseGrant(&ctx, req, &resp);
  });
  if (!s) return s.error();
  return resp.id();
}

void EtcdRegistry::RevokeOrphanLease(const std::string& key, std::int64_t lease) {
  if (lease == 0) return;
  etcdserverpb::LeaseRevokeRequest revoke;
  revoke.set_id(lease);
  etcdserverpb::LeaseRevokeResponse ignored;
  Status r = conn_->Call(
      fmt::format("revoke unused lease of {}", key),
      [&](grpc::ClientContext& ctx) { return conn_->lease().LeaseRevoke(&ctx, revoke, &ignored); });
  // Harmless if it fails: the lease holds no key now and expires by itself.
  if (!r) spdlog::debug("{}", r.error().message);
}

// Lease strategy: one lease per leased key, granted on every Put. The
// contract is per key ("gone ttl after the last Put/KeepAlive of it"): a
// lease shared by all keys of one TTL would be renewed by any key's
// KeepAlive and not by a Put, keeping keys alive that their owner stopped
// renewing. A registry holds hundreds to thousands of leased keys, well
// within what etcd's lessor handles. The key's previous lease is revoked
// after the Put detached it from it, so re-publishing does not pile up
// leases until they expire.
Result<std::int64_t> EtcdRegistry::Put(const std::string& key, const std::string& value,
                                       std::chrono::milliseconds ttl) {
  if (Status valid = ValidateKey(key); !valid) return valid.error();
  auto granted = GrantLease(key, ttl);
  if (!granted) return granted.error();
  const std::int64_t lease = *granted;
  etcdserverpb::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  req.set_lease(lease);
  req.set_prev_kv(true);
  etcdserverpb::PutResponse resp;
  Status s = conn_->Call(fmt::format("put {}", key), [&](grpc::ClientContext& ctx) {
    return conn_->kv().Put(&ctx, req, &resp);
  });
  // The lease this Put orphaned: the key's previous one, or on failure the
  // one just granted.
  RevokeOrphanLease(key, s ? resp.prev_kv().lease() : lease);
  if (!s) return s.error();
  last_revision_ = resp.header().revision();
  return resp.header().revision();
}

Result<std::optional<std::int64_t>> EtcdRegistry::LeaseIdOf(const std::string& key,
                                                            const std::string& what) {
  if (Status valid = ValidateKey(key); !valid) return valid.error();
  etcdserverpb::RangeRequest range;
  range.set_key(key);
  range.set_keys_only(true);
  etcdserverpb::RangeResponse kv;
  Status s = conn_->Call(fmt::format("{} {}", what, key), [&](grpc::ClientContext& ctx) {
    return conn_->kv().Range(&ctx, range, &kv);
  });
  if (!s) return s.error();
  if (kv.kvs_size() == 0) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(kv.kvs(0).lease());
}

Status EtcdRegistry::KeepAlive(const std::string& key) {
  auto id = LeaseIdOf(key, "keepalive");
  if (!id) return id.error();
  if (!*id) {
    return Error{fmt::format("etcd {}: keepalive {}: no such key (deleted or lease expired)",
                             conn_->endpoint_name(), key)};
  }
  const std::int64_t lease = **id;
  if (lease == 0) return Status::Ok();  // no lease: nothing to renew
  // LeaseKeepAlive is a stream in etcd's API; one request and its answer
  // renew the lease once.
  for (int attempt = 0;; ++attempt) {
    grpc::ClientContext ctx;
    conn_->Prepare(ctx, conn_->call_timeout());
    auto stream = conn_->lease().LeaseKeepAlive(&ctx);
    etcdserverpb::LeaseKeepAliveRequest req;
    req.set_id(lease);
    etcdserverpb::LeaseKeepAliveResponse resp;
    bool answered = stream->Write(req) && stream->Read(&resp);
    stream->WritesDone();
    ctx.TryCancel();
    while (stream->Read(&resp)) {
    }
    grpc::Status status = stream->Finish();
    if (answered) {
      if (resp.ttl() <= 0) {
        return Error{fmt::format("etcd {}: keepalive {}: lease {:x} expired",
                                 conn_->endpoint_name(), key, lease)};
      }
      return Status::Ok();
    }
    if (attempt == 0 && EtcdConnection::IsTokenError(status) && conn_->Authenticate()) continue;
    return conn_->MakeError(fmt::format("keepalive {}", key), status);
  }
}

Status EtcdRegistry::Delete(const std::string& key) {
  if (Status valid = ValidateKey(key); !valid) return valid;
  etcdserverpb::DeleteRangeRequest req;
  req.set_key(key);
  etcdserverpb::DeleteRangeResponse resp;
  Status s = conn_->Call(fmt::format("delete {}", key), [&](grpc::ClientContext& ctx) {
    return conn_->kv().DeleteRange(&ctx, req, &resp);
  });
  if (s) last_revision_ = resp.header().revision();
  return s;
}

Result<std::optional<KeyValue>> EtcdRegistry::Get(const std::string& key) {
  if (Status valid = ValidateKey(key); !valid) return valid.error();
  etcdserverpb::RangeRequest req;
  req.set_key(key);
  etcdserverpb::RangeResponse resp;
  Status s = conn_->Call(fmt::format("get {}", key), [&](grpc::ClientContext& ctx) {
    return conn_->kv().Range(&ctx, req, &resp);
  });
  if (!s) return s.error();
  last_revision_ = resp.header().revision();
  if (resp.kvs_size() == 0) return std::optional<KeyValue>();
  const mvccpb::KeyValue& kv = resp.kvs(0);
  return std::optional<KeyValue>(KeyValue{kv.key(), kv.value(), kv.mod_revision()});
}

Result<std::optional<LeaseInfo>> EtcdRegistry::Lease(const std::string& key) {
  auto id = LeaseIdOf(key, "lease of");
  if (!id) return id.error();
  if (!*id || **id == 0) return std::optional<LeaseInfo>();
  etcdserverpb::LeaseTimeToLiveRequest req;
  req.set_id(**id);
  etcdserverpb::LeaseTimeToLiveResponse resp;
  Status s = conn_->Call(fmt::format("lease of {}", key), [&](grpc::ClientContext& ctx) {
    return conn_->lease().LeaseTimeToLive(&ctx, req, &resp);
  });
  if (!s) return s.error();
  // TTL -1: expired between the two calls (the key goes with it).
  if (resp.ttl() < 0) return std::optional<LeaseInfo>();
  return std::optional<LeaseInfo>(LeaseInfo{.ttl = std::chrono::seconds(resp.grantedttl()),
                                            .remaining = std::chrono::seconds(resp.ttl())});
}

Result<std::vector<KeyValue>> EtcdRegistry::List(const std::string& prefix) {
  if (Status valid = ValidatePrefix(prefix); !valid) return valid.error();
  etcdserverpb::RangeRequest req;
  req.set_key(prefix);
  req.set_range_end(PrefixEnd(prefix));
  req.set_sort_order(etcdserverpb::RangeRequest::ASCEND);
  req.set_sort_target(etcdserverpb::RangeRequest::KEY);
  etcdserverpb::RangeResponse resp;
  Status s = conn_->Call(fmt::format("list {}", prefix), [&](grpc::ClientContext& ctx) {
    return conn_->kv().Range(&ctx, req, &resp);
  });
  if (!s) return s.error();
  last_revision_ = resp.header().revision();
  std::vector<KeyValue> out;
  out.reserve(resp.kvs_size());
  for (const mvccpb::KeyValue& kv : resp.kvs()) {
    out.push_back(KeyValue{kv.key(), kv.value(), kv.mod_revision()});
  }
  return out;
}

Result<bool> EtcdRegistry::CompareAndSwap(const std::string& key, std::int64_t expected_revision,
                                          const std::string& value, std::chrono::milliseconds ttl) {
  if (Status valid = ValidateKey(key); !valid) return valid.error();
  auto granted = GrantLease(key, ttl);
  if (!granted) return granted.error();
  const std::int64_t lease = *granted;
  etcdserverpb::TxnRequest txn;
  etcdserverpb::Compare* cmp = txn.add_compare();
  cmp->set_key(key);
  cmp->set_result(etcdserverpb::Compare::EQUAL);
  if (expected_revision == 0) {
    // "Must not exist": an expired (lease-revoked) or deleted key has
    // create_revision 0 again in etcd.
    cmp->set_target(etcdserverpb::Compare::CREATE);
    cmp->set_create_revision(0);
  } else {
    cmp->set_target(etcdserverpb::Compare::MOD);
    cmp->set_mod_revision(expected_revision);
  }
  etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
  put->set_prev_kv(true);
  etcdserverpb::TxnResponse resp;
  Status s = conn_->Call(fmt::format("compare-and-swap {}", key), [&](grpc::ClientContext& ctx) {
    return conn_->kv().Txn(&ctx, txn, &resp);
  });
  // The lease left holding nothing: the replaced value's, or the new one
  // when the swap lost or failed (as in Put).
  std::int64_t orphan = lease;
  if (s && resp.succeeded() && resp.responses_size() > 0) {
    orphan = resp.responses(0).response_put().prev_kv().lease();
  }
  RevokeOrphanLease(key, orphan);
  if (!s) return s.error();
  last_revision_ = resp.header().revision();
  return resp.succeeded();
}

Result<std::vector<WatchEvent>> EtcdRegistry::ChangesSince(const std::string& prefix,
                                                           std::int64_t since) {
  if (Status valid = ValidatePrefix(prefix); !valid) return valid.error();
  etcdserverpb::RangeRequest req;
  req.set_key(prefix);
  req.set_range_end(PrefixEnd(prefix));
  req.set_count_only(true);
  etcdserverpb::RangeResponse resp;
  Status s = conn_->Call(fmt::format("changes under {}", prefix), [&](grpc::ClientContext& ctx) {
    return conn_->kv().Range(&ctx, req, &resp);
  });
  if (!s) return s.error();
  std::int64_t until = resp.header().revision();
  last_revision_ = until;
  if (until <= since) return std::vector<WatchEvent>{};
  auto raw = ReadEtcdHistory(*conn_, prefix, std::max<std::int64_t>(since, 0), until);
  if (!raw) return raw.error();
  // One event per key, its latest; then in revision order (a txn's events
  // share a revision: by key among themselves).
  std::map<std::string, WatchEvent> latest;
  for (WatchEvent& e : *raw) latest[e.kv.key] = std::move(e);
  std::vector<WatchEvent> out;
  out.reserve(latest.size());
  for (auto& [key, e] : latest) out.push_back(std::move(e));
  std::stable_sort(out.begin(), out.end(), [](const WatchEvent& a, const WatchEvent& b) {
    return a.kv.revision < b.kv.revision;
  });
  return out;
}

std::int64_t EtcdRegistry::CurrentRevision() {
  etcdserverpb::RangeRequest req;
  req.set_key(kKeyPrefix);
  req.set_count_only(true);
  etcdserverpb::RangeResponse resp;
  Status s = conn_->Call("current revision", [&](grpc::ClientContext& ctx) {
    return conn_->kv().Range(&ctx, req, &resp);
  });
  if (!s) {
    spdlog::warn("{}; using the last revision seen, {}", s.error().message, last_revision_.load());
    return last_revision_;
  }
  last_revision_ = resp.header().revision();
  return resp.header().revision();
}

Result<std::unique_ptr<WatchStream>> EtcdRegistry::Watch(const std::string& prefix,
                                                         std::int64_t since) {
  if (Status valid = ValidatePrefix(prefix); !valid) return valid.error();
  return OpenEtcdWatch(conn_, prefix, std::max<std::int64_t>(since, 0));
}

}  // namespace meridian::registry
