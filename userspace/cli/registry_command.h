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
  std::uint32_t ttl_ms = 0;
};

// Adds the subcommand tree to `parent`; `cmd` must outlive parsing.
void AddRegistryCommand(CLI::App& parent, RegistryCommand& cmd);
// Runs whichever subcommand was parsed; returns the exit code.
int RunRegistryCommand(const RegistryCommand& cmd);

}  // namespace meridian::cli
