// Entry: one signed filesystem operation, the unit of the log.
//
// An Entry is a plain value. Encode() gives its canonical bytes; Decode()
// accepts exactly those bytes (and rejects everything else: truncated,
// trailing bytes, unknown version or action, bad names, oversized content,
// a content shape that does not fit the action). Decode() also checks the
// signature, so a decoded Entry is always authentic; permission is the
// view's business.
//
// Thread-safety: plain values; no shared state.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/crypto.h"
#include "base/result.h"
#include "store/entry_format.h"

namespace basefs {

struct Entry {
  Action action = Action::kMkdir;
  Relation relation = Relation::kChild;
  Hash parent{};
  uint64_t timestamp_ms = 0;  // informative only: never used by the view
  PublicKey author{};
  std::string name;
  uint64_t size = 0;
  std::string content;
  Signature signature{};

  // Canonical bytes without the signature (what is signed).
  std::string SignedPart() const;
  // Canonical bytes including the signature.
  std::string Encode() const;
  // BLAKE2b-256 of Encode().
  Hash ComputeHash() const;

  // Fills `signature` (author must match the key's public half).
  void SignWith(const KeyPair& key);

  bool IsGenesis() const { return IsZero(parent); }

  // For write entries: whether the content is carried inline.
  bool IsInline() const { return action == Action::kWrite && size <= kMaxInlineBytes; }
  // For grant, revoke, revert, chunked write: the 32-byte content as a hash.
  Hash ContentHash() const;
};

// Checks the fields of an entry (everything but the signature) against the
// rules of docs/log_format.md. `max_file_bytes` bounds write sizes.
Status ValidateFields(const Entry& e, uint64_t max_file_bytes = kDefaultMaxFileBytes);

// Decodes and verifies one entry (fields and, unless `check_signature` is
// false, the signature: only a replay of the node's own store skips it).
Result<Entry> DecodeEntry(std::string_view bytes, uint64_t max_file_bytes = kDefaultMaxFileBytes,
                          bool check_signature = true);

// Name checks shared with the CLI and FUSE: 1..255 bytes, no '/' or NUL,
// not "." or "..".
Status ValidateName(std::string_view name);

const char* ActionName(Action a);
std::optional<Action> ParseAction(std::string_view name);

}  // namespace basefs
