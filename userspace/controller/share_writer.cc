#include "controller/share_writer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

namespace meridian::controller {

namespace asio = boost::asio;

std::optional<model::ObjectKey> DeploymentOf(const model::PropagationDecision& d) {
  constexpr std::string_view kPrefix = "Deployment ";
  if (d.workload.rfind(kPrefix, 0) != 0) return std::nullopt;
  const std::string rest = d.workload.substr(kPrefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) return std::nullopt;
  return model::ObjectKey{rest.substr(0, slash), rest.substr(slash + 1)};
}

ShareWriter::ShareWriter(asio::io_context& io, std::shared_ptr<kube::KubeClient> client)
    : io_(io), client_(std::move(client)) {}

void ShareWriter::Update(const std::map<model::ObjectKey, model::PropagationDecision>& decisions,
                         const std::string& cluster) {
  std::map<model::ObjectKey, std::uint32_t> want;
  for (const auto& [service, d] : decisions) {
    auto deployment = DeploymentOf(d);
    if (!deployment) continue;
    auto r = d.replicas_per_cluster.find(cluster);
    want[*deployment] = r == d.replicas_per_cluster.end() ? 0 : r->second;
  }
  // A decision that is gone leaves the Deployment as it is (scaled by hand
  // or by another system from now on); it is simply no longer managed.
  std::erase_if(state_->written, [&](const auto& kv) { return !want.count(kv.first); });
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(state_->missing_since, [&](const auto& kv) {
    return !want.count(kv.first) || now - kv.second > std::chrono::minutes(1);
  });
  for (const auto& [key, replicas] : want) {
    if (state_->in_flight.count(key) || state_->missing_since.count(key)) continue;
    if (auto w = state_->written.find(key); w != state_->written.end() && w->second == replicas) {
      continue;
    }
    state_->in_flight.insert(key);
    const std::string target =
        fmt::format("/apis/apps/v1/namespaces/{}/deployments/{}", key.ns, key.name);
    const std::string body = nlohmann::json{{"spec", {{"replicas", replicas}}}}.dump();
    asio::co_spawn(
        io_,
        [client = client_, state = state_, key, replicas, target, body]() -> asio::awaitable<void> {
          auto res = co_await client->Send("PATCH", target, "application/merge-patch+json", body,
                                           std::chrono::seconds(30));
          state->in_flight.erase(key);
          std::string error;
          if (!res) {
            error = res.error().message;
          } else if (res->status == 200) {
            state->written[key] = replicas;
            ++state->counters.patches;
            spdlog::info("Deployment {}: spec.replicas = {} (this cluster's share)", key.ToString(),
                         replicas);
            co_return;
          } else if (res->status == 404) {
            // Not deployed here (yet): tried again in a minute, not on
            // every sync.
            state->missing_since[key] = std::chrono::steady_clock::now();
            ++state->counters.missing;
            co_return;
          } else {
            error = fmt::format("{} {}", res->status, res->body.substr(0, 200));
          }
          ++state->counters.failures;
          if (error != state->counters.last_error) {
            spdlog::warn("Deployment {}: spec.replicas: {} (retried on the next sync)",
                         key.ToString(), error);
          }
          state->counters.last_error = error;
        },
        asio::detached);
  }
}

}  // namespace meridian::controller
