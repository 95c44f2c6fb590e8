// The basefs subcommands, shared by the command line and the daemon.
//
// Execute() parses one command line and runs it against a store: one it
// opens itself, or the daemon's (through DaemonHooks) when the daemon runs
// the command on behalf of a client of its control socket. Output goes to
// the given streams; errors are one line "basefs: ..." on `err` and exit
// code 1 (2 for usage errors).
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.h"

namespace basefs {

struct Globals {
  std::string data_dir;
  std::string key_file;
  bool json = false;
};

// Options of `basefs run` / `basefs mount`.
struct RunOptions {
  std::string name;
  std::string bind = "0.0.0.0:7400";
  std::string advertise;
  std::string dns = "127.0.0.1:5354";
  std::string mount;
  bool read_only = false;  // --read-only: mount without write access (EROFS)
  // --latency-hold MS: while the mount gets 32 requests per MS ms, idle
  // CPUs wake at once (daemon/latency_hold.h); 0: never.
  uint64_t latency_hold_ms = 20;
  std::string node_name;
  std::string metrics;
  std::string cluster_key_file;
  std::vector<std::string> join;
  std::vector<std::string> handlers;
  std::vector<std::string> recursors;
  bool no_recursion = false;                                     // REFUSED instead of forwarding
  std::vector<std::string> axfr_allow = {"127.0.0.0/8", "::1/128"};  // --axfr-allow CIDR
};

// What a running daemon offers to commands it executes.
class DaemonHooks {
 public:
  virtual ~DaemonHooks() = default;
  // The daemon's store if it serves `name`, else nullptr.
  virtual Store* StoreFor(const std::string& name) = 0;
  // `basefs members` rows: name, address, state, incarnation, ...
  virtual nlohmann::ordered_json Members() = 0;
  // Extra `basefs status` fields (ports, members, counters).
  virtual nlohmann::ordered_json StatusJson() = 0;
};

class CommandError : public std::runtime_error {
 public:
  explicit CommandError(Status st) : std::runtime_error(st.message()), status_(std::move(st)) {}
  const Status& status() const { return status_; }

 private:
  Status status_;
};

struct Io {
  Io(std::string in_bytes, std::ostream& o, std::ostream& e) : in(std::move(in_bytes)), out(o), err(e) {}
  std::string in;  // standard input, read up front by the caller when needed
  std::ostream& out;
  std::ostream& err;
  DaemonHooks* daemon = nullptr;  // set when the daemon executes the command
  // Reads standard input (called only by commands that need it).
  std::function<std::string()> read_stdin;
  // Sends the command to a running daemon for `name`, with the client's
  // key (64-byte secret, or empty and why); nullopt if no daemon runs.
  std::function<std::optional<int>(const std::string& name, const std::vector<std::string>& args,
                                   const std::string& stdin_bytes, const std::string& key_secret,
                                   const std::string& key_error)>
      forward;
  // Set when the daemon executes a client's command: the client's key (or
  // why it has none). Commands sign with it and never read --key themselves.
  std::optional<Result<KeyPair>> client_key;
  // Runs the daemon (`run`, `mount`); null inside a daemon.
  std::function<int(const Globals&, const RunOptions&)> run_daemon;
  // Clones a filesystem from a peer (`get`); null inside a daemon.
  std::function<Status(const Globals&, const std::string& name, const std::string& addr,
                       const std::string& cluster_key_file)>
      clone;
};

// Parses and runs one command line (args exclude the program name).
int Execute(const std::vector<std::string>& args, Io& io);

struct BadFile;
// `basefs status`'s bad_files: [{path, reason}].
nlohmann::ordered_json BadFilesJson(const std::vector<BadFile>& bad);

std::string DefaultDataDir();
std::string KeyPath(const Globals& g);
// The per-filesystem directory and the control socket inside it.
std::string FsDir(const Globals& g, const std::string& name);
std::string ControlSocketPath(const Globals& g, const std::string& name);
Status ValidateFsName(const std::string& name);

}  // namespace basefs
