#include "fuse/attributes.h"

#include <unistd.h>

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

}  // namespace

const char* const Attributes::kProbeXattr = kXattrHash;

Result<Owner> Owner::Parse(const std::string& spec, const std::string& umask) {
  Owner o{static_cast<unsigned>(::geteuid()), static_cast<unsigned>(::getegid()),
          static_cast<unsigned>(std::stoul(umask, nullptr, 8)) & 0777u};
  if (spec.empty()) return o;
  const size_t colon = spec.find(':');
  const std::string user = spec.substr(0, colon);
  const auto number = [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (auto ids = LookupUser(user)) {
    o.uid = ids->uid;
    o.gid = ids->gid;
  } else if (number(user)) {
    o.uid = static_cast<unsigned>(std::stoul(user));
  } else {
    return NotFound("--mount-owner: no user '" + user + "' on this host");
  }
  if (colon != std::string::npos) {
    const std::string group = spec.substr(colon + 1);
    if (auto gid = LookupGroup(group)) {
      o.gid = *gid;
    } else if (number(group)) {
      o.gid = static_cast<unsigned>(std::stoul(group));
    } else {
      return NotFound("--mount-owner: no group '" + group + "' on this host");
    }
  }
  return o;
}

struct stat Owner::Base(uint64_t ino) const {
  struct stat st {};
  st.st_ino = ino;
  st.st_uid = uid;
  st.st_gid = gid;
  st.st_blksize = 4096;
  return st;
}

namespace {

timespec FromMtime(const Mtime& t) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(t.seconds);
  ts.tv_nsec = static_cast<long>(t.nanoseconds);
  return ts;
}

}  // namespace

unsigned Attributes::UidOf(const std::optional<std::string>& name) const {
  if (!name) return owner_.uid;
  return names_.Uid(*name).value_or(owner_.uid);
}

unsigned Attributes::GidOf(const std::optional<std::string>& name) const {
  if (!name) return owner_.gid;
  return names_.Gid(*name).value_or(owner_.gid);
}

struct stat Attributes::OfNode(uint64_t ino, const PathNode* n) const {
  struct stat st = owner_.Base(ino);
  const NodeState& s = n->state();
  // A hard link shows its target: one file, several names.
  const PathNode* shown = s.kind == Kind::kLink || s.kind == Kind::kNone ? HardLinks::Resolve(*store_, n) : n;
  const StoredAttrs a = (shown ? shown : n)->Attrs();
  st.st_mtim = st.st_atim = FromMtime(a.mtime);
  st.st_ctim = FromMtime(a.changed);
  st.st_uid = UidOf(a.owner);
  st.st_gid = GidOf(a.group);
  switch (s.kind) {
    case Kind::kDir:
      st.st_mode = S_IFDIR | (a.perm ? *a.perm : owner_.DirMode());
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
      const bool exec = shown ? shown->state().exec : false;
      st.st_mode = S_IFREG | (a.perm ? *a.perm : owner_.FileMode(exec));
      st.st_nlink = 1 + (links_ && shown ? links_->CountTo(shown->FullPath()) : 0);
      st.st_size = shown ? static_cast<off_t>(Store::ContentSize(shown)) : 0;
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
  st.st_atim = st.st_mtim = st.st_ctim = f.changed_at;
  Overlay(f.attrs, &st);
  return st;
}

void Attributes::Overlay(const AttrChange& change, struct stat* st) const {
  if (change.mode) st->st_mode = (st->st_mode & S_IFMT) | *change.mode;
  if (change.owner) st->st_uid = UidOf(change.owner);
  if (change.group) st->st_gid = GidOf(change.group);
  if (change.mtime) st->st_mtim = FromMtime(*change.mtime);
}

AttrChange Attributes::ForCreation(mode_t mode, bool dir, bool exec, unsigned uid, unsigned gid,
                                   const PathNode* parent) const {
  AttrChange c;
  const StoredAttrs in = parent ? parent->Attrs() : StoredAttrs{};
  const bool setgid_dir = in.perm && (*in.perm & kSetgidBit);
  uint16_t perm = static_cast<uint16_t>(mode & (dir ? kStoredModeBits : 0777));
  if (dir && setgid_dir) perm |= kSetgidBit;
  const unsigned format_default = dir || exec ? 0755 : 0644;
  const unsigned here_default = dir ? owner_.DirMode() : owner_.FileMode(exec);
  if (perm != format_default || perm != here_default) c.mode = perm;
  if (uid != owner_.uid) c.owner = names_.UserName(uid);
  if (setgid_dir) {
    c.group = in.group;  // BSD semantics: the directory's group
  } else if (gid != owner_.gid) {
    c.group = names_.GroupName(gid);
  }
  return c;
}

AttrChange Attributes::Needed(const StoredAttrs& now, bool dir, bool exec, const AttrChange& change) const {
  AttrChange c = change;
  if (c.mode) {
    const bool x = (*c.mode & 0100) != 0;
    const unsigned format_default = dir || x ? 0755 : 0644;
    const unsigned here_default = dir ? owner_.DirMode() : owner_.FileMode(x);
    if (now.perm ? now.perm == c.mode : *c.mode == format_default && *c.mode == here_default && (dir || x == exec))
      c.mode.reset();
  }
  if (c.owner && (now.owner ? now.owner == c.owner : names_.UserName(owner_.uid) == c.owner)) c.owner.reset();
  if (c.group && (now.group ? now.group == c.group : names_.GroupName(owner_.gid) == c.group)) c.group.reset();
  return c;
}

int Attributes::NameOwner(std::optional<unsigned> uid, std::optional<unsigned> gid, AttrChange* change) const {
  if (uid) {
    change->owner = names_.UserName(*uid);
    if (!change->owner) return EINVAL;
  }
  if (gid) {
    change->group = names_.GroupName(*gid);
    if (!change->group) return EINVAL;
  }
  return 0;
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
