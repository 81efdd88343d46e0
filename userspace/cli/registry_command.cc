#include "cli/registry_command.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <system_error>

#include "mcs/registry_keys.h"
#include "meridian/v1/registry.pb.h"
#include "registry/registry.h"

namespace meridian::cli {
namespace {

// The record as JSON if its key names a known type and it parses, else
// its bytes with non-printable ones escaped.
std::string Describe(const std::string& key, const std::string& value) {
  auto parsed = mcs::ParseKey(key);
  std::unique_ptr<google::protobuf::Message> m;
  if (parsed) {
    if (std::holds_alternative<mcs::ClusterInfoKeyParts>(*parsed)) {
      m = std::make_unique<v1::ClusterInfo>();
    } else if (std::holds_alternative<mcs::ExportKeyParts>(*parsed)) {
      m = std::make_unique<v1::ExportedService>();
    } else if (std::holds_alternative<mcs::ImportKeyParts>(*parsed)) {
      m = std::make_unique<v1::ServiceImportRecord>();
    } else if (std::holds_alternative<mcs::DecisionKeyParts>(*parsed)) {
      m = std::make_unique<v1::PropagationDecision>();
    }
  }
  std::string json;
  if (m && m->ParseFromString(value) &&
      google::protobuf::util::MessageToJsonString(*m, &json).ok()) {
    return json;
  }
  std::string out = "raw:";
  for (unsigned char c : value)
    out += c >= 0x20 && c < 0x7f ? std::string(1, c) : fmt::format("\\x{:02x}", c);
  return out;
}

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// The whole file, or an error naming it and saying why (missing, a
// directory, unreadable). Any file that reads is fine, /dev/stdin included;
// an empty one gives an empty value, as asked.
Result<std::string> ReadValueFile(const std::string& path) {
  if (path.empty()) return Error{"--value-file: the path is empty"};
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{fmt::format("--value-file {}: {}", path, ErrnoText(errno))};
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return Error{fmt::format("--value-file {}: {}", path, ErrnoText(err))};
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

// OpenRegistry creates a missing dir: registry (the agent and controller
// rely on that); meridianctl must not: a mistyped --url would otherwise
// read as an empty registry (list), or write where no agent reads (put),
// and leave a stray directory behind. The directory must exist and hold
// keys/, which every DirRegistry has.
Status CheckDirRegistryExists(const std::string& url) {
  if (url.rfind("dir:", 0) != 0 || url.size() == 4) return Status::Ok();  // OpenRegistry says why
  const std::string dir = url.substr(4);
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) {
    return Error{
        fmt::format("registry url '{}': directory {}: {} (meridianctl does not create "
                    "registries; the agent or controller does)",
                    url, dir, ErrnoText(errno))};
  }
  if (!S_ISDIR(st.st_mode)) {
    return Error{fmt::format("registry url '{}': {} is not a directory", url, dir)};
  }
  const std::string keys = dir + "/keys";
  if (stat(keys.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error{fmt::format("registry url '{}': {} is not a registry directory (no keys/ in it)",
                             url, dir)};
  }
  return Status::Ok();
}

}  // namespace

void AddRegistryCommand(CLI::App& parent, RegistryCommand& cmd) {
  cmd.app = parent.add_subcommand("registry", "Read or write ClusterSet registry records");
  cmd.app->add_option("--url", cmd.url, "Registry URL: dir:/path or etcd://host:port")->required();
  cmd.app->require_subcommand(1);
  cmd.list = cmd.app->add_subcommand("list", "Keys under a prefix with revision and value");
  cmd.list->add_option("prefix", cmd.key_or_prefix, "Key prefix")->default_val("/meridian/v1/");
  cmd.get = cmd.app->add_subcommand("get", "One record");
  cmd.get->add_option("key", cmd.key_or_prefix, "Key")->required();
  cmd.put = cmd.app->add_subcommand("put", "Write a record (raw bytes; for tests and repairs)");
  cmd.put->add_option("key", cmd.key_or_prefix, "Key")->required();
  cmd.value_option =
      cmd.put->add_option("--value", cmd.value, "Value bytes (--value '' writes an empty value)");
  cmd.value_file_option =
      cmd.put->add_option("--value-file", cmd.value_file, "Read the value from a file");
  cmd.value_option->excludes(cmd.value_file_option);
  cmd.put->add_option("--ttl-ms", cmd.ttl_ms, "Lease (0: none)")->capture_default_str();
  cmd.del = cmd.app->add_subcommand("delete", "Delete a record");
  cmd.del->add_option("key", cmd.key_or_prefix, "Key")->required();
}

int RunRegistryCommand(const RegistryCommand& cmd) {
  auto fail = [](const Error& e) {
    std::cerr << "meridianctl: " << e.message << "\n";
    return 1;
  };
  // The value first: a put that cannot get its value must not even open
  // the registry.
  std::string value = cmd.value;
  if (cmd.put->parsed()) {
    if (cmd.value_option->count() == 0 && cmd.value_file_option->count() == 0) {
      std::cerr << "meridianctl: registry put " << cmd.key_or_prefix
                << ": no value given; use --value BYTES or --value-file FILE (--value '' writes "
                   "an empty value)\n";
      return 2;
    }
    if (cmd.value_file_option->count() > 0) {
      auto bytes = ReadValueFile(cmd.value_file);
      if (!bytes) return fail(bytes.error());
      value = std::move(*bytes);
    }
  }
  if (auto s = CheckDirRegistryExists(cmd.url); !s) return fail(s.error());
  auto reg = registry::OpenRegistry(cmd.url);
  if (!reg) return fail(reg.error());
  if (cmd.list->parsed()) {
    auto list = (*reg)->List(cmd.key_or_prefix);
    if (!list) return fail(list.error());
    for (const auto& kv : *list) {
      fmt::print("{} rev={} {}\n", kv.key, kv.revision, Describe(kv.key, kv.value));
    }
    return 0;
  }
  if (cmd.get->parsed()) {
    auto kv = (*reg)->Get(cmd.key_or_prefix);
    if (!kv) return fail(kv.error());
    if (!*kv) return fail(Error{fmt::format("{}: not found", cmd.key_or_prefix)});
    fmt::print("{} rev={} {}\n", (*kv)->key, (*kv)->revision, Describe((*kv)->key, (*kv)->value));
    return 0;
  }
  if (cmd.put->parsed()) {
    auto rev = (*reg)->Put(cmd.key_or_prefix, value, std::chrono::milliseconds(cmd.ttl_ms));
    if (!rev) return fail(rev.error());
    fmt::print("{} rev={}\n", cmd.key_or_prefix, *rev);
    return 0;
  }
  if (cmd.del->parsed()) {
    if (auto s = (*reg)->Delete(cmd.key_or_prefix); !s) return fail(s.error());
    return 0;
  }
  return 2;
}

}  // namespace meridian::cli
