#include "dns/answer_table.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <span>
#include <unordered_set>

#include <ldns/ldns.h>

#include "zones/names.h"

namespace basefs {

namespace {

constexpr int kMaxCnameHops = 8;
// A name's answers that follow its CNAME chain copy the data at the chain's
// end; beyond this size they carry the chain alone (the client asks for the
// target itself), so that many CNAMEs to a large RRset cost little memory.
constexpr size_t kMaxChasedAnswerBytes = 4096;

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

// Prepares the answers of a table from its zones (t_->src_). Records are
// looked up by binary search in each zone's owner-sorted records and
// parsed into ldns objects only for the owners a built answer needs, so an
// incremental build allocates per touched name, not per record.
//
// Names are held as views into the owner and apex strings of the zones
// (t_->src_, and prev_->src_ for names that vanished): a parent name is a
// suffix of its child's string. Both tables outlive the builder.
class AnswerBuilder {
 public:
  AnswerBuilder(AnswerTable* t, const AnswerTable* prev) : t_(t), prev_(prev) {}
  ~AnswerBuilder() {
    for (ldns_rr* rr : owned_) ldns_rr_free(rr);
  }

  // Registers zone t_->src_[i]: its apex, serial and the SOA that ends
  // its NXDOMAIN answers (the previous table's when SOA and serial are the
  // same; the SOA is parsed only when an answer needs it).
  Status AddZone(size_t i, uint32_t serial) {
    const Zone& z = t_->src_[i];
    const std::string& apex = z.apex;
    const std::string key = WireKey(apex);
    if (key.empty()) return Invalid("bad zone apex " + apex);
    AnswerTable::ZoneEntry& ze = t_->zones_[key];
    ze.apex = apex;
    ze.serial = serial;
    ze.source = i;
    zone_index_.emplace(std::string_view(z.apex), i);
    serials_.push_back(serial);
    const AnswerTable::ZoneEntry* before = nullptr;
    if (prev_)
      if (auto it = prev_->zones_.find(key); it != prev_->zones_.end()) before = &it->second;
    if (before && before->serial == serial && prev_->src_[before->source].soa == z.soa) {
      ze.soa_tail = before->soa_tail;
      return Status::Ok();
    }
    BASEFS_ASSIGN_OR_RETURN(ldns_rr * neg, NegativeSoa(apex));
    uint8_t* wire = nullptr;
    size_t size = 0;
    if (ldns_rr2wire(&wire, neg, LDNS_SECTION_AUTHORITY, &size) != LDNS_STATUS_OK) return Invalid("cannot encode SOA");
    ze.soa_tail.assign(reinterpret_cast<char*>(wire), size);
    free(wire);
    return Status::Ok();
  }

  Status Prepare() {
    exact_.assign(t_->src_.size(), false);
    zone_names_.assign(t_->src_.size(), {});
    BASEFS_RETURN_IF_ERROR(FindChanges());
    if (full_) {
      for (size_t i = 0; i < t_->src_.size(); ++i) {
        exact_[i] = true;
        BASEFS_RETURN_IF_ERROR(CheckOwners(i));
      }
      BuildExactNames();
      for (size_t i = 0; i < AnswerTable::kShards; ++i) {
        auto s = std::make_shared<AnswerTable::Shard>();
        mutable_[i] = s.get();
        t_->shards_[i] = std::move(s);
      }
      for (std::string_view name : exact_names_) BASEFS_RETURN_IF_ERROR(PrepareName(name));
      return Status::Ok();
    }
    t_->shards_ = prev_->shards_;
    t_->name_count_ = prev_->name_count_;
    t_->answer_count_ = prev_->answer_count_;
    FindDirty();
    for (std::string_view name : dirty_) {
      if (Exists(name)) {
        BASEFS_RETURN_IF_ERROR(PrepareName(name));
      } else {
        EraseName(name);
      }
    }
    return Status::Ok();
  }

