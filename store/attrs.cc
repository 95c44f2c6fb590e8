#include "store/attrs.h"

#include "store/codec.h"

namespace basefs {

namespace {

constexpr uint8_t kAllAttrBits = kAttrMode | kAttrOwner | kAttrGroup | kAttrMtime | kAttrReset;

}  // namespace

Status ValidateOwnerName(std::string_view name) {
  if (name.empty() || name.size() > kMaxOwnerNameBytes) return Invalid("an owner name must be 1..32 bytes");
  for (char c : name) {
    if (c <= ' ' || c > '~' || c == ':' || c == '/' || c == ',')
      return Invalid("an owner name must be printable ASCII without ':', '/', ',' or space");
  }
  return Status::Ok();
}

std::string EncodeAttrs(const AttrChange& change) {
  std::string out;
  PutU8(&out, static_cast<uint8_t>((change.reset ? kAttrReset : 0) | (change.mode ? kAttrMode : 0) |
                                   (change.owner ? kAttrOwner : 0) | (change.group ? kAttrGroup : 0) |
                                   (change.mtime ? kAttrMtime : 0)));
  if (change.mode) PutU16(&out, *change.mode);
  if (change.owner) PutStr8(&out, *change.owner);
  if (change.group) PutStr8(&out, *change.group);
  if (change.mtime) {
    PutU64(&out, static_cast<uint64_t>(change.mtime->seconds));
    PutU32(&out, change.mtime->nanoseconds);
  }
  return out;
}

Result<AttrChange> DecodeAttrs(std::string_view content) {
  ByteReader r(content);
  uint8_t fields = 0;
  if (!r.U8(&fields)) return Invalid("empty attr entry");
  if (fields == 0 || (fields & ~kAllAttrBits) != 0) return Invalid("attr entry with unknown or no fields");
  AttrChange c;
  c.reset = (fields & kAttrReset) != 0;
  if (fields & kAttrMode) {
    uint16_t mode = 0;
    if (!r.U16(&mode)) return Invalid("truncated attr entry");
    if ((mode & ~kStoredModeBits) != 0) return Invalid("attr mode with bits the log does not keep");
    c.mode = mode;
  }
  for (auto [bit, name] : {std::pair{kAttrOwner, &c.owner}, std::pair{kAttrGroup, &c.group}}) {
    if (!(fields & bit)) continue;
    uint8_t len = 0;
    std::string_view bytes;
    if (!r.U8(&len) || !r.Take(len, &bytes)) return Invalid("truncated attr entry");
    BASEFS_RETURN_IF_ERROR(ValidateOwnerName(bytes));
    *name = std::string(bytes);
  }
  if (fields & kAttrMtime) {
    uint64_t seconds = 0;
    uint32_t nanoseconds = 0;
    if (!r.U64(&seconds) || !r.U32(&nanoseconds)) return Invalid("truncated attr entry");
    const auto s = static_cast<int64_t>(seconds);
    if (s < kMinMtimeSeconds || s > kMaxMtimeSeconds || nanoseconds >= 1000000000u)
      return Invalid("attr mtime outside the years 1..9999");
    c.mtime = Mtime{s, nanoseconds};
  }
  if (!r.done()) return Invalid("trailing bytes in attr entry");
  return c;
}

}  // namespace basefs
