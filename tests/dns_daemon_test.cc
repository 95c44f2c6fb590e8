// Real `basefs run` daemons on 127.0.0.1 queried with real DNS clients
// (dig from Debian's dnsutils, named-checkzone from bind9-utils): a
// publish on one node is answered by another, liveness and health checks
// take instances out and back, AXFR gives a zone a standard tool accepts,
// forwarding and refusal, bad files, and hostile packets. Conditions are
// waited for with deadlines; nothing sleeps for a fixed time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/process_util.h"

namespace basefs {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::RunShell;

struct Node {
  pid_t pid = -1;
  std::string gossip, dns;  // ADDR:PORT
  std::string dns_port;
};

class DnsDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("basefs-dns-" + std::to_string(getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  void TearDown() override {
    for (auto& n : nodes_) testing::Stop(n.pid);
    std::filesystem::remove_all(root_);
  }

  std::string Dir(const std::string& n) const { return (root_ / n).string(); }
  testing::Output Cli(const std::string& n, const std::string& args) {
    return RunShell(std::string(BASEFS_BIN) + " --data-dir " + Dir(n) + " " + args);
  }

  Node& Start(const std::string& name, const std::string& fs, std::vector<std::string> extra) {
    std::vector<std::string> argv = {BASEFS_BIN,    "--data-dir", Dir(name),     "run",         fs,  "--bind",
                                     "127.0.0.1:0", "--dns",      "127.0.0.1:0", "--node-name", name};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const std::string log = Dir(name) + ".log";
    Node n;
    n.pid = testing::Spawn(argv, log);
    const std::regex re("at ([0-9.]+:[0-9]+) .*DNS on ([0-9.]+):([0-9]+)");
    EXPECT_TRUE(testing::WaitFor(
        [&] {
          std::smatch m;
          const std::string text = testing::Slurp(log);
          if (!std::regex_search(text, m, re)) return false;
          n.gossip = m[1];
          n.dns = std::string(m[2]) + ":" + std::string(m[3]);
          n.dns_port = m[3];
          return true;
        },
        15s))
        << testing::Slurp(log);
    nodes_.push_back(n);
    return nodes_.back();
  }

  // `dig +short` against a node's DNS server.
  static std::string Dig(const Node& n, const std::string& args) {
    return RunShell("dig +short +tries=1 +time=3 -p " + n.dns_port + " @127.0.0.1 " + args).out;
  }
  static std::string DigFull(const Node& n, const std::string& args) {
    return RunShell("dig +tries=1 +time=3 -p " + n.dns_port + " @127.0.0.1 " + args).out;
  }
  static bool Has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

  std::filesystem::path root_;
  std::vector<Node> nodes_;
};

TEST_F(DnsDaemonTest, PublishOnOneNodeIsAnsweredByAnotherAndLivenessFollowsMembership) {
  ASSERT_EQ(Cli("a", "bootstrap demo").code, 0);
  const std::string b_key = Cli("b", "genkey").out;
  ASSERT_FALSE(b_key.empty());
  ASSERT_EQ(Cli("a", "grant demo /services " + b_key).code, 0);
  Node a = Start("a", "demo", {});
  Node b = Start("b", "demo", {"--join", a.gossip});

  ASSERT_EQ(Cli("b", "publish demo web b1 --port 8080 --tag primary").code, 0);
  ASSERT_EQ(Cli("a", "publish demo web a1 --port 80 --address 192.0.2.1").code, 0);
  for (const Node* n : {&a, &b}) {
    EXPECT_TRUE(testing::WaitFor(
        [&] {
          const std::string srv = Dig(*n, "SRV web.service.basefs.");
          return Has(srv, "1 1 8080 b1.web.instance.basefs.") && Has(srv, "1 1 80 a1.web.instance.basefs.");
        },
        15s))
        << Dig(*n, "SRV web.service.basefs.");
  }
  // The instance without an address takes its node's advertised address.
  EXPECT_EQ(Dig(a, "A b1.web.instance.basefs."), "127.0.0.1\n");
  EXPECT_EQ(Dig(a, "A primary.web.service.basefs."), "127.0.0.1\n");
  // Over TCP too, and case-insensitively.
  EXPECT_TRUE(Has(Dig(a, "+tcp A WEB.Service.BASEFS."), "192.0.2.1"));
  // Node records from membership; NS lists both nodes.
  EXPECT_EQ(Dig(a, "A b.node.basefs."), "127.0.0.1\n");
  EXPECT_TRUE(Has(Dig(a, "NS basefs."), "b.node.basefs."));
  // Authoritative NXDOMAIN with the SOA.
  const std::string nx = DigFull(a, "A nope.service.basefs.");
  EXPECT_TRUE(Has(nx, "status: NXDOMAIN")) << nx;
  EXPECT_TRUE(Has(nx, "flags: qr aa")) << nx;
  EXPECT_TRUE(Has(nx, "IN\tSOA")) << nx;

  // b leaves: its instance drops out of a's answers; a's own stays.
  testing::Stop(b.pid);
  nodes_[1].pid = -1;
  EXPECT_TRUE(testing::WaitFor([&] { return !Has(Dig(a, "SRV web.service.basefs."), "b1."); }, 15s));
  EXPECT_TRUE(Has(Dig(a, "SRV web.service.basefs."), "a1.web.instance.basefs."));
}

// Rebuilds run on a worker thread, one at a time: a change that arrives
// while one runs is served by the next (it is not lost).
TEST_F(DnsDaemonTest, AChangeArrivingDuringARebuildIsServed) {
  ASSERT_EQ(Cli("a", "bootstrap demo").code, 0);
  // Long enough to publish into, also under sanitizers on a loaded
  // machine (a `basefs` process there takes a few hundred ms).
  ::setenv("BASEFS_TEST_DNS_BUILD_MS", "3000", 1);
  Node a = Start("a", "demo", {});
  ::unsetenv("BASEFS_TEST_DNS_BUILD_MS");
  // (rebuilding, rebuilds done)
  const auto rebuild = [&] {
    const json d = json::parse(Cli("a", "status demo --json").out)["dns_server"];
    return std::make_pair(d["rebuilding"].get<bool>(), d["rebuilds"].get<int>());
  };
  ASSERT_EQ(Cli("a", "publish demo first i --port 1 --address 192.0.2.1").code, 0);
  std::pair<bool, int> during;
  ASSERT_TRUE(testing::WaitFor([&] { return (during = rebuild()).first; }, 15s));
  ASSERT_EQ(Cli("a", "publish demo second i --port 2 --address 192.0.2.2").code, 0);
  // The same rebuild still runs (it lasts 3 s: the publish takes a few ms).
  const bool landed_during = rebuild() == during;
  EXPECT_TRUE(testing::WaitFor([&] { return Dig(a, "A second.service.basefs.") == "192.0.2.2\n"; }, 15s))
      << Dig(a, "A second.service.basefs.");
  EXPECT_EQ(Dig(a, "A first.service.basefs."), "192.0.2.1\n");
  EXPECT_TRUE(landed_during) << "the second publish did not land in a rebuild: the test proved nothing";
}

TEST_F(DnsDaemonTest, AxfrGivesAZoneThatNamedCheckzoneAccepts) {
  ASSERT_EQ(Cli("a", "bootstrap demo").code, 0);
  Node a = Start("a", "demo", {});
  ASSERT_EQ(Cli("a", "publish demo web w1 --port 80 --address 192.0.2.1 --txt path=/api").code, 0);
  ASSERT_EQ(Cli("a", "publish demo db d1 --port 5432 --address 2001:db8::5 --protocol tcp").code, 0);
  ASSERT_EQ(Cli("a", "mkdir -p demo /zones/example.org").code, 0);
  ASSERT_EQ(RunShell("printf 'MX 10 mail.example.org.\\n' | " + std::string(BASEFS_BIN) + " --data-dir " + Dir("a") +
                     " write demo /zones/example.org/@")
                .code,
            0);
  ASSERT_EQ(RunShell("printf 'A 192.0.2.25\\n' | " + std::string(BASEFS_BIN) + " --data-dir " + Dir("a") +
                     " write demo /zones/example.org/mail")
                .code,
            0);
  ASSERT_TRUE(testing::WaitFor([&] { return Has(Dig(a, "A mail.example.org."), "192.0.2.25"); }, 10s));
  for (const std::string zone : {"basefs.", "example.org."}) {
    const std::string file = (root_ / (zone + "zone")).string();
    const auto axfr = RunShell("dig +nocmd +nostats +nocomments -p " + a.dns_port + " @127.0.0.1 AXFR " + zone + " > " +
                               file + " && wc -l < " + file);
    ASSERT_EQ(axfr.code, 0);
    EXPECT_GT(std::stoi(axfr.out), 4) << zone;
    const auto check = RunShell("named-checkzone -i local " + zone + " " + file);
    EXPECT_EQ(check.code, 0) << zone << ":\n" << check.out << testing::Slurp(file);
    // IXFR is answered with the whole zone, its question echoed (dig checks).
    const auto ixfr =
        RunShell("dig +nocmd +nostats +nocomments -p " + a.dns_port + " @127.0.0.1 " + zone + " IXFR=1 2>&1");
    EXPECT_EQ(ixfr.code, 0) << ixfr.out;
    EXPECT_FALSE(Has(ixfr.out, "mismatch")) << ixfr.out;
    EXPECT_GT(std::count(ixfr.out.begin(), ixfr.out.end(), '\n'), 4) << ixfr.out;
  }
  // The serial rises when the zone changes.
  auto serial = [&] { return Dig(a, "SOA basefs."); };
  const std::string before = serial();
  ASSERT_EQ(Cli("a", "unpublish demo db d1").code, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return serial() != before; }, 10s));
  const auto field = [](const std::string& soa) {
    return std::stoul(soa.substr(soa.find(". ", soa.find(". ") + 2) + 2));
  };
  EXPECT_GT(field(serial()), field(before));
}

