// The basefs subcommands: the command line's one entry point, used by
// main() for the process's own command line and by the daemon for the
// command lines its clients send over the control socket.
//
// Execute() parses one command line and runs it against a store: one it
// opens itself, or the daemon's (through DaemonHooks) when the daemon runs
// the command for a client. Output goes to the given streams; errors are
// one line "basefs: ..." on `err` and exit code 1 (2 for usage errors).
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "base/data_dir.h"
#include "base/keyfile.h"
#include "daemon/daemon.h"

namespace basefs {

struct Io {
  Io(std::string in_bytes, std::ostream& o, std::ostream& e) : in(std::move(in_bytes)), out(o), err(e) {}
  std::string in;  // standard input, read up front by the caller when needed
  std::ostream& out;
  std::ostream& err;
  DaemonHooks* daemon = nullptr;  // set when the daemon executes the command
  // Reads standard input (called only by commands that need it).
  std::function<std::string()> read_stdin;
  // Sends the command to a running daemon for `name` (its control socket
  // in `data_dir`), with the client's key (64-byte secret, or empty and
  // why); nullopt if no daemon runs.
  std::function<std::optional<int>(const DataDir& data_dir, const std::string& name, const ControlRequest& request)>
      forward;
  // Set when the daemon executes a client's command: the client's key (or
  // why it has none). Commands sign with it and never read --key themselves.
  std::optional<Result<KeyPair>> client_key;
  // Runs the daemon (`run`, `mount`); null inside a daemon.
  std::function<int(const DaemonOptions&, OptionsSource reload)> run_daemon;
  // Clones a filesystem from a peer (`get`); null inside a daemon.
  std::function<Status(const DataDir&, const std::string& name, const std::string& addr,
                       const std::string& cluster_key_file)>
      clone;
};

// Parses and runs one command line (args exclude the program name).
int Execute(const std::vector<std::string>& args, Io& io);

// The daemon's CommandRunner: runs a client's request with Execute.
ControlResponse RunClientCommand(const ControlRequest& request, DaemonHooks& daemon);

}  // namespace basefs
