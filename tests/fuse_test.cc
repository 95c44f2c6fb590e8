// The FUSE mount as users meet it: real `basefs mount` daemons, a real
// kernel mount, and the tools people use on configuration trees (cp -a,
// diff -r, find, grep -r, mv, rm -r, shell redirections). Skipped, with the
// reason printed, only where /dev/fuse is missing or mounting is not
// permitted. Conditions are waited for with deadlines; nothing sleeps for a
// fixed time. Only processes started here are signalled, by PID.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/fuse_fixture.h"
#include "tests/process_util.h"

namespace basefs {
namespace {

// A tree with files of several sizes (inline, chunked), nested directories,
// relative and absolute symlinks and an executable.
void MakeTree(const fs::path& src) {
  fs::create_directories(src / "etc/app/conf.d");
  fs::create_directories(src / "bin");
  fs::create_directories(src / "empty");
  std::ofstream(src / "etc/app/main.toml") << "port = 8080\nneedle = yes\n";
  std::ofstream(src / "etc/app/conf.d/10-big.conf") << std::string(600, 'x') << "\nneedle = deep\n";
  std::string large;
  for (int i = 0; large.size() < 200000; ++i) large += "line " + std::to_string(i * 7919 % 100003) + "\n";
  std::ofstream(src / "etc/app/large.txt") << large;
  std::ofstream(src / "etc/app/empty.conf");
  std::ofstream(src / "bin/run.sh") << "#!/bin/sh\necho ran\n";
  fs::permissions(src / "bin/run.sh", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                          fs::perms::others_read | fs::perms::others_exec);
  fs::create_symlink("../etc/app/main.toml", src / "bin/main.link");
  fs::create_symlink("/etc/hostname", src / "bin/abs.link");
}

TEST_F(FuseTest, CpTreeInAndDiffBackAlsoAfterRemount) {
  MOUNT_OR_SKIP(addr, 0);
  const fs::path src = root_ / "src";
  MakeTree(src);
  const std::string m = Mnt(0);
  Sh cp = Run("cp -a " + src.string() + " " + m + "/");
  ASSERT_EQ(cp.code, 0) << cp.err;
  Sh diff = Run("diff -r " + src.string() + " " + m + "/src");
  EXPECT_EQ(diff.code, 0) << diff.out << diff.err;
  EXPECT_EQ(Run("find " + m + "/src -type f | wc -l").out, "5\n");
  EXPECT_EQ(Run("find " + m + "/src -type l | wc -l").out, "2\n");
  EXPECT_EQ(Run("find " + m + "/src -type d -name empty").out, m + "/src/empty\n");
  EXPECT_EQ(Run(m + "/src/bin/run.sh").out, "ran\n") << "the executable bit survives";
  Sh grep = Run("grep -r needle " + m + "/src | sort");
  EXPECT_EQ(grep.out,
            m + "/src/etc/app/conf.d/10-big.conf:needle = deep\n" + m + "/src/etc/app/main.toml:needle = yes\n");
  EXPECT_EQ(Run("readlink " + m + "/src/bin/main.link").out, "../etc/app/main.toml\n");
  // The same content through the command line (the daemon's store).
  EXPECT_EQ(Run(Cli(0, "cat demo /src/etc/app/main.toml")).out, "port = 8080\nneedle = yes\n");

  // Stop (which unmounts) and mount again: everything was stored.
  testing::Stop(last_pid_);
  std::erase(pids_, last_pid_);
  ASSERT_FALSE(IsMounted(m));
  MOUNT_OR_SKIP(again, 0);
  Sh diff2 = Run("diff -r " + src.string() + " " + m + "/src");
  EXPECT_EQ(diff2.code, 0) << diff2.out << diff2.err;
}

TEST_F(FuseTest, ManyWriteCallsBecomeOneEntryStoredWhenCloseReturns) {
  MOUNT_OR_SKIP(addr, 0);
  const std::string f = Mnt(0) + "/f";
  // 3,000 one-byte write(2) calls, then close.
  ASSERT_EQ(Run("head -c 3000 /dev/zero | tr '\\0' a | dd of=" + f + " bs=1 status=none").code, 0);
  Sh log = Run(Cli(0, "log demo /f --json"));
  ASSERT_EQ(log.code, 0) << log.err;
  json l = json::parse(log.out);
  ASSERT_EQ(l.size(), 1u) << log.out;
  EXPECT_EQ(l[0]["action"], "write");
  EXPECT_EQ(l[0]["size"], 3000);
  // A shell redirection (open, dup, close, write, close) is one entry too.
  ASSERT_EQ(Run("echo hello > " + Mnt(0) + "/g").code, 0);
  EXPECT_EQ(json::parse(Run(Cli(0, "log demo /g --json")).out).size(), 1u);
  EXPECT_EQ(Run(Cli(0, "cat demo /g")).out, "hello\n");
}

TEST_F(FuseTest, MvRmAndEditorStyleReplace) {
  MOUNT_OR_SKIP(addr, 0);
  const std::string m = Mnt(0);
  ASSERT_EQ(Run("mkdir -p " + m + "/d/sub && echo one > " + m + "/d/a && echo two > " + m + "/d/sub/b").code, 0);
  // Rename of a file.
  ASSERT_EQ(Run("mv " + m + "/d/a " + m + "/d/renamed").code, 0);
  EXPECT_EQ(Read(m + "/d/renamed"), "one\n");
  EXPECT_FALSE(fs::exists(m + "/d/a"));
  EXPECT_EQ(Run(Cli(0, "cat demo /d/renamed")).out, "one\n");
  // Rename of a directory with children (mv copies and removes).
  Sh mvdir = Run("mv " + m + "/d " + m + "/e");
  ASSERT_EQ(mvdir.code, 0) << mvdir.err;
  EXPECT_EQ(Read(m + "/e/sub/b"), "two\n");
  EXPECT_FALSE(fs::exists(m + "/d"));
  // Editor-style save: write a temporary file, then rename it over.
  ASSERT_EQ(Run("printf 'v1\\n' > " + m + "/e/conf").code, 0);
  ASSERT_EQ(Run("cd " + m + "/e && printf 'v2\\n' > .conf.swp && sync .conf.swp && mv .conf.swp conf").code, 0);
  EXPECT_EQ(Read(m + "/e/conf"), "v2\n");
  EXPECT_FALSE(fs::exists(m + "/e/.conf.swp"));
  EXPECT_EQ(Run(Cli(0, "cat demo /e/conf")).out, "v2\n");
  // rmdir of a non-empty directory fails; rm -r removes everything.
  Sh rmdir = Run("rmdir " + m + "/e");
  EXPECT_NE(rmdir.code, 0);
  EXPECT_NE(rmdir.err.find("not empty"), std::string::npos) << rmdir.err;
  ASSERT_EQ(Run("rm -r " + m + "/e").code, 0);
  EXPECT_FALSE(fs::exists(m + "/e"));
  EXPECT_NE(Run(Cli(0, "cat demo /e/conf")).code, 0);
}

TEST_F(FuseTest, ChmodTruncateAppendAndHardLink) {
  MOUNT_OR_SKIP(addr, 0);
  const std::string m = Mnt(0);
  ASSERT_EQ(Run("printf 'hello\\n' > " + m + "/f").code, 0);
  ASSERT_EQ(Run("echo more >> " + m + "/f").code, 0);
  EXPECT_EQ(Read(m + "/f"), "hello\nmore\n");
  ASSERT_EQ(Run("truncate -s 3 " + m + "/f").code, 0);
  EXPECT_EQ(Run(Cli(0, "cat demo /f")).out, "hel");
  ASSERT_EQ(Run("chmod 755 " + m + "/f").code, 0);
  EXPECT_EQ(Run("stat -c %a " + m + "/f").out, "755\n");
  ASSERT_EQ(Run("chmod 600 " + m + "/f").code, 0);
  EXPECT_EQ(Run("stat -c %a " + m + "/f").out, "600\n");
  ASSERT_EQ(Run("chmod u+s,g+s,+t " + m + "/f").code, 0);
  EXPECT_EQ(Run("stat -c %a " + m + "/f").out, "600\n") << "set-uid, setgid on a file and sticky are not kept";
  json log = json::parse(Run(Cli(0, "log demo /f --json")).out);
  ASSERT_EQ(log.size(), 5u) << log.dump();
  EXPECT_EQ(log[0]["action"], "attr");
  EXPECT_EQ(log[1]["action"], "attr");
  ASSERT_EQ(Run("chmod 600 " + m + "/f").code, 0);
  EXPECT_EQ(json::parse(Run(Cli(0, "log demo /f --json")).out).size(), 5u) << "no change, no entry";
  ASSERT_EQ(Run("chmod 644 " + m + "/f").code, 0);
  // Replaced while an old descriptor is open: the new file is stored, the
  // old descriptor's writes go nowhere.
  const int old_fd = ::open((m + "/f").c_str(), O_WRONLY);
  ASSERT_GE(old_fd, 0);
  ASSERT_EQ(Run("rm " + m + "/f && echo new > " + m + "/f").code, 0);
  ASSERT_EQ(::write(old_fd, "stale", 5), 5);
  EXPECT_EQ(::close(old_fd), 0);
  EXPECT_EQ(Read(m + "/f"), "new\n");
  EXPECT_EQ(Run(Cli(0, "cat demo /f")).out, "new\n");
  ASSERT_EQ(Run("ln " + m + "/f " + m + "/hard").code, 0);
  EXPECT_EQ(Read(m + "/hard"), "new\n");
  EXPECT_EQ(json::parse(Run(Cli(0, "log demo /hard --json")).out)[0]["action"], "link");
}

TEST_F(FuseTest, ErrorsTheToolsExpect) {
  MOUNT_OR_SKIP(addr, 0);
  const std::string m = Mnt(0);
  ASSERT_EQ(Run("mkdir " + m + "/d && echo x > " + m + "/f").code, 0);
  EXPECT_NE(Run("mkdir " + m + "/d").err.find("File exists"), std::string::npos);
  EXPECT_NE(Run("cat " + m + "/nope").err.find("No such file"), std::string::npos);
  EXPECT_NE(Run("cat " + m + "/f/x").err.find("Not a directory"), std::string::npos);
  EXPECT_NE(Run("echo y > " + m + "/d").err.find("Is a directory"), std::string::npos);
  EXPECT_NE(Run("touch " + m + "/" + std::string(256, 'n')).err.find("File name too long"), std::string::npos);
  // The extended attributes of a path.
  char buf[256];
  const ssize_t n = ::getxattr((m + "/f").c_str(), "user.basefs.revisions", buf, sizeof(buf));
  ASSERT_GT(n, 0) << std::strerror(errno);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "1");
  const ssize_t h = ::getxattr((m + "/f").c_str(), "user.basefs.hash", buf, sizeof(buf));
  ASSERT_EQ(h, 64);
  const std::string hash(buf, 64);
  EXPECT_EQ(json::parse(Run(Cli(0, "log demo /f --json")).out)[0]["hash"], hash);
  EXPECT_GT(::getxattr((m + "/f").c_str(), "user.basefs.author", buf, sizeof(buf)), 40);
  EXPECT_NE(::setxattr((m + "/f").c_str(), "user.basefs.hash", "x", 1, 0), 0);
}

// Services that read their configuration rarely run as the daemon's user.
// A root daemon mounts with allow_other and the kernel checks the modes it
// shows: `nobody` reads what the mode allows and gets EACCES for the rest;
// --mount-owner and --mount-umask set what is shown. Special files are
// refused with EPERM, a regular mknod makes an empty file.
TEST_F(FuseTest, OtherUsersReadWhatTheModesAllow) {
  ASSERT_EQ(::geteuid(), 0u) << "this test runs the mount as root and a reader as nobody (CI runs as root)";
  MOUNT_OR_SKIP(addr, 0);
  const std::string m = Mnt(0);
  // Everything on the way to the mount point must let nobody through.
  for (fs::path p = m; p != p.root_path(); p = p.parent_path())
    fs::permissions(p, fs::perms::others_exec, fs::perm_options::add);
  const std::string as_nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  ASSERT_EQ(Run("mkdir " + m + "/etc && echo 'listen 80;' > " + m + "/etc/nginx.conf").code, 0);
  Sh r = Run(as_nobody + "cat " + m + "/etc/nginx.conf");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "listen 80;\n");
  r = Run(as_nobody + "sh -c 'echo x > " + m + "/etc/nginx.conf'");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  r = Run(as_nobody + "touch " + m + "/etc/new");
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  EXPECT_EQ(Run("stat -c '%U %a' " + m + "/etc/nginx.conf " + m + "/etc").out, "root 644\nroot 755\n");