TEST_F(DnsDaemonTest, FailingHealthCheckHidesTheInstanceUntilItPassesAgain) {
  ASSERT_EQ(Cli("a", "bootstrap demo").code, 0);
  Node a = Start("a", "demo", {});
  // A listening socket for the check, on a port the kernel picks.
  auto listen_on = [](uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || ::listen(fd, 16) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  };
  int fd = listen_on(0);
  ASSERT_GE(fd, 0);
  sockaddr_in bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  const uint16_t port = ntohs(bound.sin_port);
  ASSERT_EQ(Cli("a", "publish demo api x --port 9000 --address 192.0.2.9 --check-tcp 127.0.0.1:" +
                         std::to_string(port) + " --check-interval 1s --check-timeout 500ms")
                .code,
            0);
  ASSERT_EQ(Cli("a", "publish demo api y --port 9001 --address 192.0.2.10").code, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return Has(Dig(a, "A api.service.basefs."), "192.0.2.9"); }, 10s));
  ::close(fd);  // the service goes down
  EXPECT_TRUE(testing::WaitFor([&] { return !Has(Dig(a, "A api.service.basefs."), "192.0.2.9"); }, 10s));
  EXPECT_TRUE(Has(Dig(a, "A api.service.basefs."), "192.0.2.10"));
  fd = listen_on(port);  // and comes back
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return Has(Dig(a, "A api.service.basefs."), "192.0.2.9"); }, 10s));
  ::close(fd);
}

