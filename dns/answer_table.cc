#include "dns/answer_table.h"

#include <ldns/ldns.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <unordered_set>

#include "zones/names.h"

namespace basefs {

namespace {

constexpr int kMaxCnameHops = 8;

std::string RdfName(const ldns_rdf* rdf) {
  if (!rdf || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME) return "";
  char* s = ldns_rdf2str(rdf);
  if (!s) return "";
  std::string out = Lowercase(s);
  free(s);
  return out;
}

std::string WireKey(std::string_view presentation) {
  uint8_t buf[kMaxWireNameBytes + 1];
  size_t len = 0;
  if (!NameToWire(presentation, buf, &len)) return "";
  return std::string(reinterpret_cast<const char*>(buf), len);
}

// The parent of an absolute presentation name ("a.b." -> "b."), "" at the root.
std::string Parent(const std::string& name) {
  const size_t dot = name.find('.');
  if (dot == std::string::npos || dot + 1 >= name.size()) return "";
  return name.substr(dot + 1);
}

struct PktDeleter {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktDeleter>;

std::string ToWire(const ldns_pkt* p) {
  uint8_t* wire = nullptr;
  size_t size = 0;
  if (ldns_pkt2wire(&wire, p, &size) != LDNS_STATUS_OK) return "";
  std::string out(reinterpret_cast<char*>(wire), size);
  free(wire);
  return out;
}

}  // namespace

// Holds the records of every zone while answers are prepared. Records are
// parsed into ldns objects only for the owners a built answer needs.
class AnswerBuilder {
 public:
  AnswerBuilder(AnswerTable* t, const AnswerTable* prev) : t_(t), prev_(prev) {}
  ~AnswerBuilder() {
    for (ldns_rr* rr : owned_) ldns_rr_free(rr);
  }

  Status AddZone(const Zone& z, uint32_t serial) {
    const std::string apex = Lowercase(z.apex);
    const std::string key = WireKey(apex);
    if (key.empty()) return Invalid("bad zone apex " + apex);
    AnswerTable::ZoneEntry& ze = t_->zones_[key];
    ze.apex = apex;
    ze.serial = serial;
    ze.source = t_->src_.size();
    t_->src_.push_back(z);
    apexes_.push_back(apex);
    const SoaFields& s = z.soa;
    BASEFS_ASSIGN_OR_RETURN(ldns_rr * soa, Parse(SoaText(apex, s, serial)));
    sets_[apex][LDNS_RR_TYPE_SOA].push_back(soa);
    // The negative answer's SOA: TTL = min(SOA TTL, minimum) (RFC 2308 §3).
    ldns_rr* neg = ldns_rr_clone(soa);
    owned_.push_back(neg);
    ldns_rr_set_ttl(neg, std::min(s.ttl, s.minimum));
    negative_soa_[apex] = neg;
    uint8_t* wire = nullptr;
    size_t size = 0;
    if (ldns_rr2wire(&wire, neg, LDNS_SECTION_AUTHORITY, &size) != LDNS_STATUS_OK) return Invalid("cannot encode SOA");
    ze.soa_tail.assign(reinterpret_cast<char*>(wire), size);
    free(wire);
    for (const Record& r : z.records) {
      const std::string owner = Lowercase(r.owner);
      recs_[owner].push_back(&r);
      std::string& text = t_->groups_[owner];
      text += std::to_string(r.type) + " " + std::to_string(r.ttl) + " " + r.rdata + "\n";
    }
    return Status::Ok();
  }

  Status Prepare() {
    // Every owner and every name between it and its apex (empty non-terminals).
    for (const std::string& apex : apexes_) names_.insert(apex);
    for (const auto& [owner, recs] : recs_) {
      const std::string* zone = ZoneOf(owner);
      if (!zone) continue;
      for (std::string n = owner; !n.empty(); n = Parent(n)) {
        if (!names_.insert(n).second && n != owner) break;
        if (n == *zone) break;
      }
    }
    FindChanges();
    if (!full_) FindDirty();
    for (const std::string& name : names_) {
      if (!full_ && !dirty_.count(name) && Reuse(name)) continue;
      BASEFS_RETURN_IF_ERROR(PrepareName(name));
    }
    return Status::Ok();
  }