  // The AXFR messages of zone `z` (SOA first and last).
  static std::vector<std::string> Transfer(const Zone& z, uint32_t serial) {
    AnswerTable scratch;
    scratch.src_.push_back(z);
    AnswerBuilder b(&scratch, nullptr);
    if (!b.AddZone(0, serial).ok()) return {};
    std::vector<std::string> out;
    const std::string& apex = scratch.src_[0].apex;
    b.EnsureParsed(apex);
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
    ForEachOwner(scratch.src_[0], [&](std::string_view owner, std::span<const Record>) {
      b.EnsureParsed(owner);
      auto it = b.sets_.find(owner);
      if (it == b.sets_.end()) return;
      for (const auto& [type, rrs] : it->second)
        if (type != LDNS_RR_TYPE_SOA)
          for (ldns_rr* rr : rrs) add(rr);
    });
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

  // The SOA of zone `apex` (parsed once, in its RRset), and its copy with
  // the negative TTL for the authority section: min(SOA TTL, minimum)
  // (RFC 2308 §3).
  Result<ldns_rr*> Soa(const std::string& apex) {
    auto& set = sets_[apex][LDNS_RR_TYPE_SOA];
    if (!set.empty()) return set.front();
    const size_t i = zone_index_.at(apex);
    BASEFS_ASSIGN_OR_RETURN(ldns_rr * soa, Parse(SoaText(apex, t_->src_[i].soa, serials_[i])));
    set.push_back(soa);
    return soa;
  }
  Result<ldns_rr*> NegativeSoa(const std::string& apex) {
    if (auto it = negative_soa_.find(apex); it != negative_soa_.end()) return it->second;
    BASEFS_ASSIGN_OR_RETURN(ldns_rr * soa, Soa(apex));
    ldns_rr* neg = ldns_rr_clone(soa);
    owned_.push_back(neg);
    const SoaFields& s = t_->src_[zone_index_.at(apex)].soa;
    ldns_rr_set_ttl(neg, std::min(s.ttl, s.minimum));
    negative_soa_[apex] = neg;
    return neg;
  }

  // --- Records and names ----------------------------------------------------

  // The end of the run of records with the owner of r[at] (owner-sorted).
  static size_t GroupEnd(const std::vector<Record>& r, size_t at) {
    size_t j = at + 1;
    while (j < r.size() && r[j].owner == r[at].owner) ++j;
    return j;
  }

  // Calls fn(owner, records) for each owner of `z`, in order.
  template <typename Fn>
  static void ForEachOwner(const Zone& z, Fn&& fn) {
    const auto& r = z.records;
    for (size_t i = 0, j = 0; i < r.size(); i = j) {
      j = GroupEnd(r, i);
      fn(std::string_view(r[i].owner), std::span<const Record>(r.data() + i, j - i));
    }
  }

  static std::span<const Record> OwnerRecords(const Zone& z, std::string_view owner) {
    const auto& r = z.records;
    auto lo = std::lower_bound(r.begin(), r.end(), owner,
                               [](const Record& rec, std::string_view o) { return rec.owner < o; });
    auto hi = lo;
    while (hi != r.end() && hi->owner == owner) ++hi;
    return {r.data() + (lo - r.begin()), static_cast<size_t>(hi - lo)};
  }

  // The index of the most specific served zone holding `name`, or -1:
  // the first of its suffixes that is an apex, O(labels).
  int ZoneIndex(std::string_view name) const {
    for (std::string_view n = name; !n.empty(); n = Parent(n))
      if (auto it = zone_index_.find(n); it != zone_index_.end()) return static_cast<int>(it->second);
    return -1;
  }
  const std::string* ZoneOf(std::string_view name) const {
    const int i = ZoneIndex(name);
    return i < 0 ? nullptr : &t_->src_[static_cast<size_t>(i)].apex;
  }

  // The records of `owner` (in the zone that owns the name).
  std::span<const Record> Records(std::string_view owner) const {
    const int i = ZoneIndex(owner);
    if (i < 0) return {};
    return OwnerRecords(t_->src_[static_cast<size_t>(i)], owner);
  }

  static std::string_view Parent(std::string_view name) {
    const size_t dot = name.find('.');
    if (dot == std::string_view::npos || dot + 1 >= name.size()) return {};
    return name.substr(dot + 1);
  }

  // Each owner lies in the deepest zone holding its name (as Project()
  // places it); an owner anywhere else would be neither found nor served.
  Status CheckOwner(std::string_view owner, size_t zone) const {
    if (ZoneIndex(owner) != static_cast<int>(zone))
      return Invalid("owner " + std::string(owner) + " is not in the deepest zone holding it");
    return Status::Ok();
  }
  Status CheckOwners(size_t zone) const {
    Status st = Status::Ok();
    ForEachOwner(t_->src_[zone], [&](std::string_view owner, std::span<const Record>) {
      if (st.ok()) st = CheckOwner(owner, zone);
    });
    return st;
  }

  // Every name of the zones marked exact_: apexes, owners, the empty
  // non-terminals between an owner and its apex, and the names between a
  // zone's apex and the apex of a zone below it (they have names below
  // them, so they exist: RFC 8020).
  void BuildExactNames() {
    auto add = [&](size_t zone, std::string_view n) {
      if (!exact_names_.insert(n).second) return false;
      zone_names_[zone].push_back(n);
      return true;
    };
    for (size_t i = 0; i < t_->src_.size(); ++i) {
      if (!exact_[i]) continue;
      const Zone& z = t_->src_[i];
      const std::string_view apex = z.apex;
      add(i, apex);
      ForEachOwner(z, [&](std::string_view owner, std::span<const Record>) {
        for (std::string_view n = owner; !n.empty() && n != apex; n = Parent(n))
          if (!add(i, n) && n != owner) break;
      });
    }
    for (const Zone& child : t_->src_) {
      const std::string_view above = Parent(child.apex);
      const int p = ZoneIndex(above);
      if (p < 0 || !exact_[static_cast<size_t>(p)]) continue;
      const std::string_view apex = t_->src_[static_cast<size_t>(p)].apex;
      for (std::string_view n = above; !n.empty() && n != apex; n = Parent(n))
        if (!add(static_cast<size_t>(p), n)) break;
    }
  }

  // Marks the zone holding `name` (if any) as one whose names are computed
  // exactly.
  void MarkExact(std::string_view name) {
    const int z = ZoneIndex(name);
    if (z >= 0) exact_[static_cast<size_t>(z)] = true;
  }

  bool PrevHas(std::string_view name) const {
    uint8_t buf[kMaxWireNameBytes + 1];
    size_t len = 0;
    if (!prev_ || !NameToWire(name, buf, &len)) return false;
    return prev_->FindName(std::string_view(reinterpret_cast<const char*>(buf), len)) != nullptr;
  }

  // Whether `name` is a name of the new zones (with records, or an empty
  // non-terminal). In a zone without exact names nothing was removed and no
  // zone came or went above or below it, so every earlier name of it still
  // exists.
  bool Exists(std::string_view name) {
    const int z = ZoneIndex(name);
    if (z < 0) return false;
    if (exact_[static_cast<size_t>(z)]) return exact_names_.count(name) > 0;
    if (t_->src_[static_cast<size_t>(z)].apex == name) return true;
    return !Records(name).empty() || new_ents_.count(name) > 0 || PrevHas(name);
  }

  bool HasType(std::string_view owner, uint16_t type) const {
    for (const Record& r : Records(owner))
      if (r.type == type) return true;
    return false;
  }

  // Parses the records of `owner` once, one TTL per RRset (the lowest, RFC
  // 2181 §5.2). Records were checked by the projection; one ldns refuses is
  // left out.
  void EnsureParsed(std::string_view owner) {
    if (!parsed_.insert(std::string(owner)).second) return;
    if (zone_index_.count(owner)) (void)Soa(std::string(owner));
    const std::span<const Record> recs = Records(owner);
    if (recs.empty()) return;
    auto& types = sets_[std::string(owner)];
    for (const Record& r : recs) {
      char* type = ldns_rr_type2str(static_cast<ldns_rr_type>(r.type));
      const std::string text = r.owner + " " + std::to_string(r.ttl) + " IN " + (type ? type : "TYPE0") + " " + r.rdata;
      free(type);
      auto rr = Parse(text);
      if (rr.ok()) types[r.type].push_back(*rr);
    }
    for (auto& [type, rrs] : types) {
      if (type == LDNS_RR_TYPE_SOA) continue;
      uint32_t ttl = UINT32_MAX;
      for (ldns_rr* rr : rrs) ttl = std::min(ttl, ldns_rr_ttl(rr));
      for (ldns_rr* rr : rrs) ldns_rr_set_ttl(rr, ttl);
    }
  }

  const std::vector<ldns_rr*>* Set(std::string_view owner, uint16_t type) {
    EnsureParsed(owner);
    auto it = sets_.find(owner);
    if (it == sets_.end()) return nullptr;
    auto jt = it->second.find(type);
    return jt == it->second.end() ? nullptr : &jt->second;
  }

  // --- What changed since the previous table ------------------------------

  // What changed at a name, as far as answers elsewhere can see it.
  enum Delta : uint8_t {
    kAddr = 1,        // its A or AAAA records
    kSrv = 2,         // its SRV records
    kTxt = 4,         // its TXT records
    kOther = 8,       // records of other types
    kExists = 16,     // it appeared or vanished (as an empty non-terminal)
    kSrvTarget = 32,  // the addresses of one of its SRV targets
  };
  static uint8_t DeltaOf(uint16_t type) {
    switch (type) {
      case LDNS_RR_TYPE_A:
      case LDNS_RR_TYPE_AAAA: return kAddr;
      case LDNS_RR_TYPE_SRV: return kSrv;
      case LDNS_RR_TYPE_TXT: return kTxt;
      default: return kOther;
    }
  }
  // The types in which two owner-sorted groups of one owner differ.
  static uint8_t Diff(std::span<const Record> a, std::span<const Record> b) {
    uint8_t d = 0;
    size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
      const uint16_t type = j == b.size() || (i < a.size() && a[i].type < b[j].type) ? a[i].type : b[j].type;
      size_t ei = i, ej = j;
      while (ei < a.size() && a[ei].type == type) ++ei;
      while (ej < b.size() && b[ej].type == type) ++ej;
      bool same = ei - i == ej - j;
      for (size_t k = 0; same && k < ei - i; ++k)
        same = a[i + k].ttl == b[j + k].ttl && a[i + k].rdata == b[j + k].rdata;
      if (!same) d |= DeltaOf(type);
      i = ei;
      j = ej;
    }
    return d;
  }
  static uint8_t TypesOf(std::span<const Record> a) { return Diff(a, {}); }

