#include "store/chunker.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <set>

namespace basefs {
namespace {

constexpr size_t kMinChunk = 256;
constexpr size_t kMaxChunk = kMaxBlockBytes - 1;  // one byte for the tag
constexpr uint64_t kChunkMask = (1ull << 9) - 1;  // ~512 bytes past the minimum

// Gear table: fixed pseudo-random values (splitmix64 from a constant seed),
// part of the format: changing it changes every chunk boundary.
std::array<uint64_t, 256> MakeGear() {
  std::array<uint64_t, 256> g{};
  uint64_t x = 0x6261736566732d31ull;  // "basefs-1"
  for (auto& v : g) {
    x += 0x9e3779b97f4a7c15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    v = z ^ (z >> 31);
  }
  return g;
}
const std::array<uint64_t, 256> kGear = MakeGear();

size_t NextCut(std::string_view data) {
  if (data.size() <= kMinChunk) return data.size();
  const size_t limit = std::min(data.size(), kMaxChunk);
  uint64_t h = 0;
  for (size_t i = 0; i < limit; ++i) {
    h = (h << 1) + kGear[static_cast<uint8_t>(data[i])];
    if (i + 1 >= kMinChunk && (h & kChunkMask) == 0) return i + 1;
  }
  return limit;
}

Block MakeBlock(std::string bytes) {
  Block b;
  b.hash = HashBytes(bytes);
  b.bytes = std::move(bytes);
  return b;
}

void AddUnique(ChunkedContent* out, std::set<Hash>* seen, Block b) {
  if (seen->insert(b.hash).second) out->blocks.push_back(std::move(b));
}

}  // namespace

ChunkedContent ChunkContent(std::string_view content) {
  ChunkedContent out;
  std::set<Hash> seen;
  std::vector<Hash> level_hashes;
  while (!content.empty()) {
    const size_t n = NextCut(content);
    std::string bytes(1, static_cast<char>(kDataBlock));
    bytes.append(content.substr(0, n));
    content.remove_prefix(n);
    Block b = MakeBlock(std::move(bytes));
    level_hashes.push_back(b.hash);
    AddUnique(&out, &seen, std::move(b));
  }
  uint8_t level = 1;
  do {
    std::vector<Hash> parents;
    std::string node;
    size_t count = 0;
    auto flush = [&] {
      Block b = MakeBlock(std::move(node));
      parents.push_back(b.hash);
      AddUnique(&out, &seen, std::move(b));
      node.clear();
      count = 0;
    };
    for (const Hash& h : level_hashes) {
      if (count == 0) {
        node.push_back(static_cast<char>(kIndexBlock));
        node.push_back(static_cast<char>(level));
      }
      node.append(AsView(h));
      ++count;
      if (count == kMaxIndexFanout || (h[0] & 0x0f) == 0) flush();
    }
    if (count > 0) flush();
    level_hashes = std::move(parents);
    ++level;
  } while (level_hashes.size() > 1);
  out.root = level_hashes[0];
  return out;
}

Status ValidateBlock(std::string_view bytes) {
  if (bytes.empty()) return Invalid("empty block");
  if (bytes.size() > kMaxBlockBytes) return Status(Code::kTooLarge, "block larger than 1 KiB");
  const uint8_t tag = static_cast<uint8_t>(bytes[0]);
  if (tag == kDataBlock) {
    if (bytes.size() < 2) return Invalid("empty data block");
    return Status::Ok();
  }
  if (tag == kIndexBlock) {
    if (bytes.size() < 2 + kHashBytes || (bytes.size() - 2) % kHashBytes != 0)
      return Invalid("index block with a partial hash list");
    const uint8_t level = static_cast<uint8_t>(bytes[1]);
    if (level < 1 || level > 16) return Invalid("index block with a bad level");
    return Status::Ok();
  }
  return Invalid("unknown block tag " + std::to_string(tag));
}

namespace {

// Reads one stored block and checks its hash and shape.
Result<std::string> ReadBlock(const Hash& h, const BlockLookup& lookup, bool* missing) {
  *missing = false;
  std::optional<std::string> bytes = lookup(h);
  if (!bytes) {
    *missing = true;
    return NotFound("block " + ToHex(h) + " is not stored");
  }
  if (HashBytes(*bytes) != h) return Corrupt("block " + ToHex(h) + " does not match its hash");
  BASEFS_RETURN_IF_ERROR(ValidateBlock(*bytes));
  return std::move(*bytes);
}

int LevelOf(const std::string& block) {
  return static_cast<uint8_t>(block[0]) == kDataBlock ? 0 : static_cast<uint8_t>(block[1]);
}

Hash ChildAt(const std::string& index, size_t i) {
  Hash c;
  std::memcpy(c.data(), index.data() + 2 + i * kHashBytes, kHashBytes);
  return c;
}

size_t ChildCount(const std::string& index) { return (index.size() - 2) / kHashBytes; }

// Memoized inspection: each distinct block is read once, so a tree that
// repeats a subtree many times costs its distinct blocks, not its expansion.
class Inspector {
 public:
  explicit Inspector(const BlockLookup& lookup) : lookup_(lookup) {}

