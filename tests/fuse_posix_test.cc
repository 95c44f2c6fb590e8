// The mount as services use it (issue 17): modes, owners and groups that
// travel in the log and that the kernel enforces for other users, times
// that touch, cp -p and rsync set and compare, directory times, path
// limits from a deep working directory, special files. Real daemons, real
// mounts, real tools; run as root (the CI runs as root), the other users
// through setpriv.
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/fuse_fixture.h"

namespace basefs {
namespace {

// Runs `cmd` as nobody (uid and gid 65534, no supplementary groups).
std::string AsNobody(const std::string& cmd) {
  return "setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '" + cmd + "'";
}

class FusePosixTest : public FuseTest {
 protected:
  // Two mounts of one cluster (node 1 joins node 0), both writing with the
  // root key.
  bool TwoMounts() {
    fs::copy(Dir(0), Dir(1), fs::copy_options::recursive);
    const std::string a = MountOrSkip(0);
    if (a.empty()) return false;
    pid0_ = last_pid_;
    return !Mount(1, {"--join", a}).empty();
  }
  pid_t pid0_ = -1;  // node 0's daemon
  // Waits until `cmd` prints `want` (a remote change and the kernel's cache).
  bool Eventually(const std::string& cmd, const std::string& want) {
    std::string last;
    const bool ok = testing::WaitFor(
        [&] {
          last = Run(cmd).out;
          return last == want;
        },
        15s);
    if (!ok) ADD_FAILURE() << cmd << " printed '" << last << "', not '" << want << "'";
    return ok;
  }
};

TEST_F(FusePosixTest, ModesOwnersAndGroupsTravelAndTheKernelEnforcesThem) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: the daemon mounts for other users and chown is root's";
  if (!TwoMounts()) {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    FAIL() << testing::Slurp(Log(0)) << testing::Slurp(Log(1));
  }
  const std::string m0 = Mnt(0), m1 = Mnt(1);
  WriteLocal((root_ / "src.conf").string(), "password = hunter2\n");
  ASSERT_EQ(Run("install -m 0640 -o root -g adm " + (root_ / "src.conf").string() + " " + m0 + "/secret.conf").code, 0);
  EXPECT_EQ(Run("stat -c '%a %U %G' " + m0 + "/secret.conf").out, "640 root adm\n");
  Eventually("stat -c '%a %U %G' " + m1 + "/secret.conf", "640 root adm\n");
  Sh r = Run(AsNobody("cat " + m1 + "/secret.conf"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  ASSERT_EQ(Run("chmod o+r " + m0 + "/secret.conf").code, 0);
  Eventually("stat -c %a " + m1 + "/secret.conf", "644\n");
  r = Run(AsNobody("cat " + m1 + "/secret.conf"));
  EXPECT_EQ(r.out, "password = hunter2\n") << r.err;

  // A file made by another user belongs to that user, on every node.
  ASSERT_EQ(Run("mkdir -m 1777 " + m0 + "/drop").code, 0);
  EXPECT_EQ(Run("stat -c %a " + m0 + "/drop").out, "777\n") << "sticky is not kept";
  r = Run(AsNobody("umask 077; echo mine > " + m0 + "/drop/nobody.txt"));
  ASSERT_EQ(r.code, 0) << r.err;
  Eventually("stat -c '%a %U %G' " + m1 + "/drop/nobody.txt", "600 nobody nogroup\n");
  r = Run(AsNobody("chown nobody " + m0 + "/secret.conf"));
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << "chown is root's: " << r.err;
  r = Run("chown 54321 " + m0 + "/secret.conf");
  EXPECT_NE(r.code, 0) << "an id without a name cannot travel";
  EXPECT_NE(r.err.find("Invalid argument"), std::string::npos) << r.err;

  // A renamed directory is the same directory: mode, owner, group.
  ASSERT_EQ(Run("mkdir -m 0700 " + m0 + "/private && chown nobody:adm " + m0 + "/private && mv " + m0 + "/private " +
                m0 + "/private2")
                .code,
            0);
  EXPECT_EQ(Run("stat -c '%a %U %G' " + m0 + "/private2").out, "700 nobody adm\n");

  // setgid directories give their group to what is made in them.
  ASSERT_EQ(Run("mkdir -m 2775 " + m0 + "/shared && chgrp adm " + m0 + "/shared").code, 0);
  ASSERT_EQ(Run("mkdir " + m0 + "/shared/sub && echo x > " + m0 + "/shared/f").code, 0);
  EXPECT_EQ(Run("stat -c '%a %G' " + m0 + "/shared " + m0 + "/shared/sub " + m0 + "/shared/f").out,
            "2775 adm\n2755 adm\n644 adm\n");
  Eventually("stat -c '%a %G' " + m1 + "/shared/sub", "2755 adm\n");
  // The command line shows them too.
  const json ls = json::parse(Run(Cli(1, "ls demo /shared --json")).out);
  ASSERT_TRUE(ls.is_array()) << ls.dump();
  bool found = false;
  for (const json& e : ls) {
    if (e["name"] != "sub") continue;
    found = true;
    EXPECT_EQ(e["mode"], "2755") << e.dump();
    EXPECT_EQ(e["group"], "adm") << e.dump();
  }
  EXPECT_TRUE(found) << ls.dump();
}

TEST_F(FusePosixTest, TimesThatToolsSetAreKeptAndCompared) {
  if (!TwoMounts()) {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    FAIL() << testing::Slurp(Log(0)) << testing::Slurp(Log(1));
  }
  const std::string m0 = Mnt(0), m1 = Mnt(1);
  ASSERT_EQ(Run("echo a > " + m0 + "/f && touch -d '2001-02-03 04:05:06.5 UTC' " + m0 + "/f").code, 0);
  EXPECT_EQ(Run("stat -c %.1Y " + m0 + "/f").out, "981173106.5\n");
  Eventually("stat -c %.1Y " + m1 + "/f", "981173106.5\n");
  ASSERT_EQ(Run("touch -d '1960-01-01 UTC' " + m0 + "/f").code, 0);
  EXPECT_EQ(Run("stat -c %Y " + m0 + "/f").out, "-315619200\n") << "before 1970";
  ASSERT_EQ(Run("touch -d @400000000000 " + m0 + "/f").code, 0);
  EXPECT_EQ(Run("stat -c %Y " + m0 + "/f").out, "253402300799\n") << "clamped to the end of year 9999";
  // A write takes its own time again.
  ASSERT_EQ(Run("echo b >> " + m0 + "/f").code, 0);
  const long long now = static_cast<long long>(::time(nullptr));
  const long long written = std::stoll(Run("stat -c %Y " + m0 + "/f").out);
  EXPECT_LE(std::llabs(written - now), 5) << written << " vs " << now;
  // ftruncate(2) on an open descriptor moves mtime and ctime at once, not
  // only when the file is saved at close.
  const std::string ft =
      "import os, time\n"
      "fd = os.open('" +
      m0 +
      "/f', os.O_RDWR)\n"
      "before = os.fstat(fd).st_mtime\n"
      "os.ftruncate(fd, 123)\n"
      "st = os.fstat(fd)\n"
      "print(st.st_size, st.st_mtime > before, st.st_ctime > before)\n"
      "os.close(fd)\n";
  WriteLocal((root_ / "ft.py").string(), ft);
  EXPECT_EQ(Run("/usr/bin/python3 " + (root_ / "ft.py").string()).out, "123 True True\n");

  // cp -p keeps the mode and the time; sets them before close, so the
  // content and its attributes are one batch.
  const std::string src = (root_ / "src").string();
  fs::create_directories(src + "/sub");
  WriteLocal(src + "/app.conf", "port = 1\n");
  WriteLocal(src + "/sub/big.bin", std::string(5000, 'z'));
  ASSERT_EQ(Run("chmod 600 " + src + "/app.conf && touch -d '2020-01-01 UTC' " + src + "/app.conf " + src +
                "/sub/big.bin " + src + "/sub")
                .code,
            0);
  ASSERT_EQ(Run("cp -p " + src + "/app.conf " + m0 + "/app.conf").code, 0);
  EXPECT_EQ(Run("stat -c '%a %Y' " + m0 + "/app.conf").out, "600 1577836800\n");
  Eventually("stat -c '%a %Y' " + m1 + "/app.conf", "600 1577836800\n");
  json log = json::parse(Run(Cli(0, "log demo /app.conf --json")).out);
  EXPECT_LE(log.size(), 3u) << "write and attributes, not one entry per call: " << log.dump();

  // rsync -a, then nothing is left to copy by time and size, or by checksum.
  Sh r = Run("rsync -a " + src + "/ " + m0 + "/tree/");
  ASSERT_EQ(r.code, 0) << r.err;
  r = Run("rsync -a --itemize-changes " + src + "/ " + m0 + "/tree/");
  EXPECT_EQ(r.out.find(">f"), std::string::npos) << r.out;
  r = Run("rsync -a --checksum --itemize-changes " + src + "/ " + m1 + "/tree/");
  EXPECT_EQ(r.out.find(">f"), std::string::npos) << "on the other node too: " << r.out;
  EXPECT_EQ(Run("stat -c %Y " + m1 + "/tree/sub/big.bin").out, "1577836800\n");
}

TEST_F(FusePosixTest, ADirectoryTimeMovesWhenItsEntriesDoHereAndRemotely) {
  if (!TwoMounts()) {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    FAIL() << testing::Slurp(Log(0)) << testing::Slurp(Log(1));
  }
  const std::string m0 = Mnt(0), m1 = Mnt(1);
  ASSERT_EQ(Run("mkdir " + m0 + "/d && echo 1 > " + m0 + "/d/a && touch -d '2001-01-01 UTC' " + m0 + "/d").code, 0);
  EXPECT_EQ(Run("stat -c %Y " + m0 + "/d").out, "978307200\n");
  Eventually("stat -c %Y " + m1 + "/d", "978307200\n");
  ASSERT_EQ(Run("echo 2 > " + m0 + "/d/a").code, 0);
  EXPECT_EQ(Run("stat -c %Y " + m0 + "/d").out, "978307200\n") << "a file's content is not the directory's";
  // A creation on the other node moves it on both.
  const long long before = static_cast<long long>(::time(nullptr));
  ASSERT_EQ(Run("echo 3 > " + m1 + "/d/b").code, 0);
  EXPECT_GE(std::stoll(Run("stat -c %Y " + m1 + "/d").out), before);
  ASSERT_TRUE(testing::WaitFor([&] { return std::stoll(Run("stat -c %Y " + m0 + "/d").out) >= before; }, 15s))
      << "a remote creation moves the directory's time";
  ASSERT_EQ(Run("touch -d '2001-01-01 UTC' " + m0 + "/d && rm " + m0 + "/d/a").code, 0);
  EXPECT_GE(std::stoll(Run("stat -c %Y " + m0 + "/d").out), before) << "a removal moves it";
}

TEST_F(FusePosixTest, PathLimitsCountFromTheMountRootWhateverTheWorkingDirectory) {
  MOUNT_OR_SKIP(addr, 0);
  // Fifteen directories of 255-byte names and one of 250: the deepest is
  // /n1/.../n16, 15 * 256 + 251 = 4,091 bytes from the mount's root, and it
  // becomes the working directory one relative chdir(2) at a time (a
  // shell's cd would build an absolute path over PATH_MAX). Then names of
  // 4 and 5 bytes make paths of 4,096 and 4,097 bytes.
  const std::string script =
      "import errno, os\n"
      "os.chdir('" +
      Mnt(0) +
      "')\n"
      "for i in range(16):\n"
      "    n = chr(97 + i) * (255 if i < 15 else 250)\n"
      "    os.mkdir(n)\n"
      "    os.chdir(n)\n"
      "open('ffff', 'w').write('ok')\n"
      "print(open('ffff').read())\n"
      "for name in ('fffff', 'd' * 5):\n"
      "    try:\n"
      "        open(name, 'w') if name[0] == 'f' else os.mkdir(name)\n"
      "        print('made', name)\n"
      "    except OSError as e:\n"
      "        print(errno.errorcode[e.errno])\n";
  WriteLocal((root_ / "deep.py").string(), script);
  const Sh r = Run("/usr/bin/python3 " + (root_ / "deep.py").string());
  EXPECT_EQ(r.out, "ok\nENAMETOOLONG\nENAMETOOLONG\n") << r.err;
  const Sh name = Run("echo no > " + Mnt(0) + "/" + std::string(256, 'n'));
  EXPECT_NE(name.err.find("File name too long"), std::string::npos) << "a 256-byte name: " << name.err;
}

TEST_F(FusePosixTest, AllNamesOfAHardLinkedFileAreOneInode) {
  if (!TwoMounts()) {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    FAIL() << testing::Slurp(Log(0)) << testing::Slurp(Log(1));
  }
  const std::string m0 = Mnt(0), m1 = Mnt(1);
  ASSERT_EQ(Run("echo one > " + m0 + "/a && ln " + m0 + "/a " + m0 + "/b").code, 0);
  Sh r = Run("ln " + m0 + "/b " + m0 + "/c");
  ASSERT_EQ(r.code, 0) << "a link of a link: " << r.err;
  const auto inodes = [&](const std::string& m, const std::string& names) {
    std::string cmd = "stat -c '%i %h'";
    for (char n : names) cmd += " " + m + "/" + n;
    const std::string out = Run(cmd).out;
    // "<ino> <nlink>" per name: equal lines mean one inode and one count.
    std::istringstream in(out);
    std::string first, line;
    std::getline(in, first);
    while (std::getline(in, line))
      if (line != first) return "differ: " + out;
    return first.substr(first.find(' ') + 1);
  };
  EXPECT_EQ(inodes(m0, "abc"), "3");
  Eventually("stat -c %h " + m1 + "/a", "3\n");
  EXPECT_EQ(inodes(m1, "abc"), "3") << "the other node shows one file too";

  ASSERT_EQ(Run("echo two > " + m0 + "/c && chmod 600 " + m0 + "/b").code, 0);
  EXPECT_EQ(Read(m0 + "/a"), "two\n");
  EXPECT_EQ(Run("stat -c %a " + m0 + "/a").out, "600\n") << "one file: one mode";
  // Unlinking one name leaves the others, still one file.
  ASSERT_EQ(Run("rm " + m0 + "/a").code, 0);
  EXPECT_EQ(Read(m0 + "/b"), "two\n");
  EXPECT_EQ(Read(m0 + "/c"), "two\n");
  EXPECT_EQ(inodes(m0, "bc"), "2");
  EXPECT_EQ(Run("stat -c %a " + m0 + "/c").out, "600\n");
  // A renamed name keeps its links.
  ASSERT_EQ(Run("mv " + m0 + "/b " + m0 + "/z && echo three > " + m0 + "/z").code, 0);
  EXPECT_EQ(Read(m0 + "/c"), "three\n");
  EXPECT_EQ(inodes(m0, "cz"), "2");
  Eventually("cat " + m1 + "/c", "three\n");
  EXPECT_EQ(inodes(m1, "cz"), "2");
  // Across the status directory: refused.
  r = Run("ln " + m0 + "/.basefs/members " + m0 + "/members");
  EXPECT_NE(r.code, 0);
  r = Run("ln " + m0 + "/z " + m0 + "/.basefs/z");
  EXPECT_NE(r.code, 0);
  EXPECT_FALSE(fs::exists(m0 + "/members"));
}

// inotify on a mount sees only what the kernel did (local changes); the
// stream of every change, remote ones too, is `basefs watch`.
TEST_F(FusePosixTest, WatchStreamsLocalAndRemoteChangesUntilItIsEnded) {
  if (!TwoMounts()) {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    FAIL() << testing::Slurp(Log(0)) << testing::Slurp(Log(1));
  }
  const std::string m0 = Mnt(0), m1 = Mnt(1);
  const std::string out = (root_ / "watch.out").string();
  const pid_t watch = testing::Spawn({BASEFS_BIN, "--data-dir", Dir(1), "watch", "demo", "/conf", "--json"}, out);
  pids_.push_back(watch);
  const auto watches = [&] {
    const Sh st = Run(Cli(1, "status demo --json"));
    const json j = json::parse(st.out, nullptr, false);
    return j.is_object() && j.contains("watches") ? j["watches"].get<int>() : -1;
  };
  ASSERT_TRUE(testing::WaitFor([&] { return watches() == 1; }, 10s)) << testing::Slurp(out);
  ASSERT_EQ(Run("mkdir " + m0 + "/conf && echo 1 > " + m0 + "/conf/app && echo 1 > " + m0 + "/elsewhere").code, 0);
  // Each change waits for the one before to arrive (no concurrent writes).
  ASSERT_TRUE(Eventually("cat " + m1 + "/conf/app", "1\n"));
  ASSERT_EQ(Run("echo 2 > " + m1 + "/conf/app && chmod 600 " + m1 + "/conf/app").code, 0);
  ASSERT_TRUE(Eventually("stat -c %a " + m0 + "/conf/app", "600\n"));
  ASSERT_EQ(Run("rm " + m0 + "/conf/app").code, 0);
  std::vector<json> lines;
  const bool all = testing::WaitFor(
      [&] {
        lines.clear();
        std::istringstream in(testing::Slurp(out));
        for (std::string l; std::getline(in, l);) lines.push_back(json::parse(l, nullptr, false));
        return lines.size() >= 5;
      },
      15s);
  ASSERT_TRUE(all) << testing::Slurp(out);
  std::string seen;
  for (const json& l : lines) {
    ASSERT_TRUE(l.is_object()) << testing::Slurp(out);
    seen += l["type"].get<std::string>() + " " + l["path"].get<std::string>() + "\n";
    EXPECT_EQ(l["author"].get<std::string>().size(), 44u) << l.dump();
  }
  EXPECT_EQ(seen, "mkdir /conf\ncreate /conf/app\nupdate /conf/app\nattr /conf/app\ndelete /conf/app\n");
  // Ended by its user: the daemon forgets it and keeps serving.
  testing::Stop(watch);
  std::erase(pids_, watch);
  EXPECT_TRUE(testing::WaitFor([&] { return watches() == 0; }, 10s));
  // Without a daemon there is nothing to watch: said plainly.
  ASSERT_EQ(Run(Cli(2, "bootstrap demo")).code, 0);
  const Sh alone = Run(Cli(2, "watch demo /"));
  EXPECT_EQ(alone.code, 1);
  EXPECT_NE(alone.err.find("no daemon runs"), std::string::npos) << alone.err;
}

// kill -9 of a daemon while a program writes files through its mount and
// its handlers run: every write whose close(2) returned is there after a
// restart, the store opens, and the node converges with the one that kept
// running. Three rounds, each killed after a random number of writes.
TEST_F(FusePosixTest, KillNineDuringMountWritesAndHandlerRunsLosesNoAcknowledgedWrite) {
  if (!TwoMounts()) {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    FAIL() << testing::Slurp(Log(0)) << testing::Slurp(Log(1));
  }
  const std::string m0 = Mnt(0), m1 = Mnt(1);
  std::string seed_addr;
  {
    const std::regex re("serving 'demo' as n1 at ([0-9.]+:[0-9]+)");
    std::smatch match;
    const std::string log1 = testing::Slurp(Log(1));
    ASSERT_TRUE(std::regex_search(log1, match, re)) << log1;
    seed_addr = match[1];
  }
  ASSERT_EQ(Run("mkdir " + m0 + "/w").code, 0);
  const std::string writer = (root_ / "writer.py").string();
  WriteLocal(writer,
             "import os, sys\n"
             "d, first = sys.argv[1], int(sys.argv[2])\n"
             "for i in range(first, first + 10000):\n"
             "    body = ('%d:' % i) + 'x' * (i * 37 % 3000)\n"
             "    fd = os.open('%s/f%d' % (d, i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)\n"
             "    os.write(fd, body.encode())\n"
             "    os.close(fd)\n"
             "    print('ACK', i, flush=True)\n");
  const auto body = [](long i) {
    return std::to_string(i) + ":" + std::string(static_cast<size_t>(i * 37 % 3000), 'x');
  };
  std::mt19937 rng(std::random_device{}());
  const std::string hlog = (root_ / "handled").string();
  long next = 0;
  std::vector<long> acked;
  for (int round = 0; round < 3; ++round) {
    const long kill_after = 5 + static_cast<long>(rng() % 40);
    SCOPED_TRACE("round " + std::to_string(round) + ", kill after " + std::to_string(kill_after) + " writes");
    const std::string out = (root_ / ("writer" + std::to_string(round))).string();
    const pid_t w = testing::Spawn({"/usr/bin/python3", writer, m0 + "/w", std::to_string(next)}, out);
    const auto acks = [&] {
      std::vector<long> got;
      std::istringstream in(testing::Slurp(out));
      std::string word;
      long i = 0;
      while (in >> word >> i)
        if (word == "ACK") got.push_back(i);
      return got;
    };
    ASSERT_TRUE(testing::WaitFor([&] { return static_cast<long>(acks().size()) >= kill_after; }, 30s))
        << testing::Slurp(out);
    testing::Stop(pid0_, SIGKILL);  // mid-write, mid-save or mid-handler
    std::erase(pids_, pid0_);
    testing::Stop(w, SIGKILL);  // its next write fails (ENOTCONN) anyway
    for (long i : acks()) acked.push_back(i);
    next = acked.empty() ? 0 : acked.back() + 1;
    testing::RunShell("fusermount3 -u -z " + m0);
    // Back up, with a handler that runs on every write from now on.
    ASSERT_FALSE(
        Mount(0, {"--join", seed_addr, "--handler", "/w/**=sleep 0.01; echo \"$BASEFS_EVENT_PATH\" >> " + hlog})
            .empty())
        << testing::Slurp(Log(0));
    pid0_ = last_pid_;
  }
  ASSERT_FALSE(acked.empty());
  for (long i : acked) {
    const std::string f = "/w/f" + std::to_string(i);
    EXPECT_EQ(Read(m0 + f), body(i)) << f << " was acknowledged";
  }
  // The node that kept running holds the same log.
  const auto digest = [&](int i) {
    const json j = json::parse(Run(Cli(i, "status demo --json")).out, nullptr, false);
    return j.is_object() ? j.value("root_digest", "") : "";
  };
  EXPECT_TRUE(testing::WaitFor([&] { return !digest(0).empty() && digest(0) == digest(1); }, 30s))
      << digest(0) << " vs " << digest(1);
  for (long i : acked) EXPECT_EQ(Read(m1 + "/w/f" + std::to_string(i)), body(i));
  EXPECT_FALSE(testing::Slurp(hlog).empty()) << "handlers ran between the kills";
}

TEST_F(FusePosixTest, SpecialFilesAreRefusedWithEperm) {
  MOUNT_OR_SKIP(addr, 0);
  const std::string m = Mnt(0);
  for (const std::string& cmd :
       {"mkfifo " + m + "/fifo", "mknod " + m + "/dev c 1 3",
        "/usr/bin/python3 -c \"import socket; socket.socket(socket.AF_UNIX).bind('" + m + "/sock')\""}) {
    const Sh r = Run(cmd);
    EXPECT_NE(r.code, 0) << cmd;
    EXPECT_NE(r.err.find("not permitted"), std::string::npos) << cmd << ": " << r.err;
  }
}

}  // namespace
}  // namespace basefs