  // Owners whose records differ from the previous table's, and names that
  // appeared or vanished (empty non-terminals included), by one merge walk
  // over the old and new records of each zone.
  Status FindChanges() {
    if (!prev_) {
      full_ = true;
      return Status::Ok();
    }
    std::unordered_map<std::string_view, size_t> old_zones;
    for (size_t i = 0; i < prev_->src_.size(); ++i) old_zones.emplace(prev_->src_[i].apex, i);
    std::vector<bool> kept(prev_->src_.size());
    whole_zones_.assign(t_->src_.size(), false);
    static const std::vector<Record> kNoRecords;
    // A zone that goes (or has new SOA fields): all its names leave it; the
    // zone now holding its apex, if any, gets its names.
    auto remove_all = [&](const Zone& z) {
      for (size_t a = 0; a < z.records.size();) {
        const size_t ea = GroupEnd(z.records, a);
        const std::string_view owner = z.records[a].owner;
        removed_.push_back(owner);
        delta_[owner] |= TypesOf({z.records.data() + a, ea - a}) | kExists;
        for (std::string_view n = Parent(owner); !n.empty() && n != z.apex; n = Parent(n)) delta_[n] |= kExists;
        a = ea;
      }
      // The names between it and the zones below it (its names too).
      for (const Zone& child : prev_->src_)
        if (child.apex.size() > z.apex.size() && InZone(child.apex, z.apex))
          for (std::string_view n = Parent(child.apex); !n.empty() && n != z.apex; n = Parent(n)) delta_[n] |= kExists;
      delta_[z.apex] |= kExists | kOther;
      changed_apexes_.insert(z.apex);
      MarkExact(z.apex);
    };
    for (size_t i = 0; i < t_->src_.size(); ++i) {
      const Zone& nz = t_->src_[i];
      const std::vector<Record>* old_recs = &kNoRecords;
      auto it = old_zones.find(nz.apex);
      if (it != old_zones.end()) kept[it->second] = true;
      if (it == old_zones.end() || !(prev_->src_[it->second].soa == nz.soa)) {
        // A new zone, or new SOA fields: every name of it answers anew
        // (its negative answers carry the SOA).
        if (it != old_zones.end()) remove_all(prev_->src_[it->second]);
        whole_zones_[i] = true;
        changed_apexes_.insert(nz.apex);
        delta_[nz.apex] |= kExists | kOther;
        exact_[i] = true;
        MarkExact(Parent(nz.apex));  // names move between it and the zone above
      } else {
        old_recs = &prev_->src_[it->second].records;
      }
      const std::vector<Record>& new_recs = nz.records;
      size_t a = 0, b = 0;
      while (a < old_recs->size() || b < new_recs.size()) {
        const auto& o = *old_recs;
        if (b == new_recs.size() || (a < o.size() && o[a].owner < new_recs[b].owner)) {
          const size_t ea = GroupEnd(o, a);
          removed_.push_back(o[a].owner);
          delta_[o[a].owner] |= TypesOf({o.data() + a, ea - a}) | kExists;
          exact_[i] = true;
          a = ea;
        } else if (a == o.size() || new_recs[b].owner < o[a].owner) {
          const size_t eb = GroupEnd(new_recs, b);
          BASEFS_RETURN_IF_ERROR(CheckOwner(new_recs[b].owner, i));
          added_.push_back(new_recs[b].owner);
          delta_[new_recs[b].owner] |= TypesOf({new_recs.data() + b, eb - b}) | kExists;
          b = eb;
        } else {
          const size_t ea = GroupEnd(o, a), eb = GroupEnd(new_recs, b);
          if (const uint8_t d = Diff({o.data() + a, ea - a}, {new_recs.data() + b, eb - b}))
            delta_[new_recs[b].owner] |= d;
          a = ea;
          b = eb;
        }
      }
    }
    for (size_t i = 0; i < prev_->src_.size(); ++i)
      if (!kept[i]) remove_all(prev_->src_[i]);
    // The names between a zone that came or went and the zone above it may
    // appear or vanish.
    for (std::string_view apex : changed_apexes_)
      for (std::string_view n = Parent(apex); !n.empty(); n = Parent(n)) delta_[n] |= kExists;
    BuildExactNames();
    // Empty non-terminals that appear above new owners.
    for (std::string_view owner : added_) {
      const int z = ZoneIndex(owner);
      if (z < 0) continue;
      const std::string_view apex = t_->src_[static_cast<size_t>(z)].apex;
      for (std::string_view n = Parent(owner); !n.empty() && owner != apex && n != apex; n = Parent(n)) {
        if (new_ents_.count(n) || PrevHas(n) || !Records(n).empty()) break;
        new_ents_.insert(n);
        delta_[n] |= kExists;
      }
    }
    // A removed owner stays as an empty non-terminal if names remain below
    // it; otherwise it and the empty non-terminals above it vanish. (Its
    // zone, if any still holds it, has exact names.)
    for (std::string_view owner : removed_)
      for (std::string_view n = Parent(owner); !n.empty() && !Exists(n); n = Parent(n)) delta_[n] |= kExists;
    return Status::Ok();
  }

