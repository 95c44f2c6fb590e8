// The forwarder's reply path: an upstream's reply to our query for a fixed
// question (the input is the reply), cleaned, its cache TTL computed, aged
// as the cache ages it.
#include <cstring>
#include <string>

#include "dns/forwarder.h"
#include "fuzz/fuzz.h"

namespace {

using namespace basefs;

Query MakeQuery() {
  // A client's query for www.example.com A with EDNS and DO.
  static const uint8_t wire[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,    0,   0,   0, 0,    1,   3,   'w', 'w',
                                 'w',  7,    'e',  'x',  'a', 'm', 'p',  'l', 'e', 3, 'c',  'o', 'm', 0,   0,
                                 1,    0,    1,    0,    0,   41,  0x10, 0,   0,   0, 0x80, 0,   0,   0};
  Query q;
  if (DecodeQuery(wire, sizeof(wire), &q) != Decoded::kOk) std::abort();
  return q;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Query q = MakeQuery();
  auto clean = CleanUpstreamReply(data, size, q);
  if (!clean) return 0;
  FUZZ_CHECK(clean->size() >= q.question_end && clean->size() <= size);
  FUZZ_CHECK(clean->size() >= 2 && (*clean)[0] == 0 && (*clean)[1] == 0);
  const uint32_t ttl = UpstreamCacheTtl(*clean, 3600);
  FUZZ_CHECK(ttl <= 3600);
  (void)AgedReply(*clean, 1 + ttl / 2);
  return 0;
}