  // Special files: EPERM; a regular mknod: an empty file.
  r = Run("mkfifo " + m + "/fifo");
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
  r = Run("mknod " + m + "/dev c 1 3");
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
  ASSERT_EQ(Run("python3 -c \"import os,stat; os.mknod('" + m + "/plain', 0o644 | stat.S_IFREG)\"").code, 0);
  EXPECT_EQ(Run("stat -c %s " + m + "/plain").out, "0\n");

  // Owned by nobody, with a tighter umask: nobody may write, others not read.
  testing::Stop(last_pid_);
  ASSERT_FALSE(IsMounted(m));
  MOUNT_OR_SKIP(again, 0, {"--mount-owner", "nobody:nogroup", "--mount-umask", "027"});
  EXPECT_EQ(Run("stat -c '%U:%G %a' " + m + "/etc/nginx.conf " + m + "/etc").out,
            "nobody:nogroup 640\nnobody:nogroup 750\n");
  r = Run(as_nobody + "sh -c 'echo \"listen 8080;\" > " + m + "/etc/nginx.conf'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Run("cat " + m + "/etc/nginx.conf").out, "listen 8080;\n");
  r = Run("setpriv --reuid=65533 --regid=65533 --clear-groups cat " + m + "/etc/nginx.conf");
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
}

TEST_F(FuseTest, KeyWithoutGrantGetsPermissionDenied) {
  const std::string other = (root_ / "other.key").string();
  Sh gen = Run(Cli(0, "genkey --key " + other));
  ASSERT_EQ(gen.code, 0);
  const std::string pub = gen.out.substr(0, gen.out.size() - 1);
  ASSERT_EQ(Run(Cli(0, "grant demo /team " + pub)).code, 0);
  ASSERT_EQ(Run(Cli(0, "write demo /root-file") + " </dev/null").code, 0);
  MOUNT_OR_SKIP(addr, 0, {"--key", other});
  const std::string m = Mnt(0);
  Sh denied = Run("echo x > " + m + "/x");
  EXPECT_NE(denied.code, 0);
  EXPECT_NE(denied.err.find("Permission denied"), std::string::npos) << denied.err;
  EXPECT_NE(Run("mkdir " + m + "/y").err.find("Permission denied"), std::string::npos);
  EXPECT_NE(Run("rm " + m + "/root-file").err.find("Permission denied"), std::string::npos);
  EXPECT_NE(Run("echo x >> " + m + "/root-file").err.find("Permission denied"), std::string::npos);
  EXPECT_TRUE(fs::exists(m + "/root-file"));
  EXPECT_FALSE(fs::exists(m + "/x"));
  // Inside the grant the same key writes.
  Sh ok = Run("echo mine > " + m + "/team/f");
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(Read(m + "/team/f"), "mine\n");
  EXPECT_EQ(Read(m + "/.basefs/public_key"), pub + "\n");
}

TEST_F(FuseTest, OversizedWriteFailsWithEfbigAndStoresNothing) {
  MOUNT_OR_SKIP(addr, 0);
  const std::string m = Mnt(0);
  ASSERT_EQ(Run("echo small > " + m + "/kept").code, 0);
  const std::string over = "head -c " + std::to_string((16 << 20) + 1) + " /dev/zero";
  Sh big = Run(over + " > " + m + "/big");
  EXPECT_NE(big.code, 0);
  EXPECT_NE(big.err.find("File too large"), std::string::npos) << big.err;
  Sh over_kept = Run(over + " > " + m + "/kept");
  EXPECT_NE(over_kept.code, 0);
  EXPECT_NE(Run(Cli(0, "cat demo /big")).code, 0) << "nothing stored for a new file";
  EXPECT_EQ(Run(Cli(0, "cat demo /kept")).out, "small\n") << "the previous content stays";
  EXPECT_EQ(json::parse(Run(Cli(0, "log demo /kept --json")).out).size(), 1u);
  EXPECT_TRUE(testing::WaitFor([&] { return !fs::exists(m + "/big"); }, 5s));
  EXPECT_EQ(Read(m + "/kept"), "small\n");
  // Renamed while a descriptor holds the failed buffer: what moves is the
  // stored content.
  const int fd = ::open((m + "/kept").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::pwrite(fd, "x", 1, (16 << 20) + 1), -1);
  EXPECT_EQ(errno, EFBIG);
  EXPECT_EQ(::rename((m + "/kept").c_str(), (m + "/moved").c_str()), 0) << std::strerror(errno);
  ::close(fd);
  EXPECT_EQ(Run(Cli(0, "cat demo /moved")).out, "small\n");
}

TEST_F(FuseTest, StatusDirectoryShowsLiveState) {
  MOUNT_OR_SKIP(addr, 0);
  const std::string m = Mnt(0);
  EXPECT_EQ(Run("ls " + m + "/.basefs").out, "members\nports\npublic_key\nroot_digest\nstatus\n");
  const std::string digest0 = Read(m + "/.basefs/root_digest");
  EXPECT_EQ(digest0, json::parse(Run(Cli(0, "status demo --json")).out)["root_digest"].get<std::string>() + "\n");
  ASSERT_EQ(Run("echo x > " + m + "/x").code, 0);
  const std::string digest1 = Read(m + "/.basefs/root_digest");
  EXPECT_NE(digest1, digest0) << "rendered live";
  json members = json::parse(Read(m + "/.basefs/members"));
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0]["name"], "n0");
  json ports = json::parse(Read(m + "/.basefs/ports"));
  EXPECT_EQ(ports["gossip"], addr);
  EXPECT_TRUE(ports.contains("dns"));
  Sh key = Run(Cli(0, "genkey"));
  EXPECT_EQ(Read(m + "/.basefs/public_key"), key.out);
  EXPECT_NE(Run("echo x > " + m + "/.basefs/members").err.find("Read-only"), std::string::npos);
  EXPECT_NE(Run("touch " + m + "/.basefs/new").code, 0);
  EXPECT_NE(Run("rm " + m + "/.basefs/members").code, 0);
}

