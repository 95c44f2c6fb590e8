// Service files and /zones files through the projection into zones, and
// the answer table built from them. The input is one or more files:
// (u8 kind | u16 length | content)...; kind picks the path it is written
// to (a service instance, a zone's apex, a name in a zone, /.cluster-like
// junk paths).
#include "dns/answer_table.h"
#include "fuzz/fuzz.h"
#include "zones/projection.h"
#include "zones/service_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace basefs;
  const std::string_view in = fuzz::Bytes(data, size);
  static const char* kPaths[] = {"/services/web/w1",         "/services/web/w2",       "/services/db/d1",
                                 "/zones/example.org/@",     "/zones/example.org/www", "/zones/example.org/a/@",
                                 "/zones/sub.example.org/@", "/zones/basefs/x",        "/services/bad"};
  ProjectionInput p;
  p.domain = "basefs.";
  p.self_node = "n1";
  p.members = {{"n1", "10.0.0.1", true, "K", {}}, {"n2", "10.0.0.2", false, "L", {"web/w1"}}};
  size_t pos = 0;
  while (pos + 3 <= in.size() && p.files.size() < 16) {
    const uint8_t kind = static_cast<uint8_t>(in[pos]);
    const size_t len = static_cast<uint8_t>(in[pos + 1]) << 8 | static_cast<uint8_t>(in[pos + 2]);
    pos += 3;
    const std::string_view content = in.substr(pos, len);
    pos += content.size();
    p.files.push_back({kPaths[kind % std::size(kPaths)], kind & 0x80 ? "L" : "K", std::string(content)});
    // A service file that parses formats to one that parses the same.
    if (auto s = ParseServiceFile(content); s.ok() && ValidateServiceInstance(*s).ok()) {
      auto again = ParseServiceFile(FormatServiceFile(*s));
      FUZZ_CHECK(again.ok() && FormatServiceFile(*again) == FormatServiceFile(*s));
    }
  }
  Projection out = Project(p);
  FUZZ_CHECK(!out.zones.empty() && out.zones[0].apex == "basefs.");
  std::vector<uint32_t> serials(out.zones.size(), 1);
  auto t = AnswerTable::Build(out.zones, serials);
  FUZZ_CHECK(t.ok());
  return 0;
}
