#include "datapath/lxc_datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "lxc.skel.h"
#include "meridian/abi.h"

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

}  // namespace

Result<std::unique_ptr<LxcDatapath>> LxcDatapath::Load(const LoadOptions& options) {
  lxc* skel = lxc__open();
  if (!skel) return Error{fmt::format("open BPF skeleton lxc: {}", Errno(errno))};
  std::unique_ptr<LxcDatapath> dp(new LxcDatapath(skel));

  bpf_map__set_max_entries(skel->maps.mer_services, options.sizes.services);
  bpf_map__set_max_entries(skel->maps.mer_maglev, options.sizes.services);
  bpf_map__set_max_entries(skel->maps.mer_backends, options.sizes.backends);
  bpf_map__set_max_entries(skel->maps.mer_ct, options.sizes.ct);

  if (!options.pin_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.pin_dir, ec);
    if (ec) return Error{fmt::format("create pin directory {}: {}", options.pin_dir, ec.message())};
    dp->reused_pins_ = std::filesystem::exists(options.pin_dir + "/" MER_MAP_SERVICES);
    bpf_map* map;
    bpf_object__for_each_map(map, skel->obj) {
      std::string name = bpf_map__name(map);
      if (name.rfind("mer_", 0) != 0) continue;  // .bss/.rodata are per-load
      bpf_map__set_pin_path(map, (options.pin_dir + "/" + name).c_str());
    }
  }

  if (int err = lxc__load(skel); err) {
    return Error{fmt::format(
        "load BPF object lxc: {} (if maps are pinned in {} from an older Meridian or with "
        "other --max-* sizes, remove that directory; conntrack will be lost)",
        Errno(err), options.pin_dir.empty() ? "-" : options.pin_dir)};
  }

  if (!options.pin_dir.empty()) {
    if (auto s = PinProgram(skel->progs.mer_from_pod, options.pin_dir + "/prog_from_pod"); !s)
      return s.error();
    if (auto s = PinProgram(skel->progs.mer_to_pod, options.pin_dir + "/prog_to_pod"); !s)
      return s.error();
  }

  dp->maps_ = MapSet{
      .services = bpf_map__fd(skel->maps.mer_services),
      .backends = bpf_map__fd(skel->maps.mer_backends),
      .maglev = bpf_map__fd(skel->maps.mer_maglev),
      .ct = bpf_map__fd(skel->maps.mer_ct),
      .stats = bpf_map__fd(skel->maps.mer_stats),
  };
  return dp;
}

LxcDatapath::~LxcDatapath() { lxc__destroy(skel_); }

int LxcDatapath::from_pod_fd() const { return bpf_program__fd(skel_->progs.mer_from_pod); }
int LxcDatapath::to_pod_fd() const { return bpf_program__fd(skel_->progs.mer_to_pod); }

}  // namespace meridian::datapath
