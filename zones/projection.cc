#include "zones/projection.h"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include <ldns/ldns.h>

#include "base/crypto.h"
#include "zones/names.h"
#include "zones/parse_cache.h"

namespace basefs {
namespace {

constexpr uint32_t kNodeTtl = 10;
constexpr uint32_t kNsTtl = 60;
constexpr uint32_t kDefaultZoneTtl = 300;

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

// A or AAAA for an address, or 0 if it is neither.
uint16_t AddressType(const std::string& a) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, a.c_str(), buf) == 1) return LDNS_RR_TYPE_A;
  if (inet_pton(AF_INET6, a.c_str(), buf) == 1) return LDNS_RR_TYPE_AAAA;
  return 0;
}

std::string TxtRdata(const ServiceInstance& s) {
  if (s.txt.empty()) return "\"\"";  // RFC 6763 §6.1: an empty TXT is one empty string
  std::string out;
  for (const auto& [k, v] : s.txt) {
    if (!out.empty()) out += ' ';
    out += '"';
    for (char c : k + "=" + v) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (u < 0x20 || u >= 0x7f) {
        char esc[5];
        snprintf(esc, sizeof(esc), "\\%03u", u);
        out += esc;
      } else {
        out += c;
      }
    }
    out += '"';
  }
  return out;
}

struct ZoneBuilder {
  Zone zone;
  // /zones: the file of each record, until DropCnameConflicts (synthesised
  // records added later have none).
  std::vector<const std::string*> sources;
  void Add(std::string owner, uint16_t type, uint32_t ttl, std::string rdata) {
    zone.records.push_back(Record{std::move(owner), type, ttl, std::move(rdata)});
  }
};

// Sorts by (owner, type, rdata, TTL) and keeps one record per (owner,
// type, rdata): the one with the lowest TTL (an RRset holds no duplicates,
// RFC 2181 §5).
void Finish(ZoneBuilder* b) {
  auto& r = b->zone.records;
  std::sort(r.begin(), r.end(), [](const Record& a, const Record& c) {
    return std::tie(a.owner, a.type, a.rdata, a.ttl) < std::tie(c.owner, c.type, c.rdata, c.ttl);
  });
  r.erase(std::unique(r.begin(), r.end(),
                      [](const Record& a, const Record& c) {
                        return a.owner == c.owner && a.type == c.type && a.rdata == c.rdata;
                      }),
          r.end());
}

// A CNAME must be the only record of its name (RFC 1034 §3.6.2; RFC 2181
// §10.1) and cannot be at an apex, which has SOA and NS. Files are checked
// one by one when parsed; this finds conflicts between files that name the
// same owner (WWW and www, or @ and another file at the apex). Every file
// contributing to such a name is listed, and the name's records are left
// out, as a server loading the zone would refuse it.
void DropCnameConflicts(const std::string& apex, ZoneBuilder* z, std::vector<BadFile>* bad) {
  std::map<std::string_view, std::pair<size_t, size_t>> counts;  // owner -> (CNAMEs, others)
  for (const Record& r : z->zone.records) {
    auto& [cnames, others] = counts[r.owner];
    (r.type == LDNS_RR_TYPE_CNAME ? cnames : others) += 1;
  }
  std::set<std::string, std::less<>> conflicted;
  for (const auto& [owner, c] : counts)
    if (c.first > 0 && (c.second > 0 || c.first > 1 || owner == apex)) conflicted.emplace(owner);
  if (conflicted.empty()) return;
  std::map<std::string_view, std::set<std::string>> files;
  for (size_t i = 0; i < z->zone.records.size(); ++i)
    if (conflicted.count(z->zone.records[i].owner)) files[z->zone.records[i].owner].insert(*z->sources[i]);
  for (const auto& [owner, paths] : files) {
    std::string list;
    for (const auto& p : paths) list += (list.empty() ? "" : ", ") + p;
    const std::string reason =
        owner == apex ? "a CNAME cannot be at the zone apex " + apex
                      : "a CNAME must be the only record of " + std::string(owner) + " (files: " + list + ")";
    for (const auto& p : paths) bad->push_back(BadFile{p, reason});
  }
  std::vector<Record> kept;
  std::vector<const std::string*> kept_sources;
  for (size_t i = 0; i < z->zone.records.size(); ++i)
    if (!conflicted.count(z->zone.records[i].owner)) {
      kept.push_back(std::move(z->zone.records[i]));
      kept_sources.push_back(z->sources[i]);
    }
  z->zone.records = std::move(kept);
  z->sources = std::move(kept_sources);
}