TEST_F(FuseTest, WriteOnOneMountAppearsInAnotherAndRunsItsHandler) {
  fs::copy(Dir(0), Dir(1), fs::copy_options::recursive);
  MOUNT_OR_SKIP(seed, 0);
  const std::string hlog = (root_ / "handler.log").string();
  MOUNT_OR_SKIP(addr1, 1,
                {"--join", seed, "--handler",
                 "/services/**=echo \"$BASEFS_NAME $BASEFS_EVENT_TYPE $BASEFS_EVENT_PATH\" >> " + hlog});
  const std::string m0 = Mnt(0), m1 = Mnt(1);
  // Node 1's kernel caches a negative entry and a listing first.
  EXPECT_FALSE(fs::exists(m1 + "/services"));
  ASSERT_EQ(Run("mkdir " + m0 + "/services && echo 'port = 80' > " + m0 + "/services/web").code, 0);
  ASSERT_TRUE(testing::WaitFor([&] { return Read(m1 + "/services/web") == "port = 80\n"; }, 15s))
      << testing::Slurp(Log(1));
  EXPECT_EQ(Run("ls " + m1 + "/services").out, "web\n");
  ASSERT_EQ(Run("echo 'port = 81' > " + m0 + "/services/api").code, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return Run("ls " + m1 + "/services").out == "api\nweb\n"; }, 15s))
      << "a cached listing is dropped on a remote create";
  // An update replaces cached pages and attributes on the other node.
  ASSERT_EQ(Run("echo 'port = 8080' > " + m0 + "/services/web").code, 0);
  ASSERT_TRUE(testing::WaitFor([&] { return Read(m1 + "/services/web") == "port = 8080\n"; }, 15s));
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        const std::string h = Read(hlog);
        return h.find("demo create /services/web\n") != std::string::npos &&
               h.find("demo update /services/web\n") != std::string::npos;
      },
      15s))
      << Read(hlog);
  // A symlink the other kernel has cached follows its new target.
  ASSERT_EQ(Run("ln -s web " + m0 + "/services/link").code, 0);
  ASSERT_TRUE(testing::WaitFor([&] { return Run("readlink " + m1 + "/services/link").out == "web\n"; }, 15s));
  ASSERT_EQ(Run("ln -sfn api " + m0 + "/services/link").code, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return Run("readlink " + m1 + "/services/link").out == "api\n"; }, 15s))
      << "a cached symlink target is dropped on a remote change";
  ASSERT_EQ(Run("rm " + m0 + "/services/link").code, 0);
  // A delete disappears there too.
  ASSERT_EQ(Run("rm " + m0 + "/services/web").code, 0);
  ASSERT_TRUE(testing::WaitFor([&] { return !fs::exists(m1 + "/services/web"); }, 15s));
  EXPECT_TRUE(testing::WaitFor([&] { return Run("ls " + m1 + "/services").out == "api\n"; }, 15s));
  ASSERT_TRUE(
      testing::WaitFor([&] { return Read(hlog).find("demo delete /services/web\n") != std::string::npos; }, 15s));
}

