// The DNS query decoder of the hot path: reads one query message without
// allocating, checks it, and says how to answer. Sans-I/O and pure.
//
// Accepted: QR=0, opcode QUERY, QDCOUNT=1, ANCOUNT=0, a question name of
// uncompressed labels (at most 255 bytes in wire form), class IN, CH, HS or
// ANY, at most one OPT record in the additional section (other additional
// records, e.g. TSIG, are skipped but not verified). Everything else is a
// FORMERR, NOTIMP or a silent drop (see DecodeQuery).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace basefs {

inline constexpr size_t kDnsHeaderBytes = 12;
inline constexpr size_t kMaxDnsMessageBytes = 65535;
inline constexpr size_t kMaxWireNameBytes = 255;
inline constexpr uint16_t kDefaultUdpPayload = 512;
inline constexpr uint16_t kMaxUdpPayload = 1232;  // the advertised EDNS0 size (DNS flag day 2020)
inline constexpr size_t kClientCookieBytes = 8;
inline constexpr size_t kMaxCookieBytes = 40;  // client cookie + a server cookie of at most 32
inline constexpr uint16_t kOptionCookie = 10;

enum class Rcode : uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
  kNotAuth = 9
};

struct Query {
  uint16_t id = 0;
  uint8_t flags_hi = 0, flags_lo = 0;  // header bytes 2 and 3 as received
  uint8_t qname[kMaxWireNameBytes];    // wire form, lowercased
  size_t qname_len = 0;                // including the root label
  uint16_t qtype = 0, qclass = 0;
  size_t question_end = 0;  // offset just past QTYPE/QCLASS
  bool edns = false;
  uint16_t edns_payload = 0;  // the client's UDP payload size (>= 512 when edns)
  bool edns_do = false;
  uint8_t edns_version = 0;
  // DNS Cookies (RFC 7873): the COOKIE option as the client sent it (8
  // bytes of client cookie, then 0 or 8..32 of server cookie), and the one
  // the server puts in its reply (set by the server before answering;
  // AppendOpt writes it).
  uint8_t cookie[kMaxCookieBytes];
  uint8_t cookie_len = 0;  // 0: no COOKIE option
  uint8_t reply_cookie[kMaxCookieBytes];
  uint8_t reply_cookie_len = 0;
  std::string_view name() const { return {reinterpret_cast<const char*>(qname), qname_len}; }
  bool rd() const { return flags_hi & 0x01; }
};

enum class Decoded {
  kOk,
  kDrop,     // not a query, or too short to answer (no usable header)
  kFormErr,  // answer FORMERR (header and, when readable, the question)
  kNotImp,   // answer NOTIMP (opcode other than QUERY)
  kBadVers,  // EDNS version > 0: answer BADVERS
};

Decoded DecodeQuery(const uint8_t* msg, size_t len, Query* q);

// Writes a header-only (or header + question) error response for `q` into
// `out` (capacity >= 12 + question + 11). Returns its length.
size_t WriteErrorResponse(const uint8_t* msg, const Query& q, Decoded why, Rcode rcode, bool with_question,
                          uint8_t* out);

// Appends an OPT record (payload kMaxUdpPayload, DO copied, q's reply
// cookie when it has one) at out[len]; bumps ARCOUNT. Returns the new length.
size_t AppendOpt(uint8_t* out, size_t len, const Query& q, uint8_t ext_rcode = 0);

// The bytes AppendOpt adds for `q` (0 without EDNS).
inline size_t OptBytes(const Query& q) {
  if (!q.edns) return 0;
  return 11 + (q.reply_cookie_len ? 4 + q.reply_cookie_len : 0);
}

// The response size limit for a UDP answer to `q`.
inline size_t UdpLimit(const Query& q) {
  if (!q.edns) return kDefaultUdpPayload;
  size_t n = q.edns_payload < kDefaultUdpPayload ? kDefaultUdpPayload : q.edns_payload;
  return n > kMaxUdpPayload ? kMaxUdpPayload : n;
}

inline uint16_t ReadU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline void WriteU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// "www.Example.org." -> lowercase wire form in `out` (256 bytes). False if
// it is not a valid name.
bool NameToWire(std::string_view presentation, uint8_t* out, size_t* len);

}  // namespace basefs
