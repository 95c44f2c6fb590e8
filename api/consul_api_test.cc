#include "api/consul_api.h"

#include <gtest/gtest.h>

#include "api/fake_backend.h"

namespace basefs {
namespace {

using json = nlohmann::json;

using testing::FakeBackend;

class ConsulApiTest : public ::testing::Test {
 protected:
  HttpResponse Call(const std::string& method, const std::string& path,
                    std::multimap<std::string, std::string> query = {}, const std::string& body = "") {
    HttpRequest req{method, path, std::move(query), body};
    return HandleConsulRequest(req, b_);
  }
  json Get(const std::string& path, std::multimap<std::string, std::string> query = {}) {
    HttpResponse r = Call("GET", path, std::move(query));
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return json::parse(r.body);
  }
  void Register(const std::string& body) {
    HttpResponse r = Call("PUT", "/v1/agent/service/register", {}, body);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  FakeBackend b_;
};

// What python-consul sends: lowercase field names, as Go decodes them.
TEST_F(ConsulApiTest, RegisterWritesTheServiceFileThatPublishWrites) {
  Register(R"({"name": "web", "id": "web-1", "port": 8080, "tags": ["primary", "V2"],
               "meta": {"version": "1.2"}, "check": {"http": "http://127.0.0.1:8080/health", "interval": "5s"}})");
  auto text = b_.store_->ReadFile("/services/web/web-1");
  ASSERT_TRUE(text.ok()) << text.status().message();
  auto s = ParseServiceFile(*text);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->port, 8080);
  EXPECT_EQ(s->tags, (std::vector<std::string>{"primary", "v2"}));
  EXPECT_EQ(s->txt, (std::vector<std::pair<std::string, std::string>>{{"version", "1.2"}}));
  EXPECT_EQ(s->check.kind, HealthCheck::Kind::kHttp);
  EXPECT_EQ(s->check.interval_ms, 5000u);

  json services = Get("/v1/agent/services");
  ASSERT_TRUE(services.contains("web-1"));
  EXPECT_EQ(services["web-1"]["Service"], "web");
  EXPECT_EQ(services["web-1"]["Port"], 8080);
  EXPECT_EQ(services["web-1"]["Meta"]["version"], "1.2");
  EXPECT_EQ(services["web-1"]["Datacenter"], "prod");

  json catalog = Get("/v1/catalog/service/web");
  ASSERT_EQ(catalog.size(), 1u);
  EXPECT_EQ(catalog[0]["Node"], "n1");
  EXPECT_EQ(catalog[0]["Address"], "10.0.0.1");
  EXPECT_EQ(catalog[0]["ServiceID"], "web-1");
  EXPECT_EQ(catalog[0]["ServiceAddress"], "");
  EXPECT_EQ(catalog[0]["ServiceTags"], json::array({"primary", "v2"}));

  EXPECT_EQ(Get("/v1/catalog/services"), json::parse(R"({"web": ["primary", "v2"]})"));

