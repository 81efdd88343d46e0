// How the map writer's simple maps turn model keys and values into the
// ABI's (MapMirror codecs): remote pod CIDRs, tunnel peers, exported
// endpoints, and the VIP markers that share mer_services with frontends.
#pragma once

#include <arpa/inet.h>

#include <optional>
#include <string>
#include <utility>

#include "datapath/map_store.h"
#include "desired/desired_state.h"
#include "meridian/abi.h"

namespace meridian::datapath {

// A value with no content (a set kept in a map).
struct Present {
  bool operator==(const Present&) const = default;
};

struct RemoteCidrCodec {
  using Key = model::Cidr;
  using Value = desired::TunnelRoute;
  using RawKey = mer_cidr_key;
  using RawValue = mer_remote_cidr;
  static constexpr MapId kMap = MapId::remote_cidrs;
  static constexpr const char* kWhat = "remote pod CIDR";
  static RawKey EncodeKey(const Key& c) { return {c.prefix_len(), c.network().network_order()}; }
  static RawValue EncodeValue(const Value& r) {
    return {r.tunnel_ip.network_order(), r.cluster_id};
  }
  static std::optional<std::pair<Key, Value>> Decode(const RawKey& k, const RawValue& v) {
    return std::pair{model::Cidr(model::Ipv4Address::FromNetworkOrder(k.addr_be),
                                 static_cast<std::uint8_t>(k.prefixlen)),
                     Value{model::Ipv4Address::FromNetworkOrder(v.tunnel_ip_be), v.cluster_id}};
  }
  static std::string Describe(const Key& c) { return c.ToString(); }
};

struct TunnelPeerCodec {
  using Key = model::Ipv4Address;
  using Value = std::uint32_t;  // cluster id
  using RawKey = std::uint32_t;
  using RawValue = mer_tunnel_peer;
  static constexpr MapId kMap = MapId::tunnel_peers;
  static constexpr const char* kWhat = "tunnel peer";
  static RawKey EncodeKey(const Key& ip) { return ip.network_order(); }
  static RawValue EncodeValue(Value cluster_id) { return {cluster_id, 0}; }
  static std::optional<std::pair<Key, Value>> Decode(RawKey ip_be, const RawValue& v) {
    return std::pair{model::Ipv4Address::FromNetworkOrder(ip_be), v.cluster_id};
  }
  static std::string Describe(const Key& ip) { return ip.ToString(); }
};

struct ExportedEndpointCodec {
  using Key = desired::BackendKey;
  using Value = Present;
  using RawKey = mer_endpoint_key;
  using RawValue = std::uint32_t;
  static constexpr MapId kMap = MapId::exported_eps;
  static constexpr const char* kWhat = "exported endpoint";
  static RawKey EncodeKey(const Key& k) {
    return {k.address.network_order(), htons(k.port), static_cast<std::uint8_t>(k.protocol), 0};
  }
  static RawValue EncodeValue(Present) { return 0; }
  static std::optional<std::pair<Key, Value>> Decode(const RawKey& k, RawValue) {
    return std::pair{Key{model::Ipv4Address::FromNetworkOrder(k.addr_be), ntohs(k.port_be),
                         static_cast<model::Protocol>(k.proto)},
                     Present{}};
  }
  static std::string Describe(const Key& k) { return k.ToString(); }
};

// (VIP, 0, 0) in mer_services: "this address is a VIP" (the datapath drops
// traffic to a VIP's unknown ports). Entries without the marker flag are
// frontends, which the writer handles itself.
struct VipMarkerCodec {
  using Key = model::Ipv4Address;
  using Value = Present;
  using RawKey = mer_service_key;
  using RawValue = mer_service;
  static constexpr MapId kMap = MapId::services;
  static constexpr const char* kWhat = "VIP marker";
  static RawKey EncodeKey(const Key& vip) {
    return {.vip_be = vip.network_order(), .port_be = 0, .proto = 0, .scope = 0};
  }
  static RawValue EncodeValue(Present) {
    return {.id = 0, .backend_count = 0, .maglev_size = 0, .flags = MER_SVC_F_VIP_MARKER};
  }
  static std::optional<std::pair<Key, Value>> Decode(const RawKey& k, const RawValue& v) {
    if (!(v.flags & MER_SVC_F_VIP_MARKER)) return std::nullopt;
    return std::pair{model::Ipv4Address::FromNetworkOrder(k.vip_be), Present{}};
  }
  static std::string Describe(const Key& vip) { return vip.ToString(); }
};

}  // namespace meridian::datapath
