// The sync protocol: frames through FrameReader, and the SyncSession state
// machine of a node holding a small log, fed the input as the peer's byte
// stream in pieces (the first byte sets the piece size), answering as it
// goes. A clone session (no store yet) gets the same stream.
#include "fuzz/fuzz.h"
#include "replicate/sync_session.h"
#include "store/test_util.h"

namespace {

using namespace basefs;

struct World {
  testing::MemStoreFactory factory;
  KeyPair root = GenerateKeyPair();
  std::unique_ptr<Store> store;
  World() {
    store = factory.Create(root, factory.NewDir());
    (void)store->Mkdir(root, "/services", true);
    (void)store->WriteFile(root, "/services/web", "port = 80\n");
    (void)store->WriteFile(root, "/big", std::string(100000, 'x'));
  }
};

void Drive(SyncSession& s, std::string_view in, size_t piece) {
  s.Start();
  (void)s.TakeOutput();
  for (size_t pos = 0; pos < in.size(); pos += piece) {
    if (!s.Feed(in.substr(pos, piece)).ok()) return;
    (void)s.TakeOutput();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* w = new World();
  const std::string_view in = fuzz::Bytes(data, size);
  if (in.empty()) return 0;
  const size_t piece = 1 + static_cast<uint8_t>(in[0]);
  const std::string_view stream = in.substr(1);

  FrameReader reader;
  reader.Append(stream);
  for (int i = 0; i < 1000; ++i) {
    auto m = reader.Next();
    if (!m.ok() || !m->has_value()) break;
    // What decodes encodes to a frame that decodes to the same message.
    FrameReader again;
    again.Append(EncodeFrame(**m));
    auto m2 = again.Next();
    FUZZ_CHECK(m2.ok() && m2->has_value() && EncodeFrame(**m2) == EncodeFrame(**m));
  }

  SyncSession node(w->store.get());
  Drive(node, stream, piece);
  SyncSession clone(nullptr, SyncOptions(),
                    [](std::string_view) -> Result<Store*> { return Invalid("the fuzzer makes no replicas"); });
  Drive(clone, stream, piece);
  return 0;
}