  // The AXFR messages of zone `z` (SOA first and last).
  static std::vector<std::string> Transfer(const Zone& z, uint32_t serial) {
    AnswerTable scratch;
    AnswerBuilder b(&scratch, nullptr);
    if (!b.AddZone(z, serial).ok()) return {};
    std::vector<std::string> out;
    const std::string apex = Lowercase(z.apex);
    ldns_rr* soa = b.sets_[apex][LDNS_RR_TYPE_SOA].front();
    PktPtr p = b.NewPacket(apex, LDNS_RR_TYPE_AXFR);
    size_t bytes = 64;
    auto flush = [&] {
      out.push_back(ToWire(p.get()));
      p.reset(ldns_pkt_new());
      ldns_pkt_set_qr(p.get(), true);
      ldns_pkt_set_aa(p.get(), true);
      bytes = 64;
    };
    auto add = [&](ldns_rr* rr) {
      const size_t n = ldns_rr_uncompressed_size(rr);
      if (bytes + n > kAxfrMessageBytes && ldns_pkt_ancount(p.get()) > 0) flush();
      ldns_pkt_push_rr(p.get(), LDNS_SECTION_ANSWER, ldns_rr_clone(rr));
      bytes += n;
    };
    add(soa);
    for (const auto& [owner, recs] : b.recs_) {
      b.EnsureParsed(owner);
      for (const auto& [type, rrs] : b.sets_[owner])
        if (type != LDNS_RR_TYPE_SOA)
          for (ldns_rr* rr : rrs) add(rr);
    }
    add(soa);
    flush();
    return out;
  }

 private:
  static std::string SoaText(const std::string& apex, const SoaFields& s, uint32_t serial) {
    return apex + " " + std::to_string(s.ttl) + " IN SOA " + s.mname + " " + s.rname + " " + std::to_string(serial) +
           " " + std::to_string(s.refresh) + " " + std::to_string(s.retry) + " " + std::to_string(s.expire) + " " +
           std::to_string(s.minimum);
  }

  Result<ldns_rr*> Parse(const std::string& text) {
    ldns_rr* rr = nullptr;
    const ldns_status st = ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr);
    if (st != LDNS_STATUS_OK || !rr) return Invalid(ldns_get_errorstr_by_id(st));
    owned_.push_back(rr);
    return rr;
  }

  // Parses the records of `owner` once, one TTL per RRset (the lowest, RFC
  // 2181 §5.2). Records were checked by the projection; one ldns refuses is
  // left out (and counted).
  void EnsureParsed(const std::string& owner) {
    if (!parsed_.insert(owner).second) return;
    auto it = recs_.find(owner);
    if (it == recs_.end()) return;
    auto& types = sets_[owner];
    for (const Record* r : it->second) {
      char* type = ldns_rr_type2str(static_cast<ldns_rr_type>(r->type));
      const std::string text = r->owner + " " + std::to_string(r->ttl) + " IN " + (type ? type : "TYPE0") + " " + r->rdata;
      free(type);
      auto rr = Parse(text);
      if (rr.ok()) types[r->type].push_back(*rr);
    }
    for (auto& [type, rrs] : types) {
      if (type == LDNS_RR_TYPE_SOA) continue;
      uint32_t ttl = UINT32_MAX;
      for (ldns_rr* rr : rrs) ttl = std::min(ttl, ldns_rr_ttl(rr));
      for (ldns_rr* rr : rrs) ldns_rr_set_ttl(rr, ttl);
    }
  }

  // The most specific served zone holding `name`.
  const std::string* ZoneOf(const std::string& name) const {
    const std::string* best = nullptr;
    for (const std::string& apex : apexes_)
      if (InZone(name, apex) && (!best || apex.size() > best->size())) best = &apex;
    return best;
  }

  bool HasType(const std::string& owner, uint16_t type) const {
    auto it = recs_.find(owner);
    if (it == recs_.end()) return false;
    for (const Record* r : it->second)
      if (r->type == type) return true;
    return false;
  }

  const std::vector<ldns_rr*>* Set(const std::string& owner, uint16_t type) {
    EnsureParsed(owner);
    auto it = sets_.find(owner);
    if (it == sets_.end()) return nullptr;
    auto jt = it->second.find(type);
    return jt == it->second.end() ? nullptr : &jt->second;
  }

  // --- What changed since the previous table ------------------------------

