// Translation of store Status codes to the errno values the kernel and the
// tools above it expect: the one place fuse/ turns errors into numbers.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace basefs {

// The errno for a failed store operation (never 0 for a non-OK status).
int ErrnoFor(const Status& st);

// Joins a directory path and one name received from the kernel, checking
// the name: ENAMETOOLONG for more than 255 bytes or a path over 4096 bytes,
// EINVAL for "." / ".." / a name the log cannot hold. Returns 0 and sets
// `out` on success.
int ChildPath(std::string_view dir, std::string_view name, std::string* out);

}  // namespace basefs
