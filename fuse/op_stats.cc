#include "fuse/op_stats.h"

// The kernel's request header (not libfuse's headers: the two define some
// of the same macros).
#include <linux/fuse.h>

#include <cstring>
#include <iterator>

namespace basefs {
namespace {

constexpr struct {
  uint32_t opcode;
  const char* name;
} kOps[] = {
    {FUSE_LOOKUP, "lookup"},   {FUSE_FORGET, "forget"},     {FUSE_GETATTR, "getattr"},
    {FUSE_SETATTR, "setattr"}, {FUSE_READLINK, "readlink"}, {FUSE_SYMLINK, "symlink"},
    {FUSE_MKDIR, "mkdir"},     {FUSE_UNLINK, "unlink"},     {FUSE_RMDIR, "rmdir"},
    {FUSE_RENAME, "rename"},   {FUSE_LINK, "link"},         {FUSE_OPEN, "open"},
    {FUSE_READ, "read"},       {FUSE_WRITE, "write"},       {FUSE_STATFS, "statfs"},
    {FUSE_RELEASE, "release"}, {FUSE_FSYNC, "fsync"},       {FUSE_FLUSH, "flush"},
    {FUSE_OPENDIR, "opendir"}, {FUSE_READDIR, "readdir"},   {FUSE_RELEASEDIR, "releasedir"},
    {FUSE_CREATE, "create"},   {FUSE_GETXATTR, "xattr"},
};
static_assert(std::size(kOps) + 1 == FuseOpStats::kKinds);

// Requests reported under another's name.
uint32_t Alias(uint32_t opcode) {
  switch (opcode) {
    case FUSE_BATCH_FORGET: return FUSE_FORGET;
    case FUSE_RENAME2: return FUSE_RENAME;
    case FUSE_READDIRPLUS: return FUSE_READDIR;
    case FUSE_LISTXATTR:
    case FUSE_SETXATTR:
    case FUSE_REMOVEXATTR: return FUSE_GETXATTR;
    default: return opcode;
  }
}

}  // namespace

const char* FuseOpStats::KindName(size_t kind) { return kind < std::size(kOps) ? kOps[kind].name : "other"; }

size_t FuseOpStats::KindOf(const void* request, size_t bytes) {
  if (!request || bytes < sizeof(fuse_in_header)) return kKinds - 1;
  fuse_in_header h;
  std::memcpy(&h, request, sizeof(h));
  const uint32_t op = Alias(h.opcode);
  for (size_t i = 0; i < std::size(kOps); ++i)
    if (kOps[i].opcode == op) return i;
  return kKinds - 1;
}

std::array<Histogram, FuseOpStats::kKinds> FuseOpStats::MakeHistograms() {
  std::array<Histogram, kKinds> out = {
      Histogram::Fast(), Histogram::Fast(), Histogram::Fast(), Histogram::Fast(), Histogram::Fast(), Histogram::Fast(),
      Histogram::Fast(), Histogram::Fast(), Histogram::Fast(), Histogram::Fast(), Histogram::Fast(), Histogram::Fast(),
      Histogram::Fast(), Histogram::Fast(), Histogram::Fast(), Histogram::Fast(), Histogram::Fast(), Histogram::Fast(),
      Histogram::Fast(), Histogram::Fast(), Histogram::Fast(), Histogram::Fast(), Histogram::Fast(), Histogram::Fast()};
  return out;
}

}  // namespace basefs