TEST_F(FuseTest, ChangesFromTheCommandLineReachTheKernelCache) {
  MOUNT_OR_SKIP(addr, 0);
  const std::string m = Mnt(0);
  ASSERT_EQ(Run("echo one > " + m + "/f").code, 0);
  EXPECT_EQ(Read(m + "/f"), "one\n");
  EXPECT_FALSE(fs::exists(m + "/g"));
  ASSERT_EQ(Run("echo two | " + Cli(0, "write demo /f")).code, 0);
  ASSERT_EQ(Run("echo new | " + Cli(0, "write demo /g")).code, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return Read(m + "/f") == "two\n"; }, 5s)) << Read(m + "/f");
  EXPECT_TRUE(testing::WaitFor([&] { return Read(m + "/g") == "new\n"; }, 5s));
}

TEST_F(FuseTest, HandlersRunWithoutAMountAndCoalesceStorms) {
  const std::string hlog = (root_ / "handler.log").string();
  fs::create_directories(Mnt(0));
  const pid_t pid = testing::Spawn(
      {BASEFS_BIN, "--data-dir", Dir(0), "run", "demo", "--bind", "127.0.0.1:0", "--dns", "127.0.0.1:0", "--node-name",
       "n0", "--handler", "/conf/*=echo \"$BASEFS_EVENT_TYPE $BASEFS_EVENT_PATH\" >> " + hlog},
      Log(0));
  pids_.push_back(pid);
  ASSERT_TRUE(testing::WaitFor([&] { return testing::Slurp(Log(0)).find("serving") != std::string::npos; }, 10s));
  ASSERT_EQ(Run(Cli(0, "mkdir demo /conf")).code, 0);
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(Run("echo " + std::to_string(i) + " | " + Cli(0, "write demo /conf/a")).code, 0);
  ASSERT_EQ(Run(Cli(0, "rm demo /conf/a")).code, 0);
  ASSERT_TRUE(testing::WaitFor([&] { return Read(hlog).find("delete /conf/a\n") != std::string::npos; }, 10s))
      << Read(hlog);
  const std::string h = Read(hlog);
  EXPECT_EQ(h.find("mkdir /conf"), std::string::npos) << "/conf itself is not under /conf/*";
  EXPECT_EQ(h.rfind("create /conf/a\n", 0), 0u) << h;
  size_t lines = std::count(h.begin(), h.end(), '\n');
  EXPECT_LE(lines, 22u);
}

