#include "datapath/node_datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "datapath/ct_gc.h"
#include "datapath/ct_migration.h"
#include "datapath/map_resize.h"
#include "datapath/pin_check.h"
#include "lxc.skel.h"
#include "uplink.skel.h"

namespace meridian::datapath {
namespace {

std::string Errno(int err) { return std::strerror(err < 0 ? -err : err); }

// Pins `prog` at `path`, replacing an older pin (a previous agent's
// program) so that tools always find the program that is attached.
Status PinProgram(bpf_program* prog, const std::string& path) {
  unlink(path.c_str());
  if (int err = bpf_program__pin(prog, path.c_str()); err) {
    return Error{
        fmt::format("pin program {} at {}: {}", bpf_program__name(prog), path, Errno(err))};
  }
  return Status::Ok();
}

// Our maps are the ones named mer_*; .bss/.rodata are per object.
bool IsSharedMap(bpf_map* map) { return std::string(bpf_map__name(map)).rfind("mer_", 0) == 0; }

void SetSizes(bpf_object* obj, const MapSizes& sizes) {
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    std::string name = bpf_map__name(map);
    if (name == MER_MAP_NAME(services)) {
      bpf_map__set_max_entries(map, sizes.services);
    } else if (name == MER_MAP_NAME(maglev)) {
      bpf_map__set_max_entries(map,
                               std::max<std::uint32_t>(1, mer_maglev_elements(sizes.maglev_slots)));
    } else if (name == MER_MAP_NAME(backends) || name == MER_MAP_NAME(flows) ||
               name == MER_MAP_NAME(traffic)) {
      // mer_flows and mer_traffic hold (frontend, backend) pairs that
      // carried traffic; not preallocated, so the bound costs nothing
      // until it is used.
      bpf_map__set_max_entries(map, sizes.backends);
    } else if (name == MER_MAP_NAME(ct)) {
      bpf_map__set_max_entries(map, sizes.ct);
    } else if (name == MER_MAP_NAME(affinity)) {
      bpf_map__set_max_entries(map, sizes.affinity);
    }
  }
}

void SetPinPaths(bpf_object* obj, const std::string& pin_dir) {
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    if (IsSharedMap(map)) bpf_map__set_pin_path(map, (pin_dir + "/" + bpf_map__name(map)).c_str());
  }
}

