// How the agent and the controller write their logs (--log-format): text,
// one line per event ("2026-12-07T10:00:00.123 info [c1n1] message"), or
// JSON, one object per line, for a log pipeline (Loki, Elasticsearch):
//   {"time":"2026-12-07T10:00:00.123Z","level":"info","node":"c1n1","msg":"..."}
// Every string is escaped, and bytes that are not UTF-8 replaced, so each
// line parses whatever the message carries.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meridian::logging {

enum class LogFormat { kText, kJson };

std::optional<LogFormat> ParseLogFormat(std::string_view text);  // "text" or "json"

// Fields every line carries (in JSON) and their text prefix, e.g.
// {{"component", "controller"}, {"cluster", "c1"}} and "controller c1".
struct LogContext {
  std::string text_prefix;
  std::vector<std::pair<std::string, std::string>> fields;
};

// The formatter for that format and context.
std::unique_ptr<spdlog::formatter> MakeLogFormatter(LogFormat format, const LogContext& context);

// Sets it on the default logger.
void ConfigureLogging(LogFormat format, const LogContext& context);

}  // namespace meridian::logging
