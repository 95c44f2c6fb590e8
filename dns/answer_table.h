// Prepared answers for every authoritative name: built once per change of
// the projection (zones/), read by every query until the next one.
//
// Build() turns zones into complete response messages with ldns — one per
// (name, type) that has data, one NODATA per name (empty non-terminals
// included), CNAMEs chased inside the served zones, additional records per
// RFC 2782 / RFC 6763 §12 — and a per-zone NXDOMAIN tail (the SOA for the
// authority section). Answer() is then a hash lookup of the lowercased
// question name and a copy with ID, flags and the client's question bytes
// patched in: no allocation, no parsing into objects, no LevelDB.
//
// Immutable after Build(); Answer() and Transfer() are safe to call from any
// thread. The daemon swaps whole tables on change.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "dns/wire.h"
#include "zones/projection.h"

namespace basefs {

inline constexpr size_t kAxfrMessageBytes = 16 * 1024;

class AnswerTable {
 public:
  // `serials[i]` is the SOA serial of `zones[i]`. Each zone's records must
  // be sorted by owner with lowercase owners, as Project() gives them
  // (Invalid otherwise). With `previous` (the table being replaced, which
  // must outlive the call), the answers of names whose records and linked
  // records did not change are shared with it (their SOA serial is written
  // at query time) instead of being built again: a change costs the names
  // it touches plus one comparison pass over the records, no allocation per
  // record. A change of the set of zones or of an SOA builds everything.
  static Result<std::unique_ptr<AnswerTable>> Build(std::vector<Zone> zones, const std::vector<uint32_t>& serials,
                                                    const AnswerTable* previous = nullptr);

  // Writes the response to query `q` (decoded from `msg`) into `out`
  // (capacity >= kMaxDnsMessageBytes + 64): the full answer if it fits
  // `limit` bytes, else one without additional records, else a TC answer.
  // Returns 0 when the name is outside every zone (forward or refuse it).
  size_t Answer(const uint8_t* msg, const Query& q, size_t limit, uint8_t* out) const;

  // True when `q`'s name is at or below a zone apex served here.
  bool Authoritative(const Query& q) const { return FindZone(q) != nullptr; }

  // The messages of an AXFR of the zone whose apex is `q`'s name (SOA first
  // and last; each message complete, ID 0, at most ~16 KiB), or empty when
  // `q` does not name a zone apex.
  std::vector<std::string> Transfer(const Query& q) const;

  size_t name_count() const { return name_count_; }
  size_t answer_count() const { return answer_count_; }
  size_t answers_built() const { return built_; }  // the rest were copied from the previous table
  uint32_t serial(std::string_view apex) const;
  // The zone this table serves whose apex is `apex` (presentation form,
  // lowercase), as given to Build(); null if none.
  const Zone* source(std::string_view apex) const;

 private:
  struct Answer_ {
    std::string full;     // complete message, ID 0, question in lowercase
    std::string minimal;  // the same without additional records ("" if none)
    // When the message ends with a zone's SOA (negative answers): that
    // zone's apex (wire form). Its serial, in the last 20 bytes, is written
    // at query time, so answers outlive serial changes unchanged.
    std::string soa_zone;
  };
  // All answers of one name; immutable, shared by successive tables while
  // the name's records stay the same.
  struct NameEntry {
    std::vector<std::pair<uint16_t, Answer_>> by_type;  // by qtype
    Answer_ fallback;                                   // NODATA (or CNAME) answer
    Answer_ any;                                        // answer to QTYPE=ANY
  };
  struct ZoneEntry {
    std::string apex;      // presentation form
    std::string soa_tail;  // the SOA record, uncompressed, for NXDOMAIN authority
    size_t source = 0;     // index into src_
    uint32_t serial = 0;
  };
  struct SvHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  using NameMap = std::unordered_map<std::string, std::shared_ptr<const NameEntry>, SvHash, std::equal_to<>>;
  // Names (by lowercase wire form) are spread over kShards maps by hash;
  // a new table shares every shard the change did not touch with the
  // table before it, so a rebuild copies only the touched shards.
  static constexpr size_t kShards = 256;
  struct Shard {
    NameMap names;
  };
  static size_t ShardOf(std::string_view wire) { return SvHash()(wire) % kShards; }

  AnswerTable();
  const ZoneEntry* FindZone(const Query& q) const;
  const NameEntry* FindName(std::string_view wire) const;
  size_t Emit(const Answer_& a, const uint8_t* msg, const Query& q, size_t limit, uint8_t* out) const;

  size_t answer_count_ = 0;
  size_t name_count_ = 0;
  std::array<std::shared_ptr<const Shard>, kShards> shards_;                   // never null
  std::unordered_map<std::string, ZoneEntry, SvHash, std::equal_to<>> zones_;  // key: apex wire name
  // What this table was built from, for AXFR and for the next Build().
  std::vector<Zone> src_;
  size_t built_ = 0;

  friend class AnswerBuilder;
};

}  // namespace basefs
