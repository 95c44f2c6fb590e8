#include "cli/command.h"

#include <sys/stat.h>

#include <ctime>

#include "base/wall_clock.h"

namespace basefs {

void Fail(const Status& st) { throw CommandError(st); }

void OrDie(const Status& st) {
  if (!st.ok()) Fail(st);
}

StoreOptions WallClockStoreOptions() {
  StoreOptions o;
  o.now_ms = WallClockMs;
  return o;
}

StoreRef OpenStore(const Context& c, const std::string& name) {
  OrDie(ValidateFsName(name));
  if (c.io.daemon) {
    if (Store* s = c.io.daemon->StoreFor(name)) return StoreRef(s);
  }
  const DataDir& d = c.g.data_dir;
  struct stat st {};
  if (::stat(d.FsDir(name).c_str(), &st) != 0)
    Fail(NotFound("no filesystem '" + name + "' in " + d.root + "; create it with 'basefs bootstrap " + name +
                  "' or clone it with 'basefs get'"));
  return StoreRef(OrDie(Store::Open(d.LogDir(name), WallClockStoreOptions())));
}

KeyPair SigningKey(const Context& c) {
  if (c.io.client_key) return OrDie(Result<KeyPair>(*c.io.client_key));
  return OrDie(LoadKey(c.g.data_dir.KeyPath()));
}

Subcommand Subcommand::Here(CLI::App* app, std::function<int()> run) {
  Subcommand s;
  s.app = app;
  s.run = std::move(run);
  return s;
}

Subcommand Subcommand::OnStore(CLI::App* app, std::function<std::string()> fs_name, std::function<int()> run) {
  Subcommand s = Here(app, std::move(run));
  s.on_store = true;
  s.fs_name = std::move(fs_name);
  return s;
}

void PrintJson(const Context& c, const json& j) {
  c.io.out << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
}

std::string FormatTime(uint64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace basefs