// A check script runs a command on the node: only the node's own key may
// ask for one. A team key granted /services/web may name node "a" as the
// owner of its instance (served, tcp/http checks run), but not run a script.
TEST_F(DnsDaemonTest, CheckScriptsRunOnlyWhenTheNodesOwnKeyWroteThem) {
  ASSERT_EQ(Cli("a", "bootstrap demo").code, 0);
  const std::string team = Cli("t", "genkey").out;
  ASSERT_EQ(Cli("a", "grant demo /services/web " + team).code, 0);
  Node a = Start("a", "demo", {});
  const std::string theirs = (root_ / "team-script-ran").string(), ours = (root_ / "own-script-ran").string();
  ASSERT_EQ(Cli("a", "--key " + Dir("t") +
                         "/key publish demo web evil --port 80 --address 192.0.2.66 --node a "
                         "--check-script 'touch " +
                         theirs + "' --check-interval 1s --check-timeout 500ms")
                .code,
            0);
  ASSERT_EQ(Cli("a", "publish demo web own --port 81 --address 192.0.2.67 --check-script 'touch " + ours +
                         "' --check-interval 1s --check-timeout 500ms")
                .code,
            0);
  EXPECT_TRUE(testing::WaitFor([&] { return std::filesystem::exists(ours); }, 10s));
  EXPECT_TRUE(testing::WaitFor(
      [&] { return Has(testing::Slurp(Dir("a") + ".log"), "not running the check script of /services/web/evil"); },
      10s));
  EXPECT_FALSE(std::filesystem::exists(theirs));
  EXPECT_TRUE(Has(Dig(a, "A web.service.basefs."), "192.0.2.66"));
}