  HttpResponse dereg = Call("PUT", "/v1/agent/service/deregister/web-1");
  ASSERT_EQ(dereg.status, 200) << dereg.body;
  EXPECT_FALSE(b_.store_->ReadFile("/services/web/web-1").ok());
  EXPECT_EQ(Call("PUT", "/v1/agent/service/deregister/web-1").status, 404);
}

TEST_F(ConsulApiTest, HealthFollowsNodesAndChecks) {
  Register(R"({"Name": "db", "ID": "db-1", "Port": 5432, "Check": {"TTL": "10s"}})");
  Register(R"({"Name": "db", "ID": "db-2", "Port": 5432, "Tags": ["replica"]})");
  // A TTL check starts critical: only db-2 passes.
  json passing = Get("/v1/health/service/db", {{"passing", "1"}});
  ASSERT_EQ(passing.size(), 1u);
  EXPECT_EQ(passing[0]["Service"]["ID"], "db-2");
  EXPECT_EQ(passing[0]["Checks"][0]["CheckID"], "serfHealth");
  EXPECT_EQ(passing[0]["Node"]["Node"], "n1");

  json all = Get("/v1/health/service/db");
  ASSERT_EQ(all.size(), 2u);
  ASSERT_EQ(all[0]["Checks"].size(), 2u);
  EXPECT_EQ(all[0]["Checks"][1]["CheckID"], "service:db-1");
  EXPECT_EQ(all[0]["Checks"][1]["Type"], "ttl");

  // The service reports through its TTL check.
  ASSERT_EQ(Call("PUT", "/v1/agent/check/pass/service:db-1", {{"note", "all good"}}).status, 200);
  EXPECT_EQ(Get("/v1/health/service/db", {{"passing", "1"}}).size(), 2u);
  EXPECT_EQ(Get("/v1/agent/checks")["service:db-1"]["Output"], "all good");
  ASSERT_EQ(Call("PUT", "/v1/agent/check/warn/service:db-1").status, 200);
  EXPECT_EQ(Get("/v1/health/state/warning").size(), 1u);
  EXPECT_EQ(Call("PUT", "/v1/agent/check/pass/service:db-2").status, 404) << "db-2 has no TTL check";
  EXPECT_EQ(Call("PUT", "/v1/agent/check/pass/nonsense").status, 404);

  // ?tag= and a filter.
  EXPECT_EQ(Get("/v1/health/service/db", {{"tag", "replica"}}).size(), 1u);
  json filtered = Get("/v1/catalog/service/db", {{"filter", "ServiceTags contains \"replica\""}});
  ASSERT_EQ(filtered.size(), 1u);
  EXPECT_EQ(filtered[0]["ServiceID"], "db-2");

  // The owning node fails: nothing passes, the serfHealth check says why.
  b_.members_[0].state = "failed";
  EXPECT_EQ(Get("/v1/health/service/db", {{"passing", "1"}}).size(), 0u);
  json node_checks = Get("/v1/health/node/n1");
  ASSERT_FALSE(node_checks.empty());
  EXPECT_EQ(node_checks[0]["Status"], "critical");
}

// A remote node's failing checks come from its gossip meta.
TEST_F(ConsulApiTest, RemoteHealthComesFromTheOwnersReport) {
  Register(R"({"Name": "api", "ID": "api-2", "Port": 80, "Check": {"TCP": "127.0.0.1:80", "Interval": "10s"}})");
  // Written by n1's key but naming n2 as its owner.
  auto text = b_.store_->ReadFile("/services/api/api-2");
  ASSERT_TRUE(b_.WriteFile("/services/api/api-2", "node = \"n2\"\n" + *text).ok());
  EXPECT_EQ(Get("/v1/health/service/api", {{"passing", "1"}}).size(), 1u);
  b_.members_[1].failing.insert(InstanceId("api", "api-2"));
  EXPECT_EQ(Get("/v1/health/service/api", {{"passing", "1"}}).size(), 0u);
  json checks = Get("/v1/health/checks/api");
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0]["Status"], "critical");
  EXPECT_EQ(checks[0]["Node"], "n2");
}

TEST_F(ConsulApiTest, KvIsTheTree) {
  EXPECT_EQ(Call("PUT", "/v1/kv/app/config/db", {}, "host=db1").body, "true");
  auto content = b_.store_->ReadFile("/app/config/db");
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(*content, "host=db1");

  json got = Get("/v1/kv/app/config/db");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["Key"], "app/config/db");
  EXPECT_EQ(got[0]["Value"], "aG9zdD1kYjE=");  // base64 of host=db1
  const uint64_t modify = got[0]["ModifyIndex"];

  HttpResponse raw = Call("GET", "/v1/kv/app/config/db", {{"raw", ""}});
  EXPECT_EQ(raw.body, "host=db1");
  EXPECT_TRUE(raw.blocking);

  // cas: a stale index loses, the current one wins, 0 only creates.
  EXPECT_EQ(Call("PUT", "/v1/kv/app/config/db", {{"cas", std::to_string(modify + 1000)}}, "x").body, "false");
  EXPECT_EQ(Call("PUT", "/v1/kv/app/config/db", {{"cas", "0"}}, "x").body, "false");
  EXPECT_EQ(Call("PUT", "/v1/kv/app/config/db", {{"cas", std::to_string(modify)}}, "host=db2").body, "true");
  EXPECT_EQ(Call("PUT", "/v1/kv/app/config/new", {{"cas", "0"}}, "1").body, "true");
  EXPECT_EQ(Call("PUT", "/v1/kv/app/flags", {}, "on").body, "true");

  json keys = Get("/v1/kv/app/", {{"keys", ""}});
  EXPECT_EQ(keys, json::parse(R"(["app/config/", "app/config/db", "app/config/new", "app/flags"])"));
  json rolled = Get("/v1/kv/app/", {{"keys", ""}, {"separator", "/"}});
  EXPECT_EQ(rolled, json::parse(R"(["app/config/", "app/flags"])"));
  json recurse = Get("/v1/kv/app/config", {{"recurse", ""}});
  ASSERT_EQ(recurse.size(), 3u);
  EXPECT_EQ(recurse[0]["Key"], "app/config/");
  EXPECT_TRUE(recurse[0]["Value"].is_null());
  EXPECT_EQ(recurse[1]["Key"], "app/config/db");

  HttpResponse missing = Call("GET", "/v1/kv/app/nothing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(missing.blocking) << "a 404 carries X-Consul-Index too (clients block on it)";

  // A key cannot also be a folder in a tree.
  EXPECT_EQ(Call("PUT", "/v1/kv/app/flags/x", {}, "1").status, 409);

  EXPECT_EQ(Call("DELETE", "/v1/kv/app/config", {{"recurse", ""}}).body, "true");
  EXPECT_FALSE(b_.store_->Stat("/app/config").ok());
  EXPECT_TRUE(b_.store_->Stat("/app/flags").ok());
  EXPECT_EQ(Call("DELETE", "/v1/kv/app/flags").body, "true");
  EXPECT_FALSE(b_.store_->Stat("/app/flags").ok());
}

