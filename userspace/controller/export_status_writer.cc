#include "controller/export_status_writer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>
#include <ctime>

namespace meridian::controller {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

std::string NowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

ExportStatusWriter::ExportStatusWriter(asio::io_context& io,
                                       std::shared_ptr<kube::KubeClient> client)
    : io_(io), client_(std::move(client)) {}

void ExportStatusWriter::Update(const std::map<model::ObjectKey, ExportOutcome>& outcomes) {
  // ServiceExports that are gone need nothing written any more.
  for (auto it = state_->written.begin(); it != state_->written.end();) {
    it = outcomes.count(it->first) ? std::next(it) : state_->written.erase(it);
  }
  const std::string now = NowRfc3339();
  for (const auto& [key, outcome] : outcomes) {
    if (state_->in_flight.count(key)) continue;  // the next sync looks again
    auto written = state_->written.find(key);
    const json previous = written == state_->written.end() ? json() : written->second;
    json conditions = ExportConditions(outcome, previous, now);
    if (conditions == previous) continue;
    state_->in_flight.insert(key);
    const std::string target =
        fmt::format("/apis/multicluster.x-k8s.io/v1alpha1/namespaces/{}/serviceexports/{}/status",
                    key.ns, key.name);
    json body = {{"status", {{"conditions", conditions}}}};
    asio::co_spawn(
        io_,
        [client = client_, state = state_, key, target, body = body.dump(),
         conditions = std::move(conditions)]() -> asio::awaitable<void> {
          auto res = co_await client->Send("PATCH", target, "application/merge-patch+json", body,
                                           std::chrono::seconds(30));
          state->in_flight.erase(key);
          std::string error;
          if (!res) {
            error = res.error().message;
          } else if (res->status == 200) {
            state->written[key] = conditions;
            ++state->counters.patches;
            co_return;
          } else if (res->status == 404) {
            co_return;  // deleted meanwhile
          } else {
            error = fmt::format("{} {}", res->status, res->body.substr(0, 200));
          }
          ++state->counters.failures;
          if (error != state->counters.last_error) {
            spdlog::warn("ServiceExport {} status: {} (retried on the next sync)", key.ToString(),
                         error);
          }
          state->counters.last_error = error;
        },
        asio::detached);
  }
}

}  // namespace meridian::controller
