#include "daemon/http_api.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api/console_assets.h"
#include "base/host_port.h"
#include "base/log.h"

namespace basefs {

namespace {

inline constexpr size_t kMaxRememberedAnswers = 65536;

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 501: return "Not Implemented";
    default: return status >= 500 ? "Internal Server Error" : "Error";
  }
}

std::string ErrorBody(const std::string& message) { return nlohmann::json{{"error", message}}.dump() + "\n"; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; '+' is a space in query strings only.
Result<std::string> Decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return Invalid("bad percent-encoding");
      const int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return Invalid("bad percent-encoding");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

// "a=1&b&c=x%20y" -> {a: 1, b: "", c: "x y"}; a bare name is a flag (?raw).
Result<std::multimap<std::string, std::string>> ParseQuery(std::string_view q) {
  std::multimap<std::string, std::string> out;
  while (!q.empty()) {
    const size_t amp = q.find('&');
    const std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    BASEFS_ASSIGN_OR_RETURN(std::string k, Decode(part.substr(0, eq), true));
    BASEFS_ASSIGN_OR_RETURN(std::string v, eq == std::string_view::npos ? Result<std::string>(std::string())
                                                                        : Decode(part.substr(eq + 1), true));
    if (out.size() >= 64) return Invalid("more than 64 query parameters");
    out.emplace(std::move(k), std::move(v));
  }
  return out;
}

bool IsLoopback(const std::string& host) {
  in_addr a4{};
  if (::inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  return host == "::1";
}

// Constant-time equality (of fixed-length hashes, so the length leaks
// nothing either).
bool TokenEquals(const std::string& given, const std::string& want) {
  const Hash a = HashBytes(given), b = HashBytes(want);
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Whether a browser sent this for a page of another site: its Origin (or
// Referer) is not this server, or Sec-Fetch-Site says cross-site.
bool CrossSite(evkeyvalq* headers) {
  const char* host = evhttp_find_header(headers, "Host");
  const std::string self = std::string("http://") + (host ? host : "");
  const auto other = [&](const char* url) {
    if (!url) return false;
    const std::string u(url);
    return u != self && u.rfind(self + "/", 0) != 0;
  };
  if (const char* site = evhttp_find_header(headers, "Sec-Fetch-Site"))
    if (std::strcmp(site, "same-origin") != 0 && std::strcmp(site, "none") != 0) return true;
  return other(evhttp_find_header(headers, "Origin")) || other(evhttp_find_header(headers, "Referer"));
}

}  // namespace

Status ParseRequestTarget(std::string_view target, HttpRequest* out) {
  const size_t qmark = target.find('?');
  auto path = Decode(target.substr(0, qmark), false);
  if (!path.ok()) return Invalid("the path: " + path.status().message());
  auto query = ParseQuery(qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1));
  if (!query.ok()) return Invalid("the query: " + query.status().message());
  out->path = std::move(*path);
  out->query = std::move(*query);
  return Status::Ok();
}

Result<std::string> BindHttp(evhttp* http, const std::string& listen, const std::string& what,
                             const std::string& flag) {
  auto hp = ParseHostPort(listen, {.allow_port_zero = true});
  if (!hp.ok()) return Invalid(flag + ": " + hp.status().message());
  evhttp_bound_socket* sock = evhttp_bind_socket_with_handle(http, hp->host.c_str(), hp->port);
  if (!sock)
    return Status(errno == EADDRINUSE ? Code::kBusy : Code::kIO,
                  "cannot listen for " + what + " on " + listen + ": " + std::strerror(errno) +
                      (errno == EADDRINUSE ? " (another process has that port; choose another " + flag + ")" : ""));
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(evhttp_bound_socket_get_fd(sock), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return IOError(flag + ": getsockname: " + std::strerror(errno));
  return FormatSockaddr(reinterpret_cast<const sockaddr*>(&ss));
}

struct HttpApi::Held {
  HttpApi* api = nullptr;
  evhttp_request* req = nullptr;
  HttpRequest request;
  std::string key, client;
  uint64_t index = 0;
  Clock::TimerId timer = 0;
  event* gone = nullptr;  // the client's socket readable: it left (or pipelines)
  ~Held() {
    if (timer) api->clock_->Cancel(timer);
    if (gone) event_free(gone);
  }
};

HttpApi::HttpApi(event_base* base, Clock* clock, HttpApiOptions options, ConsulBackend* backend)
    : base_(base), clock_(clock), opts_(std::move(options)), backend_(backend) {}

Result<std::unique_ptr<HttpApi>> HttpApi::Start(event_base* base, Clock* clock, HttpApiOptions options,
                                                ConsulBackend* backend, uint64_t wall_ms) {
  std::unique_ptr<HttpApi> api(new HttpApi(base, clock, std::move(options), backend));
  api->index_ = std::max<uint64_t>(1, wall_ms);
  api->http_ = evhttp_new(base);
  if (!api->http_) return IOError("cannot create the HTTP server");
  evhttp_set_allowed_methods(api->http_,
                             EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE);
  evhttp_set_max_headers_size(api->http_, static_cast<ev_ssize_t>(api->opts_.max_header_bytes));
  evhttp_set_max_body_size(api->http_, static_cast<ev_ssize_t>(api->opts_.max_body_bytes));
  evhttp_set_timeout(api->http_, api->opts_.timeout_s);
  evhttp_set_gencb(api->http_, &HttpApi::OnRequest, api.get());
  BASEFS_ASSIGN_OR_RETURN(api->local_address_, BindHttp(api->http_, api->opts_.listen, "the HTTP API", "--http"));
  auto hp = ParseHostPort(api->local_address_);
  api->loopback_ = hp.ok() && IsLoopback(hp->host);
  if (!api->loopback_ && api->opts_.token.empty())
    LogWarn("--http {} is not a loopback address and no http-token is set: API writes are refused",
            api->local_address_);
  return api;
}

HttpApi::~HttpApi() {
  if (reevaluate_) clock_->Cancel(reevaluate_);
  held_.clear();  // timers and events first; evhttp_free frees the requests
  if (http_) evhttp_free(http_);
}

void HttpApi::OnChange(uint64_t wall_ms) {
  index_ = std::max(index_ + 1, wall_ms);
  if (held_.empty() || reevaluate_) return;
  // Changes that come together (a sync, a write and its mkdir) are
  // answered once, a moment later.
  reevaluate_ = clock_->Schedule(2, [this] {
    reevaluate_ = 0;
    Reevaluate();
  });
}

// The answer to a request now. A blocking read's answer is remembered by
// its key: its index moves only when its body does, and until the next
// change anywhere (index_) the same body is served again without being
// computed (bodies up to 64 KiB, 32 MiB in all).
HttpApi::Evaluated HttpApi::Evaluate(const HttpRequest& r, const std::string& key) {
  constexpr size_t kMaxCachedBody = 64 * 1024, kMaxCachedBytes = 32 << 20;
  auto it = answers_.find(key);
  if (it != answers_.end() && it->second.at == index_ && it->second.body)
    return Evaluated{it->second.status, it->second.content_type, it->second.body, true, it->second.index};
  HttpResponse resp = HandleConsulRequest(r, *backend_);
  Evaluated e{resp.status, std::move(resp.content_type), std::make_shared<const std::string>(std::move(resp.body)),
              resp.blocking, 0};
  if (!e.blocking) return e;
  const Hash h = HashBytes(*e.body);
  e.index = it != answers_.end() && it->second.hash == h ? it->second.index : index_;
  if (it == answers_.end() && answers_.size() >= kMaxRememberedAnswers) {
    answers_.clear();  // correct, only less precise: answers then report index_
    cached_bytes_ = 0;
  }
  Answered& slot = answers_[key];
  if (slot.body) cached_bytes_ -= slot.body->size();
  slot = Answered{h, e.index, index_, e.status, e.content_type, nullptr};
  if (e.body->size() <= kMaxCachedBody && cached_bytes_ + e.body->size() <= kMaxCachedBytes) {
    slot.body = e.body;
    cached_bytes_ += e.body->size();
  }
  return e;
}

void HttpApi::OnRequest(evhttp_request* req, void* arg) { static_cast<HttpApi*>(arg)->Handle(req); }

void HttpApi::Handle(evhttp_request* req) {
  ++counters_.requests;
  const auto fail = [&](int status, const std::string& message) {
    HttpResponse r;
    r.status = status;
    r.body = ErrorBody(message);
    Reply(req, r);
  };
  const char* uri = evhttp_request_get_uri(req);
  if (!uri) return fail(400, "no request URI");
  if (std::strlen(uri) > opts_.max_uri_bytes) return fail(414, "the request URI is longer than 8 KiB");
  HttpRequest r;
  switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET: r.method = "GET"; break;
    case EVHTTP_REQ_HEAD: r.method = "HEAD"; break;
    case EVHTTP_REQ_PUT: r.method = "PUT"; break;
    case EVHTTP_REQ_POST: r.method = "POST"; break;
    case EVHTTP_REQ_DELETE: r.method = "DELETE"; break;
    default: return fail(405, "method not allowed");
  }
  if (Status st = ParseRequestTarget(uri, &r); !st.ok()) return fail(400, st.message());
  if (r.path == "/" || r.path == "/ui" || r.path.rfind("/ui/", 0) == 0) return ServeConsole(req, r);

  // Who may do what (see the header).
  const bool read = r.method == "GET" || r.method == "HEAD";
  if (!opts_.token.empty() || !loopback_) {
    std::string token = r.Get("token");
    evkeyvalq* headers = evhttp_request_get_input_headers(req);
    if (const char* t = evhttp_find_header(headers, "X-Consul-Token")) token = t;
    if (const char* a = evhttp_find_header(headers, "Authorization"); a && std::strncmp(a, "Bearer ", 7) == 0)
      token = a + 7;
    const bool valid = !opts_.token.empty() && TokenEquals(token, opts_.token);
    const bool needs = read ? !loopback_ && !opts_.open_reads : true;
    if (needs && !valid) {
      ++counters_.unauthorized;
      return fail(403, opts_.token.empty() ? "writes through the API off loopback need an http-token (docs/http.md)"
                                           : "Permission denied: a valid token is needed (X-Consul-Token)");
    }
  }

  r.cross_site = CrossSite(evhttp_request_get_input_headers(req));
  evbuffer* in = evhttp_request_get_input_buffer(req);
  const size_t n = evbuffer_get_length(in);
  r.body.resize(n);
  if (n) evbuffer_copyout(in, r.body.data(), n);

  const std::string key = BlockingKey(r);
  const Evaluated now = Evaluate(r, key);
  if (!now.blocking || !r.Has("index") || now.status >= 500) return Send(req, now);
  const uint64_t index = now.index;
  uint64_t asked = 0;
  const std::string idx = r.Get("index");
  auto [p, ec] = std::from_chars(idx.data(), idx.data() + idx.size(), asked);
  if (ec != std::errc() || p != idx.data() + idx.size()) return fail(400, "index must be a non-negative integer");
  if (asked != index) return Send(req, now);  // changed since, or from before a restart
  uint64_t wait_ms = opts_.default_wait_ms;
  if (r.Has("wait")) {
    auto w = ParseWait(r.Get("wait"), opts_.max_wait_ms);
    if (!w.ok()) return fail(400, w.status().message());
    wait_ms = *w;
  }
  char host[64] = "?";
  ev_uint16_t port = 0;
  char* peer = nullptr;
  evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer, &port);
  if (peer) std::snprintf(host, sizeof(host), "%s", peer);
  if (held_.size() >= opts_.max_held || held_per_client_[host] >= opts_.max_held_per_client) {
    ++counters_.held_refused;
    return fail(429, "too many blocking queries held (" + std::to_string(held_.size()) + "); retry later");
  }
  Hold(req, std::move(r), host, index, wait_ms);
}

// The web console's files (api/console_assets.h), read-only, with headers
// that keep a browser from running anything but them: whatever the node's
// data holds is shown as text by console.js, and no inline script runs.
void HttpApi::ServeConsole(evhttp_request* req, const HttpRequest& r) {
  evkeyvalq* out = evhttp_request_get_output_headers(req);
  if (r.path == "/") {
    evhttp_add_header(out, "Location", "/ui/");
    evhttp_send_reply(req, 302, "Found", nullptr);
    return;
  }
  const ConsoleAsset* asset = FindConsoleAsset(r.path);
  if (!asset || (r.method != "GET" && r.method != "HEAD")) {
    HttpResponse nf;
    nf.status = asset ? 405 : 404;
    nf.body = ErrorBody(asset ? "the console is read-only" : "no console file " + r.path);
    return Reply(req, nf);
  }
  ++counters_.console_files;
  evhttp_add_header(out, "Content-Type", std::string(asset->content_type).c_str());
  evhttp_add_header(
      out, "Content-Security-Policy",
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
      "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
  evhttp_add_header(out, "Referrer-Policy", "no-referrer");
  evhttp_add_header(out, "Cache-Control", "no-cache");
  evbuffer* buf = evbuffer_new();
  evbuffer_add_reference(buf, asset->body.data(), asset->body.size(), nullptr, nullptr);
  evhttp_send_reply(req, 200, "OK", buf);
  evbuffer_free(buf);
}

void HttpApi::Hold(evhttp_request* req, HttpRequest parsed, const std::string& client, uint64_t index,
                   uint64_t wait_ms) {
  auto h = std::make_unique<Held>();
  Held* raw = h.get();
  raw->api = this;
  raw->req = req;
  raw->key = BlockingKey(parsed);
  raw->request = std::move(parsed);
  raw->client = client;
  raw->index = index;
  // Consul's jitter: up to wait/16 more, so clients that came together do
  // not come back together.
  jitter_seed_ = jitter_seed_ * 6364136223846793005ull + 1442695040888963407ull;
  const uint64_t jitter = wait_ms >= 16 ? (jitter_seed_ >> 33) % (wait_ms / 16) : 0;
  raw->timer = clock_->Schedule(wait_ms + jitter, [this, raw] {
    raw->timer = 0;
    Answer(raw, /*on_change=*/false);
  });
  // evhttp stops reading a connection while its request is answered, so
  // it would not see the client leave: watch the socket for that.
  evhttp_connection* conn = evhttp_request_get_connection(req);
  bufferevent* bev = conn ? evhttp_connection_get_bufferevent(conn) : nullptr;
  const evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
  if (fd >= 0) {
    raw->gone = event_new(
        base_, fd, EV_READ,
        [](evutil_socket_t s, short, void* arg) {
          auto* held = static_cast<Held*>(arg);
          char c;
          const ssize_t got = ::recv(s, &c, 1, MSG_PEEK | MSG_DONTWAIT);
          if (got > 0 || (got < 0 && (errno == EAGAIN || errno == EINTR))) return;  // a pipelined request: later
          HttpApi* api = held->api;
          evhttp_connection* c2 = evhttp_request_get_connection(held->req);
          ++api->counters_.held_gone;
          api->Release(held);
          if (c2) evhttp_connection_free(c2);  // frees the unanswered request
        },
        raw);
    event_add(raw->gone, nullptr);
  }
  ++held_per_client_[client];
  ++counters_.held_total;
  held_.emplace(raw, std::move(h));
}

void HttpApi::Release(Held* h) {
  auto it = held_per_client_.find(h->client);
  if (it != held_per_client_.end() && --it->second == 0) held_per_client_.erase(it);
  held_.erase(h);
}

void HttpApi::Answer(Held* h, bool on_change) {
  const Evaluated now = Evaluate(h->request, h->key);
  evhttp_request* req = h->req;
  ++(on_change ? counters_.held_answered_change : counters_.held_answered_wait);
  Release(h);
  Send(req, now);
}

// Each distinct held query is answered once; its holders get that answer
// (one body, shared by reference) if it changed. At most kAnswersPerTurn
// replies per turn of the loop: the rest are answered on the next turns,
// so 10,000 held queries never stall DNS, gossip or the mount.
void HttpApi::Reevaluate() {
  constexpr size_t kAnswersPerTurn = 256;
  std::map<std::string, std::vector<Held*>> by_key;
  for (const auto& [raw, h] : held_) by_key[h->key].push_back(raw);
  size_t sent = 0;
  bool more = false;
  for (auto& [key, holders] : by_key) {
    if (sent >= kAnswersPerTurn) {
      more = true;
      break;
    }
    const Evaluated now = Evaluate(holders.front()->request, key);
    for (Held* h : holders) {
      if (h->index == now.index) continue;
      if (sent >= kAnswersPerTurn) {
        more = true;
        break;
      }
      evhttp_request* req = h->req;
      ++counters_.held_answered_change;
      ++sent;
      Release(h);
      Send(req, now);
    }
  }
  if (more && !reevaluate_)
    reevaluate_ = clock_->Schedule(0, [this] {
      reevaluate_ = 0;
      Reevaluate();
    });
}

void HttpApi::Reply(evhttp_request* req, const HttpResponse& r) {
  Send(req, Evaluated{r.status, r.content_type, std::make_shared<const std::string>(r.body), false, 0});
}

void HttpApi::Send(evhttp_request* req, const Evaluated& e) {
  const int status = e.status;
  const std::shared_ptr<const std::string>& body = e.body;
  if (status >= 500)
    ++counters_.errors_5xx;
  else if (status >= 400)
    ++counters_.errors_4xx;
  evkeyvalq* out = evhttp_request_get_output_headers(req);
  evhttp_add_header(out, "Content-Type", e.content_type.c_str());
  if (e.blocking) {
    evhttp_add_header(out, "X-Consul-Index", std::to_string(e.index).c_str());
    evhttp_add_header(out, "X-Consul-KnownLeader", "true");
    evhttp_add_header(out, "X-Consul-LastContact", "0");
  }
  evbuffer* buf = evbuffer_new();
  // The bytes stay in `body` until the last connection has sent them.
  auto* keep = new std::shared_ptr<const std::string>(body);
  evbuffer_add_reference(
      buf, body->data(), body->size(),
      [](const void*, size_t, void* arg) { delete static_cast<std::shared_ptr<const std::string>*>(arg); }, keep);
  evhttp_send_reply(req, status, Reason(status), buf);
  evbuffer_free(buf);
}

}  // namespace basefs