  void FindChanges() {
    if (!prev_) {
      full_ = true;
      return;
    }
    // Zones added, removed or with other SOA fields: build everything.
    if (prev_->src_.size() != t_->src_.size()) full_ = true;
    for (size_t i = 0; !full_ && i < t_->src_.size(); ++i)
      full_ = prev_->src_[i].apex != t_->src_[i].apex || !(prev_->src_[i].soa == t_->src_[i].soa);
    if (full_) return;
    for (const auto& [owner, text] : t_->groups_) {
      auto it = prev_->groups_.find(owner);
      if (it == prev_->groups_.end() || it->second != text) changed_.insert(owner);
    }
    for (const auto& [owner, text] : prev_->groups_)
      if (!t_->groups_.count(owner)) changed_.insert(owner);
    // Names that appeared or vanished (empty non-terminals included).
    for (const std::string& n : names_)
      if (!prev_->names_.count(WireKey(n))) changed_.insert(n);
    for (const auto& [key, e] : prev_->names_)
      if (!names_.count(e->name)) changed_.insert(e->name);
  }

  static std::string Token(const std::string& rdata, size_t index) {
    size_t pos = 0;
    for (size_t i = 0; i < index; ++i) {
      pos = rdata.find(' ', pos);
      if (pos == std::string::npos) return "";
      ++pos;
    }
    return Lowercase(rdata.substr(pos, rdata.find(' ', pos) - pos));
  }

  // Targets whose records go into the answers of a record's owner.
  void Targets(const Record& r, std::vector<std::string>* out) const {
    switch (r.type) {
      case LDNS_RR_TYPE_SRV: out->push_back(Token(r.rdata, 3)); break;
      case LDNS_RR_TYPE_MX: out->push_back(Token(r.rdata, 1)); break;
      case LDNS_RR_TYPE_NS:
      case LDNS_RR_TYPE_CNAME:
      case LDNS_RR_TYPE_PTR: out->push_back(Token(r.rdata, 0)); break;
      default: break;
    }
  }

  // Names whose answers could differ from the previous table's (other
  // than in the SOA serial): the changed owners and, transitively, every
  // owner whose answers follow a link to them — SRV, MX and NS targets, PTR
  // targets (and their SRV targets), CNAME chains.
  void FindDirty() {
    std::unordered_map<std::string, std::vector<const std::string*>> linked_from;
    std::vector<std::string> targets;
    for (const auto& [owner, recs] : recs_) {
      targets.clear();
      for (const Record* r : recs) Targets(*r, &targets);
      for (const auto& t : targets) linked_from[t].push_back(&owner);
    }
    std::vector<std::string> todo(changed_.begin(), changed_.end());
    dirty_.insert(changed_.begin(), changed_.end());
    while (!todo.empty()) {
      const std::string n = std::move(todo.back());
      todo.pop_back();
      auto it = linked_from.find(n);
      if (it == linked_from.end()) continue;
      for (const std::string* from : it->second)
        if (dirty_.insert(*from).second) todo.push_back(*from);
    }
    for (const std::string& apex : apexes_) dirty_.insert(apex);  // SOA, NS and their glue: always built
  }

  // Shares the previous table's answers for `name` (their SOA serial is
  // written at query time). False if there is nothing to share.
  bool Reuse(const std::string& name) {
    const std::string key = WireKey(name);
    auto it = prev_->names_.find(key);
    if (it == prev_->names_.end()) return false;
    t_->names_[key] = it->second;
    return true;
  }

  // --- Building answers -----------------------------------------------------

  static void Push(ldns_pkt* p, ldns_pkt_section s, const std::vector<ldns_rr*>& rrs, std::set<const ldns_rr*>* seen) {
    for (ldns_rr* rr : rrs)
      if (seen->insert(rr).second) ldns_pkt_push_rr(p, s, ldns_rr_clone(rr));
  }

  void PushAddresses(ldns_pkt* p, const std::string& target, std::set<const ldns_rr*>* seen) {
    for (uint16_t t : {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA})
      if (auto* s = Set(target, t)) Push(p, LDNS_SECTION_ADDITIONAL, *s, seen);
  }

