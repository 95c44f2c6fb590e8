// Path helpers of the mount: the directory and the last name of a view
// path ("/a/b" gives "/a" and "b", "/a" gives "/" and "a"). Paths are
// absolute and normalised, as the inode table and the store hold them.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

namespace basefs {

inline std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

inline std::string NameOf(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace basefs
