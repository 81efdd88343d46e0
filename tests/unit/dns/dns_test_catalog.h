// The catalog every DNS suite answers from: one ClusterSetIP import, one
// headless import spread over two clusters, one headless import with no
// ready endpoint.
#pragma once

#include <string>

#include "dns/dns_catalog.h"

namespace meridian::dns::test_support {

inline model::Ipv4Address Ip(const std::string& text) { return *model::Ipv4Address::Parse(text); }

inline DnsCatalog SampleCatalog() {
  using model::Protocol;
  DnsImport web;
  web.ns = "prod";
  web.name = "web";
  web.clusterset_ip = Ip("10.42.0.10");
  web.ports = {
      {"http", Protocol::kTcp, 80}, {"dns", Protocol::kUdp, 53}, {"", Protocol::kTcp, 8080}};

  DnsImport db;
  db.ns = "prod";
  db.name = "db";
  db.headless = true;
  db.ports = {{"pg", Protocol::kTcp, 5432}};
  db.endpoints = {
      {Ip("10.1.0.1"), "db-0", "cluster-a", true},
      {Ip("10.2.0.1"), "db-0", "cluster-b", true},
      {Ip("10.1.0.2"), "", "cluster-a", true},       // no hostname: no own name
      {Ip("10.1.0.3"), "db-1", "cluster-a", false},  // not ready: never answered
  };

  DnsImport empty;
  empty.ns = "prod";
  empty.name = "empty";
  empty.headless = true;
  empty.ports = {{"pg", Protocol::kTcp, 5432}};
  empty.endpoints = {{Ip("10.1.0.9"), "e-0", "cluster-a", false}};
  return DnsCatalog({web, db, empty}, 42);
}

}  // namespace meridian::dns::test_support
