// The directory callbacks: opendir, readdir, readdirplus and releasedir,
// over the listings DirListings keeps.
#define FUSE_USE_VERSION 34
#include <algorithm>
#include <cerrno>

#include "fuse/errno_map.h"
#include "fuse/fuse_ops.h"
#include "fuse/paths.h"

namespace basefs {

int FuseMount::Ops::ListDir(FuseMount* m, uint64_t ino, std::vector<DirItem>* items) {
  *items = {{".", S_IFDIR}, {"..", S_IFDIR}};
  if (ino == kStatusDirIno) {
    for (const StatusFile& f : m->status_.files()) items->push_back({f.name, S_IFREG});
    return 0;
  }
  const std::string* p = m->inodes_.PathOf(ino);
  if (!p) return ENOENT;
  auto list = m->store_->List(*p);
  if (!list.ok()) return ErrnoFor(list.status());
  if (ino == InodeTable::kRootIno) items->push_back({kStatusDirName, S_IFDIR});
  for (const PathNode* c : *list) {
    if (ino == InodeTable::kRootIno && c->name() == kStatusDirName) continue;  // shadowed
    const Kind k = c->state().kind;
    items->push_back({c->name(), static_cast<mode_t>(k == Kind::kDir       ? S_IFDIR
                                                     : k == Kind::kSymlink ? S_IFLNK
                                                                           : S_IFREG)});
  }
  for (const auto& [path, fino] : m->files_.unstored())
    if (ParentOf(path) == *p && !m->store_->Stat(path).ok()) items->push_back({NameOf(path), S_IFREG});
  return 0;
}

// The listing is taken at the first readdir of the handle, not here: when
// the kernel has the listing cached it opens the directory but never
// reads it.
void FuseMount::Ops::Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FuseMount* m = Self(req);
  if (m->no_opendir_) {
    // The kernel stops sending opendir/releasedir, reads with no handle
    // (fh 0) and caches listings (dropped as for cache_readdir below).
    fuse_reply_err(req, ENOSYS);
    return;
  }
  if (ino != kStatusDirIno) {
    const PathNode* n = nullptr;
    if (int e = NodeOf(m, ino, &n)) {
      fuse_reply_err(req, e);
      return;
    }
    if (n->state().kind != Kind::kDir) {
      fuse_reply_err(req, ENOTDIR);
      return;
    }
  }
  const uint64_t fh = m->next_fh_++;
  m->listings_.Open(fh);  // empty until the first readdir
  fi->fh = fh;
  // The kernel may keep the listing: its own creates and removes reset
  // it, and OnChange drops it (inval_inode on the directory) for the rest.
  // `.basefs/` is not cached.
  if (ino != kStatusDirIno) {
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
  }
  fuse_reply_open(req, fi);
}

void FuseMount::Ops::ReaddirCommon(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
                                   bool plus) {
  FuseMount* m = Self(req);
  // Without a handle the listing of a pass over the directory is kept by
  // inode (DirListings::ForPass).
  std::vector<DirItem>* listing = fi->fh == 0 ? m->listings_.ForPass(ino, off) : m->listings_.ForHandle(fi->fh);
  if (!listing) {
    fuse_reply_err(req, EBADF);
    return;
  }
  if (listing->empty()) {
    if (int e = ListDir(m, ino, listing)) {
      if (fi->fh == 0) m->listings_.EndPass(ino);
      fuse_reply_err(req, e);
      return;
    }
  }
  const std::vector<DirItem>& items = *listing;
  std::string out(size, '\0');
  size_t used = 0;
  const std::string* dir = ino == kStatusDirIno ? nullptr : m->inodes_.PathOf(ino);
  for (size_t i = static_cast<size_t>(std::max<off_t>(off, 0)); i < items.size(); ++i) {
    const DirItem& item = items[i];
    const off_t next = static_cast<off_t>(i + 1);
    const bool dots = item.name == "." || item.name == "..";
    if (!plus || dots) {
      const size_t need = AddPlain(req, m, ino, dir, item, plus, out.data() + used, size - used, next);
      if (need > size - used) break;
      used += need;
      continue;
    }
    // readdirplus hands the kernel a reference to each entry.
    fuse_entry_param e{};
    if (!PlusEntry(m, ino, dir, item, i, &e)) continue;
    const size_t need = fuse_add_direntry_plus(req, out.data() + used, size - used, item.name.c_str(), &e, next);
    if (need > size - used) {
      if (!IsStatusIno(e.ino)) m->inodes_.Forget(e.ino, 1);
      break;
    }
    used += need;
  }
  if (used == 0 && fi->fh == 0) m->listings_.EndPass(ino);  // the end of a pass
  fuse_reply_buf(req, out.data(), used);
}

// An entry without a reference: its type and d_ino only. Returns the room
// it needs (more than `room`: it was not added).
size_t FuseMount::Ops::AddPlain(fuse_req_t req, FuseMount* m, uint64_t ino, const std::string* dir, const DirItem& item,
                                bool plus, char* buf, size_t room, off_t next) {
  const bool dots = item.name == "." || item.name == "..";
  struct stat st {};
  st.st_mode = item.type;
  // What getdents shows as d_ino: the inode if the kernel holds one,
  // else a number derived from the path (lookup gives the real one).
  st.st_ino = ino;
  if (!dots && dir) {
    std::string path;
    if (ChildPath(*dir, item.name, &path) == 0) {
      auto known = m->inodes_.Find(InodePath(m, path));
      st.st_ino = known ? *known : PathIno(path);
    }
  }
  if (!plus) return fuse_add_direntry(req, buf, room, item.name.c_str(), &st, next);
  fuse_entry_param e{};
  e.attr = st;
  return fuse_add_direntry_plus(req, buf, room, item.name.c_str(), &e, next);
}

// The entry of item `i` of directory `ino` for readdirplus, with a new
// reference to its inode (kept by the caller only if the entry fits).
// False: the item is gone since the listing was taken, skip it.
bool FuseMount::Ops::PlusEntry(FuseMount* m, uint64_t ino, const std::string* dir, const DirItem& item, size_t i,
                               fuse_entry_param* e) {
  if (ino == kStatusDirIno) {
    const uint64_t fino = kFirstStatusFileIno + (i - 2);
    e->ino = fino;
    e->attr = m->status_.FileStat(fino, 0);
    return true;
  }
  if (ino == InodeTable::kRootIno && item.name == kStatusDirName) {
    e->ino = kStatusDirIno;
    e->attr = m->status_.DirStat();
    e->attr_timeout = e->entry_timeout = m->options_.cache_timeout_s;
    return true;
  }
  std::string path;
  if (!dir || ChildPath(*dir, item.name, &path) != 0) return false;
  const uint64_t cino = m->inodes_.Ref(InodePath(m, path));
  struct stat st {};
  if (StatIno(m, cino, &st) != 0) {
    m->inodes_.Forget(cino, 1);
    return false;  // gone since the listing was taken
  }
  e->ino = cino;
  e->attr = st;
  e->attr_timeout = e->entry_timeout = m->options_.cache_timeout_s;
  return true;
}

void FuseMount::Ops::Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ReaddirCommon(req, ino, size, off, fi, false);
}

void FuseMount::Ops::Readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ReaddirCommon(req, ino, size, off, fi, true);
}

void FuseMount::Ops::Releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Self(req)->listings_.Close(fi->fh);
  fuse_reply_err(req, 0);
}

}  // namespace basefs
