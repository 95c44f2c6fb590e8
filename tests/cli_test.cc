// The basefs command as a user runs it: real processes, a real data
// directory, exit codes, stdout and the one-line errors on stderr.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "store/store.h"
#include "tests/process_util.h"

namespace basefs {
namespace {

using json = nlohmann::json;

struct CmdResult {
  int code = -1;
  std::string out, err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = std::filesystem::temp_directory_path() / ("basefs-cli-" + std::to_string(getpid()) + "-" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(home_);
    std::filesystem::create_directories(home_);
  }
  void TearDown() override { std::filesystem::remove_all(home_); }

  // Runs `basefs ARGS` with --data-dir set, feeding `in` on stdin.
  CmdResult Basefs(const std::string& args, const std::string& in = "") {
    const std::string dir = home_.string();
    std::ofstream(dir + "/stdin") << in;
    const std::string cmd = std::string(BASEFS_BIN) + " --data-dir " + dir + " " + args + " <" + dir + "/stdin >" +
                            dir + "/stdout 2>" + dir + "/stderr";
    CmdResult r;
    const int st = std::system(cmd.c_str());
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = Slurp(dir + "/stdout");
    r.err = Slurp(dir + "/stderr");
    return r;
  }
  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // An error is one line on stderr.
  static void ExpectOneLineError(const CmdResult& r) {
    EXPECT_NE(r.code, 0);
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    EXPECT_EQ(r.err.rfind("basefs: ", 0), 0u) << r.err;
  }

  std::filesystem::path home_;
};

TEST_F(CliTest, BootstrapWriteReadListAndShow) {
  CmdResult key = Basefs("genkey");
  ASSERT_EQ(key.code, 0) << key.err;
  EXPECT_EQ(key.out.size(), 45u) << "one line of base64 for 32 bytes";
  ASSERT_EQ(Basefs("bootstrap demo --domain Example.ORG --seed 127.0.0.1:7400").code, 0);
  ASSERT_EQ(Basefs("mkdir demo /etc/app -p").code, 0);
  ASSERT_EQ(Basefs("write demo /etc/app/conf", "listen = 80\n").code, 0);
  CmdResult cat = Basefs("cat demo /etc/app/conf");
  EXPECT_EQ(cat.code, 0);
  EXPECT_EQ(cat.out, "listen = 80\n");
  CmdResult ls = Basefs("ls demo / --json");
  ASSERT_EQ(ls.code, 0);
  json l = json::parse(ls.out);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0]["name"], ".cluster");
  EXPECT_EQ(l[1]["name"], "etc");
  EXPECT_EQ(l[1]["type"], "dir");
  CmdResult cluster = Basefs("cat demo /.cluster");
  EXPECT_NE(cluster.out.find("example.org."), std::string::npos);
  EXPECT_NE(cluster.out.find("127.0.0.1:7400"), std::string::npos);
  CmdResult show = Basefs("show demo");
  EXPECT_EQ(show.code, 0);
  EXPECT_NE(show.out.find("/etc/app/conf  [file]"), std::string::npos) << show.out;
}

TEST_F(CliTest, StatusJsonHasTheContractFields) {
  ASSERT_EQ(Basefs("bootstrap demo").code, 0);
  CmdResult st = Basefs("--json status demo");
  ASSERT_EQ(st.code, 0) << st.err;
  json j = json::parse(st.out);
  for (const char* f : {"name", "domain", "root_digest", "entries", "blocks", "node", "bad_files"})
    EXPECT_TRUE(j.contains(f)) << f;
  EXPECT_EQ(j["name"], "demo");
  EXPECT_EQ(j["domain"], "basefs.");
  EXPECT_EQ(j["root_digest"].get<std::string>().size(), 64u);
  EXPECT_EQ(j["entries"], 2);
  CmdResult before = Basefs("status demo --json");
  ASSERT_EQ(Basefs("write demo /x", "1").code, 0);
  CmdResult after = Basefs("status demo --json");
  EXPECT_NE(json::parse(before.out)["root_digest"], json::parse(after.out)["root_digest"]);
}

