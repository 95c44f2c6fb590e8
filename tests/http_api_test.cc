// The Consul-compatible HTTP API (`--http`) against three real daemons,
// exercised by a real Consul client: Debian's python3-consul, unchanged
// (tests/consul_client.py). Each node has a key of its own; n1 and n2 hold
// grants on /services and n1 on /app too, n2 not (its KV writes are refused).
#include <unistd.h>

#include <filesystem>
#include <regex>

#include <gtest/gtest.h>

#include "tests/process_util.h"

namespace basefs {
namespace {

using namespace std::chrono_literals;
using testing::RunShell;

class HttpApiTest : public ::testing::Test {
 protected:
  static constexpr int kNodes = 3;
  struct Node {
    pid_t pid = -1;
    std::string gossip, dns_port, http_port;
  };

  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("basefs-http-" + std::to_string(getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
    ASSERT_EQ(Cli(0, "bootstrap demo").code, 0);
    ASSERT_EQ(Cli(0, "grant demo /app " + PublicKey(0)).code, 0);
    for (int i = 1; i < kNodes; ++i) {
      const std::string key = Cli(i, "genkey").out;
      ASSERT_FALSE(key.empty());
      ASSERT_EQ(Cli(0, "grant demo /services " + Trim(key)).code, 0);
      if (i == 1) {
        ASSERT_EQ(Cli(0, "grant demo /app " + Trim(key)).code, 0);
      }
    }
    for (int i = 1; i < kNodes; ++i)
      std::filesystem::copy(Dir(0) + "/demo", Dir(i) + "/demo", std::filesystem::copy_options::recursive);
  }
  void TearDown() override {
    for (const Node& n : nodes_)
      if (n.pid > 0) testing::Stop(n.pid);
    std::filesystem::remove_all(root_);
  }

  static std::string Trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  std::string Dir(int i) const { return (root_ / ("n" + std::to_string(i))).string(); }
  std::string Log(int i) const { return (root_ / ("log" + std::to_string(i))).string(); }
  testing::Output Cli(int i, const std::string& args) {
    return RunShell(std::string(BASEFS_BIN) + " --data-dir " + Dir(i) + " " + args);
  }
  std::string PublicKey(int i) { return Trim(Cli(i, "genkey").out); }

  // Starts node i (HTTP API, DNS and gossip on ephemeral ports).
  Node Start(int i, const std::string& join) {
    std::vector<std::string> argv = {BASEFS_BIN,    "--data-dir",  Dir(i),
                                     "run",         "demo",        "--bind",
                                     "127.0.0.1:0", "--node-name", "n" + std::to_string(i),
                                     "--dns",       "127.0.0.1:0", "--http",
                                     "127.0.0.1:0"};
    if (!join.empty()) argv.insert(argv.end(), {"--join", join});
    Node n;
    n.pid = testing::Spawn(argv, Log(i));
    const std::regex serving("serving 'demo' as n[0-9]+ at ([0-9.]+:[0-9]+).*DNS on 127\\.0\\.0\\.1:([0-9]+)");
    const std::regex http("HTTP API on http://127\\.0\\.0\\.1:([0-9]+)/v1/");
    EXPECT_TRUE(testing::WaitFor(
        [&] {
          std::smatch m, h;
          const std::string log = testing::Slurp(Log(i));
          if (!std::regex_search(log, m, serving) || !std::regex_search(log, h, http)) return false;
          n.gossip = m[1];
          n.dns_port = m[2];
          n.http_port = h[1];
          return true;
        },
        15s))
        << testing::Slurp(Log(i));
    return n;
  }

  testing::Output Python(const std::string& script, const std::string& args) {
    return RunShell("{ /usr/bin/python3 " + std::string(BASEFS_SOURCE_DIR) + "/tests/" + script + " " + args +
                    " 2>&1; }");
  }

  // Starts all three and waits until n2 sees every one alive.
  void StartCluster() {
    nodes_.push_back(Start(0, ""));
    for (int i = 1; i < kNodes; ++i) nodes_.push_back(Start(i, nodes_[0].gossip));
    ASSERT_TRUE(testing::WaitFor(
        [&] {
          auto r = Cli(2, "members demo --json");
          return r.code == 0 && std::count(r.out.begin(), r.out.end(), '{') == kNodes &&
                 r.out.find("\"suspect\"") == std::string::npos && r.out.find("\"failed\"") == std::string::npos;
        },
        30s));
  }

  std::filesystem::path root_;
  std::vector<Node> nodes_;
};

TEST_F(HttpApiTest, AConsulClientWorksUnchangedAcrossThreeNodes) {
  StartCluster();

  const testing::Output client =
      Python("consul_client.py", "client " + nodes_[0].http_port + " " + nodes_[1].http_port + " " +
                                     nodes_[2].http_port + " " + nodes_[0].dns_port + " " + nodes_[2].dns_port);
  ASSERT_EQ(client.code, 0) << client.out << "\n--- n0:\n" << testing::Slurp(Log(0));
  std::cout << client.out;

  // kill -9 the node that owns web-a: its instance leaves ?passing and DNS.
  testing::Stop(nodes_[0].pid, SIGKILL);
  nodes_[0].pid = -1;
  const testing::Output gone = Python("consul_client.py", "gone " + nodes_[2].http_port + " " + nodes_[2].dns_port);
  ASSERT_EQ(gone.code, 0) << gone.out << "\n--- n2:\n" << testing::Slurp(Log(2));
  std::cout << gone.out;
}

// The web console in a real headless browser (chromium through
// python3-selenium): members, a service appearing live, a file's history
// and diff, markup shown as text, a kill -9 seen on the open page;
// screenshots at desktop and phone width go to the build directory.
TEST_F(HttpApiTest, TheConsoleShowsTheClusterLiveInABrowser) {
  StartCluster();
  const testing::Output browser =
      Python("console_browser.py", nodes_[0].http_port + " " + nodes_[2].http_port + " " +
                                       std::to_string(nodes_[2].pid) + " " + BASEFS_SCREENSHOT_DIR);
  // The script kills n2 as part of the test (TearDown reaps it, and ends
  // it if the script failed before).
  ASSERT_EQ(browser.code, 0) << browser.out << "\n--- n0:\n" << testing::Slurp(Log(0));
  std::cout << browser.out;
}

}  // namespace
}  // namespace basefs
