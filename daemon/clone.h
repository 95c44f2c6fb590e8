// Cloning a filesystem from a running peer (`basefs get`, and `run
// --join` when the filesystem is not in the data directory yet): one sync
// session (replicate/sync_session.h) over TCP on a loop of its own.
#pragma once

#include <ostream>
#include <string>

#include "base/data_dir.h"
#include "replicate/gossip_format.h"

namespace basefs {

// The keyring of a --cluster-key file ("" = none: an empty keyring).
Result<Keyring> LoadKeyring(const std::string& path);
// Replaces the cluster key file at `path` with `keyring` (mode 0600,
// written to a temporary file, synced, then renamed over it).
Status SaveKeyring(const std::string& path, const Keyring& keyring);

// Clones filesystem `name` from the node at `addr` into `data_dir`, or
// resumes an interrupted clone; with keys, the session is sealed with them
// (a node with a cluster key serves no one without). Progress goes to
// `progress` (a bar on a terminal, plain lines otherwise). A clone that
// got no genesis entry leaves nothing behind.
Status CloneFilesystem(const DataDir& data_dir, const std::string& name, const std::string& addr,
                       const Keyring& keyring, std::ostream& progress);

}  // namespace basefs
