// The agent's control socket (<state-dir>/agent.sock, agent.cc): HTTP/1.1
// over a Unix socket, GET /status (the live status.json document),
// /metrics, /healthz, /readyz. meridianctl asks it first and reads the
// files the agent writes when it does not answer.
#pragma once

#include <chrono>
#include <string>

#include "common/result.h"

namespace meridian::cli {

// The body of GET `target` on the socket at `socket_path`. An error (naming
// the socket) when it is missing, refuses, answers non-200, or has not
// answered within `timeout`.
Result<std::string> AgentGet(const std::string& socket_path, const std::string& target,
                             std::chrono::milliseconds timeout = std::chrono::seconds(2));

// The agent's status document: from the socket when the agent answers
// there, else status.json as it was last written. `origin` says which (for
// error messages). A socket that exists but does not answer (an agent that
// hangs or died without removing it) is reported on stderr before the file
// is read; no socket at all is an agent that stopped, and its file says so.
struct StatusDocument {
  std::string text;
  std::string origin;
};
Result<StatusDocument> ReadAgentStatus(const std::string& state_dir);

}  // namespace meridian::cli
