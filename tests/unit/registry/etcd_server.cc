#include "etcd_server.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "etcd/rpc.grpc.pb.h"
#include "registry/etcd_registry.h"

extern char** environ;

namespace meridian::test_support {
namespace {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

Status FromGrpc(const char* what, const grpc::Status& s) {
  if (s.ok()) return Status::Ok();
  return Error{std::string("etcd admin ") + what + ": " + s.error_message()};
}

}  // namespace

// Root's gRPC stubs, over plain TCP or TLS, with a token once auth is on.
class EtcdServer::Admin {
 public:
  Admin(const std::string& endpoint, const std::string& ca_pem) {
    std::shared_ptr<grpc::ChannelCredentials> creds;
    if (ca_pem.empty()) {
      creds = grpc::InsecureChannelCredentials();
    } else {
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = ca_pem;
      creds = grpc::SslCredentials(ssl);
    }
    // Poll a starting etcd every 50 ms, not on gRPC's default backoff (1 s and up).
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    // A starting etcd accepts TCP before it serves gRPC, and a connection
    // accepted then may never complete its handshake: give up on it soon.
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 500);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
    auto channel = grpc::CreateCustomChannel(endpoint, creds, args);
    kv = etcdserverpb::KV::NewStub(channel);
    auth = etcdserverpb::Auth::NewStub(channel);
  }
  void Prepare(grpc::ClientContext& ctx) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!token.empty()) ctx.AddMetadata("token", token);
  }
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Auth::Stub> auth;
  std::string token;
};