  // Additional records for an answer RRset: addresses of SRV/MX/NS targets;
  // for DNS-SD PTRs to service instances, their SRV and TXT and the
  // addresses of the SRV targets (RFC 6763 §12.1).
  void AddAdditional(ldns_pkt* p, const std::vector<ldns_rr*>& rrs, std::set<const ldns_rr*>* seen) {
    for (ldns_rr* rr : rrs) {
      switch (ldns_rr_get_type(rr)) {
        case LDNS_RR_TYPE_SRV: PushAddresses(p, RdfName(ldns_rr_rdf(rr, 3)), seen); break;
        case LDNS_RR_TYPE_MX: PushAddresses(p, RdfName(ldns_rr_rdf(rr, 1)), seen); break;
        case LDNS_RR_TYPE_NS: PushAddresses(p, RdfName(ldns_rr_rdf(rr, 0)), seen); break;
        case LDNS_RR_TYPE_PTR: {
          const std::string target = RdfName(ldns_rr_rdf(rr, 0));
          if (!HasType(target, LDNS_RR_TYPE_TXT)) break;  // not an instance: no parsing needed
          const auto* srv = Set(target, LDNS_RR_TYPE_SRV);
          const auto* txt = Set(target, LDNS_RR_TYPE_TXT);
          if (!srv || !txt) break;
          Push(p, LDNS_SECTION_ADDITIONAL, *srv, seen);
          Push(p, LDNS_SECTION_ADDITIONAL, *txt, seen);
          for (ldns_rr* s : *srv) PushAddresses(p, RdfName(ldns_rr_rdf(s, 3)), seen);
          break;
        }
        default: break;
      }
    }
  }

  PktPtr NewPacket(const std::string& name, uint16_t qtype) const {
    PktPtr p(ldns_pkt_new());
    ldns_pkt_set_qr(p.get(), true);
    ldns_pkt_set_aa(p.get(), true);
    ldns_rr* q = ldns_rr_new();
    ldns_rr_set_owner(q, ldns_dname_new_frm_str(name.c_str()));
    ldns_rr_set_type(q, static_cast<ldns_rr_type>(qtype));
    ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
    ldns_rr_set_question(q, true);
    ldns_pkt_push_rr(p.get(), LDNS_SECTION_QUESTION, q);
    return p;
  }

  void PushNegativeSoa(ldns_pkt* p, const std::string& zone) {
    ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, ldns_rr_clone(negative_soa_.at(zone)));
    soa_zone_ = zone;
  }

