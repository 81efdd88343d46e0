#include "datapath/maglev_slots.h"

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "meridian/abi.h"

namespace meridian::datapath {

Result<MaglevSlots> MaglevSlots::Map(int fd) {
  bpf_map_info info{};
  std::uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
    return Error{fmt::format("read " MER_MAP_NAME(maglev) " info: {}", std::strerror(errno))};
  }
  if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size != sizeof(mer_maglev_pair) ||
      !(info.map_flags & BPF_F_MMAPABLE)) {
    return Error{MER_MAP_NAME(
        maglev) " is not the flat, mappable slot array of this Meridian (pinned by an older "
                "build?): remove the node's pin directory and restart the agent"};
  }
  // Array elements are laid out value_size apart; with two slots per
  // 8-byte element the mapping is one plain array of 4-byte slots.
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t bytes = std::size_t{info.max_entries} * sizeof(mer_maglev_pair);
  const std::size_t mapped = (bytes + page - 1) / page * page;
  void* mem = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED) {
    return Error{
        fmt::format("map " MER_MAP_NAME(maglev) " ({} bytes): {}", mapped, std::strerror(errno))};
  }
  return MaglevSlots(static_cast<std::uint32_t*>(mem), mapped, info.max_entries * 2);
}

MaglevSlots::MaglevSlots(MaglevSlots&& other) noexcept
    : slots_(std::exchange(other.slots_, nullptr)),
      mapped_bytes_(std::exchange(other.mapped_bytes_, 0)),
      ranges_(std::move(other.ranges_)),
      retired_(std::move(other.retired_)) {}

MaglevSlots& MaglevSlots::operator=(MaglevSlots&& other) noexcept {
  if (this != &other) {
    if (mapped_bytes_ > 0) munmap(slots_, mapped_bytes_);
    slots_ = std::exchange(other.slots_, nullptr);
    mapped_bytes_ = std::exchange(other.mapped_bytes_, 0);
    ranges_ = std::move(other.ranges_);
    retired_ = std::move(other.retired_);
  }
  return *this;
}

MaglevSlots::~MaglevSlots() {
  if (mapped_bytes_ > 0) munmap(slots_, mapped_bytes_);
}

std::optional<std::uint32_t> MaglevSlots::Place(std::span<const std::uint32_t> ids) {
  auto offset = ranges_.Allocate(static_cast<std::uint32_t>(ids.size()));
  if (!offset) return std::nullopt;
  // Not yet reachable: no service entry points here until the caller's
  // update, a syscall, which orders these stores before it.
  std::memcpy(slots_ + *offset, ids.data(), ids.size_bytes());
  return offset;
}

std::uint32_t MaglevSlots::Rewrite(std::uint32_t offset, std::span<const std::uint32_t> ids) {
  std::uint32_t changed = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::atomic_ref<std::uint32_t> slot(slots_[offset + i]);
    if (slot.load(std::memory_order_relaxed) == ids[i]) continue;
    slot.store(ids[i], std::memory_order_relaxed);
    ++changed;
  }
  return changed;
}

std::span<const std::uint32_t> MaglevSlots::Read(std::uint32_t offset, std::uint32_t size) const {
  return {slots_ + offset, size};
}

void MaglevSlots::Retire(std::uint32_t offset, std::uint32_t size,
                         std::chrono::steady_clock::time_point now) {
  retired_.push_back({offset, size, now});
}

void MaglevSlots::ReleaseRetired(std::chrono::steady_clock::time_point now) {
  std::size_t kept = 0;
  for (const Retired& r : retired_) {
    if (now - r.at >= kRetiredGrace) {
      ranges_.Free(r.offset, r.size);
    } else {
      retired_[kept++] = r;
    }
  }
  retired_.resize(kept);
}

std::string MaglevSlots::Describe() const {
  std::uint64_t quarantined = 0;
  for (const Retired& r : retired_) quarantined += r.size;
  return fmt::format(
      "{} of {} slots free, the largest free range has {}, {} retired slots wait "
      "{} ms before reuse",
      ranges_.free_slots(), capacity(), ranges_.largest_free(), quarantined, kRetiredGrace.count());
}

}  // namespace meridian::datapath
