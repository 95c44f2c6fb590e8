// The basefs daemon: one process, one libevent loop, serving one
// filesystem — its store, gossip and sync (replicate/), DNS (dns/), change
// handlers, the FUSE mount (fuse/) and the control socket on which
// `basefs CMD` hands commands to it.
//
// RunDaemon is the composition root: it builds every subsystem from
// DaemonOptions (daemon/options.h) and wires their seams, and stays in the
// foreground until SIGINT or SIGTERM (then it leaves the cluster
// gracefully and returns 0). The commands a client sends are run by the
// caller's CommandRunner (the command line, cli/), which gets the
// daemon's DaemonHooks: the daemon knows nothing of the command line.
#pragma once

#include <functional>

#include <nlohmann/json.hpp>

#include "daemon/control_format.h"
#include "daemon/options.h"
#include "replicate/gossip.h"
#include "store/store.h"

namespace basefs {

struct BadFile;

// What a running daemon offers to the commands it runs for its clients.
// Loop thread only; valid for the duration of one command.
class DaemonHooks {
 public:
  virtual ~DaemonHooks() = default;
  // The daemon's store if it serves `name`, else nullptr.
  virtual Store* StoreFor(const std::string& name) = 0;
  // `basefs members` rows: name, address, state, incarnation, meta.
  virtual nlohmann::ordered_json Members() = 0;
  // Extra `basefs status` fields (ports, members, counters, bad files).
  virtual nlohmann::ordered_json StatusJson() = 0;
  // Cluster-key rotation (`basefs keyring`): runs `op` with `key` on every
  // live member (replicate/gossip.h, ChangeKeyring). The command's answer
  // is then `format(result)`, sent when every member has answered or a few
  // seconds have passed; what the command itself returns is not sent.
  virtual void RotateKeyring(KeyringOp op, const ClusterKey& key,
                             std::function<ControlResponse(const KeyringResult&)> format) = 0;
  // `basefs watch`: streams `format(change)` to the client for every
  // visible change at or below `path` until the client goes (daemon/
  // watchers.h). What the command itself returns is not sent.
  virtual void Watch(const std::string& path, std::function<std::string(const Change&)> format) = 0;
};

// Runs one control-socket request (a command line with the client's
// standard input and key) and answers it. Called on the loop.
using CommandRunner = std::function<ControlResponse(const ControlRequest&, DaemonHooks&)>;

// The options anew, for a reload on SIGHUP (the command line's flags and
// the --config file read again); null when there is nothing to re-read.
using OptionsSource = std::function<Result<DaemonOptions>()>;

// Runs the daemon until it is stopped; 0 after a graceful stop, 1 (with
// one line on stderr) when it cannot start. SIGHUP reloads the log level,
// the handlers and the recursors from `reload`; a reload that fails keeps
// the running configuration and logs why.
int RunDaemon(const DaemonOptions& options, CommandRunner run_command, OptionsSource reload = nullptr);

// `basefs status`'s bad_files: [{path, reason}].
nlohmann::ordered_json BadFilesJson(const std::vector<BadFile>& bad);

}  // namespace basefs
