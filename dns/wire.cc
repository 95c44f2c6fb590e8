#include "dns/wire.h"

#include <cstring>

namespace basefs {
namespace {

constexpr uint16_t kTypeOpt = 41;

// Skips a possibly compressed name in a record of the additional section.
bool SkipName(const uint8_t* msg, size_t len, size_t* pos) {
  size_t p = *pos;
  for (int labels = 0; labels < 128; ++labels) {
    if (p >= len) return false;
    const uint8_t l = msg[p];
    if (l == 0) {
      *pos = p + 1;
      return true;
    }
    if ((l & 0xc0) == 0xc0) {
      if (p + 2 > len) return false;
      *pos = p + 2;
      return true;
    }
    if (l & 0xc0) return false;
    p += 1 + l;
  }
  return false;
}

// The options of an OPT record's RDATA: each is code, length, value. A
// COOKIE of a length RFC 7873 §5.2.2 does not allow is a FORMERR; the first
// COOKIE counts.
bool ReadOptions(const uint8_t* rd, size_t len, Query* q) {
  size_t p = 0;
  while (p < len) {
    if (p + 4 > len) return false;
    const uint16_t code = ReadU16(rd + p), n = ReadU16(rd + p + 2);
    if (p + 4 + n > len) return false;
    if (code == kOptionCookie && q->cookie_len == 0) {
      if (n != kClientCookieBytes && (n < 16 || n > kMaxCookieBytes)) return false;
      std::memcpy(q->cookie, rd + p + 4, n);
      q->cookie_len = static_cast<uint8_t>(n);
    }
    p += 4 + n;
  }
  return true;
}

}  // namespace

Decoded DecodeQuery(const uint8_t* msg, size_t len, Query* q) {
  if (len < kDnsHeaderBytes) return Decoded::kDrop;
  q->id = ReadU16(msg);
  q->flags_hi = msg[2];
  q->flags_lo = msg[3];
  q->qname_len = 0;
  q->question_end = 0;
  q->edns = false;
  q->edns_do = false;
  q->edns_version = 0;
  q->edns_payload = 0;
  q->cookie_len = 0;
  q->reply_cookie_len = 0;
  if (q->flags_hi & 0x80) return Decoded::kDrop;  // a response: never answer one
  const uint8_t opcode = (q->flags_hi >> 3) & 0x0f;
  const uint16_t qd = ReadU16(msg + 4), an = ReadU16(msg + 6), ns = ReadU16(msg + 8), ar = ReadU16(msg + 10);
  if (opcode != 0) return Decoded::kNotImp;
  if (qd != 1 || an != 0) return Decoded::kFormErr;
  size_t p = kDnsHeaderBytes;
  size_t n = 0;
  for (;;) {
    if (p >= len) return Decoded::kFormErr;
    const uint8_t l = msg[p];
    if (l & 0xc0) return Decoded::kFormErr;  // no compression (or extended labels) in a query's question
    if (n + 1 + l > kMaxWireNameBytes) return Decoded::kFormErr;
    if (p + 1 + l > len) return Decoded::kFormErr;
    q->qname[n++] = l;
    for (size_t i = 0; i < l; ++i) {
      uint8_t c = msg[p + 1 + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<uint8_t>(c - 'A' + 'a');
      q->qname[n++] = c;
    }
    p += 1 + l;
    if (l == 0) break;
  }
  q->qname_len = n;
  if (p + 4 > len) {
    q->qname_len = 0;
    return Decoded::kFormErr;
  }
  q->qtype = ReadU16(msg + p);
  q->qclass = ReadU16(msg + p + 2);
  p += 4;
  q->question_end = p;
  // Authority records (rare in queries) and the additional section: find OPT.
  bool seen_opt = false;
  for (uint32_t i = 0; i < static_cast<uint32_t>(ns) + ar; ++i) {
    const size_t owner = p;
    if (!SkipName(msg, len, &p) || p + 10 > len) return Decoded::kFormErr;
    const uint16_t type = ReadU16(msg + p);
    const uint16_t rdlen = ReadU16(msg + p + 8);
    if (p + 10 + rdlen > len) return Decoded::kFormErr;
    if (type == kTypeOpt) {
      if (i < ns || seen_opt || msg[owner] != 0) return Decoded::kFormErr;
      seen_opt = true;
      q->edns = true;
      q->edns_payload = ReadU16(msg + p + 2);
      q->edns_version = msg[p + 5];
      q->edns_do = msg[p + 6] & 0x80;
      if (!ReadOptions(msg + p + 10, rdlen, q)) return Decoded::kFormErr;
    }
    p += 10 + rdlen;
  }
  if (q->qtype == 0 || q->qtype == kTypeOpt) return Decoded::kFormErr;
  if (q->edns && q->edns_version > 0) return Decoded::kBadVers;
  return Decoded::kOk;
}

size_t AppendOpt(uint8_t* out, size_t len, const Query& q, uint8_t ext_rcode) {
  uint8_t* o = out + len;
  o[0] = 0;
  WriteU16(o + 1, kTypeOpt);
  WriteU16(o + 3, kMaxUdpPayload);
  o[5] = ext_rcode;
  o[6] = 0;  // version
  o[7] = q.edns_do ? 0x80 : 0;
  o[8] = 0;
  size_t rdlen = 0;
  if (q.reply_cookie_len) {
    WriteU16(o + 11, kOptionCookie);
    WriteU16(o + 13, q.reply_cookie_len);
    std::memcpy(o + 15, q.reply_cookie, q.reply_cookie_len);
    rdlen = 4 + q.reply_cookie_len;
  }
  WriteU16(o + 9, static_cast<uint16_t>(rdlen));
  WriteU16(out + 10, static_cast<uint16_t>(ReadU16(out + 10) + 1));
  return len + 11 + rdlen;
}

size_t WriteErrorResponse(const uint8_t* msg, const Query& q, Decoded why, Rcode rcode, bool with_question,
                          uint8_t* out) {
  WriteU16(out, q.id);
  out[2] = static_cast<uint8_t>(0x80 | (q.flags_hi & 0x79));  // QR, opcode and RD as asked
  out[3] = static_cast<uint8_t>(rcode);
  std::memset(out + 4, 0, 8);
  size_t len = kDnsHeaderBytes;
  if (with_question && q.question_end > kDnsHeaderBytes) {
    WriteU16(out + 4, 1);
    std::memcpy(out + len, msg + kDnsHeaderBytes, q.question_end - kDnsHeaderBytes);
    len = q.question_end;
  }
  if (why == Decoded::kBadVers) return AppendOpt(out, len, q, 1);  // BADVERS = 16: upper bits 1, rcode 0
  if (q.edns && why == Decoded::kOk) len = AppendOpt(out, len, q);
  return len;
}

bool NameToWire(std::string_view name, uint8_t* out, size_t* len) {
  size_t n = 0;
  if (name == ".") {
    out[0] = 0;
    *len = 1;
    return true;
  }
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const size_t l = dot - start;
    if (l == 0 || l > 63 || n + 1 + l + 1 > kMaxWireNameBytes) return false;
    out[n++] = static_cast<uint8_t>(l);
    for (size_t i = 0; i < l; ++i) {
      char c = name[start + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      out[n++] = static_cast<uint8_t>(c);
    }
    start = dot + 1;
  }
  out[n++] = 0;
  *len = n;
  return true;
}

}  // namespace basefs