std::string EtcdServer::Binary() {
  for (const char* p : {"/usr/bin/etcd", "/usr/local/bin/etcd"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

EtcdServer::EtcdServer() = default;

EtcdServer::~EtcdServer() { Kill(); }

std::string EtcdServer::Log() const {
  std::ifstream in(dir_.Path("etcd.log"));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Status EtcdServer::Start(const Tls* tls) {
  if (client_port_ == 0) {
    client_port_ = FreePort();
    peer_port_ = FreePort();
  }
  if (tls != nullptr) {
    tls_ = *tls;
    tls_set_ = true;
  }
  std::string scheme = tls_set_ ? "https" : "http";
  std::string client = scheme + "://" + endpoint();
  std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  std::vector<std::string> args = {
      Binary(), "--name=t", "--data-dir=" + dir_.Path("data"), "--listen-client-urls=" + client,
      "--advertise-client-urls=" + client, "--listen-peer-urls=" + peer,
      "--initial-advertise-peer-urls=" + peer, "--initial-cluster=t=" + peer,
      // Fast elections, and a 1 s minimum lease TTL.
      "--heartbeat-interval=10", "--election-timeout=100", "--log-level=warn", "--logger=zap"};
  if (tls_set_) {
    args.push_back("--cert-file=" + tls_.cert_file);
    args.push_back("--key-file=" + tls_.key_file);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  std::string log = dir_.Path("etcd.log");
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return Error{"cannot start etcd: " + std::string(strerror(rc))};
  }

  std::string ca_pem;
  if (tls_set_) {
    std::ifstream in(dir_.Path("ca.pem"));
    std::ostringstream out;
    out << in.rdbuf();
    ca_pem = out.str();
  }
  // Ready when a Range answers (the member elected itself leader).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Error{"etcd exited at start:\n" + Log()};
    }
    admin_ = std::make_unique<Admin>(endpoint(), ca_pem);  // a fresh connection each time
    etcdserverpb::RangeRequest req;
    req.set_key("/");
    req.set_count_only(true);
    etcdserverpb::RangeResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(1000));
    grpc::Status s = admin_->kv->Range(&ctx, req, &resp);
    // With auth on, an unauthenticated Range is refused: etcd is up, though.
    if (s.ok() || s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
        s.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
        s.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      return Status::Ok();
    }
    last = s.error_message() + " (" + std::to_string(s.error_code()) + ")";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Error{"etcd did not become ready in 15 s (" + last + "):\n" + Log()};
}

void EtcdServer::Kill() {
  admin_.reset();
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
}

EtcdServer::Admin& EtcdServer::admin() { return *admin_; }

Status EtcdServer::Wipe(const std::string& prefix) {
  etcdserverpb::DeleteRangeRequest req;
  req.set_key(prefix);
  req.set_range_end(registry::EtcdRegistry::PrefixEnd(prefix));
  etcdserverpb::DeleteRangeResponse resp;
  grpc::ClientContext ctx;
  admin().Prepare(ctx);
  return FromGrpc("wipe", admin().kv->DeleteRange(&ctx, req, &resp));
}

Status EtcdServer::Compact(std::int64_t revision) {
  etcdserverpb::CompactionRequest req;
  req.set_revision(revision);
  req.set_physical(true);
  etcdserverpb::CompactionResponse resp;
  grpc::ClientContext ctx;
  admin().Prepare(ctx);
  return FromGrpc("compact", admin().kv->Compact(&ctx, req, &resp));
}

Status EtcdServer::AddUser(const std::string& name, const std::string& password) {
  etcdserverpb::AuthUserAddRequest req;
  req.set_name(name);
  req.set_password(password);
  etcdserverpb::AuthUserAddResponse resp;
  grpc::ClientContext ctx;
  admin().Prepare(ctx);
  if (name == "root") root_password_ = password;
  return FromGrpc("user add", admin().auth->UserAdd(&ctx, req, &resp));
}

Status EtcdServer::AddRole(const std::string& name) {
  etcdserverpb::AuthRoleAddRequest req;
  req.set_name(name);
  etcdserverpb::AuthRoleAddResponse resp;
  grpc::ClientContext ctx;
  admin().Prepare(ctx);
  return FromGrpc("role add", admin().auth->RoleAdd(&ctx, req, &resp));
}

Status EtcdServer::GrantPrefix(const std::string& role, int perm, const std::string& prefix) {
  etcdserverpb::AuthRoleGrantPermissionRequest req;
  req.set_name(role);
  req.mutable_perm()->set_permtype(static_cast<authpb::Permission::Type>(perm));
  req.mutable_perm()->set_key(prefix);
  req.mutable_perm()->set_range_end(registry::EtcdRegistry::PrefixEnd(prefix));
  etcdserverpb::AuthRoleGrantPermissionResponse resp;
  grpc::ClientContext ctx;
  admin().Prepare(ctx);
  return FromGrpc("role grant-permission", admin().auth->RoleGrantPermission(&ctx, req, &resp));
}

Status EtcdServer::GrantRole(const std::string& user, const std::string& role) {
  etcdserverpb::AuthUserGrantRoleRequest req;
  req.set_user(user);
  req.set_role(role);
  etcdserverpb::AuthUserGrantRoleResponse resp;
  grpc::ClientContext ctx;
  admin().Prepare(ctx);
  return FromGrpc("user grant-role", admin().auth->UserGrantRole(&ctx, req, &resp));
}

Status EtcdServer::EnableAuth() {
  etcdserverpb::AuthEnableRequest req;
  etcdserverpb::AuthEnableResponse resp;
  {
    grpc::ClientContext ctx;
    admin().Prepare(ctx);
    if (Status s = FromGrpc("auth enable", admin().auth->AuthEnable(&ctx, req, &resp)); !s) {
      return s;
    }
  }
  // From now on root needs a token.
  etcdserverpb::AuthenticateRequest auth;
  auth.set_name("root");
  auth.set_password(root_password_);
  etcdserverpb::AuthenticateResponse token;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (Status s = FromGrpc("authenticate root", admin().auth->Authenticate(&ctx, auth, &token));
      !s) {
    return s;
  }
  admin().token = token.token();
  return Status::Ok();
}

}  // namespace meridian::test_support
