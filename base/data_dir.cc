#include "base/data_dir.h"

#include <cstdlib>

namespace basefs {

std::string DefaultDataDir() {
  if (const char* h = std::getenv("BASEFS_HOME"); h && *h) return h;
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.local/share/basefs";
  return ".basefs";
}

Status ValidateFsName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.' ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != std::string::npos)
    return Invalid("bad filesystem name '" + name + "': use 1..64 letters, digits, '.', '_' or '-'");
  return Status::Ok();
}

}  // namespace basefs