// Bad input: a 4xx with a one-line JSON error, nothing written.
TEST_F(ConsulApiTest, BadInputIsRefusedAndChangesNothing) {
  const size_t entries = b_.store_->view().entry_count();
  struct Case {
    std::string method, path, body;
    std::multimap<std::string, std::string> query;
    int status;
  };
  const std::vector<Case> cases = {
      {"PUT", "/v1/agent/service/register", "{not json", {}, 400},
      {"PUT", "/v1/agent/service/register", "[1, 2]", {}, 400},
      {"PUT", "/v1/agent/service/register", R"({"Name": "web", "Port": "80"})", {}, 400},
      {"PUT", "/v1/agent/service/register", R"({"Name": "web", "Port": 70000})", {}, 400},
      {"PUT", "/v1/agent/service/register", R"({"Name": "web", "Port": -1})", {}, 400},
      {"PUT", "/v1/agent/service/register", R"({"Name": "web_api", "Port": 80})", {}, 400},
      {"PUT", "/v1/agent/service/register", R"({"Name": "web", "Port": 80, "Address": "db.internal"})", {}, 400},
      {"PUT", "/v1/agent/service/register", R"({"Name": "web", "Port": 80, "Tags": ["traefik.enable=true"]})", {}, 400},
      {"PUT",
       "/v1/agent/service/register",
       R"({"Name": "web", "Port": 80, "Check": {"Args": ["/bin/true"]}})",
       {},
       400},
      {"PUT", "/v1/agent/service/register", R"({"Port": 80})", {}, 400},
      {"PUT", "/v1/kv/../etc/passwd", "x", {}, 400},
      {"PUT", "/v1/kv/a//b", "x", {}, 400},
      {"PUT", "/v1/kv/a/./b", "x", {}, 400},
      {"PUT", std::string("/v1/kv/a\0b", 10), "x", {}, 400},
      {"PUT", "/v1/kv/.basefs/members", "x", {}, 400},
      {"PUT", "/v1/kv/", "x", {}, 400},
      {"PUT", "/v1/kv/big", std::string(kMaxKvValueBytes + 1, 'x'), {}, 413},
      {"PUT", "/v1/kv/k", "x", {{"flags", "42"}}, 400},
      {"PUT", "/v1/kv/k", "x", {{"acquire", "some-session"}}, 400},
      {"PUT", "/v1/kv/k", "x", {{"cas", "-1"}}, 400},
      {"DELETE", "/v1/kv/", "", {{"recurse", ""}}, 400},
      {"GET", "/v1/catalog/services", "", {{"dc", "elsewhere"}}, 500},
      {"GET", "/v1/catalog/services", "", {{"ns", "team-a"}}, 400},
      {"GET", "/v1/catalog/service/web", "", {{"filter", "ServiceTags contains"}}, 400},
      {"GET", "/v1/catalog/service/web", "", {{"filter", "Service matches \"a.*\""}}, 400},
      {"GET", "/v1/health/state/sideways", "", {}, 400},
      {"GET", "/v1/session/list", "", {}, 501},
      {"GET", "/v1/no/such/thing", "", {}, 404},
      {"GET", "/v2/kv/x", "", {}, 404},
      {"DELETE", "/v1/catalog/services", "", {}, 405},
      {"GET", "/v1/agent/service/register", "", {}, 405},
      {"GET", "/v1/agent/metrics", "", {}, 400},
  };
  for (const auto& c : cases) {
    HttpRequest req{c.method, c.path, c.query, c.body};
    HttpResponse r = HandleConsulRequest(req, b_);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.path << " " << c.body.substr(0, 80) << " -> " << r.body;
    json err = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(err.is_discarded()) << r.body;
    EXPECT_TRUE(err.contains("error")) << r.body;
    EXPECT_EQ(r.body.find('\n'), r.body.size() - 1) << "one line: " << r.body;
  }
  EXPECT_EQ(b_.store_->view().entry_count(), entries) << "a refused request wrote something";
}

