// The basefs daemon: one process, one libevent loop, serving one
// filesystem — its store, gossip (replicate/), and the control socket for
// `basefs CMD`. `basefs run` and `basefs mount` call RunDaemon, which stays
// in the foreground until SIGINT or SIGTERM (then it leaves the cluster
// gracefully and exits 0).
#pragma once

#include "cli/commands.h"
#include "replicate/gossip_format.h"

namespace basefs {

int RunDaemon(const Globals& g, const RunOptions& opts);

// The keyring of a --cluster-key file ("" = none: an empty keyring).
Result<Keyring> LoadKeyring(const std::string& path);

// `basefs get`: clones filesystem `name` from the node at `addr` into the
// data directory, or resumes an interrupted clone; with keys, the session
// is sealed with them (a node with a cluster key serves no one without).
// Progress goes to `progress` (a bar on a terminal, plain lines otherwise).
Status CloneFilesystem(const Globals& g, const std::string& name, const std::string& addr, const Keyring& keyring,
                       std::ostream& progress);

}  // namespace basefs
