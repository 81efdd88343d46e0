// `meridianctl registry ...`: read and write ClusterSet registry records by
// hand (operators, tests). Records print as JSON when their key says what
// they are, raw otherwise.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace meridian::cli {

struct RegistryCommand {
  CLI::App* app = nullptr;
  CLI::App* list = nullptr;
  CLI::App* get = nullptr;
  CLI::App* put = nullptr;
  CLI::App* del = nullptr;
  std::string url;
  std::string key_or_prefix;
  std::string value;
  std::string value_file;
  // Whether --value / --value-file were given (an empty --value is a value).
  CLI::Option* value_option = nullptr;
  CLI::Option* value_file_option = nullptr;
  std::uint32_t ttl_ms = 0;
};

// Adds the subcommand tree to `parent`; `cmd` must outlive parsing.
void AddRegistryCommand(CLI::App& parent, RegistryCommand& cmd);
// Runs whichever subcommand was parsed; returns the exit code (2: no value
// for put; 1: any other error). A dir: registry must exist: meridianctl
// never creates one.
int RunRegistryCommand(const RegistryCommand& cmd);

}  // namespace meridian::cli
