// `meridianctl monitor`: live flow, tunnel and drop events from the
// node's datapath (the ring buffer mer_events), as `cilium monitor` shows
// them. Attaching starts the events; nothing is produced while no monitor
// is attached (the monitor_events counter proves it).
//   meridianctl --node N monitor [--type flow,drop,tunnel] [--sample N]
//       [--service VIP[:PORT]|NAMESPACE/NAME] [--pod IP] [--verdict NAME]
//       [--count N] [--duration SECONDS] [-o json|table]
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace meridian::cli {

struct MonitorCommand {
  CLI::App* app = nullptr;
  std::vector<std::string> types;
  std::uint32_t sample_every = 1;
  std::string service, pod, verdict;
  std::uint64_t count = 0;  // 0: until interrupted
  double duration_s = 0;    // 0: until interrupted
};

// Adds the subcommand to `parent`; `cmd` must outlive parsing.
void AddMonitorCommand(CLI::App& parent, MonitorCommand& cmd);
// pin_dir: the node's pinned maps; lock_path: the file held while
// attached (the ring has one reader); socket_path: the agent's control
// socket, asked for the frontends' Service names (GET /frontends). Exit
// codes: 0 done (interrupted, --count or --duration reached); 1 cannot
// attach; 2 invalid flags.
int RunMonitorCommand(const MonitorCommand& cmd, const std::string& pin_dir,
                      const std::string& lock_path, const std::string& socket_path, bool json);

}  // namespace meridian::cli
