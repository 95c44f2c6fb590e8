// Test helper: DNS queries as a client sends them, built with ldns, and
// replies parsed back into ldns packets. Tests only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <ldns/ldns.h>

namespace basefs::testing {

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

inline Pkt ParsePkt(const std::string& wire) {
  ldns_pkt* p = nullptr;
  EXPECT_EQ(ldns_wire2pkt(&p, reinterpret_cast<const uint8_t*>(wire.data()), wire.size()), LDNS_STATUS_OK);
  return Pkt(p);
}

struct QueryOptions {
  uint16_t id = 0x1234;
  ldns_rr_class cls = LDNS_RR_CLASS_IN;
  bool edns = false;
  uint16_t payload = 1232;  // with edns
  bool dnssec = true;       // DO, with edns
  bool cd = false;
  std::string cookie;  // with edns: a COOKIE option with these bytes (RFC 7873)
};

// A query for `name` as written (its letter case kept), RD set.
inline std::string QueryWire(const std::string& name, ldns_rr_type type, const QueryOptions& o = {}) {
  ldns_pkt* p = nullptr;
  EXPECT_EQ(ldns_pkt_query_new_frm_str(&p, name.c_str(), type, o.cls, LDNS_RD), LDNS_STATUS_OK);
  ldns_pkt_set_id(p, o.id);
  ldns_pkt_set_cd(p, o.cd);
  if (o.edns) {
    ldns_pkt_set_edns_udp_size(p, o.payload);
    ldns_pkt_set_edns_do(p, o.dnssec);
    if (!o.cookie.empty()) {
      std::string opt = {0, 10, 0, static_cast<char>(o.cookie.size())};
      opt += o.cookie;
      ldns_pkt_set_edns_data(p, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, opt.size(), opt.data()));
    }
  }
  uint8_t* wire = nullptr;
  size_t size = 0;
  EXPECT_EQ(ldns_pkt2wire(&wire, p, &size), LDNS_STATUS_OK);
  std::string out(reinterpret_cast<char*>(wire), size);
  free(wire);
  ldns_pkt_free(p);
  return out;
}

}  // namespace basefs::testing