// python3-consul deregisters and reports TTL checks with GET, as Consul
// before 1.0 took; a browser sent by another site may not.
TEST_F(ConsulApiTest, LegacyGetWritesButNeverCrossSite) {
  Register(R"({"Name": "job", "ID": "job-1", "Port": 9, "Check": {"TTL": "5s"}})");
  HttpRequest pass{"GET", "/v1/agent/check/pass/service:job-1", {}, ""};
  pass.cross_site = true;
  EXPECT_EQ(HandleConsulRequest(pass, b_).status, 403);
  pass.cross_site = false;
  EXPECT_EQ(HandleConsulRequest(pass, b_).status, 200);
  HttpRequest dereg{"GET", "/v1/agent/service/deregister/job-1", {}, ""};
  dereg.cross_site = true;
  EXPECT_EQ(HandleConsulRequest(dereg, b_).status, 403);
  EXPECT_TRUE(b_.store_->Stat("/services/job/job-1").ok());
  HttpRequest put{"PUT", "/v1/kv/x", {}, "1"};
  put.cross_site = true;
  EXPECT_EQ(HandleConsulRequest(put, b_).status, 403);
  EXPECT_FALSE(b_.store_->Stat("/x").ok());
  dereg.cross_site = false;
  EXPECT_EQ(HandleConsulRequest(dereg, b_).status, 200);
  EXPECT_FALSE(b_.store_->Stat("/services/job/job-1").ok());
  // A cross-site read is still a read.
  HttpRequest read{"GET", "/v1/catalog/services", {}, ""};
  read.cross_site = true;
  EXPECT_EQ(HandleConsulRequest(read, b_).status, 200);
}

TEST_F(ConsulApiTest, AgentAndStatus) {
  json self = Get("/v1/agent/self");
  EXPECT_EQ(self["Config"]["Datacenter"], "prod");
  EXPECT_EQ(self["Config"]["NodeName"], "n1");
  EXPECT_EQ(self["Member"]["Name"], "n1");
  EXPECT_EQ(Get("/v1/status/leader"), "10.0.0.1:7400");
  EXPECT_EQ(Get("/v1/status/peers").size(), 2u);
  EXPECT_EQ(Get("/v1/catalog/datacenters"), json::array({"prod"}));
  json members = Get("/v1/agent/members");
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0]["Status"], 1);
  EXPECT_EQ(members[0]["Port"], 7400);
  json nodes = Get("/v1/catalog/nodes");
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[1]["Node"], "n2");
  EXPECT_EQ(nodes[1]["Address"], "10.0.0.2");
  EXPECT_EQ(nodes[0]["ID"].get<std::string>().size(), 36u);
  EXPECT_TRUE(Get("/v1/catalog/node/nobody").is_null());
  EXPECT_EQ(Call("GET", "/v1/agent/metrics", {{"format", "prometheus"}}).body, "basefs_up 1\n");
}

