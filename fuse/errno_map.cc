#include "fuse/errno_map.h"

#include <cerrno>

#include "store/entry.h"

namespace basefs {

int ErrnoFor(const Status& st) {
  switch (st.code()) {
    case Code::kOk: return 0;
    case Code::kInvalid: return EINVAL;
    case Code::kNotFound: return ENOENT;
    case Code::kPermission: return EACCES;
    case Code::kExists: return EEXIST;
    case Code::kCorrupt: return EIO;
    case Code::kIO: return EIO;
    case Code::kBusy: return EBUSY;
    case Code::kTooLarge: return EFBIG;
    case Code::kNotDir: return ENOTDIR;
    case Code::kIsDir: return EISDIR;
    case Code::kNotEmpty: return ENOTEMPTY;
    case Code::kPending: return EAGAIN;
  }
  return EIO;
}

int ChildPath(std::string_view dir, std::string_view name, std::string* out) {
  if (name.size() > kMaxNameBytes) return ENAMETOOLONG;
  if (!ValidateName(name).ok()) return EINVAL;
  const size_t total = (dir == "/" ? 0 : dir.size()) + 1 + name.size();
  if (total > kMaxPathBytes) return ENAMETOOLONG;
  out->clear();
  out->reserve(total);
  if (dir != "/") out->append(dir);
  out->push_back('/');
  out->append(name);
  return 0;
}

}  // namespace basefs
