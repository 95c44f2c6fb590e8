#include "store/chunker.h"

#include <array>
#include <cstring>
#include <set>

namespace basefs {
namespace {

constexpr size_t kMinChunk = 256;
constexpr size_t kMaxChunk = kMaxBlockBytes - 1;  // one byte for the tag
constexpr uint64_t kChunkMask = (1ull << 9) - 1;   // ~512 bytes past the minimum

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

// Walks the tree depth-first, left to right. `on_data` receives each data
// block; returns false to stop. Missing blocks go to `missing` (if given).
Status Walk(const Hash& h, int expect_level, const BlockLookup& lookup, std::vector<Hash>* missing,
            const std::function<void(std::string_view)>& on_data, int depth) {
  if (depth > 16) return Corrupt("block index deeper than 16 levels");
  std::optional<std::string> bytes = lookup(h);
  if (!bytes) {
    if (missing) {
      missing->push_back(h);
      return Status::Ok();
    }
    return NotFound("block " + ToHex(h) + " is not stored");
  }
  if (HashBytes(*bytes) != h) return Corrupt("block " + ToHex(h) + " does not match its hash");
  BASEFS_RETURN_IF_ERROR(ValidateBlock(*bytes));
  const uint8_t tag = static_cast<uint8_t>((*bytes)[0]);
  if (tag == kDataBlock) {
    if (expect_level != 0) return Corrupt("data block where an index block was expected");
    if (on_data) on_data(std::string_view(*bytes).substr(1));
    return Status::Ok();
  }
  const int level = static_cast<uint8_t>((*bytes)[1]);
  if (expect_level >= 0 && level != expect_level) return Corrupt("index block at the wrong level");
  for (size_t off = 2; off < bytes->size(); off += kHashBytes) {
    Hash child;
    std::memcpy(child.data(), bytes->data() + off, kHashBytes);
    BASEFS_RETURN_IF_ERROR(Walk(child, level - 1, lookup, missing, on_data, depth + 1));
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> AssembleContent(const Hash& root, uint64_t size, const BlockLookup& lookup) {
  std::string out;
  out.reserve(size);
  bool too_big = false;
  BASEFS_RETURN_IF_ERROR(Walk(root, -1, lookup, nullptr,
                              [&](std::string_view d) {
                                if (out.size() + d.size() > size) {
                                  too_big = true;
                                  return;
                                }
                                out.append(d);
                              },
                              0));
  if (too_big || out.size() != size) return Corrupt("file content does not match its recorded size");
  return out;
}

std::vector<Hash> MissingBlocks(const Hash& root, const BlockLookup& lookup) {
  std::vector<Hash> missing;
  Status st = Walk(root, -1, lookup, &missing, nullptr, 0);
  (void)st;  // a corrupt block is never stored, so a walk can only report missing ones
  return missing;
}

}  // namespace basefs
