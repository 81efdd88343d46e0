#include "cli/registry_command.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <iostream>
#include <sstream>

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
  auto* v = cmd.put->add_option("--value", cmd.value, "Value bytes");
  auto* f = cmd.put->add_option("--value-file", cmd.value_file, "Read the value from a file");
  v->excludes(f);
  cmd.put->add_option("--ttl-ms", cmd.ttl_ms, "Lease (0: none)")->capture_default_str();
  cmd.del = cmd.app->add_subcommand("delete", "Delete a record");
  cmd.del->add_option("key", cmd.key_or_prefix, "Key")->required();
}

int RunRegistryCommand(const RegistryCommand& cmd) {
  auto reg = registry::OpenRegistry(cmd.url);
  if (!reg) {
    std::cerr << "meridianctl: " << reg.error().message << "\n";
    return 1;
  }
  auto fail = [](const Error& e) {
    std::cerr << "meridianctl: " << e.message << "\n";
    return 1;
  };
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
    std::string value = cmd.value;
    if (!cmd.value_file.empty()) {
      std::ifstream in(cmd.value_file, std::ios::binary);
      if (!in) return fail(Error{fmt::format("cannot read {}", cmd.value_file)});
      std::ostringstream ss;
      ss << in.rdbuf();
      value = ss.str();
    }
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
