// Where a node keeps its state: the data directory (--data-dir), one
// subdirectory per filesystem name holding its log and control socket,
// and the node's key file (--key).
//
//   <root>/key                 the node's key (base/keyfile.h), by default
//   <root>/<name>/log/         the LevelDB log of filesystem <name>
//   <root>/<name>/control.sock the daemon's control socket while it runs
//
// Pure path arithmetic and name checks; nothing here touches the disk.
#pragma once

#include <string>

#include "base/result.h"

namespace basefs {

struct DataDir {
  std::string root;      // --data-dir (DefaultDataDir() when not given)
  std::string key_file;  // --key; "" means <root>/key

  std::string KeyPath() const { return key_file.empty() ? root + "/key" : key_file; }
  std::string FsDir(const std::string& name) const { return root + "/" + name; }
  std::string LogDir(const std::string& name) const { return FsDir(name) + "/log"; }
  std::string ControlSocket(const std::string& name) const { return FsDir(name) + "/control.sock"; }
};

// $BASEFS_HOME, else ~/.local/share/basefs, else ./.basefs.
std::string DefaultDataDir();
// A filesystem name: 1..64 letters, digits, '.', '_' or '-', not starting with '.'.
Status ValidateFsName(const std::string& name);

}  // namespace basefs
