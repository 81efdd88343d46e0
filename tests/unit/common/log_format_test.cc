// --log-format: the JSON lines parse whatever the message carries (quotes,
// newlines, bytes that are not UTF-8), carry the context's fields, and the
// text format keeps its prefix.
#include "common/log_format.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace meridian::logging {
namespace {

std::string Log(LogFormat format, const LogContext& context, spdlog::level::level_enum level,
                const std::string& message) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("test", sink);
  logger.set_formatter(MakeLogFormatter(format, context));
  logger.log(level, message);
  logger.flush();
  return out.str();
}

const LogContext kContext{.text_prefix = "c1n1",
                          .fields = {{"component", "agent"}, {"node", "c1n1"}}};

TEST(LogFormatTest, JsonIsOneObjectPerLineWithTheContext) {
  const std::string line = Log(LogFormat::kJson, kContext, spdlog::level::warn,
                               "registry: \"etcd\" unreachable\nretrying");
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line: " << line;
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "warning");
  EXPECT_EQ(j["component"], "agent");
  EXPECT_EQ(j["node"], "c1n1");
  EXPECT_EQ(j["msg"], "registry: \"etcd\" unreachable\nretrying");
  const std::string time = j["time"];
  ASSERT_EQ(time.size(), 24u) << time;  // 2026-12-07T10:00:00.123Z
  EXPECT_EQ(time[10], 'T');
  EXPECT_EQ(time[19], '.');
  EXPECT_EQ(time.back(), 'Z');
  // Keys in a fixed order, for people reading the raw lines.
  EXPECT_EQ(line.find("{\"time\":"), 0u);
  EXPECT_LT(line.find("\"node\":"), line.find("\"msg\":"));
}

TEST(LogFormatTest, BytesThatAreNotUtf8AreReplacedNotFatal) {
  const std::string line = Log(LogFormat::kJson, kContext, spdlog::level::err,
                               std::string("bad name 'a\xff\xfe' in x.yaml"));
  const auto j = nlohmann::json::parse(line);  // throws if the line is not valid JSON
  EXPECT_EQ(j["msg"], "bad name 'a\xEF\xBF\xBD\xEF\xBF\xBD' in x.yaml");  // U+FFFD twice
  EXPECT_EQ(j["level"], "error");
}

TEST(LogFormatTest, TextKeepsTheTimestampLevelAndPrefix) {
  const std::string line = Log(LogFormat::kText, kContext, spdlog::level::info, "applied");
  EXPECT_NE(line.find(" info [c1n1] applied\n"), std::string::npos) << line;
  EXPECT_EQ(line[10], 'T');
}

TEST(LogFormatTest, ParsesOnlyTheTwoNames) {
  EXPECT_EQ(ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(ParseLogFormat("text"), LogFormat::kText);
  EXPECT_FALSE(ParseLogFormat("JSON").has_value());
  EXPECT_FALSE(ParseLogFormat("").has_value());
}

}  // namespace
}  // namespace meridian::logging