TEST_F(DnsDaemonTest, ForwardsOtherNamesRefusesWithoutRecursionAndServfailsWhenUpstreamIsDown) {
  ASSERT_EQ(Cli("c", "bootstrap other --domain other.").code, 0);
  Node c = Start("c", "other", {"--no-recursion"});
  ASSERT_EQ(Cli("c", "publish other mail m1 --port 25 --address 192.0.2.77").code, 0);
  ASSERT_TRUE(testing::WaitFor([&] { return Has(Dig(c, "A mail.service.other."), "192.0.2.77"); }, 10s));
  EXPECT_TRUE(Has(DigFull(c, "A www.example.com."), "status: REFUSED"));

  ASSERT_EQ(Cli("a", "bootstrap demo").code, 0);
  Node a = Start("a", "demo", {"--recursor", c.dns});
  EXPECT_EQ(Dig(a, "A mail.service.other."), "192.0.2.77\n");
  const std::string fwd = DigFull(a, "A mail.service.other.");
  EXPECT_FALSE(Has(fwd, " aa")) << fwd;  // not our zone: not authoritative
  EXPECT_TRUE(Has(DigFull(a, "A nope.service.other."), "status: NXDOMAIN"));
  const json st = json::parse(Cli("a", "status demo --json").out);
  EXPECT_GE(st["dns_server"]["forward_cache_hits"].get<int>(), 1) << st.dump();

  testing::Stop(c.pid);
  nodes_[0].pid = -1;
  EXPECT_TRUE(Has(DigFull(a, "A other-name.service.other."), "status: SERVFAIL"));
}

// Never an open resolver: a client outside --recursion-allow gets REFUSED
// and no upstream query is sent for it (the upstream here is another node,
// whose query count says so); an allowed one is forwarded and sees RA.
// Replies answer DNS Cookies (dig checks the client half).
TEST_F(DnsDaemonTest, OnlyClientsInRecursionAllowAreForwarded) {
  ASSERT_EQ(Cli("c", "bootstrap other --domain other.").code, 0);
  Node c = Start("c", "other", {"--no-recursion"});
  ASSERT_EQ(Cli("c", "publish other mail m1 --port 25 --address 192.0.2.77").code, 0);
  ASSERT_TRUE(testing::WaitFor([&] { return Has(Dig(c, "A mail.service.other."), "192.0.2.77"); }, 10s));
  ASSERT_EQ(Cli("a", "bootstrap demo").code, 0);
  Node a = Start("a", "demo", {"--recursor", c.dns, "--recursion-allow", "127.0.0.2/32", "::2/128"});
  const auto upstream_queries = [&] {
    return json::parse(Cli("c", "status other --json").out)["dns_server"]["udp_queries"].get<int>();
  };
  const int before = upstream_queries();
  const std::string refused = DigFull(a, "-b 127.0.0.1 A mail.service.other.");
  EXPECT_TRUE(Has(refused, "status: REFUSED")) << refused;
  EXPECT_FALSE(Has(refused, " ra")) << refused;
  const json st = json::parse(Cli("a", "status demo --json").out);
  EXPECT_EQ(st["dns_server"]["recursion_refused"].get<int>(), 1) << st.dump();
  EXPECT_EQ(st["dns_server"]["forwarded"].get<int>(), 0) << st.dump();
  EXPECT_EQ(upstream_queries(), before);

  const std::string allowed = DigFull(a, "-b 127.0.0.2 A mail.service.other.");
  EXPECT_TRUE(Has(allowed, "192.0.2.77")) << allowed;
  EXPECT_TRUE(Has(allowed, " ra")) << allowed;
  EXPECT_GT(upstream_queries(), before);

  const std::string cookie = DigFull(a, "+cookie SOA basefs.");
  EXPECT_TRUE(Has(cookie, "; COOKIE: ")) << cookie;
  EXPECT_TRUE(Has(cookie, "(good)")) << cookie;
  EXPECT_TRUE(Has(cookie, " 3600 600 1209600 10")) << cookie;  // refresh retry expire minimum
}

TEST_F(DnsDaemonTest, BadFilesAreReportedAndSkippedAndPublishRefusesNonsense) {
  ASSERT_EQ(Cli("a", "bootstrap demo").code, 0);
  Node a = Start("a", "demo", {});
  EXPECT_NE(Cli("a", "publish demo web w1 --port 70000").code, 0);
  EXPECT_NE(Cli("a", "publish demo web w1 --port 80 --address 300.1.2.3").code, 0);
  EXPECT_NE(Cli("a", "publish demo web_x w1 --port 80").code, 0);
  ASSERT_EQ(Cli("a", "publish demo web good --port 80 --address 192.0.2.1").code, 0);
  ASSERT_EQ(RunShell("printf 'port = 70000\\n' | " + std::string(BASEFS_BIN) + " --data-dir " + Dir("a") +
                     " write demo /services/web/broken")
                .code,
            0);
  ASSERT_TRUE(testing::WaitFor([&] { return Has(Dig(a, "A web.service.basefs."), "192.0.2.1"); }, 10s));
  // The daemon reports what its last rebuild skipped: the one after the write.
  json st;
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        st = json::parse(Cli("a", "status demo --json").out);
        return !st["bad_files"].empty();
      },
      10s));
  ASSERT_EQ(st["bad_files"].size(), 1u) << st.dump();
  EXPECT_EQ(st["bad_files"][0]["path"], "/services/web/broken");
  EXPECT_TRUE(Has(st["bad_files"][0]["reason"], "70000"));
  EXPECT_EQ(Dig(a, "A broken.web.instance.basefs."), "");
}