// The console's data: the tree, a file's signed history with the grant
// that allowed each entry, and a name that holds markup kept as data.
TEST_F(ConsulApiTest, ConsoleShowsTheTreeAndEachFilesHistory) {
  ASSERT_TRUE(b_.Mkdir("/etc").ok());
  ASSERT_TRUE(b_.WriteFile("/etc/app.conf", "a=1\n").ok());
  ASSERT_TRUE(b_.WriteFile("/etc/app.conf", "a=2\n").ok());
  ASSERT_TRUE(b_.WriteFile("/etc/<script>alert(1)<", "x").ok());
  ASSERT_TRUE(b_.WriteFile("/etc/blob", std::string("\x00\xff\x01", 3)).ok());
  json tree = Get("/v1/internal/ui/tree", {{"path", "/etc"}});
  ASSERT_EQ(tree["entries"].size(), 3u);
  EXPECT_EQ(tree["entries"][0]["name"], "<script>alert(1)<");
  EXPECT_EQ(tree["entries"][1]["name"], "app.conf");
  EXPECT_EQ(tree["entries"][1]["revisions"], 2);

  json file = Get("/v1/internal/ui/file", {{"path", "/etc/app.conf"}});
  EXPECT_EQ(file["content"], "a=2\n");
  EXPECT_FALSE(file["binary"].get<bool>());
  ASSERT_EQ(file["history"].size(), 2u);
  EXPECT_EQ(file["history"][0]["author"], ToBase64(b_.key_.public_key));
  EXPECT_EQ(file["history"][0]["grant"], "/") << "the root key";
  EXPECT_TRUE(file["history"][0]["in_view"].get<bool>());
  const std::string older = file["history"][1]["hash"];
  json old = Get("/v1/internal/ui/file", {{"path", "/etc/app.conf"}, {"rev", older}});
  EXPECT_EQ(old["content"], "a=1\n");

  json blob = Get("/v1/internal/ui/file", {{"path", "/etc/blob"}});
  EXPECT_TRUE(blob["binary"].get<bool>());
  EXPECT_EQ(blob["content"], "");
  EXPECT_EQ(Call("GET", "/v1/internal/ui/file", {{"path", "/nothing"}}).status, 404);
  EXPECT_EQ(Call("GET", "/v1/internal/ui/file", {{"path", "/etc/app.conf"}, {"rev", "00"}}).status, 404);
  EXPECT_EQ(Call("PUT", "/v1/internal/ui/file", {{"path", "/etc/app.conf"}}, "x").status, 405);
  json members = Get("/v1/internal/ui/members");
  ASSERT_EQ(members.size(), 2u);
  EXPECT_TRUE(members[0]["self"].get<bool>());
  json grants = Get("/v1/internal/ui/grants");
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_TRUE(grants[0]["root"].get<bool>());
}

TEST(ConsulFilterTest, Expressions) {
  const nlohmann::ordered_json row = nlohmann::ordered_json::parse(
      R"({"Node": "n1", "ServiceTags": ["a", "b"], "ServiceMeta": {"version": "2"}, "ServicePort": 80})");
  const auto matches = [&](const std::string& expr) {
    auto f = Filter::Parse(expr);
    EXPECT_TRUE(f.ok()) << expr << ": " << f.status().message();
    return f.ok() && f->Matches(row);
  };
  EXPECT_TRUE(matches("Node == n1"));
  EXPECT_TRUE(matches("Node == \"n1\" and ServiceTags contains \"a\""));
  EXPECT_FALSE(matches("Node != `n1`"));
  EXPECT_TRUE(matches("\"b\" in ServiceTags"));
  EXPECT_TRUE(matches("\"c\" not in ServiceTags"));
  EXPECT_TRUE(matches("ServiceMeta.version == \"2\""));
  EXPECT_TRUE(matches("ServicePort == 80"));
  EXPECT_TRUE(matches("ServiceMeta.other is empty"));
  EXPECT_TRUE(matches("not (Node == n2 or ServiceTags is empty)"));
  EXPECT_FALSE(matches("ServiceTags not contains a"));
  for (const char* bad : {"", "Node ==", "(Node == n1", "Node = n1", "Node == n1 extra", "Node is full"})
    EXPECT_FALSE(Filter::Parse(bad).ok()) << bad;
  EXPECT_FALSE(Filter::Parse(std::string(200, '(') + "Node == a" + std::string(200, ')')).ok());
}

TEST(ConsulApiWaitTest, Durations) {
  EXPECT_EQ(*ParseWait("10s", 600000), 10000u);
  EXPECT_EQ(*ParseWait("150ms", 600000), 150u);
  EXPECT_EQ(*ParseWait("5m", 600000), 300000u);
  EXPECT_EQ(*ParseWait("8760h", 600000), 600000u) << "a year is cut to the maximum";
  EXPECT_EQ(*ParseWait("30", 600000), 30000u);
  EXPECT_FALSE(ParseWait("soon", 600000).ok());
  EXPECT_FALSE(ParseWait("10d", 600000).ok());
  EXPECT_FALSE(ParseWait("99999999999999999s", 600000).ok());
}

}  // namespace
}  // namespace basefs
