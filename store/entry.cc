#include "store/entry.h"

#include <cstring>

#include "store/attrs.h"
#include "store/codec.h"

namespace basefs {
namespace {

bool IsCreation(Action a) {
  return a == Action::kMkdir || a == Action::kWrite || a == Action::kLink || a == Action::kSlink;
}

}  // namespace

const char* ActionName(Action a) {
  switch (a) {
    case Action::kMkdir: return "mkdir";
    case Action::kWrite: return "write";
    case Action::kDelete: return "delete";
    case Action::kRevert: return "revert";
    case Action::kGrant: return "grant";
    case Action::kRevoke: return "revoke";
    case Action::kAck: return "ack";
    case Action::kLink: return "link";
    case Action::kSlink: return "slink";
    case Action::kMode: return "mode";
    case Action::kAttr: return "attr";
  }
  return "unknown";
}

std::optional<Action> ParseAction(std::string_view name) {
  for (uint8_t i = 1; i <= kMaxAction; ++i) {
    if (name == ActionName(static_cast<Action>(i))) return static_cast<Action>(i);
  }
  return std::nullopt;
}

Status ValidateName(std::string_view name) {
  if (name.empty()) return Invalid("empty name");
  if (name.size() > kMaxNameBytes) return Status(Code::kTooLarge, "name longer than 255 bytes");
  if (name == "." || name == "..") return Invalid("'.' and '..' are not names");
  for (char c : name) {
    if (c == '/' || c == '\0') return Invalid("a name must not contain '/' or NUL");
  }
  return Status::Ok();
}

std::string Entry::SignedPart() const {
  std::string out;
  out.reserve(kEntryFixedBytes + name.size() + content.size());
  out.push_back(static_cast<char>(kEntryVersion));
  out.push_back(static_cast<char>(action));
  out.push_back(static_cast<char>(relation));
  PutArray(&out, parent);
  PutU64(&out, timestamp_ms);
  PutArray(&out, author);
  assert(name.size() <= kMaxNameBytes);
  out.push_back(static_cast<char>(name.size()));
  out.append(name);
  PutU64(&out, size);
  assert(content.size() <= 0xffff);
  PutU16(&out, static_cast<uint16_t>(content.size()));
  out.append(content);
  return out;
}

std::string Entry::Encode() const {
  std::string out = SignedPart();
  PutArray(&out, signature);
  return out;
}

Hash Entry::ComputeHash() const { return HashBytes(Encode()); }

void Entry::SignWith(const KeyPair& key) {
  assert(key.public_key == author);
  signature = Sign(key, SignedPart());
}

Hash Entry::ContentHash() const {
  Hash h{};
  assert(content.size() == h.size());
  std::memcpy(h.data(), content.data(), h.size());
  return h;
}

Status ValidateFields(const Entry& e, uint64_t max_file_bytes) {
  if (static_cast<uint8_t>(e.action) < 1 || static_cast<uint8_t>(e.action) > kMaxAction)
    return Invalid("unknown action " + std::to_string(static_cast<int>(e.action)));
  if (e.relation != Relation::kRevision && e.relation != Relation::kChild) return Invalid("unknown relation");
  BASEFS_RETURN_IF_ERROR(ValidateName(e.name));
  if (kEntryFixedBytes + e.name.size() + e.content.size() > kMaxEntryBytes)
    return Status(Code::kTooLarge, "entry larger than " + std::to_string(kMaxEntryBytes) + " bytes");
  if (e.relation == Relation::kChild && !IsCreation(e.action) && !e.IsGenesis())
    return Invalid(std::string("a new path cannot start with ") + ActionName(e.action));
  if (e.IsGenesis() && (e.action != Action::kMkdir || e.relation != Relation::kChild))
    return Invalid("only the genesis mkdir may have no parent");
  const auto want_size = [&](uint64_t n) -> Status {
    if (e.size != n) return Invalid(std::string(ActionName(e.action)) + " entry with a wrong size field");
    return Status::Ok();
  };
  switch (e.action) {
    case Action::kMkdir:
    case Action::kDelete:
    case Action::kAck:
      if (!e.content.empty()) return Invalid(std::string(ActionName(e.action)) + " entry with content");
      return want_size(0);
    case Action::kWrite:
      if (e.size > max_file_bytes)
        return Status(Code::kTooLarge, "file of " + std::to_string(e.size) + " bytes is over the limit of " +
                                           std::to_string(max_file_bytes) + " bytes");
      if (e.size <= kMaxInlineBytes) {
        if (e.content.size() != e.size) return Invalid("inline write whose content length is not its size");
      } else if (e.content.size() != kHashBytes) {
        return Invalid("chunked write without a 32-byte block index hash");
      }
      return Status::Ok();
    case Action::kRevert:
    case Action::kGrant:
    case Action::kRevoke:
      if (e.content.size() != kHashBytes)
        return Invalid(std::string(ActionName(e.action)) + " entry needs 32 bytes of content");
      return want_size(0);
    case Action::kLink:
    case Action::kSlink:
      if (e.content.empty() || e.content.size() > kMaxLinkTargetBytes)
        return Invalid("link target must be 1.." + std::to_string(kMaxLinkTargetBytes) + " bytes");
      if (e.content.find('\0') != std::string::npos) return Invalid("link target contains NUL");
      if (e.action == Action::kLink && e.content[0] != '/') return Invalid("hard link target must be absolute");
      return want_size(e.content.size());
    case Action::kMode:
      if (e.content.size() != 1 || static_cast<uint8_t>(e.content[0]) > 1)
        return Invalid("mode entry needs one byte, 0 or 1");
      return want_size(0);
    case Action::kAttr: {
      auto change = DecodeAttrs(e.content);
      if (!change.ok()) return change.status();
      return want_size(0);
    }
  }
  return Invalid("unknown action");
}

Result<Entry> DecodeEntry(std::string_view bytes, uint64_t max_file_bytes, bool check_signature) {
  if (bytes.size() > kMaxEntryBytes) return Status(Code::kTooLarge, "entry larger than the 1,100-byte limit");
  ByteReader r(bytes);
  Entry e;
  uint8_t version = 0, action = 0, relation = 0, name_len = 0;
  uint16_t content_len = 0;
  std::string_view name, content;
  if (!r.U8(&version)) return Invalid("truncated entry");
  if (version != kEntryVersion) return Invalid("unsupported entry version " + std::to_string(version));
  if (!r.U8(&action) || !r.U8(&relation) || !r.Array(&e.parent) || !r.U64(&e.timestamp_ms) || !r.Array(&e.author) ||
      !r.U8(&name_len) || !r.Take(name_len, &name) || !r.U64(&e.size) || !r.U16(&content_len) ||
      !r.Take(content_len, &content)) {
    return Invalid("truncated entry");
  }
  const size_t signed_len = r.consumed();
  if (!r.Array(&e.signature)) return Invalid("truncated entry");
  if (!r.done()) return Invalid("trailing bytes after entry");
  if (action < 1 || action > kMaxAction) return Invalid("unknown action " + std::to_string(action));
  e.action = static_cast<Action>(action);
  if (relation > 1) return Invalid("unknown relation " + std::to_string(relation));
  e.relation = static_cast<Relation>(relation);
  e.name.assign(name);
  e.content.assign(content);
  BASEFS_RETURN_IF_ERROR(ValidateFields(e, max_file_bytes));
  if (check_signature && !Verify(e.author, bytes.substr(0, signed_len), e.signature)) return Invalid("bad signature");
  return e;
}

}  // namespace basefs
