#include "daemon/options.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace basefs {
namespace {

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("basefs-options-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& text) {
    const std::string path = (dir_ / "basefs.toml").string();
    std::ofstream(path) << text;
    return path;
  }
  Status Apply(const std::string& text, DaemonOptions* o, std::set<std::string> given = {}) {
    return ApplyConfigFile(Write(text), given, o);
  }
  std::filesystem::path dir_;
};

TEST_F(ConfigFileTest, EveryOptionHasAKeyThatSetsIt) {
  DaemonOptions o;
  ASSERT_TRUE(Apply(R"(
bind = "127.0.0.1:7500"
advertise = "[2001:db8::5]"
dns = "127.0.0.1:5400"
join = ["127.0.0.1:7401", "127.0.0.1:7402"]
node-name = "web-1"
handler = ["/services/**=true"]
recursor = ["192.0.2.53"]
metrics = "127.0.0.1:9100"
log-level = "debug"
cluster-key = "/etc/basefs/cluster.key"
no-recursion = true
members-need-grant = true
axfr-allow = ["10.0.0.0/8"]
recursion-allow = ["192.0.2.0/24", "localnets"]
dns-rate-limit = 0
mount = "/srv/basefs"
read-only = true
latency-hold = 0
mount-owner = "www-data:adm"
mount-umask = "027"
http = "127.0.0.1:8500"
http-token = "0123456789abcdef0123"
http-open-reads = true
)",
                    &o)
                  .ok());
  EXPECT_EQ(o.node.bind, "127.0.0.1:7500");
  EXPECT_EQ(o.node.advertise, "[2001:db8::5]");
  EXPECT_EQ(o.dns.listen, "127.0.0.1:5400");
  EXPECT_EQ(o.node.join, (std::vector<std::string>{"127.0.0.1:7401", "127.0.0.1:7402"}));
  EXPECT_EQ(o.node.node_name, "web-1");
  EXPECT_EQ(o.handlers, std::vector<std::string>{"/services/**=true"});
  EXPECT_EQ(o.dns.recursors, std::vector<std::string>{"192.0.2.53"});
  EXPECT_EQ(o.metrics, "127.0.0.1:9100");
  EXPECT_EQ(o.log_level, "debug");
  EXPECT_EQ(o.node.cluster_key_file, "/etc/basefs/cluster.key");
  EXPECT_TRUE(o.dns.no_recursion);
  EXPECT_TRUE(o.node.members_need_grant);
  EXPECT_EQ(o.dns.axfr_allow, std::vector<std::string>{"10.0.0.0/8"});
  EXPECT_EQ(o.dns.recursion_allow, (std::vector<std::string>{"192.0.2.0/24", "localnets"}));
  EXPECT_EQ(o.dns.rate_limit, 0u);
  EXPECT_EQ(o.mount.dir, "/srv/basefs");
  EXPECT_TRUE(o.mount.read_only);
  EXPECT_EQ(o.mount.latency_hold_ms, 0u);
  EXPECT_EQ(o.mount.owner, "www-data:adm");
  EXPECT_EQ(o.mount.umask, "027");
  EXPECT_EQ(o.http.listen, "127.0.0.1:8500");
  EXPECT_EQ(o.http.token, "0123456789abcdef0123");
  EXPECT_TRUE(o.http.open_reads);
  // The test sets every key there is.
  EXPECT_EQ(RunOptionSpecs().size(), 23u);
}

TEST_F(ConfigFileTest, FlagsOnTheCommandLineWin) {
  DaemonOptions o;
  o.dns.listen = "127.0.0.1:9999";  // as the flag set it
  ASSERT_TRUE(Apply("dns = \"127.0.0.1:5400\"\nbind = \"127.0.0.1:7500\"\n", &o, {"dns"}).ok());
  EXPECT_EQ(o.dns.listen, "127.0.0.1:9999");
  EXPECT_EQ(o.node.bind, "127.0.0.1:7500");
}

TEST_F(ConfigFileTest, AnUnknownKeyIsRefusedWithFileLineAndKey) {
  DaemonOptions o;
  Status st = Apply("bind = \"127.0.0.1:7500\"\n\nbnid = \"x\"\n", &o);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("basefs.toml:3: unknown key 'bnid'"), std::string::npos) << st.message();
  EXPECT_EQ(o.node.bind, "0.0.0.0:7400") << "nothing is applied from a file that is refused";
}

TEST_F(ConfigFileTest, WrongTypesAndBadValuesAreRefusedWithTheKey) {
  const struct {
    std::string text, expected;
  } cases[] = {
      {"bind = 7400", ":1: key 'bind': must be a string"},
      {"join = \"127.0.0.1:7401\"", ":1: key 'join': must be a list"},
      {"read-only = \"yes\"", ":1: key 'read-only': must be true or false"},
      {"latency-hold = 60001", ":1: key 'latency-hold': must be 0..60000"},
      {"latency-hold = -1", ":1: key 'latency-hold': must be 0..60000"},
      {"latency-hold = 1.5", ":1: key 'latency-hold': must be a whole number"},
      {"\nbind = \"127.0.0.1:70000\"", ":2: key 'bind': port out of range"},
      {"dns = \"localhost:53\"", ":1: key 'dns': bad address"},
      {"log-level = \"verbose\"", ":1: key 'log-level': bad log level"},
      {"handler = [\"no equals sign\"]", ":1: key 'handler': expected 'GLOB=CMD'"},
      {"recursion-allow = [\"10.0.0.0/33\"]", ":1: key 'recursion-allow': bad prefix length"},
      {"mount-umask = \"0999\"", ":1: key 'mount-umask': expected an octal mode"},
      {"mount-owner = \":adm\"", ":1: key 'mount-owner': expected USER or USER:GROUP"},
      {"axfr-allow = [\"everyone\"]", ":1: key 'axfr-allow': bad address block 'everyone'"},
      {"bind = [", "basefs.toml:"},
      {"[dns]\nlisten = \"127.0.0.1:53\"", ":1: key 'dns': must be a string"},
  };
  for (const auto& c : cases) {
    DaemonOptions o;
    Status st = Apply(c.text, &o);
    ASSERT_FALSE(st.ok()) << c.text;
    EXPECT_NE(st.message().find(c.expected), std::string::npos) << c.text << " -> " << st.message();
  }
}

TEST_F(ConfigFileTest, AMissingFileSaysWhich) {
  DaemonOptions o;
  Status st = ApplyConfigFile((dir_ / "absent.toml").string(), {}, &o);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("absent.toml"), std::string::npos);
}

TEST_F(ConfigFileTest, TheExampleConfigReadsAsTheDefaults) {
  DaemonOptions o;
  ASSERT_TRUE(ApplyConfigFile(BASEFS_EXAMPLE_CONFIG, {}, &o).ok());
  const DaemonOptions d;
  EXPECT_EQ(o.node.bind, d.node.bind);
  EXPECT_EQ(o.dns.listen, d.dns.listen);
  EXPECT_EQ(o.dns.axfr_allow, d.dns.axfr_allow);
  EXPECT_EQ(o.dns.recursion_allow, d.dns.recursion_allow);
  EXPECT_EQ(o.dns.rate_limit, d.dns.rate_limit);
  EXPECT_EQ(o.mount.latency_hold_ms, d.mount.latency_hold_ms);
  EXPECT_EQ(o.log_level, d.log_level);
}

}  // namespace
}  // namespace basefs
