// The HTTP server of `--http ADDR:PORT`: Consul's v1 API (api/consul_api.h)
// on the daemon's loop with evhttp, with the parts a server adds — tokens,
// limits, and blocking queries (docs/http.md).
//
// Blocking queries. Every read answer carries X-Consul-Index: the value of
// a node-wide counter (a hybrid logical clock in milliseconds, so it keeps
// rising across restarts) at the last change of *that* answer, remembered
// by a hash of its body. A request with ?index=N is held while N equals
// its answer's index, and answered as soon as the answer changes or its
// wait (default 5 min, at most 10, plus up to 1/16 jitter) passes; any
// other N (older, or from before a restart) is answered at once. A change
// to the view, membership or health re-evaluates each distinct held query
// once, whatever the number of clients holding it. A held request costs
// its connection, one timer and one read event (to see a client that
// leaves); no thread and no CPU while nothing changes.
//
// Security: on a loopback address reads and writes are open unless a token
// is set; elsewhere writes need the token (none set: writes refused) and
// reads need it too unless `open_reads`. Tokens come in X-Consul-Token,
// `Authorization: Bearer`, or ?token=, and are compared in constant time.
//
// Thread-safety: loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "api/consul_api.h"
#include "base/crypto.h"
#include "base/seams.h"

struct event_base;
struct evhttp;
struct evhttp_request;

namespace basefs {

struct HttpApiOptions {
  std::string listen;  // ADDR:PORT (port 0: any)
  std::string token;   // "" = none
  bool open_reads = false;
  size_t max_held = 32768;            // held requests in all
  size_t max_held_per_client = 4096;  // per client address
  uint64_t default_wait_ms = 300000;
  uint64_t max_wait_ms = 600000;
  size_t max_body_bytes = kMaxKvValueBytes + 64 * 1024;
  size_t max_header_bytes = 16 * 1024;
  size_t max_uri_bytes = 8 * 1024;
  int timeout_s = 30;  // reading a request, writing an answer
};

struct HttpApiCounters {
  uint64_t console_files = 0;
  uint64_t requests = 0, errors_4xx = 0, errors_5xx = 0, unauthorized = 0;
  uint64_t held_total = 0, held_answered_change = 0, held_answered_wait = 0, held_gone = 0, held_refused = 0;
};

class HttpApi {
 public:
  static Result<std::unique_ptr<HttpApi>> Start(event_base* base, Clock* clock, HttpApiOptions options,
                                                ConsulBackend* backend, uint64_t wall_ms);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // The view, membership or health changed: answers may differ now.
  // `wall_ms`: the wall clock, which the index never falls below.
  void OnChange(uint64_t wall_ms);

  const std::string& local_address() const { return local_address_; }
  uint64_t index() const { return index_; }
  size_t held() const { return held_.size(); }
  const HttpApiCounters& counters() const { return counters_; }

 private:
  struct Held;
  HttpApi(event_base* base, Clock* clock, HttpApiOptions options, ConsulBackend* backend);
  static void OnRequest(evhttp_request* req, void* arg);
  void Handle(evhttp_request* req);
  struct Evaluated {
    int status = 200;
    std::string content_type;
    std::shared_ptr<const std::string> body;
    bool blocking = false;
    uint64_t index = 0;  // of a blocking answer
  };
  Evaluated Evaluate(const HttpRequest& r, const std::string& key);
  void ServeConsole(evhttp_request* req, const HttpRequest& r);
  void Reply(evhttp_request* req, const HttpResponse& r);  // not a blocking answer
  void Send(evhttp_request* req, const Evaluated& e);
  void Hold(evhttp_request* req, HttpRequest parsed, const std::string& client, uint64_t index, uint64_t wait_ms);
  void Release(Held* h);  // forgets a held request (not answered here)
  void Reevaluate();
  void Answer(Held* h, bool on_change);

  event_base* base_;
  Clock* clock_;
  HttpApiOptions opts_;
  ConsulBackend* backend_;
  evhttp* http_ = nullptr;
  std::string local_address_;
  bool loopback_ = false;
  uint64_t index_ = 1;
  struct Answered {
    Hash hash{};         // of the body
    uint64_t index = 0;  // the answer's index
    uint64_t at = 0;     // index_ when it was computed
    int status = 200;
    std::string content_type;
    std::shared_ptr<const std::string> body;  // kept while small
  };
  std::unordered_map<std::string, Answered> answers_;  // by BlockingKey, bounded
  size_t cached_bytes_ = 0;
  std::map<Held*, std::unique_ptr<Held>> held_;
  std::map<std::string, size_t> held_per_client_;
  Clock::TimerId reevaluate_ = 0;
  HttpApiCounters counters_;
  uint64_t jitter_seed_ = 0x9e3779b97f4a7c15ull;
};

// The path (percent-decoded) and query parameters (decoded, '+' a space;
// a bare name is a flag: ?raw) of a request target "/v1/kv/a?raw".
Status ParseRequestTarget(std::string_view target, HttpRequest* out);

// Binds an evhttp server to ADDR:PORT; returns the address it got. `what`
// and `flag` name it in errors ("metrics", "--metrics").
Result<std::string> BindHttp(evhttp* http, const std::string& listen, const std::string& what, const std::string& flag);

}  // namespace basefs
