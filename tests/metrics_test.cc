// `--metrics`: a real daemon with a real mount, scraped over HTTP with
// curl after real DNS queries (dig) and file access through the mount;
// the text is parsed line by line and checked with Prometheus's own
// `promtool check metrics` (Debian's prometheus package).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/process_util.h"

namespace basefs {
namespace {

using namespace std::chrono_literals;
using testing::RunShell;

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("basefs-metrics-" + std::to_string(getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "mnt");
  }
  void TearDown() override {
    if (pid_ > 0) testing::Stop(pid_);
    RunShell("fusermount3 -u " + (root_ / "mnt").string());
    std::filesystem::remove_all(root_);
  }
  std::string Cli(const std::string& args) {
    return RunShell(std::string(BASEFS_BIN) + " --data-dir " + (root_ / "d").string() + " " + args).out;
  }
  std::string Log() { return testing::Slurp((root_ / "daemon.log").string()); }

  // Samples by their full name with labels, e.g. `basefs_members{state="alive"}`.
  static std::map<std::string, double> Samples(const std::string& text) {
    std::map<std::string, double> out;
    std::istringstream in(text);
    std::string line;
    const std::regex sample(R"(^([a-z_:][a-z0-9_:]*(\{[^}]*\})?) (-?[0-9.e+-]+|\+Inf|NaN)$)");
    const std::regex comment(R"(^# (HELP|TYPE) [a-z_:][a-z0-9_:]* .+$)");
    while (std::getline(in, line)) {
      std::smatch m;
      if (std::regex_match(line, m, sample)) {
        out[m[1]] = std::stod(m[3]);
      } else {
        EXPECT_TRUE(std::regex_match(line, comment)) << "not a line of the text format: " << line;
      }
    }
    return out;
  }

  std::filesystem::path root_;
  pid_t pid_ = -1;
};

TEST_F(MetricsTest, AScrapeCountsDnsAnswersAndMountRequestsAndPromtoolAcceptsIt) {
  ASSERT_FALSE(Cli("bootstrap demo").empty());
  ASSERT_EQ(RunShell(std::string(BASEFS_BIN) + " --data-dir " + (root_ / "d").string() +
                     " publish demo web w1 --port 8080 --address 192.0.2.7")
                .code,
            0);
  pid_ = testing::Spawn(
      {BASEFS_BIN, "--data-dir", (root_ / "d").string(), "run", "demo", "--bind", "127.0.0.1:0", "--dns", "127.0.0.1:0",
       "--metrics", "127.0.0.1:0", "--mount", (root_ / "mnt").string(), "--node-name", "m1"},
      (root_ / "daemon.log").string());
  std::string metrics_addr, dns_port;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        std::smatch m;
        const std::string log = Log();
        static const std::regex dns_re("DNS on 127\\.0\\.0\\.1:([0-9]+)");
        static const std::regex metrics_re("metrics on http://([0-9.]+:[0-9]+)/metrics");
        if (!std::regex_search(log, m, dns_re)) return false;
        dns_port = m[1];
        if (!std::regex_search(log, m, metrics_re)) return false;
        metrics_addr = m[1];
        return true;
      },
      15s))
      << Log();

  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return RunShell("dig +short +tries=1 +time=2 -p " + dns_port + " @127.0.0.1 A w1.web.instance.basefs.").out ==
               "192.0.2.7\n";
      },
      10s));
  RunShell("dig +short +tries=1 +time=2 -p " + dns_port + " @127.0.0.1 TXT nothing-here.basefs.");
  EXPECT_EQ(RunShell("cat " + (root_ / "mnt" / "services" / "web" / "w1").string()).code, 0);

  const testing::Output scrape = RunShell("curl -sS -D " + (root_ / "headers").string() + " http://" + metrics_addr +
                                          "/metrics -o " + (root_ / "metrics.txt").string());
  ASSERT_EQ(scrape.code, 0) << Log();
  const std::string headers = testing::Slurp((root_ / "headers").string());
  EXPECT_NE(headers.find("200 OK"), std::string::npos) << headers;
  EXPECT_NE(headers.find("text/plain; version=0.0.4"), std::string::npos) << headers;
  const std::string text = testing::Slurp((root_ / "metrics.txt").string());
  const auto s = Samples(text);

  EXPECT_EQ(s.at("basefs_members{state=\"alive\"}"), 1);
  EXPECT_GE(s.at("basefs_entries"), 4);  // genesis, /.cluster, /services/web, w1
  EXPECT_GT(s.at("basefs_log_bytes"), 0);
  EXPECT_GE(s.at("basefs_dns_answers_total{type=\"A\",rcode=\"NOERROR\"}"), 1);
  EXPECT_GE(s.at("basefs_dns_answers_total{type=\"TXT\",rcode=\"NXDOMAIN\"}"), 1);
  EXPECT_GE(s.at("basefs_dns_answer_duration_seconds_count"), 2);
  EXPECT_EQ(s.at("basefs_dns_answer_duration_seconds_bucket{le=\"+Inf\"}"),
            s.at("basefs_dns_answer_duration_seconds_count"));
  EXPECT_GE(s.at("basefs_dns_queries_total{transport=\"udp\"}"), 2);
  EXPECT_GE(s.at("basefs_fuse_request_duration_seconds_count{op=\"lookup\"}"), 3);
  EXPECT_GE(s.at("basefs_fuse_request_duration_seconds_count{op=\"read\"}"), 1);
  EXPECT_GE(s.at("basefs_dns_rebuilds_total"), 1);
  for (const char* family :
       {"basefs_gossip_bytes_total", "basefs_sync_sessions_total", "basefs_health_checks", "basefs_handler_runs_total",
        "basefs_root_digest_age_seconds", "basefs_dns_forwarder_cache_total"})
    EXPECT_NE(text.find("# TYPE " + std::string(family) + " "), std::string::npos) << family;

  // Prometheus's own checker (lint: names, units, types, help).
  if (RunShell("command -v promtool").code == 0) {
    const testing::Output lint =
        RunShell("promtool check metrics < " + (root_ / "metrics.txt").string() + " 2>&1; echo exit=$?");
    EXPECT_NE(lint.out.find("exit=0"), std::string::npos) << lint.out;
    EXPECT_EQ(lint.out, "exit=0\n") << "promtool reports: " << lint.out;
  } else {
    std::cerr << "promtool is not installed (apt-get install prometheus): the lint step did not run\n";
  }

  const testing::Output other = RunShell("curl -s -o /dev/null -w '%{http_code}' http://" + metrics_addr + "/v1/kv");
  EXPECT_EQ(other.out, "404");
}

TEST_F(MetricsTest, AMetricsPortInUseStopsTheStartWithOneLine) {
  ASSERT_FALSE(Cli("bootstrap demo").empty());
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string taken = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  const testing::Output r = RunShell("(" + std::string(BASEFS_BIN) + " --data-dir " + (root_ / "d").string() +
                                     " run demo --bind 127.0.0.1:0 --dns 127.0.0.1:0 --metrics " + taken + " 2>&1)");
  ::close(fd);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("basefs: cannot listen for metrics on " + taken), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

}  // namespace
}  // namespace basefs
