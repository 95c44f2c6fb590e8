// DNS queries through the real answer path: the responder over an answer
// table built from services and /zones data, with cookies, over UDP and
// TCP sizes; then the server's rate limiter on the same query.
#include <netinet/in.h>

#include <algorithm>
#include <vector>

#include "dns/cookies.h"
#include "dns/rate_limit.h"
#include "dns/responder.h"
#include "fuzz/fuzz.h"
#include "zones/projection.h"

namespace {

using namespace basefs;

std::unique_ptr<AnswerTable> MakeTable() {
  ProjectionInput in;
  in.domain = "basefs.";
  in.self_node = "n1";
  in.members = {{"n1", "10.0.0.1", true, "K", {}}, {"n2", "2001:db8::2", true, "L", {}}};
  in.files.push_back({"/services/web/web-1", "K", "port = 8080\naddress = \"192.0.2.10\"\ntags = [\"primary\"]\n"});
  in.files.push_back({"/services/web/web-2", "K", "port = 8081\naddress = \"2001:db8::10\"\n[txt]\npath = \"/\"\n"});
  for (int i = 0; i < 40; ++i) in.files.push_back({"/services/big/i" + std::to_string(i), "K", "port = 80\n"});
  in.files.push_back({"/zones/example.org/@", "K", "MX 10 mail\nTXT \"v=spf1 -all\"\n"});
  in.files.push_back({"/zones/example.org/www", "K", "A 192.0.2.1\nAAAA 2001:db8::1\n"});
  in.files.push_back({"/zones/example.org/alias", "K", "CNAME www.example.org.\n"});
  in.files.push_back({"/zones/example.org/a/b/deep", "K", "TXT hello\n"});
  auto t = AnswerTable::Build(Project(in).zones, {7, 9});
  if (!t.ok()) std::abort();
  return std::move(t).value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<AnswerTable> table = MakeTable();
  static const DnsCookies cookies(std::array<uint8_t, 16>{9});
  static ResponseRateLimiter rrl(RateLimitOptions{.responses_per_second = 5, .slip = 2, .buckets = 256});
  static std::vector<uint8_t> out(kResponseBufferBytes);
  sockaddr_in client{};
  client.sin_family = AF_INET;
  client.sin_addr.s_addr = htonl(0xc0000201);
  for (bool tcp : {false, true}) {
    ResponderOptions opts;
    opts.forward = !tcp;
    opts.cookies = &cookies;
    opts.client = reinterpret_cast<const sockaddr*>(&client);
    opts.now = 1'800'000'000;
    Query q;
    const Outcome o = Respond(data, size, tcp, table.get(), opts, &q, out.data());
    if (o.action == DnsAction::kReply) {
      FUZZ_CHECK(o.len >= 12 && o.len <= kMaxDnsMessageBytes);
      // Over UDP, within the client's size (an error echoing a long question
      // may need up to a header, the question and our OPT).
      if (!tcp) FUZZ_CHECK(o.len <= std::max<size_t>(UdpLimit(q), 12 + 260 + OptBytes(q)));
      (void)rrl.Check(opts.client, q, out[3] & 0x0f, 1);
    }
    if (o.action == DnsAction::kTransfer) (void)table->Transfer(q);
  }
  return 0;
}