void ProjectInstance(const std::string& service, const std::string& instance, const ServiceInstance& s,
                     const std::string& address, const std::string& d, ZoneBuilder* z) {
  const uint16_t atype = AddressType(address);
  const std::string host = instance + "." + service + ".instance." + d;
  const std::string srv =
      std::to_string(s.priority) + " " + std::to_string(s.weight) + " " + std::to_string(s.port) + " " + host;
  const std::string txt = TxtRdata(s);
  const std::string svc = service + ".service." + d;
  z->Add(host, atype, s.ttl, address);
  z->Add(host, LDNS_RR_TYPE_SRV, s.ttl, srv);
  z->Add(host, LDNS_RR_TYPE_TXT, s.ttl, txt);
  z->Add(svc, atype, s.ttl, address);
  z->Add(svc, LDNS_RR_TYPE_SRV, s.ttl, srv);
  for (const auto& tag : s.tags) {
    z->Add(tag + "." + svc, atype, s.ttl, address);
    z->Add(tag + "." + svc, LDNS_RR_TYPE_SRV, s.ttl, srv);
  }
  const std::string sd = "_" + service + "._" + s.protocol + "." + d;
  const std::string sd_instance = instance + "." + sd;
  z->Add(sd, LDNS_RR_TYPE_SRV, s.ttl, srv);
  z->Add(sd, LDNS_RR_TYPE_PTR, s.ttl, sd_instance);
  z->Add(sd_instance, LDNS_RR_TYPE_SRV, s.ttl, srv);
  z->Add(sd_instance, LDNS_RR_TYPE_TXT, s.ttl, txt);
  z->Add("_services._dns-sd._udp." + d, LDNS_RR_TYPE_PTR, s.ttl, sd);
}

}  // namespace

std::string InstanceId(std::string_view service, std::string_view instance) {
  const Hash h = HashBytes(Lowercase(service) + "/" + Lowercase(instance));
  return ToHex(h).substr(0, 8);
}

Result<std::vector<Record>> ParseZoneRecords(std::string_view owner, std::string_view text) {
  std::unique_ptr<ldns_rdf, decltype(&ldns_rdf_deep_free)> origin(ldns_dname_new_frm_str(std::string(owner).c_str()),
                                                                  &ldns_rdf_deep_free);
  if (!origin) return Invalid("bad owner name " + std::string(owner));
  std::vector<Record> out;
  size_t line_no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string line(text.substr(start, nl - start));
    start = nl + 1;
    ++line_no;
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == ';' || line[first] == '#') continue;
    const size_t last = line.find_last_not_of(" \t\r");
    line = line.substr(first, last - first + 1);
    if (line.find('\0') != std::string::npos) return Invalid("NUL byte on line " + std::to_string(line_no));
    const std::string full = std::string(owner) + " " + line;
    ldns_rr* rr = nullptr;
    ldns_rdf* prev = nullptr;
    const ldns_status st = ldns_rr_new_frm_str(&rr, full.c_str(), kDefaultZoneTtl, origin.get(), &prev);
    if (prev) ldns_rdf_deep_free(prev);
    if (st != LDNS_STATUS_OK || !rr) {
      if (rr) ldns_rr_free(rr);
      return Invalid("line " + std::to_string(line_no) + ": " + ldns_get_errorstr_by_id(st) + ": " + line);
    }
    std::unique_ptr<ldns_rr, decltype(&ldns_rr_free)> guard(rr, &ldns_rr_free);
    if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
      return Invalid("line " + std::to_string(line_no) + ": class is not IN");
    const ldns_rr_type type = ldns_rr_get_type(rr);
    const ldns_rr_descriptor* desc = ldns_rr_descript(type);
    if (!desc || type == LDNS_RR_TYPE_OPT || type == LDNS_RR_TYPE_ANY || type == LDNS_RR_TYPE_AXFR ||
        type == LDNS_RR_TYPE_IXFR || type == LDNS_RR_TYPE_TSIG || ldns_rr_rd_count(rr) == 0)
      return Invalid("line " + std::to_string(line_no) + ": record type not allowed in zone data: " + line);
    Record rec;
    rec.owner = Lowercase(owner);
    rec.type = static_cast<uint16_t>(type);
    rec.ttl = ldns_rr_ttl(rr);
    for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
      char* s = ldns_rdf2str(ldns_rr_rdf(rr, i));
      if (!s) return Invalid("line " + std::to_string(line_no) + ": cannot print record");
      if (i) rec.rdata += ' ';
      rec.rdata += s;
      free(s);
    }
    out.push_back(std::move(rec));
  }
  return out;
}

