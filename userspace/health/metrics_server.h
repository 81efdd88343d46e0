// The /metrics endpoint of a process (--metrics-listen): the health
// server's HTTP listener answering GET /metrics with the registry rendered
// in Prometheus's text format, 404 for any other path. The agent and the
// controller serve theirs with it.
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio/io_context.hpp>
// clang-format on
#include <memory>
#include <string>

#include "common/metrics.h"
#include "common/result.h"
#include "health/health_server.h"

namespace meridian::health {

// `listen` is --metrics-listen's value: ADDRESS:PORT, or "off" (nullptr).
// The registry must outlive the server. Logs where it listens.
Result<std::unique_ptr<HealthServer>> StartMetricsServer(boost::asio::io_context& io,
                                                         const std::string& listen,
                                                         const metrics::Registry& registry);

}  // namespace meridian::health
