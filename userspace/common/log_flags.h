// --log-format and --log-level, as the agent and the controller both take
// them (common/log_format.h says what each format writes).
#pragma once

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <string>

#include "common/log_format.h"

namespace meridian::logging {

class LogFlags {
 public:
  // `identity` names the field that says who logs: "node" or "cluster".
  LogFlags(CLI::App& app, const std::string& identity) {
    app.add_option("--log-format", format_,
                   "text (one line per event) or json (one JSON object per line: time, level, "
                   "component, " +
                       identity + ", msg)")
        ->capture_default_str()
        ->check(CLI::IsMember({"text", "json"}));
    app.add_option("--log-level", level_, "trace, debug, info, warn, error")->capture_default_str();
  }

  // The parsed format (the check above admits only the two names).
  LogFormat format() const { return *ParseLogFormat(format_); }

  // Sets the default logger's level and format.
  void Apply(const LogContext& context) const {
    spdlog::set_level(spdlog::level::from_str(level_));
    ConfigureLogging(format(), context);
  }

 private:
  std::string format_ = "text";
  std::string level_ = "info";
};

}  // namespace meridian::logging
