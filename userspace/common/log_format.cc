#include "common/log_format.h"

#include <fmt/chrono.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace meridian::logging {
namespace {

std::string JsonString(std::string_view s) {
  return nlohmann::json(std::string(s))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(LogContext context) : context_(std::move(context)) {
    // The fields do not change: render them once.
    for (const auto& [key, value] : context_.fields) {
      fields_ += "," + JsonString(key) + ":" + JsonString(value);
    }
  }

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(msg.time);
    const std::string line =
        fmt::format("{{\"time\":\"{:%Y-%m-%dT%H:%M:%S}.{:03d}Z\",\"level\":\"{}\"{},\"msg\":{}}}\n",
                    fmt::gmtime(std::chrono::system_clock::to_time_t(ms)),
                    static_cast<int>(ms.time_since_epoch().count() % 1000),
                    std::string_view(spdlog::level::to_string_view(msg.level).data(),
                                     spdlog::level::to_string_view(msg.level).size()),
                    fields_, JsonString(std::string_view(msg.payload.data(), msg.payload.size())));
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(context_);
  }

 private:
  LogContext context_;
  std::string fields_;
};

}  // namespace

std::optional<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return std::nullopt;
}

std::unique_ptr<spdlog::formatter> MakeLogFormatter(LogFormat format, const LogContext& context) {
  if (format == LogFormat::kJson) return std::make_unique<JsonFormatter>(context);
  return std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [" +
                                                     context.text_prefix + "] %v");
}

void ConfigureLogging(LogFormat format, const LogContext& context) {
  spdlog::set_formatter(MakeLogFormatter(format, context));
}

}  // namespace meridian::logging
