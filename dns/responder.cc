#include "dns/responder.h"

namespace basefs {
namespace {

constexpr uint16_t kClassIn = 1, kClassCh = 3, kClassHs = 4, kClassAny = 255;
constexpr uint16_t kTypeSoa = 6, kTypeIxfr = 251, kTypeAxfr = 252, kTypeMailb = 253, kTypeMaila = 254;

Outcome Error(const uint8_t* msg, const Query& q, Decoded why, Rcode rcode, uint8_t* out) {
  return Outcome{DnsAction::kReply, WriteErrorResponse(msg, q, why, rcode, true, out)};
}

Outcome Decide(const uint8_t* msg, bool tcp, const AnswerTable* table, const ResponderOptions& opts, Query* q,
               uint8_t* out) {
  if (q->qclass == kClassCh || q->qclass == kClassHs) return Error(msg, *q, Decoded::kOk, Rcode::kRefused, out);
  if (q->qclass != kClassIn && q->qclass != kClassAny) return Error(msg, *q, Decoded::kOk, Rcode::kFormErr, out);
  if (q->qtype == kTypeMailb || q->qtype == kTypeMaila) return Error(msg, *q, Decoded::kOk, Rcode::kNotImp, out);
  const bool ours = table && table->Authoritative(*q);
  if (q->qtype == kTypeAxfr || q->qtype == kTypeIxfr) {
    if (!ours) return Error(msg, *q, Decoded::kOk, Rcode::kRefused, out);
    if (tcp) return Outcome{DnsAction::kTransfer, 0};
    if (q->qtype == kTypeAxfr) return Error(msg, *q, Decoded::kOk, Rcode::kFormErr, out);  // AXFR needs TCP
    // IXFR over UDP (RFC 1995 §2): our current SOA tells the client to come over TCP.
    // (Answer copies the client's question, so the reply still says IXFR.)
    const uint16_t asked = q->qtype;
    q->qtype = kTypeSoa;
    const size_t n = table->Answer(msg, *q, UdpLimit(*q), out);
    q->qtype = asked;
    return Outcome{DnsAction::kReply, n};
  }
  if (ours) return Outcome{DnsAction::kReply, table->Answer(msg, *q, tcp ? kMaxDnsMessageBytes : UdpLimit(*q), out)};
  if (opts.forward) return Outcome{DnsAction::kForward, 0};
  return Error(msg, *q, Decoded::kOk, Rcode::kRefused, out);
}

}  // namespace

Outcome Respond(const uint8_t* msg, size_t len, bool tcp, const AnswerTable* table, const ResponderOptions& opts,
                Query* q, uint8_t* out) {
  switch (DecodeQuery(msg, len, q)) {
    case Decoded::kDrop: return Outcome{DnsAction::kDrop, 0};
    case Decoded::kFormErr: return Error(msg, *q, Decoded::kFormErr, Rcode::kFormErr, out);
    case Decoded::kNotImp: return Error(msg, *q, Decoded::kNotImp, Rcode::kNotImp, out);
    case Decoded::kBadVers: return Error(msg, *q, Decoded::kBadVers, Rcode::kNoError, out);
    case Decoded::kOk: break;
  }
  const bool cookie_valid = opts.cookies && opts.cookies->Answer(q, opts.client, opts.now);
  Outcome o = Decide(msg, tcp, table, opts, q, out);
  o.cookie_valid = cookie_valid;
  return o;
}

}  // namespace basefs
