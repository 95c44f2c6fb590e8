// The HTTP server of the API on a real loopback socket and a real event
// loop: blocking queries, the limits, tokens. The loop is pumped until a
// condition holds or a deadline passes; nothing sleeps.
#include "daemon/http_api.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>

#include <event2/event.h>
#include <gtest/gtest.h>

#include "api/fake_backend.h"
#include "base/host_port.h"
#include "daemon/event_seams.h"

namespace basefs {
namespace {

using namespace std::chrono_literals;

// One HTTP/1.1 exchange over a non-blocking socket.
class Client {
 public:
  explicit Client(const std::string& addr) {
    auto hp = ParseHostPort(addr);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(hp->port);
    ::inet_pton(AF_INET, hp->host.c_str(), &sa.sin_addr);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    ::fcntl(fd_, F_SETFL, O_NONBLOCK);
  }
  ~Client() { Close(); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void Send(const std::string& method, const std::string& target, const std::string& body = "",
            const std::string& headers = "") {
    const std::string req = method + " " + target +
                            " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
                            headers + "\r\n" + body;
    ASSERT_EQ(::send(fd_, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  }
  // True once a whole response arrived.
  bool Done() {
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof(buf), 0)) > 0) raw_.append(buf, static_cast<size_t>(n));
    const size_t end = raw_.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const size_t cl = raw_.find("Content-Length: ");
    const size_t length = cl == std::string::npos || cl > end ? 0 : std::stoul(raw_.substr(cl + 16));
    return raw_.size() >= end + 4 + length;
  }
  int status() const { return std::stoi(raw_.substr(9, 3)); }
  std::string body() const { return raw_.substr(raw_.find("\r\n\r\n") + 4); }
  std::string Header(const std::string& name) const {
    const size_t at = raw_.find("\r\n" + name + ": ");
    if (at == std::string::npos) return "";
    const size_t start = at + name.size() + 4;
    return raw_.substr(start, raw_.find("\r\n", start) - start);
  }
  uint64_t index() const { return std::stoull(Header("X-Consul-Index")); }

 private:
  int fd_ = -1;
  std::string raw_;
};

class HttpApiServerTest : public ::testing::Test {
 protected:
  void Start(HttpApiOptions o = {}) {
    base_ = event_base_new();
    clock_ = std::make_unique<EventClock>(base_);
    o.listen = "127.0.0.1:0";
    auto api = HttpApi::Start(base_, clock_.get(), o, &backend_, 1000);
    ASSERT_TRUE(api.ok()) << api.status().message();
    api_ = std::move(api).value();
  }
  void TearDown() override {
    api_.reset();
    clock_.reset();
    if (base_) event_base_free(base_);
  }
  bool Pump(const std::function<bool()>& until, std::chrono::milliseconds deadline = 5s) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
      event_base_loop(base_, EVLOOP_ONCE | EVLOOP_NONBLOCK);
      if (until()) return true;
    }
    return false;
  }
  // Runs the loop for a while (as long as a held answer would need to come).
  void PumpFor(std::chrono::milliseconds d) {
    Pump([] { return false; }, d);
  }
  std::unique_ptr<Client> Get(const std::string& target, const std::string& headers = "") {
    auto c = std::make_unique<Client>(api_->local_address());
    c->Send("GET", target, "", headers);
    return c;
  }
  // A write through the backend, as the daemon's change listener reports it.
  void Write(const std::string& path, const std::string& content) {
    const std::string dir = path.substr(0, path.rfind('/'));
    if (!dir.empty()) {
      ASSERT_TRUE(backend_.Mkdir(dir).ok());
    }
    ASSERT_TRUE(backend_.WriteFile(path, content).ok());
    api_->OnChange(0);
  }

  testing::FakeBackend backend_;
  event_base* base_ = nullptr;
  std::unique_ptr<EventClock> clock_;
  std::unique_ptr<HttpApi> api_;
};