  // Fills `p` with the answer to (name, qtype): CNAMEs chased inside the
  // served zones, NODATA/NXDOMAIN with the zone's SOA.
  void Resolve(ldns_pkt* p, std::string name, uint16_t qtype, std::set<const ldns_rr*>* seen) {
    for (int hop = 0; hop < kMaxCnameHops; ++hop) {
      const std::string* zone = ZoneOf(name);
      if (!zone) return;  // a CNAME out of our zones: the client goes on from there
      if (!names_.count(name)) {
        ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
        PushNegativeSoa(p, *zone);
        return;
      }
      const auto* cname = Set(name, LDNS_RR_TYPE_CNAME);
      if (cname && qtype != LDNS_RR_TYPE_CNAME) {
        if (!seen->insert(cname->front()).second) return;  // a loop
        ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, ldns_rr_clone(cname->front()));
        name = RdfName(ldns_rr_rdf(cname->front(), 0));
        continue;
      }
      if (const auto* set = Set(name, qtype)) {
        Push(p, LDNS_SECTION_ANSWER, *set, seen);
        AddAdditional(p, *set, seen);
      } else {
        PushNegativeSoa(p, *zone);
      }
      return;
    }
  }

  // Encodes `p` (and its variant without additional records).
  AnswerTable::Answer_ Store(ldns_pkt* p) {
    AnswerTable::Answer_ a;
    a.full = ToWire(p);
    if (ldns_pkt_arcount(p) > 0) {
      ldns_rr_list_deep_free(ldns_pkt_additional(p));
      ldns_pkt_set_additional(p, ldns_rr_list_new());
      ldns_pkt_set_arcount(p, 0);
      a.minimal = ToWire(p);
      if (a.full.size() > kMaxDnsMessageBytes) a.full = a.minimal;
      if (a.minimal.size() > kMaxDnsMessageBytes) a.minimal.clear();
    } else if (!soa_zone_.empty()) {
      a.soa_zone = WireKey(soa_zone_);  // the SOA is the last record
    }
    soa_zone_.clear();
    if (a.full.size() > kMaxDnsMessageBytes || a.full.size() < kDnsHeaderBytes) {
      // Too big for any transport: SERVFAIL rather than a wrong answer.
      a.full.resize(kDnsHeaderBytes);
      a.full[3] = static_cast<char>(LDNS_RCODE_SERVFAIL);
      for (int i = 4; i < 12; ++i) a.full[i] = 0;
      a.minimal.clear();
      a.soa_zone.clear();
    }
    ++t_->built_;
    return a;
  }

  Status PrepareName(const std::string& name) {
    const std::string key = WireKey(name);
    if (key.empty()) return Invalid("bad owner name " + name);
    auto entry = std::make_shared<AnswerTable::NameEntry>();
    AnswerTable::NameEntry& e = *entry;
    e.name = name;
    std::set<uint16_t> types;
    EnsureParsed(name);
    auto it = sets_.find(name);
    if (it != sets_.end())
      for (const auto& [type, rrs] : it->second) types.insert(type);
    if (types.count(LDNS_RR_TYPE_CNAME)) {
      // Prepare every type the chain's end has, so those are direct hits.
      std::string target = name;
      for (int hop = 0; hop < kMaxCnameHops; ++hop) {
        const auto* c = Set(target, LDNS_RR_TYPE_CNAME);
        if (!c) break;
        target = RdfName(ldns_rr_rdf(c->front(), 0));
      }
      EnsureParsed(target);
      if (auto jt = sets_.find(target); jt != sets_.end())
        for (const auto& [type, rrs] : jt->second)
          if (type != LDNS_RR_TYPE_CNAME) types.insert(type);
    }
    for (uint16_t type : types) {
      PktPtr p = NewPacket(name, type);
      std::set<const ldns_rr*> seen;
      Resolve(p.get(), name, type, &seen);
      e.by_type.emplace_back(type, Store(p.get()));
    }
    {
      PktPtr p = NewPacket(name, LDNS_RR_TYPE_A);
      std::set<const ldns_rr*> seen;
      // A type no name has: NODATA here, or the CNAME chain to where it ends.
      Resolve(p.get(), name, 65280, &seen);
      e.fallback = Store(p.get());
    }
    {
      PktPtr p = NewPacket(name, LDNS_RR_TYPE_ANY);
      std::set<const ldns_rr*> seen;
      it = sets_.find(name);
      if (it == sets_.end() || it->second.empty()) {
        PushNegativeSoa(p.get(), *ZoneOf(name));
      } else if (const auto* c = Set(name, LDNS_RR_TYPE_CNAME)) {
        Push(p.get(), LDNS_SECTION_ANSWER, *c, &seen);
      } else {
        for (const auto& [type, rrs] : it->second) Push(p.get(), LDNS_SECTION_ANSWER, rrs, &seen);
      }
      e.any = Store(p.get());
    }
    t_->names_[key] = std::move(entry);
    return Status::Ok();
  }

  AnswerTable* t_;
  const AnswerTable* prev_;
  bool full_ = false;
  std::vector<ldns_rr*> owned_;
  std::vector<std::string> apexes_;
  std::map<std::string, std::vector<const Record*>> recs_;  // owner -> records (pointing into t_->src_)
  std::set<std::string> parsed_;
  std::map<std::string, std::map<uint16_t, std::vector<ldns_rr*>>> sets_;
  std::map<std::string, ldns_rr*> negative_soa_;
  std::set<std::string> names_;
  std::set<std::string> changed_;
  std::unordered_set<std::string> dirty_;
  std::string soa_zone_;  // set by PushNegativeSoa for Store
};

Result<std::unique_ptr<AnswerTable>> AnswerTable::Build(const std::vector<Zone>& zones,
                                                        const std::vector<uint32_t>& serials,
                                                        const AnswerTable* previous) {
  std::unique_ptr<AnswerTable> t(new AnswerTable());
  t->src_.reserve(zones.size());  // records are pointed to while building
  {
    AnswerBuilder b(t.get(), previous);
    for (size_t i = 0; i < zones.size(); ++i)
      BASEFS_RETURN_IF_ERROR(b.AddZone(zones[i], i < serials.size() ? serials[i] : 1));
    BASEFS_RETURN_IF_ERROR(b.Prepare());
  }
  for (const auto& [key, e] : t->names_) t->answer_count_ += e->by_type.size() + 2;
  return t;
}

