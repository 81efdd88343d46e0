// SchedulerLease: elects the ClusterSet's one active scheduler through the
// registry. Every meridian-controller run with --scheduler is a candidate;
// the one holding /meridian/v1/scheduler/leader (a leased key whose value
// names it) schedules, the others wait. The holder renews every TTL/3; when
// it dies its lease runs out and the next candidate to try takes the key
// (within TTL + TTL/3 of the death); when it stops cleanly it deletes the
// key, and the next candidate takes over at its next try.
#pragma once

#include <chrono>
#include <string>

#include "common/result.h"
#include "registry/registry.h"

namespace meridian::controller {

class SchedulerLease {
 public:
  // `identity` must be unique among candidates ("<cluster>/<host>/<pid>").
  SchedulerLease(registry::Registry& registry, std::string identity, std::chrono::milliseconds ttl)
      : registry_(registry), identity_(std::move(identity)), ttl_(ttl) {}

  // One round: take the key when it is free, renew it when it is ours.
  // Returns whether this candidate leads now. A registry error loses the
  // lead (another candidate may take over while we cannot renew).
  Result<bool> Step();
  // Deletes the key if it is ours (a clean stop hands over at once).
  void Release();

  bool leading() const { return leading_; }
  const std::string& identity() const { return identity_; }
  // The holder as of the last Step ("" when none or unknown).
  const std::string& holder() const { return holder_; }

 private:
  registry::Registry& registry_;
  std::string identity_;
  std::chrono::milliseconds ttl_;
  bool leading_ = false;
  std::string holder_;
};

}  // namespace meridian::controller
