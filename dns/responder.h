// The DNS query path as a function: (query bytes, transport, answer table)
// -> a reply, a drop, or "forward it" / "transfer the zone". No sockets, no
// clock; the server (server.h) does the I/O around it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dns/answer_table.h"
#include "dns/cookies.h"
#include "dns/wire.h"

namespace basefs {

// Output buffers passed to Respond must hold this many bytes.
inline constexpr size_t kResponseBufferBytes = kMaxDnsMessageBytes + 64;

enum class DnsAction {
  kReply,     // send out[0, len)
  kDrop,      // send nothing
  kForward,   // not ours: ask the upstream resolvers (q is decoded)
  kTransfer,  // AXFR/IXFR over TCP (q is decoded): check the ACL, then table->Transfer
};

struct Outcome {
  DnsAction action = DnsAction::kDrop;
  size_t len = 0;
  bool cookie_valid = false;  // the query carried a valid server cookie (cookies.h)
};

// How to answer one client's query (the server fills it per query).
struct ResponderOptions {
  bool forward = true;                  // false: REFUSED for names outside our zones (not recursing for it)
  const DnsCookies* cookies = nullptr;  // null: COOKIE options are not answered
  const sockaddr* client = nullptr;     // the client's address (for its server cookie)
  uint32_t now = 0;                     // unix seconds (for server cookies)
};

// `table` may be null (nothing to serve yet: every name is "not ours").
Outcome Respond(const uint8_t* msg, size_t len, bool tcp, const AnswerTable* table, const ResponderOptions& opts,
                Query* q, uint8_t* out);

}  // namespace basefs