TEST_F(FuseTest, BlockedHandlersNeverDelayTheMount) {
  // Every handler run blocks on a FIFO until the test opens it.
  const std::string gate = (root_ / "gate").string();
  ASSERT_EQ(::mkfifo(gate.c_str(), 0600), 0);
  MOUNT_OR_SKIP(addr, 0, {"--handler", "/**=cat " + gate + " > /dev/null"});
  const std::string m = Mnt(0);
  // Far more changes than handler slots; each command has a deadline.
  for (int i = 0; i < 12; ++i)
    ASSERT_EQ(Run("timeout 10 sh -c 'echo " + std::to_string(i) + " > " + m + "/f" + std::to_string(i) + "'").code, 0);
  EXPECT_EQ(Run("timeout 10 cat " + m + "/f11").out, "11\n");
  EXPECT_EQ(Run("timeout 10 " + Cli(0, "cat demo /f3")).out, "3\n");
  EXPECT_EQ(Run("timeout 10 ls " + m + " | wc -l").out, "12\n");
  EXPECT_EQ(Run("ps --ppid " + std::to_string(last_pid_) + " -o comm= | grep -c sh").out, "4\n")
      << "at most four runs at once";
  // Stop the node, then let the blocked runs finish.
  testing::Stop(last_pid_);
  std::erase(pids_, last_pid_);
  const int fd = ::open(gate.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ::close(fd);
}

// A burst of requests (a tree walked file by file) takes the daemon's CPU
// latency hold, and a quiet mount gives it back (daemon/latency_hold.h).
// Only root may take it; anyone else sees "unavailable" and the same files.
TEST_F(FuseTest, ABusyMountHoldsCpuLatencyUntilItIsQuiet) {
  const auto status = [&] { return json::parse(Run(Cli(0, "status demo --json")).out); };
  const std::string m = Mnt(0);
  {
    MOUNT_OR_SKIP(addr, 0, {"--latency-hold", "0"});
    ASSERT_EQ(Run("mkdir " + m + "/t && for i in $(seq 40); do echo $i > " + m + "/t/$i; done").code, 0);
    ASSERT_EQ(Run("cat " + m + "/t/* | wc -l").out, "40\n");
    const json st = status();
    EXPECT_EQ(st["fuse_latency_hold"], "off");
    EXPECT_EQ(st["fuse_latency_holds"], 0);
    testing::Stop(last_pid_);
    std::erase(pids_, last_pid_);
  }
  // The kernel's CPU latency constraint in µs (-1: unreadable).
  const auto constraint = [] {
    int32_t v = -1;
    std::ifstream("/dev/cpu_dma_latency", std::ios::binary).read(reinterpret_cast<char*>(&v), sizeof v);
    return v;
  };
  const int probe = ::open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
  const bool may = probe >= 0;
  if (may) ::close(probe);
  const int32_t before = constraint();

  MOUNT_OR_SKIP(addr, 0, {"--latency-hold", "1000"});
  EXPECT_EQ(status()["fuse_latency_hold"], may ? "idle" : "unavailable");
  ASSERT_EQ(Run("cat " + m + "/t/* | wc -l").out, "40\n");
  json st = status();
  if (!may) {
    EXPECT_EQ(st["fuse_latency_hold"], "unavailable");
    EXPECT_EQ(st["fuse_latency_holds"], 0);
    return;
  }
  // Held for one to two 1 s periods after the burst.
  EXPECT_EQ(st["fuse_latency_hold"], "held");
  EXPECT_EQ(st["fuse_latency_holds"], 1);
  if (before > 0) {
    EXPECT_EQ(constraint(), 0) << "the kernel holds what the daemon asked";
  }
  EXPECT_TRUE(testing::WaitFor([&] { return status()["fuse_latency_hold"] == "idle"; }, 5s));
  if (before > 0) {
    EXPECT_EQ(constraint(), before) << "withdrawn";
  }
  st = status();
  EXPECT_EQ(st["fuse_latency_holds"], 1);
  EXPECT_GE(st["fuse_latency_held_ms"].get<int>(), 1000);
}

TEST_F(FuseTest, ReadOnlyMountAnswersErofs) {
  ASSERT_EQ(Run("echo x | " + Cli(0, "write demo /f")).code, 0);
  use_run_ = true;  // `basefs run NAME --mount DIR` is the same as `basefs mount NAME DIR`
  MOUNT_OR_SKIP(addr, 0, {"--read-only"});
  const std::string m = Mnt(0);
  EXPECT_EQ(Read(m + "/f"), "x\n");
  EXPECT_NE(Run("echo y > " + m + "/f").err.find("Read-only file system"), std::string::npos);
  EXPECT_NE(Run("mkdir " + m + "/d").err.find("Read-only file system"), std::string::npos);
}

TEST_F(FuseTest, UnmountStopsTheDaemonAndKillLeavesNoHalfWrittenEntry) {
  MOUNT_OR_SKIP(addr, 0);
  const std::string m = Mnt(0);
  ASSERT_EQ(Run("echo stored > " + m + "/f").code, 0);
  // An open file with unsaved content when the daemon is killed.
  const int fd = ::open((m + "/f").c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "unsaved", 7), 7);
  const int fd2 = ::open((m + "/new").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd2, 0);
  ASSERT_EQ(::write(fd2, "unsaved", 7), 7);
  testing::Stop(last_pid_, SIGKILL);
  std::erase(pids_, last_pid_);
  ::close(fd);
  ::close(fd2);
  // The mount point is now stale: a new daemon says so and what to do.
  struct stat st {};
  EXPECT_NE(::stat(m.c_str(), &st), 0);
  EXPECT_EQ(errno, ENOTCONN);
  const std::string again = Mount(0);
  EXPECT_TRUE(again.empty());
  EXPECT_EQ(WaitExit(last_pid_, 10s), 1);
  const std::string log = testing::Slurp(Log(0));
  EXPECT_NE(log.find("stale"), std::string::npos) << log;
  EXPECT_NE(log.find("fusermount3 -u " + m), std::string::npos) << log;
  // Once unmounted as told, it mounts; the killed write left nothing.
  ASSERT_EQ(Run("fusermount3 -u " + m).code, 0);
  MOUNT_OR_SKIP(third, 0);
  EXPECT_EQ(Read(m + "/f"), "stored\n");
  EXPECT_FALSE(fs::exists(m + "/new"));
  EXPECT_EQ(json::parse(Run(Cli(0, "log demo /f --json")).out).size(), 1u);
  // fusermount3 -u from outside stops the daemon cleanly.
  ASSERT_EQ(Run("fusermount3 -u " + m).code, 0);
  EXPECT_EQ(WaitExit(last_pid_, 10s), 0);
  EXPECT_FALSE(IsMounted(m));
}

