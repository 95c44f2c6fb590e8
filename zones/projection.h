// The projection of the view, membership and health into DNS zones: a pure
// function with no sockets, no clock and no store access (the caller reads
// the files; see sources.h). The DNS server (dns/) turns its output into
// prepared answers.
//
// Names follow ../shared/DESIGN.md "Names in DNS"; every owner name is
// lowercase, absolute (trailing dot), and appears in exactly one zone: the
// deepest served zone holding it. Output is deterministic: records are
// sorted and duplicates removed, so equal inputs give equal zones.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "zones/service_file.h"

namespace basefs {

// One resource record; `rdata` in presentation form ("10 1 8080 a.b.").
struct Record {
  std::string owner;
  uint16_t type = 0;  // LDNS_RR_TYPE_* (the IANA number)
  uint32_t ttl = 0;
  std::string rdata;
  auto operator<=>(const Record&) const = default;
};

// A zone's SOA without the serial (serials are per node: the server keeps
// them, raising one whenever the zone's records change). The synthesised
// timers pass the usual conformance checks (RFC 1912 §2.2): a secondary
// checks hourly, retries every 10 minutes and keeps serving for two weeks
// without reaching any node; minimum is the negative TTL.
struct SoaFields {
  std::string mname, rname;
  uint32_t refresh = 3600, retry = 600, expire = 1209600, minimum = 10, ttl = 10;
  bool operator==(const SoaFields&) const = default;
};

struct Zone {
  std::string apex;
  SoaFields soa;
  // Everything but the SOA, sorted by (owner, type, rdata, TTL), one
  // record per (owner, type, rdata).
  std::vector<Record> records;
  bool operator==(const Zone&) const = default;
};

struct BadFile {
  std::string path;
  std::string reason;
};

// A member as the projection needs it.
struct MemberView {
  std::string name;     // node name (used in DNS only if it is a DNS label)
  std::string address;  // advertised IP address (no port)
  bool alive = false;
  std::string key;                // base64 public key it announces ("" if unknown)
  std::set<std::string> failing;  // InstanceIds whose health check fails
};

// A file under /services or /zones as read from the view.
struct SourceFile {
  std::string path;
  std::string author;  // base64 public key of the entry that set the content
  std::string content;
};

class ParseCache;

struct ProjectionInput {
  std::string domain;     // the cluster domain, "basefs."
  std::string self_node;  // this node's name (SOA MNAME)
  std::vector<MemberView> members;
  std::vector<SourceFile> files;
  // More files, held elsewhere (the daemon's zones/sources.h cache; they
  // are immutable, so another thread may hold them too): projected after
  // `files`.
  std::vector<std::shared_ptr<const SourceFile>> shared_files;
  ParseCache* cache = nullptr;  // optional (zones/parse_cache.h); the output is the same without
};

struct Projection {
  std::vector<Zone> zones;  // the cluster domain first, then /zones zones by name
  std::vector<BadFile> bad_files;
};

Projection Project(const ProjectionInput& in);

// The 8-hex-digit id gossip uses for an instance's health ("web/web-1").
std::string InstanceId(std::string_view service, std::string_view instance);

// The records of one /zones file whose owner is `owner` (absolute); default
// TTL 300, relative names completed with the owner's name.
Result<std::vector<Record>> ParseZoneRecords(std::string_view owner, std::string_view text);

}  // namespace basefs
