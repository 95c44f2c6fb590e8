// The Consul-compatible HTTP API (docs/http.md): one request in, one
// response out. Routing, query parameters, JSON in Consul's v1 shapes and
// every check of what a client sends live here; the HTTP server
// (daemon/http_api.h) adds sockets, limits, tokens and blocking queries,
// and the ConsulBackend gives the node's state and performs its writes.
//
// Names follow Consul: a service registered here is the file
// /services/<Name>/<ID> (lowercase DNS labels), and KV key `a/b/c` is the
// file /a/b/c of the filesystem.
//
// Thread-compatible; HandleConsulRequest touches only its arguments.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/catalog.h"
#include "base/result.h"

namespace basefs {

class Store;

// Limits on what a client may send or ask for.
inline constexpr size_t kMaxKvValueBytes = 512 * 1024;  // Consul's own limit
inline constexpr size_t kMaxKvReadBytes = 8 * 1024 * 1024;
inline constexpr size_t kMaxKvListed = 100000;  // keys in one ?recurse or ?keys answer

struct HttpRequest {
  std::string method;  // GET, PUT, POST, DELETE, HEAD
  std::string path;    // decoded, "/v1/..."
  std::multimap<std::string, std::string> query;
  std::string body;
  // Sent by a browser on behalf of another site (Origin, Referer or
  // Sec-Fetch-Site say so): such a request may read, never change state.
  bool cross_site = false;
  bool Has(const std::string& k) const { return query.count(k) > 0; }
  std::string Get(const std::string& k) const {
    auto it = query.find(k);
    return it == query.end() ? std::string() : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // A read that answers blocking queries (?index=&wait=): the server gives
  // it an X-Consul-Index and may hold it.
  bool blocking = false;
};

// What a registration asks for, checked and converted.
struct Registration {
  std::string service, id;  // lowercase DNS labels
  ServiceInstance instance;
};

// The node's side. Loop thread; valid for one call.
class ConsulBackend {
 public:
  virtual ~ConsulBackend() = default;
  // The catalog now; a reference stays valid until the next call.
  virtual const Catalog& catalog() = 0;
  virtual const Store& store() = 0;
  virtual std::string version() = 0;  // basefs version and commit
  virtual std::string metrics() = 0;  // Prometheus text
  // Signed writes with the node key (synced before they return).
  virtual Status WriteFile(const std::string& path, const std::string& content) = 0;
  virtual Status Mkdir(const std::string& path) = 0;  // with parents
  virtual Status Remove(const std::string& path, bool recursive) = 0;
  // A ttl check's status: InstanceId of an instance this node owns, with
  // a ttl check of `ttl_ms`.
  virtual void ReportTtl(const std::string& instance_id, uint32_t ttl_ms, const std::string& status,
                         const std::string& output) = 0;
};

HttpResponse HandleConsulRequest(const HttpRequest& req, ConsulBackend& backend);
// The web console's data, /v1/internal/ui/WHAT (api/console_api.cc).
HttpResponse HandleConsoleRequest(const std::string& what, const HttpRequest& req, ConsulBackend& backend);

// The request's API path with `index` and `wait` removed and the rest of
// the query sorted: requests with the same key get the same answer.
std::string BlockingKey(const HttpRequest& req);

// Consul's durations: "10s", "5m", "150ms", "1h", or a bare number of
// seconds; at most `max_ms`.
Result<uint64_t> ParseWait(const std::string& text, uint64_t max_ms);

// Checks a Consul `?filter=` expression and tells whether a JSON row (as
// text) matches it: ==, !=, contains, not contains, in, not in, is empty
// and is not empty on dotted selectors (ServiceMeta.version); and, or,
// not, parentheses. (`matches`, regular expressions, is not supported.)
class Filter {
 public:
  static Result<Filter> Parse(const std::string& text);
  // `row` is a JSON object as the endpoint returns it.
  bool Matches(const nlohmann::ordered_json& row) const;
  struct Node;

 private:
  std::shared_ptr<const Node> root_;
};

}  // namespace basefs
