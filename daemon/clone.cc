#include "daemon/clone.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <event2/event.h>

#include "base/wall_clock.h"
#include "daemon/sync_service.h"
#include "replicate/sync_session.h"
#include "store/store.h"

namespace basefs {

Result<Keyring> LoadKeyring(const std::string& path) {
  if (path.empty()) return Keyring();
  std::ifstream in(path);
  if (!in) return NotFound("cannot read cluster key file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return Keyring::Parse(ss.str());
}

Status SaveKeyring(const std::string& path, const Keyring& keyring) {
  const std::string tmp = path + ".new";
  const std::string text = keyring.Text();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IOError("cannot write cluster key file " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return IOError("cannot write cluster key file " + tmp + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return IOError("cannot replace cluster key file " + path + ": " + std::strerror(err));
  }
  return Status::Ok();
}

Status CloneFilesystem(const DataDir& data_dir, const std::string& name, const std::string& addr,
                       const Keyring& keyring, std::ostream& progress) {
  BASEFS_RETURN_IF_ERROR(ValidateFsName(name));
  const std::string fs_dir = data_dir.FsDir(name);
  StoreOptions so;
  so.now_ms = WallClockMs;
  ::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<Store> store;
  struct stat st {};
  const bool existed = ::stat(fs_dir.c_str(), &st) == 0;
  if (existed) {
    // Resume an interrupted clone (or refresh a copy): a normal session.
    BASEFS_ASSIGN_OR_RETURN(store, Store::Open(data_dir.LogDir(name), so));
  }
  event_base* base = event_base_new();
  std::unique_ptr<SyncSession> session;
  if (store) {
    session = std::make_unique<SyncSession>(store.get());
  } else {
    session = std::make_unique<SyncSession>(nullptr, SyncOptions(), [&](std::string_view genesis) -> Result<Store*> {
      auto g_entry = DecodeEntry(genesis, kMaxRemoteFileBytes);
      if (g_entry.ok() && g_entry->name != name)
        return Invalid("the peer at " + addr + " serves '" + g_entry->name + "', not '" + name + "'");
      std::error_code ec;
      std::filesystem::create_directories(fs_dir, ec);
      if (ec) return IOError("cannot create " + fs_dir + ": " + ec.message());
      BASEFS_ASSIGN_OR_RETURN(store, Store::CreateReplica(data_dir.LogDir(name), genesis, so));
      return store.get();
    });
  }
  const bool tty = ::isatty(2);
  uint64_t last_report = 0;
  session->set_progress([&](const SyncStats& s) {
    if (tty) {
      progress << "\rcloning '" << name << "' from " << addr << ": " << s.entries_new << " entries, "
               << s.blocks_received << " blocks, " << s.bytes_in / 1024 << " KiB" << std::flush;
    } else if (s.entries_new >= last_report + 1000) {
      last_report = s.entries_new;
      progress << "cloning '" << name << "': " << s.entries_new << " entries, " << s.blocks_received << " blocks"
               << std::endl;
    }
  });
  Status result = IOError("sync did not finish");
  SyncServiceOptions opts;
  opts.keyring = keyring;
  auto conn = ConnectSync(base, addr, std::move(session), opts, [&](SyncConnection*, const Status& s) {
    result = s;
    event_base_loopbreak(base);
  });
  if (!conn.ok()) {
    event_base_free(base);
    return conn.status();
  }
  event_base_dispatch(base);
  const SyncStats stats = (*conn)->session().stats();
  conn->reset();
  event_base_free(base);
  if (tty) progress << "\n";
  if (!store) {
    if (!existed) {
      std::error_code ec;
      std::filesystem::remove_all(fs_dir, ec);  // nothing half-done: no genesis came
    }
    return result.ok() ? IOError("the peer at " + addr + " sent no filesystem") : result;
  }
  if (!result.ok())
    return Status(result.code(), result.message() + "; " + std::to_string(stats.entries_new) +
                                     " entries kept: run 'basefs get' again to resume");
  progress << "cloned '" << name << "' from " << addr << ": " << store->view().entry_count() << " entries, "
           << store->log().block_count() << " blocks, root digest " << ToHex(store->view().RootDigest()) << std::endl;
  return Status::Ok();
}

}  // namespace basefs