TEST_F(HttpApiServerTest, ABlockingQueryIsAnsweredWhenItsAnswerChangesAndNotBefore) {
  Start();
  auto first = Get("/v1/kv/app/x");
  ASSERT_TRUE(Pump([&] { return first->Done(); }));
  EXPECT_EQ(first->status(), 404);
  const uint64_t index = first->index();
  EXPECT_GE(index, 1000u) << "the index starts at the wall clock given";
  EXPECT_EQ(first->Header("X-Consul-KnownLeader"), "true");

  auto held = Get("/v1/kv/app/x?index=" + std::to_string(index) + "&wait=30s");
  PumpFor(50ms);
  EXPECT_FALSE(held->Done());
  EXPECT_EQ(api_->held(), 1u);

  // A change elsewhere moves the node's index but not this answer's.
  Write("/other", "1");
  PumpFor(50ms);
  EXPECT_FALSE(held->Done()) << "answered although its answer did not change";

  Write("/app/x", "hello");
  ASSERT_TRUE(Pump([&] { return held->Done(); }));
  EXPECT_EQ(held->status(), 200);
  EXPECT_GT(held->index(), index);
  EXPECT_NE(held->body().find("aGVsbG8="), std::string::npos) << held->body();  // base64 of hello
  EXPECT_EQ(api_->held(), 0u);
  EXPECT_EQ(api_->counters().held_answered_change, 1u);

  // The same query again gets the index it was just given.
  auto again = Get("/v1/kv/app/x");
  ASSERT_TRUE(Pump([&] { return again->Done(); }));
  EXPECT_EQ(again->index(), held->index());
}

// An index the node never gave (from before a restart, or made up) is
// answered at once, so a client never waits on a number that cannot come.
TEST_F(HttpApiServerTest, AnIndexInTheFutureOrPastIsAnsweredAtOnce) {
  Start();
  auto first = Get("/v1/catalog/services");
  ASSERT_TRUE(Pump([&] { return first->Done(); }));
  for (uint64_t asked : {first->index() + 1000, first->index() - 1}) {
    auto c = Get("/v1/catalog/services?index=" + std::to_string(asked) + "&wait=1h");
    ASSERT_TRUE(Pump([&] { return c->Done(); }, 2s)) << asked;
    EXPECT_EQ(c->status(), 200);
    EXPECT_EQ(c->index(), first->index());
  }
}

TEST_F(HttpApiServerTest, TheWaitEndsWithTheSameAnswer) {
  Start();
  auto first = Get("/v1/catalog/services");
  ASSERT_TRUE(Pump([&] { return first->Done(); }));
  auto held = Get("/v1/catalog/services?index=" + std::to_string(first->index()) + "&wait=100ms");
  ASSERT_TRUE(Pump([&] { return held->Done(); }));
  EXPECT_EQ(held->status(), 200);
  EXPECT_EQ(held->index(), first->index());
  EXPECT_EQ(api_->counters().held_answered_wait, 1u);
}

TEST_F(HttpApiServerTest, AClientThatLeavesIsForgotten) {
  Start();
  auto first = Get("/v1/kv/k");
  ASSERT_TRUE(Pump([&] { return first->Done(); }));
  auto held = Get("/v1/kv/k?index=" + std::to_string(first->index()));
  ASSERT_TRUE(Pump([&] { return api_->held() == 1; }));
  held->Close();
  ASSERT_TRUE(Pump([&] { return api_->held() == 0; }));
  EXPECT_EQ(api_->counters().held_gone, 1u);
  Write("/k", "v");  // nothing left to answer, nothing breaks
  PumpFor(20ms);
}

TEST_F(HttpApiServerTest, HeldQueriesAreBoundedPerClient) {
  HttpApiOptions o;
  o.max_held_per_client = 2;
  Start(o);
  auto first = Get("/v1/kv/k");
  ASSERT_TRUE(Pump([&] { return first->Done(); }));
  const std::string target = "/v1/kv/k?index=" + std::to_string(first->index());
  auto a = Get(target), b = Get(target);
  ASSERT_TRUE(Pump([&] { return api_->held() == 2; }));
  auto c = Get(target);
  ASSERT_TRUE(Pump([&] { return c->Done(); }));
  EXPECT_EQ(c->status(), 429);
  EXPECT_EQ(api_->counters().held_refused, 1u);
}

TEST_F(HttpApiServerTest, WritesNeedTheTokenWhenOneIsSet) {
  HttpApiOptions o;
  o.token = "0123456789abcdef-secret";
  Start(o);
  const auto put = [&](const std::string& target, const std::string& headers) {
    Client c(api_->local_address());
    c.Send("PUT", target, "v", headers);
    EXPECT_TRUE(Pump([&] { return c.Done(); }));
    return c.status();
  };
  EXPECT_EQ(put("/v1/kv/a", ""), 403);
  EXPECT_EQ(put("/v1/kv/a", "X-Consul-Token: wrong-token-of-some-length\r\n"), 403);
  EXPECT_FALSE(backend_.store().Stat("/a").ok());
  EXPECT_EQ(put("/v1/kv/a", "X-Consul-Token: 0123456789abcdef-secret\r\n"), 200);
  EXPECT_EQ(put("/v1/kv/b", "Authorization: Bearer 0123456789abcdef-secret\r\n"), 200);
  EXPECT_EQ(put("/v1/kv/c?token=0123456789abcdef-secret", ""), 200);
  EXPECT_EQ(api_->counters().unauthorized, 2u);
  // Reads on loopback stay open.
  auto r = Get("/v1/kv/a");
  ASSERT_TRUE(Pump([&] { return r->Done(); }));
  EXPECT_EQ(r->status(), 200);
}

