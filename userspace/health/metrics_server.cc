#include "health/metrics_server.h"

#include <spdlog/spdlog.h>

namespace meridian::health {

Result<std::unique_ptr<HealthServer>> StartMetricsServer(boost::asio::io_context& io,
                                                         const std::string& listen,
                                                         const metrics::Registry& registry) {
  auto server = HealthServer::StartListening(
      io, listen,
      [&registry](const std::string& path) -> HealthReply {
        if (path != "/metrics") return {404, "text/plain; charset=utf-8", "not found: /metrics\n"};
        return {200, metrics::kPrometheusContentType,
                metrics::RenderPrometheus(registry.Collect())};
      },
      "--metrics-listen", HealthServer::Paths::kAny);
  if (server.ok() && *server) spdlog::info("metrics: /metrics on {}", listen);
  return server;
}

}  // namespace meridian::health
