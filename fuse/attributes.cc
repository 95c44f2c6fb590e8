#include "fuse/attributes.h"

#include <cerrno>
#include <cstring>
#include <ctime>

#include "fuse/hard_links.h"

namespace basefs {

namespace {

// The xattrs each path exposes (read-only).
constexpr const char* kXattrAuthor = "user.basefs.author";
constexpr const char* kXattrHash = "user.basefs.hash";
constexpr const char* kXattrRevisions = "user.basefs.revisions";

timespec FromMs(uint64_t ms) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ms / 1000);
  ts.tv_nsec = static_cast<long>((ms % 1000) * 1000000);
  return ts;
}

}  // namespace

const char* const Attributes::kProbeXattr = kXattrHash;

struct stat Owner::Base(uint64_t ino) const {
  struct stat st {};
  st.st_ino = ino;
  st.st_uid = uid;
  st.st_gid = gid;
  st.st_blksize = 4096;
  return st;
}

struct stat Attributes::OfNode(uint64_t ino, const PathNode* n) const {
  struct stat st = owner_.Base(ino);
  const NodeState& s = n->state();
  const ViewEntry* modified = s.modified ? s.modified : s.head;
  const timespec t = FromMs(modified ? modified->entry.timestamp_ms : 0);
  st.st_atim = st.st_mtim = st.st_ctim = t;
  switch (s.kind) {
    case Kind::kDir:
      st.st_mode = S_IFDIR | owner_.DirMode();
      st.st_nlink = 2;
      break;
    case Kind::kSymlink:
      st.st_mode = S_IFLNK | 0777;
      st.st_nlink = 1;
      st.st_size = static_cast<off_t>(Store::ContentSize(n));
      break;
    case Kind::kFile:
    case Kind::kLink:
    case Kind::kNone: {
      const PathNode* r = HardLinks::Resolve(*store_, n);
      const bool exec = r ? r->state().exec : false;
      st.st_mode = S_IFREG | owner_.FileMode(exec);
      st.st_nlink = 1;
      st.st_size = r ? static_cast<off_t>(Store::ContentSize(r)) : 0;
      break;
    }
  }
  st.st_blocks = (st.st_size + 511) / 512;
  return st;
}

struct stat Attributes::OfOpen(uint64_t ino, const OpenFile& f) const {
  struct stat st = owner_.Base(ino);
  st.st_mode = S_IFREG | owner_.FileMode(f.exec);
  st.st_nlink = 1;
  st.st_size = static_cast<off_t>(!f.loaded && f.reader ? f.reader->size() : f.data.size());
  st.st_blocks = (st.st_size + 511) / 512;
  st.st_atim = st.st_mtim = st.st_ctim = FromMs(f.created_ms);
  return st;
}

int Attributes::Xattr(const std::string& path, const std::string& name, std::string* out) const {
  const PathNode* n = store_->view().Lookup(path);
  if (!n || !n->exists() || n->chain().empty()) return ENODATA;  // unstored
  const ViewEntry* head = n->chain().back();
  if (name == kXattrAuthor) {
    *out = ToBase64(head->entry.author);
  } else if (name == kXattrHash) {
    *out = ToHex(head->hash);
  } else if (name == kXattrRevisions) {
    *out = std::to_string(n->chain().size());
  } else {
    return ENODATA;
  }
  return 0;
}

std::string Attributes::XattrNames() {
  std::string names;
  for (const char* n : {kXattrAuthor, kXattrHash, kXattrRevisions}) names.append(n, std::strlen(n) + 1);
  return names;
}

}  // namespace basefs
