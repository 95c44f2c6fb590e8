// Gossip datagrams, plain and sealed, through the decoder and into a live
// Gossip instance on the in-memory network: the input is a sequence of
// datagrams (u16 length | bytes), delivered from a few source addresses,
// with simulated time passing between them.
#include "base/fake_seams.h"
#include "fuzz/fuzz.h"
#include "replicate/gossip.h"

namespace {

using namespace basefs;

// A sink that holds nothing: entries are the entry target's business.
class NullSink : public EntrySink {
 public:
  Result<Placement> OfferEntry(std::string_view) override { return Invalid("no"); }
  Status OfferBlock(std::string_view) override { return Invalid("no"); }
  std::optional<Part> Lookup(const Hash&) override { return std::nullopt; }
  std::vector<Hash> Wanted(size_t) override { return {}; }
};

Keyring FuzzKeyring() {
  Keyring k;
  k.Add(std::array<uint8_t, Keyring::kKeyBytes>{1, 2, 3});
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool init = (CryptoInit(), true);
  (void)init;
  const std::string_view in = fuzz::Bytes(data, size);
  if (in.empty()) return 0;
  // The first byte picks plain or sealed; the rest is datagrams.
  const bool sealed = in[0] & 1;
  ManualClock clock;
  FakeNetwork net(&clock, 1);
  auto* self = net.Add("10.0.0.1:7400");
  std::vector<FakeNetwork::Endpoint*> peers = {net.Add("10.0.0.2:7400"), net.Add("10.0.0.3:7400"),
                                               net.Add("10.6.6.6:1")};
  SeededRandom rnd(7);
  NullSink sink;
  GossipOptions o;
  o.node_name = "fuzz";
  o.advertise_addr = self->address();
  o.max_members = 64;
  o.max_queue = 64;
  const Keyring ring = sealed ? FuzzKeyring() : Keyring();
  Gossip g(o, &clock, self, &rnd, &sink, ring);
  g.Start({peers[0]->address()});
  size_t pos = 1, n = 0;
  while (pos + 2 <= in.size() && n < 64) {
    const size_t len = (static_cast<uint8_t>(in[pos]) << 8 | static_cast<uint8_t>(in[pos + 1])) % 1300;
    pos += 2;
    const std::string_view d = in.substr(pos, len);
    pos += d.size();
    const std::string wire =
        sealed && !d.empty() && d[0] != '\xE1' ? ring.Seal(d.substr(0, kMaxPlaintextBytes)) : std::string(d);
    (void)DecodeDatagram(d);
    peers[n % peers.size()]->Send(self->address(), wire);
    clock.RunFor(1 + n % 700);
    ++n;
  }
  clock.RunFor(5000);
  FUZZ_CHECK(g.Members().size() <= o.max_members + 1);
  FUZZ_CHECK(g.queue_size() <= o.max_queue + 1);
  return 0;
}
