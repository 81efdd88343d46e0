// PodLinkWatcher: the node's pod interfaces, from rtnetlink. A dump at start
// and link events after it, so a pod that appears later is seen at once.
// It also reports that an IPv4 address of the node was added or removed
// (the NodePort addresses are read again then).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "datapath/unique_fd.h"

namespace meridian::agent {

struct LinkEvent {
  int ifindex = 0;
  std::string name;
  bool removed = false;
};

struct LinkEvents {
  std::vector<LinkEvent> links;    // only links matching a pattern
  bool addresses_changed = false;  // an IPv4 address was added or removed anywhere
};

class PodLinkWatcher {
 public:
  // Subscribes to link events, then requests a dump of existing links (in
  // that order, so no link can slip between the two).
  static Result<PodLinkWatcher> Open(std::vector<std::string> patterns);

  int fd() const { return sock_.get(); }
  // Reads what is pending without blocking.
  Result<LinkEvents> Read();
  bool Matches(const std::string& ifname) const;

 private:
  PodLinkWatcher(datapath::UniqueFd sock, std::vector<std::string> patterns)
      : sock_(std::move(sock)), patterns_(std::move(patterns)) {}
  datapath::UniqueFd sock_;
  std::vector<std::string> patterns_;
};

}  // namespace meridian::agent