TEST_F(DnsDaemonTest, HostilePacketsAndSlowTcpClientsDoNotStopTheServer) {
  ASSERT_EQ(Cli("a", "bootstrap demo").code, 0);
  Node a = Start("a", "demo", {});
  ASSERT_EQ(Cli("a", "publish demo web w1 --port 80 --address 192.0.2.1").code, 0);
  ASSERT_TRUE(testing::WaitFor([&] { return Has(Dig(a, "A web.service.basefs."), "192.0.2.1"); }, 10s));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::stoi(a.dns_port)));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Random garbage and truncated headers over UDP.
  const int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string pkt(rng() % 600, '\0');
    for (char& ch : pkt) ch = static_cast<char>(rng());
    ::sendto(udp, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  }
  ::close(udp);
  // A TCP client that sends one byte and stalls, one that announces 65535
  // bytes, one that never reads.
  auto tcp = [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
    return fd;
  };
  const int slow = tcp();
  ::send(slow, "\x00", 1, 0);
  const int huge = tcp();
  ::send(huge, "\xff\xff", 2, 0);
  // The server closes the connection that announced an oversized query.
  char buf[16];
  EXPECT_EQ(::recv(huge, buf, sizeof(buf), 0), 0);
  EXPECT_EQ(Dig(a, "+tcp A web.service.basefs."), "192.0.2.1\n");
  EXPECT_EQ(Dig(a, "A web.service.basefs."), "192.0.2.1\n");
  ::close(slow);
  ::close(huge);
  const json st = json::parse(Cli("a", "status demo --json").out);
  EXPECT_GT(st["dns_server"]["dropped"].get<int>() + st["dns_server"]["udp_queries"].get<int>(), 100);
}

// Three queries written at once on one TCP connection get three answers, in
// order, on that connection.
TEST_F(DnsDaemonTest, TcpQueriesArePipelined) {
  ASSERT_EQ(Cli("a", "bootstrap demo").code, 0);
  Node a = Start("a", "demo", {});
  ASSERT_EQ(Cli("a", "publish demo web w1 --port 80 --address 192.0.2.1").code, 0);
  ASSERT_TRUE(testing::WaitFor([&] { return Has(Dig(a, "A web.service.basefs."), "192.0.2.1"); }, 10s));
  auto query = [](uint16_t id, const std::string& wire_name, uint16_t type) {
    std::string m = {static_cast<char>(id >> 8), static_cast<char>(id), 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    m += wire_name;
    m += {0, static_cast<char>(type), 0, 1};
    return std::string{static_cast<char>(m.size() >> 8), static_cast<char>(m.size())} + m;
  };
  const std::string web(
      "\x03web\x07service\x06"
      "basefs\x00",
      20);
  const std::string nope(
      "\x04nope\x07service\x06"
      "basefs\x00",
      21);
  const std::string batch = query(1, web, 1) + query(2, nope, 1) + query(3, web, 33);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::stoi(a.dns_port)));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
  ASSERT_EQ(::send(fd, batch.data(), batch.size(), 0), static_cast<ssize_t>(batch.size()));
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string got;
  std::vector<std::pair<int, int>> answers;  // (id, rcode)
  char buf[4096];
  while (answers.size() < 3) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    ASSERT_GT(n, 0) << "connection closed after " << answers.size() << " answers";
    got.append(buf, static_cast<size_t>(n));
    while (got.size() >= 2) {
      const size_t len = static_cast<uint8_t>(got[0]) << 8 | static_cast<uint8_t>(got[1]);
      if (got.size() < 2 + len) break;
      answers.emplace_back(static_cast<uint8_t>(got[2]) << 8 | static_cast<uint8_t>(got[3]), got[5] & 0x0f);
      got.erase(0, 2 + len);
    }
  }
  ::close(fd);
  EXPECT_EQ(answers, (std::vector<std::pair<int, int>>{{1, 0}, {2, 3}, {3, 0}}));
}

}  // namespace
}  // namespace basefs