TEST_F(CliTest, LogAndRevert) {
  ASSERT_EQ(Basefs("bootstrap demo").code, 0);
  ASSERT_EQ(Basefs("write demo /f", "one").code, 0);
  ASSERT_EQ(Basefs("write demo /f", "two").code, 0);
  CmdResult log = Basefs("log demo /f --json");
  ASSERT_EQ(log.code, 0);
  json l = json::parse(log.out);
  ASSERT_EQ(l.size(), 2u);
  for (const char* f : {"hash", "action", "author", "timestamp", "size"}) EXPECT_TRUE(l[0].contains(f)) << f;
  EXPECT_EQ(l[0]["size"], 3);
  EXPECT_EQ(l[0]["action"], "write");
  const std::string oldest = l[1]["hash"];
  ASSERT_EQ(Basefs("revert demo /f " + oldest.substr(0, 10)).code, 0);
  EXPECT_EQ(Basefs("cat demo /f").out, "one");
  CmdResult bad = Basefs("revert demo /f 1234");
  ExpectOneLineError(bad);
}

TEST_F(CliTest, GrantsRevokesAndPermissionErrors) {
  ASSERT_EQ(Basefs("bootstrap demo").code, 0);
  const std::string other_key = (home_ / "other.key").string();
  CmdResult other = Basefs("genkey --key " + other_key);
  ASSERT_EQ(other.code, 0);
  const std::string pub = other.out.substr(0, other.out.size() - 1);
  CmdResult denied = Basefs("write demo /team/x --key " + other_key, "x");
  ExpectOneLineError(denied);
  ASSERT_EQ(Basefs("grant demo /team " + pub).code, 0);
  CmdResult denied2 = Basefs("--key " + other_key + " write demo /elsewhere", "x");
  ExpectOneLineError(denied2);
  EXPECT_NE(denied2.err.find("permission denied"), std::string::npos) << denied2.err;
  ASSERT_EQ(Basefs("--key " + other_key + " write demo /team/x", "by other").code, 0);
  CmdResult keys = Basefs("keys demo --json");
  json k = json::parse(keys.out);
  ASSERT_EQ(k.size(), 2u);
  EXPECT_EQ(k[1]["path"], "/team");
  EXPECT_EQ(k[1]["key"], pub);
  ASSERT_EQ(Basefs("revoke demo /team " + pub).code, 0);
  EXPECT_EQ(Basefs("cat demo /team/x").out, "by other") << "revoke acks current writes by default";
  ExpectOneLineError(Basefs("--key " + other_key + " write demo /team/y", "x"));
  EXPECT_EQ(json::parse(Basefs("keys demo --json").out).size(), 1u);
  ExpectOneLineError(Basefs("grant demo /team not-a-key"));
}

TEST_F(CliTest, ClearErrorsAndNothingHalfDone) {
  ExpectOneLineError(Basefs("cat nosuch /x"));
  ASSERT_EQ(Basefs("bootstrap demo").code, 0);
  ExpectOneLineError(Basefs("bootstrap demo"));
  ExpectOneLineError(Basefs("bootstrap other --domain 'bad domain'"));
  EXPECT_FALSE(std::filesystem::exists(home_ / "other")) << "a refused bootstrap leaves nothing";
  ExpectOneLineError(Basefs("bootstrap other2 --seed 127.0.0.1:70000"));
  ExpectOneLineError(Basefs("cat demo /missing"));
  ExpectOneLineError(Basefs("write demo /a/b", "x"));
  ExpectOneLineError(Basefs("write demo /" + std::string(300, 'n'), "x"));
  ASSERT_EQ(Basefs("mkdir demo /d").code, 0);
  ASSERT_EQ(Basefs("write demo /d/f", "x").code, 0);
  ExpectOneLineError(Basefs("rm demo /d"));
  ASSERT_EQ(Basefs("rm -r demo /d").code, 0);
  ExpectOneLineError(Basefs("cat demo /d/f"));
  for (const char* bad : {"-1", "abc", "60001"}) {
    CmdResult r = Basefs(std::string("run demo --latency-hold ") + bad);
    ExpectOneLineError(r);
    EXPECT_NE(r.err.find("--latency-hold"), std::string::npos) << r.err;
  }
}

TEST_F(CliTest, JsonOutputSurvivesNamesThatAreNotUtf8) {
  ASSERT_EQ(Basefs("bootstrap demo").code, 0);
  ASSERT_EQ(Basefs("write demo \"$(printf '/\\377\\376')\"", "x").code, 0);
  CmdResult ls = Basefs("ls demo / --json");
  ASSERT_EQ(ls.code, 0) << ls.err;
  EXPECT_EQ(json::parse(ls.out).size(), 2u);
}

