// Collects what an attached monitor receives (datapath/monitor_session.h),
// for tests that check the events of known packets.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "datapath/map_set.h"
#include "datapath/monitor_session.h"

namespace meridian::testing {

class EventCollector {
 public:
  explicit EventCollector(const datapath::MapSet& maps, datapath::MonitorSettings settings = {}) {
    auto s = datapath::MonitorSession::Attach(maps, settings,
                                              [this](const mer_event& e) { events_.push_back(e); });
    EXPECT_TRUE(s.ok()) << s.error().message;
    if (s.ok()) session_ = std::move(s).value();
  }
  // The events written since the last call.
  std::vector<mer_event> Take() {
    if (session_) {
      auto n = session_->Poll(std::chrono::milliseconds(0));
      EXPECT_TRUE(n.ok()) << n.error().message;
    }
    return std::exchange(events_, {});
  }
  datapath::MonitorSession& session() { return *session_; }

 private:
  std::vector<mer_event> events_;
  std::unique_ptr<datapath::MonitorSession> session_;
};

}  // namespace meridian::testing