  // Returns false once the tree is known to be malformed.
  bool Visit(const Hash& h, int expect_level, uint64_t* size, bool* complete) {
    *size = 0;
    *complete = false;
    if (auto it = done_.find(h); it != done_.end()) {
      if (expect_level >= 0 && it->second.level != expect_level) return Fail("block at two different levels");
      *size = it->second.size;
      *complete = it->second.complete;
      return true;
    }
    bool missing = false;
    auto block = ReadBlock(h, lookup_, &missing);
    if (missing) {
      if (missing_seen_.insert(h).second) info_.missing.push_back(h);
      return true;  // level unknown until it arrives: not memoized
    }
    if (!block.ok()) return Fail(block.status().message());
    const int level = LevelOf(*block);
    if (expect_level >= 0 && level != expect_level) return Fail("block at the wrong level");
    Memo memo{level, 0, true};
    if (level == 0) {
      memo.size = block->size() - 1;
    } else {
      for (size_t i = 0; i < ChildCount(*block); ++i) {
        uint64_t child_size = 0;
        bool child_complete = false;
        if (!Visit(ChildAt(*block, i), level - 1, &child_size, &child_complete)) return false;
        memo.complete &= child_complete;
        memo.size = std::min<uint64_t>(memo.size + child_size, uint64_t{1} << 62);
      }
    }
    done_.emplace(h, memo);
    *size = memo.size;
    *complete = memo.complete;
    return true;
  }

  TreeInfo Finish(bool ok, uint64_t size, bool complete) {
    if (!ok) return std::move(info_);
    info_.size = size;
    info_.complete = complete && info_.missing.empty();
    return std::move(info_);
  }

 private:
  struct Memo {
    int level;
    uint64_t size;
    bool complete;
  };
  bool Fail(const std::string& why) {
    info_.status = Corrupt("bad block index: " + why);
    return false;
  }
  const BlockLookup& lookup_;
  std::map<Hash, Memo> done_;
  std::set<Hash> missing_seen_;
  TreeInfo info_;
};

}  // namespace

TreeInfo InspectTree(const Hash& root, const BlockLookup& lookup, int expect_level) {
  Inspector in(lookup);
  uint64_t size = 0;
  bool complete = false;
  const bool ok = in.Visit(root, expect_level, &size, &complete);
  return in.Finish(ok, size, complete);
}

std::vector<Hash> MissingBlocks(const Hash& root, const BlockLookup& lookup) {
  return InspectTree(root, lookup).missing;
}

ContentReader::ContentReader(const Hash& root, uint64_t size, BlockLookup lookup)
    : root_(root), size_(size), lookup_(std::move(lookup)) {}

ContentReader::ContentReader(std::string inline_content)
    : size_(inline_content.size()), inline_(std::move(inline_content)) {}

Status ContentReader::Restart() {
  stack_.clear();
  leaf_.clear();
  leaf_start_ = 0;
  started_ = true;
  bool missing = false;
  auto b = ReadBlock(root_, lookup_, &missing);
  if (!b.ok()) return b.status();
  if (LevelOf(*b) == 0) {
    leaf_ = b->substr(1);
    if (leaf_.size() > size_) return Corrupt("file content is longer than its recorded size");
    return Status::Ok();
  }
  stack_.push_back({std::move(b).value(), 0});
  return NextLeaf();
}

Status ContentReader::NextLeaf() {
  const uint64_t next_start = leaf_start_ + leaf_.size();
  while (!stack_.empty()) {
    Frame& f = stack_.back();
    if (f.next == ChildCount(f.block)) {
      stack_.pop_back();
      continue;
    }
    const Hash child = ChildAt(f.block, f.next++);
    const int expect = LevelOf(f.block) - 1;
    bool missing = false;
    auto b = ReadBlock(child, lookup_, &missing);
    if (!b.ok()) return b.status();
    if (LevelOf(*b) != expect) return Corrupt("bad block index: block at the wrong level");
    if (expect == 0) {
      if (next_start + b->size() - 1 > size_) return Corrupt("file content is longer than its recorded size");
      leaf_start_ = next_start;
      leaf_ = b->substr(1);
      return Status::Ok();
    }
    stack_.push_back({std::move(b).value(), 0});
  }
  return Corrupt("file content does not match its recorded size");  // ended before `size`
}

Status ContentReader::ExpectEnd() {
  if (inline_) return Status::Ok();
  if (!started_) BASEFS_RETURN_IF_ERROR(Restart());
  if (leaf_start_ + leaf_.size() != size_) return Corrupt("file content does not match its recorded size");
  for (; !stack_.empty(); stack_.pop_back())
    if (stack_.back().next != ChildCount(stack_.back().block))
      return Corrupt("file content is longer than its recorded size");
  return Status::Ok();
}

Result<std::string> AssembleContent(const Hash& root, uint64_t size, const BlockLookup& lookup) {
  ContentReader reader(root, size, lookup);
  BASEFS_ASSIGN_OR_RETURN(std::string out, reader.Read(0, static_cast<size_t>(size)));
  BASEFS_RETURN_IF_ERROR(reader.ExpectEnd());
  return out;
}

Result<std::string> ContentReader::Read(uint64_t off, size_t len) {
  if (off >= size_ || len == 0) return std::string();
  len = static_cast<size_t>(std::min<uint64_t>(len, size_ - off));
  if (inline_) return inline_->substr(static_cast<size_t>(off), len);
  if (!started_ || off < leaf_start_) {
    if (Status st = Restart(); !st.ok()) {
      started_ = false;  // start from the root next time
      return st;
    }
  }
  std::string out;
  out.reserve(std::min<uint64_t>(len, kDefaultMaxFileBytes));  // the size is the peer's word
  while (out.size() < len) {
    const uint64_t at = off + out.size();
    if (at >= leaf_start_ + leaf_.size()) {
      if (Status st = NextLeaf(); !st.ok()) {
        started_ = false;  // start from the root next time
        return st;
      }
      continue;
    }
    const size_t from = static_cast<size_t>(at - leaf_start_);
    out.append(leaf_, from, std::min(leaf_.size() - from, len - out.size()));
  }
  return out;
}

}  // namespace basefs
