// Content-defined chunking of file content into blocks, and the block index
// tree that lists them.
//
// A file larger than kMaxInlineBytes is cut into data blocks at boundaries
// chosen by a gear rolling hash over the content (so an edit moves only the
// boundaries near it), each block at most 1 KiB with its tag byte. Their
// hashes are grouped into index blocks, again at content-defined boundaries
// (a group ends after a child whose hash's first byte has its low four bits
// zero, or at 31 children), level by level until one root remains. The write
// entry carries the root's hash. A one-line edit of a large file therefore
// produces one or two new data blocks plus one index block per level.
//
// Thread-safety: pure functions.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/crypto.h"
#include "base/result.h"
#include "store/entry_format.h"

namespace basefs {

struct Block {
  Hash hash;
  std::string bytes;  // tag byte included
};

struct ChunkedContent {
  Hash root{};
  std::vector<Block> blocks;  // data and index blocks, each once
};

// Cuts `content` (any length > 0) into blocks with an index tree.
ChunkedContent ChunkContent(std::string_view content);

// Checks one block's shape (tag, size, index structure).
Status ValidateBlock(std::string_view bytes);

// Returns the block with this hash if it is stored locally.
using BlockLookup = std::function<std::optional<std::string>(const Hash&)>;

// Rebuilds the content under `root`, checking every hash, every level and
// the total size. Stops as soon as the content would exceed `size`.
Result<std::string> AssembleContent(const Hash& root, uint64_t size, const BlockLookup& lookup);

// Reads the content under `root` a range at a time, holding only the index
// blocks from the root to the current data block: reading a file front to
// back costs each block once, whatever the read size; a read before the
// current position starts again from the root. Checks hashes, levels and
// the total size as AssembleContent does. Inline content (`inline_content`
// set) is served from memory. The lookup must stay valid while it is used.
class ContentReader {
 public:
  ContentReader(const Hash& root, uint64_t size, BlockLookup lookup);
  explicit ContentReader(std::string inline_content);
  uint64_t size() const { return size_; }
  // Up to `len` bytes from `off` (fewer at the end, none past it).
  Result<std::string> Read(uint64_t off, size_t len);
  // After a read to the end: the tree holds no more than `size` bytes.
  Status ExpectEnd();

 private:
  struct Frame {
    std::string block;
    size_t next = 0;
  };
  Status Restart();
  Status NextLeaf();  // the next data block into leaf_, or an error at the end

  Hash root_{};
  uint64_t size_ = 0;
  BlockLookup lookup_;
  std::optional<std::string> inline_;
  std::vector<Frame> stack_;
  std::string leaf_;         // data of the current block (tag byte removed)
  uint64_t leaf_start_ = 0;  // its offset in the content
  bool started_ = false;
};

// What is known about the tree under a block: the blocks not stored locally
// (below a missing index block nothing more can be known, so only it is
// listed), the total data size, and whether the tree is malformed (a block
// at the wrong level, a bad block). Each distinct block is read once.
struct TreeInfo {
  Status status;              // non-OK: malformed, never complete
  std::vector<Hash> missing;  // distinct
  uint64_t size = 0;          // data bytes, meaningful when complete
  bool complete = false;      // all blocks stored and well formed
};
// `expect_level` < 0: the root's own level is taken as given.
TreeInfo InspectTree(const Hash& root, const BlockLookup& lookup, int expect_level = -1);

// InspectTree(root).missing.
std::vector<Hash> MissingBlocks(const Hash& root, const BlockLookup& lookup);

}  // namespace basefs