// A hard link keeps the content when its target goes, as git relies on:
// it links a new object to its final name, then unlinks the temporary one.
TEST_F(FuseTest, HardLinkKeepsTheContentWhenTheTargetGoes) {
  MOUNT_OR_SKIP(addr, 0);
  const std::string m = Mnt(0);
  ASSERT_EQ(Run("echo data > " + m + "/o && ln " + m + "/o " + m + "/hl && rm " + m + "/o").code, 0);
  EXPECT_EQ(Read(m + "/hl"), "data\n");
  ASSERT_EQ(Run("printf 'x\\n' > " + m + "/a && chmod +x " + m + "/a && ln " + m + "/a " + m + "/b && echo y > " + m +
                "/c && mv " + m + "/c " + m + "/a")
                .code,
            0);
  EXPECT_EQ(Read(m + "/b"), "x\n");  // a was replaced: b keeps a's old content
  EXPECT_TRUE(fs::status(m + "/b").permissions() == (fs::status(m + "/b").permissions() | fs::perms::owner_exec));
  EXPECT_EQ(Read(m + "/a"), "y\n");
  const Sh git = Run("cd " + m +
                     " && git init -q repo && cd repo && echo hi > f && git add f && "
                     "git -c user.email=t@example.org -c user.name=t commit -qm one && git fsck --strict && "
                     "git cat-file -p HEAD:f");
  EXPECT_EQ(git.code, 0) << git.err;
  EXPECT_EQ(git.out, "hi\n") << git.err;
}

// A file open for reading keeps what it had when its name is unlinked or
// replaced (an editor or a config tool renaming a new version over it).
TEST_F(FuseTest, OpenFileKeepsItsContentWhenItsNameGoes) {
  MOUNT_OR_SKIP(addr, 0);
  const std::string m = Mnt(0);
  ASSERT_EQ(Run("echo old > " + m + "/rf && echo new > " + m + "/rg && echo gone > " + m + "/a").code, 0);
  const int rf = ::open((m + "/rf").c_str(), O_RDONLY);
  const int a = ::open((m + "/a").c_str(), O_RDONLY);
  ASSERT_GE(rf, 0);
  ASSERT_GE(a, 0);
  ASSERT_EQ(Run("mv " + m + "/rg " + m + "/rf && rm " + m + "/a").code, 0);
  char buf[64];
  ssize_t n = ::pread(rf, buf, sizeof(buf), 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))), "old\n");
  n = ::pread(a, buf, sizeof(buf), 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))), "gone\n");
  struct stat st {};
  ASSERT_EQ(::fstat(a, &st), 0);
  EXPECT_EQ(st.st_size, 5);
  ::close(rf);
  ::close(a);
  EXPECT_EQ(Read(m + "/rf"), "new\n");

  // Deleted by another writer (here the command line; another node is the
  // same path through the store): the descriptor keeps what it had, and a
  // file created again at that name is another file.
  ASSERT_EQ(Run("echo kept > " + m + "/del").code, 0);
  const int d = ::open((m + "/del").c_str(), O_RDONLY);
  ASSERT_GE(d, 0);
  ASSERT_EQ(Run(Cli(0, "rm demo /del")).code, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return !fs::exists(m + "/del"); }, 5s));
  ASSERT_EQ(Run("echo again > " + m + "/del").code, 0);
  n = ::pread(d, buf, sizeof(buf), 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))), "kept\n");
  EXPECT_EQ(Read(m + "/del"), "again\n");
  ::close(d);

  // A hard link, and a file reverted to an older revision, deleted the
  // same way: each keeps the content it showed.
  ASSERT_EQ(Run("echo linked > " + m + "/t && ln " + m + "/t " + m + "/hl").code, 0);
  ASSERT_EQ(Run("echo first > " + m + "/rv && echo second > " + m + "/rv").code, 0);
  const json revs = json::parse(Run(Cli(0, "log demo /rv --json")).out);
  ASSERT_EQ(revs.size(), 2u);
  ASSERT_EQ(Run(Cli(0, "revert demo /rv " + revs[1]["hash"].get<std::string>())).code, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return Read(m + "/rv") == "first\n"; }, 5s));
  const int hl = ::open((m + "/hl").c_str(), O_RDONLY);
  const int rv = ::open((m + "/rv").c_str(), O_RDONLY);
  ASSERT_GE(hl, 0);
  ASSERT_GE(rv, 0);
  ASSERT_EQ(Run(Cli(0, "rm demo /hl") + " && " + Cli(0, "rm demo /rv")).code, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return !fs::exists(m + "/hl") && !fs::exists(m + "/rv"); }, 5s));
  n = ::pread(hl, buf, sizeof(buf), 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))), "linked\n");
  n = ::pread(rv, buf, sizeof(buf), 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))), "first\n");
  ::close(hl);
  ::close(rv);
  EXPECT_EQ(Read(m + "/t"), "linked\n");
}