TEST_F(CliTest, LockedStoreSaysItIsInUse) {
  ASSERT_EQ(Basefs("bootstrap demo").code, 0);
  CryptoInit();
  StoreOptions o;
  o.now_ms = [] { return uint64_t{1}; };
  auto held = Store::Open((home_ / "demo" / "log").string(), o);
  ASSERT_TRUE(held.ok()) << held.status().message();
  CmdResult r = Basefs("cat demo /.cluster");
  ExpectOneLineError(r);
  EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
}

TEST_F(CliTest, LargeFileRoundTripsThroughStdin) {
  ASSERT_EQ(Basefs("bootstrap demo").code, 0);
  std::string big;
  for (int i = 0; big.size() < 1 << 20; ++i)
    big += "key" + std::to_string(i) + " = value " + std::to_string(i * 7) + "\n";
  ASSERT_EQ(Basefs("write demo /big -", big).code, 0);
  EXPECT_EQ(Basefs("cat demo /big").out, big);
}

TEST_F(CliTest, AConfigFileWithATypoStopsTheStartWithFileLineAndKey) {
  ASSERT_EQ(Basefs("bootstrap demo").code, 0);
  const std::string conf = (home_ / "node.toml").string();
  std::ofstream(conf) << "bind = \"127.0.0.1:0\"\nnode-nmae = \"web-1\"\n";
  CmdResult r = Basefs("run demo --config " + conf);
  ExpectOneLineError(r);
  EXPECT_NE(r.err.find(conf + ":2: unknown key 'node-nmae'"), std::string::npos) << r.err;
  std::ofstream(conf) << "latency-hold = 90000\n";
  r = Basefs("run demo --config " + conf);
  ExpectOneLineError(r);
  EXPECT_NE(r.err.find(conf + ":1: key 'latency-hold': must be 0..60000"), std::string::npos) << r.err;
  r = Basefs("run demo --config " + (home_ / "absent.toml").string());
  ExpectOneLineError(r);
  EXPECT_NE(r.err.find("absent.toml"), std::string::npos) << r.err;
}

TEST_F(CliTest, AConfigFileSetsTheDaemonsOptionsAndFlagsWin) {
  using namespace std::chrono_literals;
  ASSERT_EQ(Basefs("bootstrap demo").code, 0);
  const std::string conf = (home_ / "node.toml").string();
  std::ofstream(conf) << "bind = \"127.0.0.1:0\"\ndns = \"127.0.0.1:0\"\nnode-name = \"from-file\"\n"
                         "log-level = \"warn\"\n";
  const std::string log = (home_ / "daemon.log").string();
  const pid_t pid = testing::Spawn(
      {BASEFS_BIN, "--data-dir", home_.string(), "run", "demo", "--config", conf, "--node-name", "from-flag"}, log);
  json status;
  const bool up = testing::WaitFor(
      [&] {
        // Only once the daemon holds the store: a command before that
        // would open it itself and keep the daemon from starting.
        if (!std::filesystem::exists(home_ / "demo" / "control.sock")) return false;
        CmdResult r = Basefs("status demo --json");
        if (r.code != 0 || r.out.empty()) return false;
        status = json::parse(r.out);
        return status.value("daemon", false);
      },
      10s);
  testing::Stop(pid);
  ASSERT_TRUE(up) << testing::Slurp(log);
  EXPECT_EQ(status["node"], "from-flag");                                     // the flag wins
  EXPECT_EQ(status["gossip"].get<std::string>().rfind("127.0.0.1:", 0), 0u);  // the file's bind
  // The file's log level: the start-up line is info, so it is not there.
  EXPECT_EQ(testing::Slurp(log).find("serving 'demo'"), std::string::npos) << testing::Slurp(log);
}

TEST_F(CliTest, VersionNamesTheCommitAndAnUnknownCommandTheNearestOne) {
  CmdResult v = Basefs("--version");
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_EQ(v.out.rfind("basefs 0.1.0 (commit ", 0), 0u) << v.out;
  EXPECT_EQ(v.out.find("(commit unknown)"), std::string::npos) << "built from a git checkout: " << v.out;
  CmdResult r = Basefs("lss demo /");
  ExpectOneLineError(r);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown command 'lss'; did you mean 'ls'?"), std::string::npos) << r.err;
  r = Basefs("--json frobnicate demo");
  ExpectOneLineError(r);
  EXPECT_NE(r.err.find("unknown command 'frobnicate' (see 'basefs --help')"), std::string::npos) << r.err;
}