uint32_t AnswerTable::serial(std::string_view apex) const {
  auto it = zones_.find(WireKey(apex));
  return it == zones_.end() ? 0 : it->second.serial;
}

const AnswerTable::ZoneEntry* AnswerTable::FindZone(const Query& q) const {
  size_t off = 0;
  while (off < q.qname_len) {
    auto it = zones_.find(std::string_view(reinterpret_cast<const char*>(q.qname) + off, q.qname_len - off));
    if (it != zones_.end()) return &it->second;
    if (q.qname[off] == 0) break;
    off += 1 + q.qname[off];
  }
  return nullptr;
}

size_t AnswerTable::Emit(const Answer_& a, const uint8_t* msg, const Query& q, size_t limit, uint8_t* out) const {
  const size_t opt = q.edns ? 11 : 0;
  const std::string* w = &a.full;
  bool tc = false;
  if (w->size() + opt > limit) {
    if (!a.minimal.empty() && a.minimal.size() + opt <= limit) w = &a.minimal;
    else tc = true;
  }
  size_t len;
  if (tc || w->size() == kDnsHeaderBytes) {
    std::memcpy(out, w->data(), kDnsHeaderBytes);
    std::memset(out + 4, 0, 8);
    WriteU16(out + 4, 1);
    len = q.question_end;
  } else {
    std::memcpy(out, w->data(), w->size());
    len = w->size();
    if (!a.soa_zone.empty() && w == &a.full) {
      auto z = zones_.find(a.soa_zone);
      if (z != zones_.end()) {
        const uint32_t s = z->second.serial;
        uint8_t* at = out + len - 20;
        at[0] = static_cast<uint8_t>(s >> 24);
        at[1] = static_cast<uint8_t>(s >> 16);
        at[2] = static_cast<uint8_t>(s >> 8);
        at[3] = static_cast<uint8_t>(s);
      }
    }
  }
  // The client's own question bytes (its letter case, its QTYPE/QCLASS).
  std::memcpy(out + kDnsHeaderBytes, msg + kDnsHeaderBytes, q.question_end - kDnsHeaderBytes);
  WriteU16(out, q.id);
  out[2] = static_cast<uint8_t>(0x84 | (q.flags_hi & 0x01) | (tc ? 0x02 : 0));
  out[3] = static_cast<uint8_t>((out[3] & 0x0f) | (q.flags_lo & 0x10));
  if (q.edns) len = AppendOpt(out, len, q);
  return len;
}

size_t AnswerTable::Answer(const uint8_t* msg, const Query& q, size_t limit, uint8_t* out) const {
  auto it = names_.find(q.name());
  if (it == names_.end()) {
    const ZoneEntry* z = FindZone(q);
    if (!z) return 0;
    WriteU16(out, q.id);
    out[2] = static_cast<uint8_t>(0x84 | (q.flags_hi & 0x01));
    out[3] = static_cast<uint8_t>(LDNS_RCODE_NXDOMAIN | (q.flags_lo & 0x10));
    WriteU16(out + 4, 1);
    WriteU16(out + 6, 0);
    WriteU16(out + 8, 1);
    WriteU16(out + 10, 0);
    std::memcpy(out + kDnsHeaderBytes, msg + kDnsHeaderBytes, q.question_end - kDnsHeaderBytes);
    std::memcpy(out + q.question_end, z->soa_tail.data(), z->soa_tail.size());
    size_t len = q.question_end + z->soa_tail.size();
    if (q.edns) len = AppendOpt(out, len, q);
    return len;
  }
  const NameEntry& e = *it->second;
  const Answer_* a = &e.fallback;
  if (q.qtype == LDNS_RR_TYPE_ANY) {
    a = &e.any;
  } else {
    for (const auto& [type, ans] : e.by_type)
      if (type == q.qtype) {
        a = &ans;
        break;
      }
  }
  return Emit(*a, msg, q, limit, out);
}

std::vector<std::string> AnswerTable::Transfer(const Query& q) const {
  auto it = zones_.find(q.name());
  if (it == zones_.end()) return {};
  return AnswerBuilder::Transfer(src_[it->second.source], it->second.serial);
}

}  // namespace basefs