// Makes every mer_* map of `obj` the same kernel map as in `loaded`.
Status ReuseMaps(bpf_object* obj, bpf_object* loaded) {
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    if (!IsSharedMap(map)) continue;
    bpf_map* twin = bpf_object__find_map_by_name(loaded, bpf_map__name(map));
    if (!twin)
      return Error{fmt::format("map {} missing from the pod programs", bpf_map__name(map))};
    if (int err = bpf_map__reuse_fd(map, bpf_map__fd(twin)); err) {
      return Error{fmt::format("share map {}: {}", bpf_map__name(map), Errno(err))};
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<NodeDatapath>> NodeDatapath::Load(const LoadOptions& options) {
  std::unique_ptr<NodeDatapath> dp(new NodeDatapath());
  dp->lxc_ = lxc__open();
  dp->uplink_ = uplink__open();
  if (!dp->lxc_ || !dp->uplink_) return Error{fmt::format("open BPF skeletons: {}", Errno(errno))};
  // The node's configuration is read-only data of each object.
  std::memcpy(const_cast<mer_config*>(&dp->lxc_->rodata->mer_cfg), &options.config,
              sizeof options.config);
  std::memcpy(const_cast<mer_config*>(&dp->uplink_->rodata->mer_cfg), &options.config,
              sizeof options.config);
  SetSizes(dp->lxc_->obj, options.sizes);

  if (!options.pin_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.pin_dir, ec);
    if (ec) return Error{fmt::format("create pin directory {}: {}", options.pin_dir, ec.message())};
    dp->reused_pins_ = std::filesystem::exists(options.pin_dir + "/" MER_MAP_NAME(services));
    const std::string ct_pin = options.pin_dir + "/" MER_MAP_NAME(ct);
    auto aside = SetAsideAbi8Ct(options.pin_dir,
                                bpf_object__find_map_by_name(dp->lxc_->obj, MER_MAP_NAME(ct)));
    if (!aside.ok()) return aside.error();
    // Refused for another map: the old conntrack goes back where the
    // agent that made it looks for it.
    auto put_back_ct = [&] {
      if (*aside) std::rename(OldCtPin(options.pin_dir).c_str(), ct_pin.c_str());
    };
    auto resized = SetAsideResizedMaps(dp->lxc_->obj, options.pin_dir);
    if (!resized.ok()) {
      put_back_ct();
      return resized.error();
    }
    if (auto s = CheckPinnedMaps(dp->lxc_->obj, options.pin_dir); !s) {
      put_back_ct();
      RestoreResizedMaps(options.pin_dir, *resized);
      return s.error();
    }
    dp->resized_maps_ = std::move(resized).value();
    SetPinPaths(dp->lxc_->obj, options.pin_dir);
    dp->pin_dir_ = options.pin_dir;
    dp->ct_timeouts_ = options.config.ct;
    dp->ct_migration_pending_ = std::filesystem::exists(OldCtPin(options.pin_dir));
  }

  if (int err = lxc__load(dp->lxc_); err) {
    return Error{fmt::format(
        "load BPF object lxc: {} (if maps are pinned in {} by an older Meridian, remove that "
        "directory; conntrack will be lost)",
        Errno(err), options.pin_dir.empty() ? "-" : options.pin_dir)};
  }
  if (auto s = ReuseMaps(dp->uplink_->obj, dp->lxc_->obj); !s) return s.error();
  if (int err = uplink__load(dp->uplink_); err) {
    return Error{fmt::format("load BPF object uplink: {}", Errno(err))};
  }

  if (!options.pin_dir.empty()) {
    for (auto [prog, name] :
         {std::pair{dp->lxc_->progs.mer_from_pod, "prog_from_pod"},
          std::pair{dp->lxc_->progs.mer_to_pod, "prog_to_pod"},
          std::pair{dp->uplink_->progs.mer_from_uplink, "prog_from_uplink"},
          std::pair{dp->uplink_->progs.mer_xdp_from_uplink, "prog_xdp_from_uplink"}}) {
      if (auto s = PinProgram(prog, options.pin_dir + "/" + name); !s) return s.error();
    }
  }

  dp->maps_ = MapSetOf(dp->lxc_->obj);
  if (!dp->pin_dir_.empty()) {
    // Before any program of this load runs: the recreated maps (and
    // those of a resize an earlier agent did not finish) are filled.
    auto copied = CopyResizedMaps(dp->lxc_->obj, dp->pin_dir_, CopyPass::kAfterLoad);
    if (!copied.ok()) return copied.error();
    dp->resized_entries_copied_ = *copied;
    dp->resize_pending_ = ResizedMapsPending(dp->pin_dir_);
  }
  if (dp->ct_migration_pending_) {
    auto copied = CopyAbi8Ct(dp->pin_dir_, dp->maps_.ct, dp->ct_timeouts_, MonotonicSeconds(),
                             /*finish=*/false);
    if (!copied.ok()) return copied.error();
    dp->ct_entries_migrated_ = *copied;
  }
  return dp;
}

Result<std::size_t> NodeDatapath::FinishCtMigration() {
  if (!ct_migration_pending_) return std::size_t{0};
  auto copied = CopyAbi8Ct(pin_dir_, maps_.ct, ct_timeouts_, MonotonicSeconds(), /*finish=*/true);
  if (!copied.ok()) return copied.error();
  ct_migration_pending_ = false;
  ct_entries_migrated_ += *copied;
  return copied;
}

Result<std::size_t> NodeDatapath::FinishMapResizes() {
  if (!resize_pending_) return std::size_t{0};
  auto copied = CopyResizedMaps(lxc_->obj, pin_dir_, CopyPass::kAfterAttach);
  if (!copied.ok()) return copied.error();
  resize_pending_ = false;
  resized_entries_copied_ += *copied;
  return copied;
}

NodeDatapath::~NodeDatapath() {
  uplink__destroy(uplink_);
  lxc__destroy(lxc_);
}

int NodeDatapath::from_pod_fd() const { return bpf_program__fd(lxc_->progs.mer_from_pod); }
int NodeDatapath::to_pod_fd() const { return bpf_program__fd(lxc_->progs.mer_to_pod); }
NodeDatapath::SocketLbFds NodeDatapath::socket_lb_fds() const {
  return {.connect4 = bpf_program__fd(lxc_->progs.mer_sock_connect4),
          .sendmsg4 = bpf_program__fd(lxc_->progs.mer_sock_sendmsg4),
          .recvmsg4 = bpf_program__fd(lxc_->progs.mer_sock_recvmsg4),
          .getpeername4 = bpf_program__fd(lxc_->progs.mer_sock_getpeername4)};
}

int NodeDatapath::from_uplink_fd() const { return bpf_program__fd(uplink_->progs.mer_from_uplink); }

int NodeDatapath::xdp_from_uplink_fd() const {
  return bpf_program__fd(uplink_->progs.mer_xdp_from_uplink);
}

}  // namespace meridian::datapath
