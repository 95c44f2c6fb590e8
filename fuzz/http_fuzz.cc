// The HTTP API's request handling: a request target and a body, as a
// client sends them, through the server's decoding and the Consul router
// (api/consul_api.h) against a store. Input: "METHOD TARGET\n" then the body.
#include "api/fake_backend.h"
#include "daemon/http_api.h"
#include "fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace basefs;
  const std::string_view in = fuzz::Bytes(data, size);
  const size_t nl = in.find('\n');
  const std::string_view line = in.substr(0, nl);
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) return 0;
  HttpRequest r;
  r.method = std::string(line.substr(0, space));
  if (!ParseRequestTarget(line.substr(space + 1), &r).ok()) return 0;
  r.body = nl == std::string_view::npos ? "" : std::string(in.substr(nl + 1));
  r.cross_site = size % 7 == 0;
  testing::FakeBackend backend;
  const size_t entries = backend.store().view().entry_count();
  const HttpResponse resp = HandleConsulRequest(r, backend);
  FUZZ_CHECK(resp.status >= 200 && resp.status < 600);
  if (resp.status >= 400 && !(resp.status == 404 && resp.body.empty())) {
    // Errors are one line of JSON with the reason (a KV miss is an empty
    // 404, as Consul answers it).
    const auto j = nlohmann::json::parse(resp.body, nullptr, false);
    FUZZ_CHECK(!j.is_discarded() && j.contains("error"));
    FUZZ_CHECK(resp.body.find('\n') == resp.body.size() - 1);
  }
  // A request refused as malformed or unknown writes nothing.
  if (resp.status == 400 || resp.status == 404 || resp.status == 405 || resp.status == 501)
    FUZZ_CHECK(backend.store().view().entry_count() == entries);
  // Reads never write.
  if (r.method == "GET" && r.path.rfind("/v1/agent/", 0) != 0)
    FUZZ_CHECK(backend.store().view().entry_count() == entries);
  (void)BlockingKey(r);
  return 0;
}