// Renames and truncates as POSIX has them: two names of one file renamed
// onto each other is a no-op; a new file renamed over an open, written one
// is not overwritten when the old descriptor closes; truncate(2) by name is
// stored when it returns, even while a reader holds the file open; and
// `.basefs` cannot be removed or renamed.
TEST_F(FuseTest, RenamesAndTruncatesAsPosixSays) {
  MOUNT_OR_SKIP(addr, 0);
  const std::string m = Mnt(0);
  ASSERT_EQ(Run("echo x > " + m + "/a && ln " + m + "/a " + m + "/b").code, 0);
  EXPECT_EQ(::rename((m + "/b").c_str(), (m + "/a").c_str()), 0) << std::strerror(errno);
  EXPECT_EQ(Read(m + "/a"), "x\n");
  EXPECT_EQ(Read(m + "/b"), "x\n");
  EXPECT_EQ(Run(Cli(0, "cat demo /a")).out, "x\n");

  ASSERT_EQ(Run("echo orig > " + m + "/t").code, 0);
  const int old_fd = ::open((m + "/t").c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(old_fd, 0);
  ASSERT_EQ(::write(old_fd, "A\n", 2), 2);
  const int new_fd = ::open((m + "/tmp").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(new_fd, 0);
  ASSERT_EQ(::write(new_fd, "NEW\n", 4), 4);
  ASSERT_EQ(::rename((m + "/tmp").c_str(), (m + "/t").c_str()), 0) << std::strerror(errno);
  EXPECT_EQ(::close(new_fd), 0);
  EXPECT_EQ(::close(old_fd), 0);
  EXPECT_EQ(Read(m + "/t"), "NEW\n");
  EXPECT_EQ(Run(Cli(0, "cat demo /t")).out, "NEW\n");

  ASSERT_EQ(Run("echo hello > " + m + "/r").code, 0);
  const int reader = ::open((m + "/r").c_str(), O_RDONLY);
  ASSERT_GE(reader, 0);
  ASSERT_EQ(::truncate((m + "/r").c_str(), 2), 0) << std::strerror(errno);
  EXPECT_EQ(Run(Cli(0, "cat demo /r")).out, "he") << "stored before the reader closes";
  ::close(reader);

  // `ln -sfn v2 current` swaps the link with a rename: one batch, so the
  // name is never absent (no delete in its history).
  ASSERT_EQ(Run("ln -s v1 " + m + "/current && ln -s v2 " + m + "/current.new && mv -T " + m + "/current.new " + m +
                "/current")
                .code,
            0);
  EXPECT_EQ(Run("readlink " + m + "/current").out, "v2\n");
  json history = json::parse(Run(Cli(0, "log demo /current --json")).out);
  ASSERT_EQ(history.size(), 2u) << history.dump();
  EXPECT_EQ(history[0]["action"], "slink");
  EXPECT_EQ(history[1]["action"], "slink");

  // Hard links are one file: a change through one name shows through the
  // other (not a stale cached page), and an append through the link
  // changes the file it names and leaves the link a link.
  ASSERT_EQ(Run("echo A > " + m + "/h1 && ln " + m + "/h1 " + m + "/h2 && cat " + m + "/h2").out, "A\n");
  ASSERT_EQ(Run("echo B > " + m + "/h1").code, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return Read(m + "/h2") == "B\n"; }, 5s)) << Read(m + "/h2");
  ASSERT_EQ(Run("echo C >> " + m + "/h2").code, 0);
  EXPECT_EQ(Run(Cli(0, "cat demo /h1")).out, "B\nC\n");
  EXPECT_EQ(json::parse(Run(Cli(0, "log demo /h2 --json")).out)[0]["action"], "link");
  // Held open: a descriptor of the link and one of the target see each
  // other's writes (the daemon's buffers too, not only the kernel's pages).
  const int via_link = ::open((m + "/h2").c_str(), O_RDONLY), via_target = ::open((m + "/h1").c_str(), O_RDONLY);
  ASSERT_GE(via_link, 0);
  ASSERT_GE(via_target, 0);
  auto pread_all = [](int fd) {
    char b[64];
    const ssize_t got = ::pread(fd, b, sizeof(b), 0);
    return std::string(b, static_cast<size_t>(std::max<ssize_t>(got, 0)));
  };
  EXPECT_EQ(pread_all(via_link), "B\nC\n");
  EXPECT_EQ(pread_all(via_target), "B\nC\n");
  ASSERT_EQ(Run("echo D > " + m + "/h1").code, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return pread_all(via_link) == "D\n"; }, 5s)) << pread_all(via_link);
  ASSERT_EQ(Run("echo E > " + m + "/h2").code, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return pread_all(via_target) == "E\n"; }, 5s)) << pread_all(via_target);
  ::close(via_link);
  ::close(via_target);
  // truncate(2) by the link's name truncates the file it names.
  ASSERT_EQ(::truncate((m + "/h2").c_str(), 1), 0) << std::strerror(errno);
  EXPECT_EQ(Run(Cli(0, "cat demo /h1")).out, "E");
  EXPECT_EQ(json::parse(Run(Cli(0, "log demo /h2 --json")).out)[0]["action"], "link");

  // df of the mount is the space of the disk the log is on.
  EXPECT_EQ(Run("stat -f -c '%b %S' " + m).out, Run("stat -f -c '%b %S' " + Dir(0)).out);

  EXPECT_NE(::rmdir((m + "/.basefs").c_str()), 0);
  EXPECT_EQ(errno, EBUSY);
  EXPECT_NE(::rename((m + "/.basefs").c_str(), (m + "/elsewhere").c_str()), 0);
  EXPECT_EQ(errno, EBUSY);
  EXPECT_TRUE(fs::exists(m + "/.basefs/members"));
}