TEST_F(HttpApiServerTest, BadRequestsGetAnErrorAndTheServerGoesOn) {
  Start();
  const auto status = [&](const std::string& method, const std::string& target, const std::string& body,
                          const std::string& headers = "") {
    Client c(api_->local_address());
    c.Send(method, target, body, headers);
    EXPECT_TRUE(Pump([&] { return c.Done(); })) << target.substr(0, 60);
    return c.status();
  };
  EXPECT_EQ(status("GET", "/v1/kv/" + std::string(9000, 'a'), ""), 414);
  EXPECT_EQ(status("GET", "/v1/kv/%zz", ""), 400);
  EXPECT_EQ(status("GET", "/v1/kv/a?index=x", ""), 400);
  EXPECT_EQ(status("GET", "/v1/catalog/services?index=abc", ""), 400);
  EXPECT_EQ(status("GET", "/v1/catalog/services?index=1&wait=forever", ""), 200) << "index 1 is not the answer's";
  EXPECT_EQ(status("PUT", "/v1/kv/big", std::string(2 * 1024 * 1024, 'x')), 413);
  EXPECT_EQ(status("PUT", "/v1/kv/a", "x", "Origin: http://evil.example\r\n"), 403);
  EXPECT_EQ(status("GET", "/v1/agent/service/deregister/x", "", "Sec-Fetch-Site: cross-site\r\n"), 403);
  EXPECT_EQ(status("GET", "/ui/nothing.js", ""), 404);
  EXPECT_EQ(status("PUT", "/ui/console.js", "x"), 405);
  EXPECT_EQ(status("GET", "/v1/status/leader", ""), 200);
}

// The console's files come from the binary, with a policy that lets a
// browser run nothing else.
TEST_F(HttpApiServerTest, TheConsoleIsServedFromTheBinary) {
  Start();
  auto page = Get("/ui/");
  ASSERT_TRUE(Pump([&] { return page->Done(); }));
  EXPECT_EQ(page->status(), 200);
  EXPECT_EQ(page->Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->Header("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(page->Header("X-Content-Type-Options"), "nosniff");
  EXPECT_NE(page->body().find("/ui/console.js"), std::string::npos);
  auto js = Get("/ui/console.js");
  ASSERT_TRUE(Pump([&] { return js->Done(); }));
  EXPECT_EQ(js->Header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_NE(js->body().find("textContent"), std::string::npos);
  auto root = Get("/");
  ASSERT_TRUE(Pump([&] { return root->Done(); }));
  EXPECT_EQ(root->status(), 302);
  EXPECT_EQ(root->Header("Location"), "/ui/");
}

TEST(HttpRequestTargetTest, DecodesPathAndQuery) {
  HttpRequest r;
  ASSERT_TRUE(ParseRequestTarget("/v1/kv/a%20b?raw&tag=x&tag=y+z&dc=", &r).ok());
  EXPECT_EQ(r.path, "/v1/kv/a b");
  EXPECT_TRUE(r.Has("raw"));
  EXPECT_EQ(r.query.count("tag"), 2u);
  EXPECT_EQ(r.Get("dc"), "");
  auto [lo, hi] = r.query.equal_range("tag");
  EXPECT_EQ(std::next(lo)->second, "y z");
  EXPECT_FALSE(ParseRequestTarget("/v1/kv/%4", &r).ok());
  EXPECT_FALSE(ParseRequestTarget("/v1/kv/a?x=%G0", &r).ok());
  std::string many = "/v1/x?";
  for (int i = 0; i < 65; ++i) many += "a=1&";
  EXPECT_FALSE(ParseRequestTarget(many, &r).ok());
  ASSERT_TRUE(ParseRequestTarget("/v1/kv/a%00b", &r).ok());
  EXPECT_EQ(r.path.size(), 10u) << "a NUL survives decoding, for the router to refuse";
}

}  // namespace
}  // namespace basefs