  // The name a record's answers follow (SRV, MX and NS targets, PTR and
  // CNAME targets), lowercased into `buf`; empty for other types.
  static std::string_view LinkTarget(const Record& r, char (&buf)[kMaxWireNameBytes + 2]) {
    size_t index;
    switch (r.type) {
      case LDNS_RR_TYPE_SRV: index = 3; break;
      case LDNS_RR_TYPE_MX: index = 1; break;
      case LDNS_RR_TYPE_NS:
      case LDNS_RR_TYPE_CNAME:
      case LDNS_RR_TYPE_PTR: index = 0; break;
      default: return {};
    }
    const std::string_view rd = r.rdata;
    size_t pos = 0;
    for (size_t i = 0; i < index; ++i) {
      pos = rd.find(' ', pos);
      if (pos == std::string_view::npos) return {};
      ++pos;
    }
    const size_t end = std::min(rd.find(' ', pos), rd.size());
    if (end - pos > kMaxWireNameBytes) return {};
    for (size_t i = pos; i < end; ++i) {
      const char c = rd[i];
      buf[i - pos] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return {buf, end - pos};
  }

  uint8_t DeltaAt(std::string_view name) const {
    auto it = delta_.find(name);
    return it == delta_.end() ? 0 : it->second;
  }

  // Names whose answers could differ from the previous table's (other
  // than in the SOA serial): the changed names, and the owners whose
  // answers show what changed elsewhere, following exactly the links that
  // answers follow: the addresses of SRV, MX and NS targets; the SRV and TXT
  // of a PTR's instance target and the addresses of its SRV targets (RFC
  // 6763 §12.1); everything at the end of a CNAME chain.
  void FindDirty() {
    for (const auto& [name, d] : delta_) dirty_.insert(name);
    // An apex answers its SOA with the serial: built again when it rises.
    for (size_t i = 0; i < t_->src_.size(); ++i) {
      const std::string key = WireKey(t_->src_[i].apex);
      auto before = prev_->zones_.find(key);
      if (before == prev_->zones_.end() || before->second.serial != serials_[i]) dirty_.insert(t_->src_[i].apex);
    }
    // Every name of a new zone, or of one whose SOA fields changed.
    for (size_t i = 0; i < t_->src_.size(); ++i)
      if (whole_zones_[i]) dirty_.insert(zone_names_[i].begin(), zone_names_[i].end());
    uint8_t seen = 0;  // the kinds of change there are: passes that cannot find anything are skipped
    for (const auto& [name, d] : delta_) seen |= d;
    char buf[kMaxWireNameBytes + 2];
    auto each_link = [&](auto&& fn) {
      for (const Zone& z : t_->src_)
        for (const Record& r : z.records) {
          const std::string_view target = LinkTarget(r, buf);
          if (!target.empty()) fn(r, target);
        }
    };
    if (seen & kAddr)
      each_link([&](const Record& r, std::string_view target) {
        if (r.type == LDNS_RR_TYPE_PTR || r.type == LDNS_RR_TYPE_CNAME || !(DeltaAt(target) & kAddr)) return;
        dirty_.insert(r.owner);
        if (r.type == LDNS_RR_TYPE_SRV) {
          delta_[r.owner] |= kSrvTarget;
          seen |= kSrvTarget;
        }
      });
    if (seen & (kSrv | kTxt | kSrvTarget))
      each_link([&](const Record& r, std::string_view target) {
        if (r.type != LDNS_RR_TYPE_PTR) return;
        const uint8_t d = DeltaAt(target);
        if ((d & (kSrv | kTxt | kSrvTarget)) && ((d & kTxt) || HasType(target, LDNS_RR_TYPE_TXT)))
          dirty_.insert(r.owner);
      });
    // A CNAME into a zone that came, went or has a new SOA: where its chain
    // ends (NXDOMAIN there, or out of our zones) may have changed.
    if (!changed_apexes_.empty())
      each_link([&](const Record& r, std::string_view target) {
        if (r.type != LDNS_RR_TYPE_CNAME) return;
        for (std::string_view n = target; !n.empty(); n = Parent(n))
          if (changed_apexes_.count(n)) {
            dirty_.insert(r.owner);
            return;
          }
      });
    for (int pass = 0; pass < kMaxCnameHops; ++pass) {
      bool grew = false;
      each_link([&](const Record& r, std::string_view target) {
        if (r.type == LDNS_RR_TYPE_CNAME && dirty_.count(target) && dirty_.insert(r.owner).second) grew = true;
      });
      if (!grew) break;
    }
  }

  // --- Storing answers in the shards ----------------------------------------

  AnswerTable::Shard* MutableShard(size_t i) {
    if (!mutable_[i]) {
      auto s = std::make_shared<AnswerTable::Shard>(*t_->shards_[i]);
      mutable_[i] = s.get();
      t_->shards_[i] = std::move(s);
    }
    return mutable_[i];
  }

  static size_t AnswersOf(const AnswerTable::NameEntry& e) { return e.by_type.size() + 2; }

  void PutName(std::string key, std::shared_ptr<const AnswerTable::NameEntry> entry) {
    auto& names = MutableShard(AnswerTable::ShardOf(key))->names;
    t_->answer_count_ += AnswersOf(*entry);
    auto [it, inserted] = names.try_emplace(std::move(key), nullptr);
    if (inserted)
      ++t_->name_count_;
    else
      t_->answer_count_ -= AnswersOf(*it->second);
    it->second = std::move(entry);
  }

  void EraseName(std::string_view name) {
    const std::string key = WireKey(name);
    if (key.empty() || !t_->FindName(key)) return;
    auto& names = MutableShard(AnswerTable::ShardOf(key))->names;
    auto it = names.find(key);
    t_->answer_count_ -= AnswersOf(*it->second);
    --t_->name_count_;
    names.erase(it);
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

  PktPtr NewPacket(std::string_view name, uint16_t qtype) const {
    PktPtr p(ldns_pkt_new());
    ldns_pkt_set_qr(p.get(), true);
    ldns_pkt_set_aa(p.get(), true);
    ldns_rr* q = ldns_rr_new();
    ldns_rr_set_owner(q, ldns_dname_new_frm_str(std::string(name).c_str()));
    ldns_rr_set_type(q, static_cast<ldns_rr_type>(qtype));
    ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
    ldns_rr_set_question(q, true);
    ldns_pkt_push_rr(p.get(), LDNS_SECTION_QUESTION, q);
    return p;
  }

  void PushNegativeSoa(ldns_pkt* p, const std::string& zone) {
    auto neg = NegativeSoa(zone);
    if (neg.ok()) ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, ldns_rr_clone(*neg));
    soa_zone_ = zone;
  }

  // Fills `p` with the answer to (name, qtype): CNAMEs chased inside the
  // served zones, NODATA/NXDOMAIN with the zone's SOA.
  // With `chase` false, the CNAME chain alone: nothing of where it ends.
  void Resolve(ldns_pkt* p, std::string name, uint16_t qtype, std::set<const ldns_rr*>* seen, bool chase = true) {
    for (int hop = 0; hop < kMaxCnameHops; ++hop) {
      const std::string* zone = ZoneOf(name);
      if (!zone) return;  // a CNAME out of our zones: the client goes on from there
      if (hop > 0 && !chase && !HasType(name, LDNS_RR_TYPE_CNAME)) return;
      if (!Exists(name)) {
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
    if (a.full.size() > kMaxDnsMessageBytes) {
      // More than any message holds, even without additional records: as
      // many answer records as fit, with TC, so that even a TCP client
      // knows the answer is incomplete.
      ldns_rr_list* an = ldns_pkt_answer(p);
      size_t keep = ldns_rr_list_rr_count(an);
      for (size_t size = a.full.size(); size > kMaxDnsMessageBytes && keep > 0;) {
        const size_t cut = std::max<size_t>(1, keep - keep * kMaxDnsMessageBytes / size);
        for (size_t i = 0; i < cut && keep > 0; ++i, --keep) ldns_rr_free(ldns_rr_list_pop_rr(an));
        ldns_pkt_set_ancount(p, static_cast<uint16_t>(keep));
        ldns_rr_list_deep_free(ldns_pkt_authority(p));
        ldns_pkt_set_authority(p, ldns_rr_list_new());
        ldns_pkt_set_nscount(p, 0);
        ldns_pkt_set_tc(p, true);
        a.full = ToWire(p);
        size = a.full.size();
      }
      a.minimal.clear();
      a.soa_zone.clear();
    }
    if (a.full.size() > kMaxDnsMessageBytes || a.full.size() < kDnsHeaderBytes) {
      // Cannot be encoded: SERVFAIL rather than a wrong answer.
      a.full.resize(kDnsHeaderBytes);
      a.full[3] = static_cast<char>(LDNS_RCODE_SERVFAIL);
      for (int i = 4; i < 12; ++i) a.full[i] = 0;
      a.minimal.clear();
      a.soa_zone.clear();
    }
    ++t_->built_;
    return a;
  }

  Status PrepareName(std::string_view name) {
    std::string key = WireKey(name);
    if (key.empty()) return Invalid("bad owner name " + std::string(name));
    auto entry = std::make_shared<AnswerTable::NameEntry>();
    AnswerTable::NameEntry& e = *entry;
    std::set<uint16_t> types;
    EnsureParsed(name);
    auto it = sets_.find(name);
    if (it != sets_.end())
      for (const auto& [type, rrs] : it->second) types.insert(type);
    if (types.count(LDNS_RR_TYPE_CNAME)) {
      // Prepare every type the chain's end has, so those are direct hits.
      std::string target(name);
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
    const bool is_cname = types.count(LDNS_RR_TYPE_CNAME) > 0;
    for (uint16_t type : types) {
      PktPtr p = NewPacket(name, type);
      std::set<const ldns_rr*> seen;
      Resolve(p.get(), std::string(name), type, &seen);
      AnswerTable::Answer_ a = Store(p.get());
      if (is_cname && a.full.size() > kMaxChasedAnswerBytes) {
        PktPtr chain = NewPacket(name, type);
        seen.clear();
        Resolve(chain.get(), std::string(name), type, &seen, false);
        a = Store(chain.get());
      }
      e.by_type.emplace_back(type, std::move(a));
    }
    {
      PktPtr p = NewPacket(name, LDNS_RR_TYPE_A);
      std::set<const ldns_rr*> seen;
      // A type no name has: NODATA here, or the CNAME chain to where it ends.
      Resolve(p.get(), std::string(name), 65280, &seen);
      e.fallback = Store(p.get());
    }
    it = sets_.find(name);
    if (it != sets_.end() && it->second.size() == 1 && e.by_type.size() == 1 && e.by_type[0].second.minimal.empty() &&
        it->second.begin()->first != LDNS_RR_TYPE_CNAME) {
      // One RRset and no additional records: the ANY answer is the same
      // message (the question is the client's, written at query time).
      e.any = e.by_type[0].second;
    } else {
      PktPtr p = NewPacket(name, LDNS_RR_TYPE_ANY);
      std::set<const ldns_rr*> seen;
      if (it == sets_.end() || it->second.empty()) {
        PushNegativeSoa(p.get(), *ZoneOf(name));
      } else if (const auto* c = Set(name, LDNS_RR_TYPE_CNAME)) {
        Push(p.get(), LDNS_SECTION_ANSWER, *c, &seen);
      } else {
        for (const auto& [type, rrs] : it->second) Push(p.get(), LDNS_SECTION_ANSWER, rrs, &seen);
      }
      e.any = Store(p.get());
    }
    PutName(std::move(key), std::move(entry));
    return Status::Ok();
  }

  AnswerTable* t_;
  const AnswerTable* prev_;
  bool full_ = false;
  std::vector<ldns_rr*> owned_;
  std::vector<uint32_t> serials_;                            // by zone index
  std::unordered_map<std::string_view, size_t> zone_index_;  // apex (a view into t_->src_) -> zone index
  std::vector<std::string_view> added_, removed_;            // owners, by FindChanges
  std::vector<bool> whole_zones_;                            // by zone index: every name of it is built
  std::unordered_set<std::string_view> changed_apexes_;      // zones added, removed or with new SOA fields
  std::set<std::string, std::less<>> parsed_;
  std::map<std::string, std::map<uint16_t, std::vector<ldns_rr*>>, std::less<>> sets_;
  std::map<std::string, ldns_rr*> negative_soa_;
  // Zones whose names are computed exactly (all in a full build; in an
  // incremental one those with removals or zones coming and going around
  // them), their names, by zone and together.
  std::vector<bool> exact_;
  std::vector<std::vector<std::string_view>> zone_names_;
  std::unordered_set<std::string_view> exact_names_;
  std::unordered_set<std::string_view> new_ents_;        // empty non-terminals that appeared above added owners
  std::unordered_map<std::string_view, uint8_t> delta_;  // Delta bits by name
  std::unordered_set<std::string_view> dirty_;
  std::array<AnswerTable::Shard*, AnswerTable::kShards> mutable_{};  // shards this build owns
  std::string soa_zone_;                                             // set by PushNegativeSoa for Store
};

static bool HasUpper(std::string_view s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z') return true;
  return false;
}

AnswerTable::AnswerTable() {
  static const std::shared_ptr<const Shard> empty = std::make_shared<const Shard>();
  shards_.fill(empty);
}

Result<std::unique_ptr<AnswerTable>> AnswerTable::Build(std::vector<Zone> zones, const std::vector<uint32_t>& serials,
                                                        const AnswerTable* previous) {
  for (Zone& z : zones) {
    z.apex = Lowercase(z.apex);
    for (size_t i = 0; i < z.records.size(); ++i) {
      if (HasUpper(z.records[i].owner)) return Invalid("owner " + z.records[i].owner + " is not lowercase");
      if (i > 0 && z.records[i].owner < z.records[i - 1].owner)
        return Invalid("records of zone " + z.apex + " are not sorted by owner");
    }
  }
  std::unique_ptr<AnswerTable> t(new AnswerTable());
  t->src_ = std::move(zones);
  AnswerBuilder b(t.get(), previous);
  for (size_t i = 0; i < t->src_.size(); ++i) BASEFS_RETURN_IF_ERROR(b.AddZone(i, i < serials.size() ? serials[i] : 1));
  BASEFS_RETURN_IF_ERROR(b.Prepare());
  return t;
}

const AnswerTable::NameEntry* AnswerTable::FindName(std::string_view wire) const {
  const NameMap& names = shards_[ShardOf(wire)]->names;
  auto it = names.find(wire);
  return it == names.end() ? nullptr : it->second.get();
}

const Zone* AnswerTable::source(std::string_view apex) const {
  auto it = zones_.find(WireKey(apex));
  return it == zones_.end() ? nullptr : &src_[it->second.source];
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
  const size_t opt = OptBytes(q);
  const std::string* w = &a.full;
  bool tc = false;
  if (w->size() + opt > limit) {
    if (!a.minimal.empty() && a.minimal.size() + opt <= limit)
      w = &a.minimal;
    else
      tc = true;
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
  tc = tc || (out[2] & 0x02);  // an answer too large for any message is stored truncated
  std::memcpy(out + kDnsHeaderBytes, msg + kDnsHeaderBytes, q.question_end - kDnsHeaderBytes);
  WriteU16(out, q.id);
  out[2] = static_cast<uint8_t>(0x84 | (q.flags_hi & 0x01) | (tc ? 0x02 : 0));
  out[3] = static_cast<uint8_t>((out[3] & 0x0f) | (q.flags_lo & 0x10));
  if (q.edns) len = AppendOpt(out, len, q);
  return len;
}

size_t AnswerTable::Answer(const uint8_t* msg, const Query& q, size_t limit, uint8_t* out) const {
  const NameEntry* found = FindName(q.name());
  if (!found) {
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
  const NameEntry& e = *found;
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