Projection Project(const ProjectionInput& in) {
  Projection out;
  const std::string d = Lowercase(in.domain);
  std::map<std::string, const MemberView*> by_name, by_key;
  for (const auto& m : in.members) {
    by_name[Lowercase(m.name)] = &m;
    if (!m.key.empty()) by_key[m.key] = &m;
  }

  ZoneBuilder cluster;
  cluster.zone.apex = d;
  const std::string self = Lowercase(in.self_node);
  cluster.zone.soa.rname = "hostmaster." + d;
  std::vector<std::string> ns_names;
  for (const auto& m : in.members) {
    const std::string name = Lowercase(m.name);
    const uint16_t atype = AddressType(m.address);
    if (!m.alive || !IsServiceLabel(name) || atype == 0) continue;
    cluster.Add(name + ".node." + d, atype, kNodeTtl, m.address);
    ns_names.push_back(name + ".node." + d);
  }
  // MNAME: one name on every node that sees the same members (checkers
  // compare the SOA across a zone's servers), a name that resolves: the
  // first live member by name; this node alone before it has any.
  std::sort(ns_names.begin(), ns_names.end());
  ns_names.erase(std::unique(ns_names.begin(), ns_names.end()), ns_names.end());
  if (!ns_names.empty())
    cluster.zone.soa.mname = ns_names.front();
  else
    cluster.zone.soa.mname = IsServiceLabel(self) ? self + ".node." + d : d;
  if (ns_names.empty()) ns_names.push_back(cluster.zone.soa.mname);
  for (const auto& ns : ns_names) cluster.Add(d, LDNS_RR_TYPE_NS, kNsTtl, ns);
  cluster.Add("b._dns-sd._udp." + d, LDNS_RR_TYPE_PTR, kNsTtl, d);
  cluster.Add("lb._dns-sd._udp." + d, LDNS_RR_TYPE_PTR, kNsTtl, d);

  std::map<std::string, ZoneBuilder, std::less<>> zones;
  std::vector<const SourceFile*> files;
  files.reserve(in.files.size() + in.shared_files.size());
  for (const SourceFile& f : in.files) files.push_back(&f);
  for (const auto& f : in.shared_files) files.push_back(f.get());
  for (const SourceFile* file : files) {
    const SourceFile& f = *file;
    const std::vector<std::string> parts = SplitPath(f.path);
    auto bad = [&](std::string reason) { out.bad_files.push_back(BadFile{f.path, std::move(reason)}); };
    if (parts.empty()) continue;
    if (parts[0] == "services") {
      if (parts.size() != 3) {
        bad("a service instance file must be /services/<service>/<instance>");
        continue;
      }
      if (!IsServiceLabel(parts[1]) || !IsServiceLabel(parts[2])) {
        bad("service and instance names must be DNS labels (letters, digits, '-')");
        continue;
      }
      std::optional<Result<ServiceInstance>> own;
      const Result<ServiceInstance>& parsed =
          in.cache ? in.cache->Service(f.content) : own.emplace(ParseServiceFile(f.content));
      if (!parsed.ok()) {
        bad(parsed.status().message());
        continue;
      }
      const std::string service = Lowercase(parts[1]), instance = Lowercase(parts[2]);
      const MemberView* owner = nullptr;
      if (!parsed->node.empty()) {
        auto it = by_name.find(parsed->node);
        if (it != by_name.end()) owner = it->second;
      } else if (auto it = by_key.find(f.author); it != by_key.end()) {
        owner = it->second;
      }
      if (!owner || !owner->alive) continue;
      if (!owner->failing.empty() && owner->failing.count(InstanceId(service, instance))) continue;
      const std::string address = parsed->address.empty() ? owner->address : parsed->address;
      if (AddressType(address) == 0) continue;
      ProjectInstance(service, instance, *parsed, address, d, &cluster);
    } else if (parts[0] == "zones") {
      if (parts.size() < 3) {
        bad("zone data goes in /zones/<zone>/<owner>");
        continue;
      }
      if (!IsZoneName(parts[1])) {
        bad("'" + parts[1] + "' is not a zone name");
        continue;
      }
      std::string apex = Lowercase(parts[1]);
      if (apex.back() != '.') apex += '.';
      if (InZone(apex, d)) {
        bad("zone " + apex + " lies in the cluster domain " + d);
        continue;
      }
      std::string owner = apex;
      bool ok = true;
      for (size_t i = 2; i < parts.size(); ++i) {
        if (i + 1 == parts.size() && parts[i] == "@") break;
        if (!IsZoneLabel(parts[i])) {
          ok = false;
          break;
        }
        owner = Lowercase(parts[i]) + "." + owner;
      }
      if (!ok || owner.size() > kMaxDnsNameBytes + 1) {
        bad("the path does not make a DNS name (labels: letters, digits, '-', '_')");
        continue;
      }
      std::optional<Result<std::vector<Record>>> own;
      const Result<std::vector<Record>>& records =
          in.cache ? in.cache->ZoneRecords(owner, f.content) : own.emplace(ParseZoneRecords(owner, f.content));
      if (!records.ok()) {
        bad(records.status().message());
        continue;
      }
      size_t cnames = 0, others = 0;
      const Record* soa = nullptr;
      for (const auto& r : *records) {
        (r.type == LDNS_RR_TYPE_CNAME ? cnames : others) += 1;
        if (r.type == LDNS_RR_TYPE_SOA) soa = &r;
      }
      if (cnames > 1 || (cnames && others)) {
        bad("a CNAME must be the only record of its name");
        continue;
      }
      if (soa && owner != apex) {
        bad("an SOA record belongs at the zone apex only");
        continue;
      }
      ZoneBuilder& z = zones[apex];
      z.zone.apex = apex;
      for (const Record& r : *records) {
        if (r.type == LDNS_RR_TYPE_SOA) {
          char mname[256], rname[256];
          unsigned serial;
          SoaFields& s = z.zone.soa;
          if (sscanf(r.rdata.c_str(), "%255s %255s %u %u %u %u %u", mname, rname, &serial, &s.refresh, &s.retry,
                     &s.expire, &s.minimum) == 7) {
            s.mname = Lowercase(mname);
            s.rname = Lowercase(rname);
            s.ttl = r.ttl;
          }
          continue;
        }
        z.zone.records.push_back(r);
        z.sources.push_back(&f.path);
      }
    }
  }

  Finish(&cluster);
  out.zones.push_back(std::move(cluster.zone));
  for (auto& [apex, z] : zones) {
    if (z.zone.soa.mname.empty()) {
      z.zone.soa.mname = out.zones[0].soa.mname;
      z.zone.soa.rname = "hostmaster." + apex;
    }
    DropCnameConflicts(apex, &z, &out.bad_files);
    const bool has_ns = std::any_of(z.zone.records.begin(), z.zone.records.end(), [&, apex = apex](const Record& r) {
      return r.owner == apex && r.type == LDNS_RR_TYPE_NS;
    });
    if (!has_ns)
      for (const auto& ns : ns_names) z.Add(apex, LDNS_RR_TYPE_NS, kNsTtl, ns);
    // Names that belong to a deeper zone served here (the cluster domain
    // included) are that zone's: the first suffix of the owner that is an
    // apex must be this one.
    auto& recs = z.zone.records;
    recs.erase(std::remove_if(recs.begin(), recs.end(),
                              [&, apex = apex](const Record& r) {
                                for (std::string_view n = r.owner; n.size() > apex.size();
                                     n = n.substr(n.find('.') + 1))
                                  if (n == d || zones.count(n)) return true;
                                return false;
                              }),
               recs.end());
    Finish(&z);
    out.zones.push_back(std::move(z.zone));
  }
  return out;
}

}  // namespace basefs