TEST_F(CliTest, SighupReloadsTheConfigAndABrokenOneKeepsTheRunningOne) {
  using namespace std::chrono_literals;
  ASSERT_EQ(Basefs("bootstrap demo").code, 0);
  const std::string conf = (home_ / "node.toml").string();
  const std::string hlog = (home_ / "handler.log").string();
  const auto write_conf = [&](const std::string& level, const std::string& word) {
    std::ofstream(conf) << "bind = \"127.0.0.1:0\"\ndns = \"127.0.0.1:0\"\nlog-level = \"" << level
                        << "\"\nhandler = [\"/a/**=echo " << word << " >>" << hlog << "\"]\n";
  };
  const auto lines_with = [&](const std::string& word) {
    const std::string text = testing::Slurp(hlog);
    size_t n = 0;
    for (size_t at = text.find(word + "\n"); at != std::string::npos; at = text.find(word + "\n", at + 1)) ++n;
    return n;
  };
  write_conf("warn", "first");
  const std::string log = (home_ / "daemon.log").string();
  const pid_t pid = testing::Spawn({BASEFS_BIN, "--data-dir", home_.string(), "run", "demo", "--config", conf}, log);
  ASSERT_TRUE(testing::WaitFor([&] { return std::filesystem::exists(home_ / "demo" / "control.sock"); }, 10s))
      << testing::Slurp(log);
  ASSERT_EQ(Basefs("mkdir demo /a").code, 0);
  ASSERT_EQ(Basefs("write demo /a/x", "1").code, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return lines_with("first") >= 1; }, 10s)) << testing::Slurp(hlog);

  const size_t first_runs = lines_with("first");
  write_conf("info", "second");
  ::kill(pid, SIGHUP);
  EXPECT_TRUE(testing::WaitFor([&] { return testing::Slurp(log).find("reloaded") != std::string::npos; }, 10s))
      << testing::Slurp(log);
  ASSERT_EQ(Basefs("write demo /a/y", "2").code, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return lines_with("second") >= 1; }, 10s)) << testing::Slurp(hlog);

  std::ofstream(conf) << "bind = 7400\n";  // a wrong type: the reload fails
  ::kill(pid, SIGHUP);
  EXPECT_TRUE(testing::WaitFor(
      [&] { return testing::Slurp(log).find("reload failed, the running configuration stays") != std::string::npos; },
      10s))
      << testing::Slurp(log);
  EXPECT_NE(testing::Slurp(log).find("key 'bind': must be a string"), std::string::npos) << testing::Slurp(log);
  ASSERT_EQ(Basefs("write demo /a/z", "3").code, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return lines_with("second") >= 2; }, 10s)) << testing::Slurp(hlog);
  EXPECT_EQ(lines_with("first"), first_runs) << "the old handler ran after the reload";
  CmdResult status = Basefs("status demo --json");
  testing::Stop(pid);
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_TRUE(json::parse(status.out)["daemon"].get<bool>());
}

TEST_F(CliTest, GenkeyClusterPrintsAFreshKeyThatAClusterKeyFileTakes) {
  CmdResult a = Basefs("genkey --cluster");
  CmdResult b = Basefs("genkey --cluster");
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(a.out.size(), 45u) << "one line of base64 for 32 bytes: " << a.out;
  EXPECT_NE(a.out, b.out);
  EXPECT_FALSE(std::filesystem::exists(home_ / "key")) << "genkey --cluster writes no node key";
  // A node starts with it as its --cluster-key file (a bad one stops it).
  ASSERT_EQ(Basefs("bootstrap demo").code, 0);
  std::ofstream(home_ / "cluster.key") << a.out;
  std::ofstream(home_ / "bad.key") << "not a key\n";
  CmdResult bad = Basefs("run demo --bind 127.0.0.1:0 --dns 127.0.0.1:0 --cluster-key " + (home_ / "bad.key").string());
  ExpectOneLineError(bad);
  using namespace std::chrono_literals;
  const std::string log = (home_ / "daemon.log").string();
  const pid_t pid = testing::Spawn({BASEFS_BIN, "--data-dir", home_.string(), "run", "demo", "--bind", "127.0.0.1:0",
                                    "--dns", "127.0.0.1:0", "--cluster-key", (home_ / "cluster.key").string()},
                                   log);
  const bool up = testing::WaitFor([&] { return std::filesystem::exists(home_ / "demo" / "control.sock"); }, 10s);
  testing::Stop(pid);
  EXPECT_TRUE(up) << testing::Slurp(log);
}

}  // namespace
}  // namespace basefs