// A file larger than what the daemon may hold for open files is read a
// range at a time (docs/fuse.md): front to back and from the middle, it
// reads back exactly what was written.
TEST_F(FuseTest, AFileLargerThanTheBufferBudgetReadsBackInRanges) {
  ::setenv("BASEFS_TEST_FUSE_BUFFER_BYTES", "65536", 1);
  const std::string addr = MountOrSkip(0);
  ::unsetenv("BASEFS_TEST_FUSE_BUFFER_BYTES");
  if (addr.empty() && !skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  ASSERT_FALSE(addr.empty()) << testing::Slurp(Log(0));
  const std::string m = Mnt(0), src = (root_ / "big.src").string();
  std::string big;
  for (int i = 0; big.size() < (3u << 20); ++i) big += "line " + std::to_string(i * 7919 % 1000003) + "\n";
  std::ofstream(src) << big;
  ASSERT_EQ(Run(Cli(0, "write demo /big " + src)).code, 0);
  EXPECT_EQ(Run("cmp " + src + " " + m + "/big").code, 0) << "front to back";
  const std::string a = (root_ / "a").string(), b = (root_ / "b").string();
  EXPECT_EQ(
      Run("tail -c 70000 " + m + "/big > " + a + " && tail -c 70000 " + src + " > " + b + " && cmp " + a + " " + b)
          .code,
      0)
      << "the end";
  EXPECT_EQ(Run("dd if=" + m + "/big of=" + a + " bs=4096 skip=300 count=5 && dd if=" + src + " of=" + b +
                " bs=4096 skip=300 count=5 && cmp " + a + " " + b)
                .code,
            0)
      << "the middle";

  // Open when another writer deletes it: still read in ranges, the content
  // it showed.
  const int fd = ::open((m + "/big").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(Run(Cli(0, "rm demo /big")).code, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return !fs::exists(m + "/big"); }, 5s));
  std::string back;
  char buf[65536];
  for (off_t off = 0;; off += static_cast<off_t>(sizeof(buf))) {
    const ssize_t got = ::pread(fd, buf, sizeof(buf), off);
    if (got <= 0) break;
    back.append(buf, static_cast<size_t>(got));
  }
  ::close(fd);
  EXPECT_TRUE(back == big) << "read back " << back.size() << " of " << big.size() << " bytes";
}

// The daemon never opens a file its clients name: a --key inside its own
// mount would make it wait on itself. The client reads its key and sends it.
TEST_F(FuseTest, KeyFileInsideTheMountDoesNotBlockTheDaemon) {
  MOUNT_OR_SKIP(addr, 0);
  const std::string m = Mnt(0);
  ASSERT_EQ(Run("cp " + Dir(0) + "/key " + m + "/k").code, 0);
  EXPECT_EQ(Run("stat -c %a " + m + "/k").out, "600\n") << "cp keeps a key's mode in the mount";
  // The client reads the key and signs through the daemon (a daemon
  // reading it would hang on its own mount: timeout's 124).
  const Sh in_mount = Run("echo hi | timeout 20 " + Cli(0, "--key " + m + "/k write demo /in-mount"));
  EXPECT_EQ(in_mount.code, 0) << in_mount.err;
  // Readable by others: the client refuses it itself, at once.
  ASSERT_EQ(Run("chmod 644 " + m + "/k").code, 0);
  const Sh w = Run("echo hi | timeout 20 " + Cli(0, "--key " + m + "/k write demo /x"));
  EXPECT_EQ(w.code, 1) << w.err;
  EXPECT_NE(w.err.find("readable by others"), std::string::npos) << w.err;
  EXPECT_EQ(Run("timeout 20 ls " + m).code, 0);
  const Sh missing = Run("echo hi | timeout 20 " + Cli(0, "--key " + root_.string() + "/nokey write demo /y"));
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no key file"), std::string::npos) << missing.err;
  // A key outside the mount signs through the daemon as before.
  ASSERT_EQ(Run("cp " + Dir(0) + "/key " + root_.string() + "/k2 && chmod 600 " + root_.string() + "/k2").code, 0);
  const Sh ok = Run("echo hi | timeout 20 " + Cli(0, "--key " + root_.string() + "/k2 write demo /x"));
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(Read(m + "/x"), "hi\n");
}

// SIGTERM while files are being saved through the mount and written
// through the control socket: the daemon stops cleanly (no crash).
TEST_F(FuseTest, SigtermWhileBusyStopsCleanly) {
  MOUNT_OR_SKIP(addr, 0);
  const std::string m = Mnt(0);
  const std::string stop = (root_ / "stop").string();
  const pid_t writer = testing::Spawn({"/bin/sh", "-c",
                                       "i=0; while [ $i -lt 2000 ] && [ ! -e " + stop + " ]; do echo $i > " + m +
                                           "/w$((i % 50)) 2>/dev/null; i=$((i+1)); done"},
                                      (root_ / "writer.log").string());
  const pid_t cli = testing::Spawn({"/bin/sh", "-c",
                                    "i=0; while [ $i -lt 400 ] && [ ! -e " + stop + " ]; do echo $i | " +
                                        Cli(0, "write demo /c$((i % 20))") + " 2>/dev/null; i=$((i+1)); done"},
                                   (root_ / "cli.log").string());
  ASSERT_TRUE(testing::WaitFor([&] { return fs::exists(m + "/w10") && fs::exists(m + "/c3"); }, 20s));
  ::kill(last_pid_, SIGTERM);
  const int code = WaitExit(last_pid_, 20s);
  WriteLocal(stop, "");
  testing::Stop(writer, SIGKILL);
  testing::Stop(cli, SIGKILL);
  EXPECT_EQ(code, 0) << testing::Slurp(Log(0));
}

}  // namespace
}  // namespace basefs
