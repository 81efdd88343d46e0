// EtcdServer: a real etcd for tests, on loopback ports picked free, with its
// data in a temp dir; killed (SIGKILL) and removed on destruction. Also the
// admin calls tests need that the registry does not offer (wipe a prefix,
// compact, users and roles), made over etcd's gRPC API as root.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "temp_dir.h"

namespace meridian::test_support {

class EtcdServer {
 public:
  struct Tls {
    std::string cert_file;
    std::string key_file;
  };

  // The etcd binary, or "" if it is not installed (tests then skip).
  static std::string Binary();

  EtcdServer();
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  // Starts etcd (TLS on the client port if tls is set) and waits until it
  // answers. Restarting keeps the data dir and the ports.
  Status Start(const Tls* tls = nullptr);
  void Kill();
  Status Restart() {
    Kill();
    return Start(tls_set_ ? &tls_ : nullptr);
  }

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }
  std::string url() const { return "etcd://" + endpoint(); }
  const TempDir& dir() const { return dir_; }
  std::string Log() const;

  // Root-only admin calls (before auth is enabled, or with root's password).
  Status Wipe(const std::string& prefix);
  Status Compact(std::int64_t revision);
  Status AddUser(const std::string& name, const std::string& password);
  Status AddRole(const std::string& name);
  // perm: 0 read, 1 write, 2 readwrite on [prefix, prefix end).
  Status GrantPrefix(const std::string& role, int perm, const std::string& prefix);
  Status GrantRole(const std::string& user, const std::string& role);
  Status EnableAuth();
  void SetRootPassword(const std::string& password) { root_password_ = password; }

 private:
  class Admin;
  Admin& admin();

  TempDir dir_{"meridian-etcd"};
  int client_port_ = 0;
  int peer_port_ = 0;
  pid_t pid_ = -1;
  bool tls_set_ = false;
  Tls tls_;
  std::string root_password_;
  std::unique_ptr<Admin> admin_;
};

}  // namespace meridian::test_support
