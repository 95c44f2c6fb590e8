#include "store/chunker.h"

#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

namespace basefs {
namespace {

std::string RandomText(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
  // Lines, like a config file.
  for (size_t i = 60; i < n; i += 61) s[i] = '\n';
  return s;
}

// The blocks of `cc` by hash (a store holding all of them).
std::map<Hash, std::string> BlockMap(const ChunkedContent& cc) {
  std::map<Hash, std::string> store;
  for (const Block& b : cc.blocks) store[b.hash] = b.bytes;
  return store;
}

BlockLookup MapLookup(const std::map<Hash, std::string>& m) {
  return [&m](const Hash& h) -> std::optional<std::string> {
    auto it = m.find(h);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ChunkerTest, RoundTripsManySizes) {
  CryptoInit();
  for (size_t n : {513ul, 1000ul, 1023ul, 1024ul, 4096ul, 100000ul, 1ul << 20}) {
    const std::string content = RandomText(n, n);
    ChunkedContent cc = ChunkContent(content);
    std::map<Hash, std::string> store;
    for (const Block& b : cc.blocks) {
      EXPECT_LE(b.bytes.size(), kMaxBlockBytes);
      EXPECT_TRUE(ValidateBlock(b.bytes).ok());
      EXPECT_EQ(HashBytes(b.bytes), b.hash);
      store[b.hash] = b.bytes;
    }
    auto out = AssembleContent(cc.root, n, MapLookup(store));
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(*out, content);
    EXPECT_TRUE(MissingBlocks(cc.root, MapLookup(store)).empty());
  }
}

TEST(ChunkerTest, OneLineEditOfOneMegabyteMakesFewNewBlocks) {
  CryptoInit();
  std::string content = RandomText(1 << 20, 7);
  ChunkedContent before = ChunkContent(content);
  std::set<Hash> old;
  for (const Block& b : before.blocks) old.insert(b.hash);
  content.insert(500000, "a new line of configuration\n");
  ChunkedContent after = ChunkContent(content);
  size_t fresh = 0;
  for (const Block& b : after.blocks) fresh += !old.count(b.hash);
  EXPECT_GT(fresh, 0u);
  EXPECT_LE(fresh, 8u) << "an edit should touch a couple of data blocks and one index block per level";
}

TEST(ChunkerTest, ReportsMissingBlocksAndDetectsWrongSize) {
  CryptoInit();
  const std::string content = RandomText(20000, 3);
  ChunkedContent cc = ChunkContent(content);
  std::map<Hash, std::string> store = BlockMap(cc);
  EXPECT_FALSE(AssembleContent(cc.root, content.size() + 1, MapLookup(store)).ok());
  EXPECT_FALSE(AssembleContent(cc.root, content.size() - 1, MapLookup(store)).ok());
  // Remove one data block.
  Hash removed{};
  for (const Block& b : cc.blocks) {
    if (b.bytes[0] == static_cast<char>(kDataBlock)) {
      removed = b.hash;
      break;
    }
  }
  store.erase(removed);
  auto missing = MissingBlocks(cc.root, MapLookup(store));
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0], removed);
  EXPECT_FALSE(AssembleContent(cc.root, content.size(), MapLookup(store)).ok());
  // Without the root, only the root is known to be missing.
  store.erase(cc.root);
  missing = MissingBlocks(cc.root, MapLookup(store));
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0], cc.root);
}

TEST(ChunkerTest, RejectsMalformedBlocks) {
  EXPECT_FALSE(ValidateBlock("").ok());
  EXPECT_FALSE(ValidateBlock(std::string(1, kDataBlock)).ok());
  EXPECT_FALSE(ValidateBlock(std::string(kMaxBlockBytes + 1, kDataBlock)).ok());
  EXPECT_FALSE(ValidateBlock(std::string(1, 7) + "xyz").ok());
  std::string index(1, kIndexBlock);
  index.push_back(1);
  index.append(31, 'h');  // a partial hash
  EXPECT_FALSE(ValidateBlock(index).ok());
}

// Index blocks whose children repeat one subtree: 31^16 leaves if expanded.
TEST(ChunkerTest, RepeatedSubtreesCostTheirDistinctBlocksOnly) {
  CryptoInit();
  std::map<Hash, std::string> store;
  std::string data = std::string(1, kDataBlock) + "x";
  Hash child = HashBytes(data);
  store[child] = data;
  for (int level = 1; level <= 16; ++level) {
    std::string index(1, kIndexBlock);
    index.push_back(static_cast<char>(level));
    for (int i = 0; i < 31; ++i) index.append(AsView(child));
    child = HashBytes(index);
    store[child] = index;
  }
  TreeInfo info = InspectTree(child, MapLookup(store));
  EXPECT_TRUE(info.status.ok());
  EXPECT_TRUE(info.complete);
  EXPECT_NE(info.size, 16u << 20) << "the expanded size is astronomic, not the claimed one";
  EXPECT_FALSE(AssembleContent(child, 16u << 20, MapLookup(store)).ok());
  // With the data block withheld, one missing block is reported once.
  store.erase(HashBytes(data));
  info = InspectTree(child, MapLookup(store));
  ASSERT_EQ(info.missing.size(), 1u);
}

TEST(ChunkerTest, BlockAtTheWrongLevelMakesTheTreeMalformed) {
  CryptoInit();
  std::map<Hash, std::string> store;
  const std::string data = std::string(1, kDataBlock) + std::string(600, 'd');
  std::string x(1, kIndexBlock);  // a level-1 index placed where data belongs
  x.push_back(1);
  x.append(AsView(HashBytes(data)));
  std::string root(1, kIndexBlock);
  root.push_back(1);
  root.append(AsView(HashBytes(x)));
  root.append(AsView(HashBytes(data)));
  store[HashBytes(data)] = data;
  store[HashBytes(x)] = x;
  store[HashBytes(root)] = root;
  TreeInfo info = InspectTree(HashBytes(root), MapLookup(store));
  EXPECT_FALSE(info.status.ok());
  EXPECT_FALSE(info.complete);
}

// Ranges read through ContentReader equal the same ranges of the whole
// content, in any order; front to back, each block is read once.
TEST(ChunkerTest, ContentReaderReadsRangesAndEachBlockOnceFrontToBack) {
  CryptoInit();
  const std::string content = RandomText(3u << 20, 7);
  ChunkedContent cc = ChunkContent(content);
  std::map<Hash, std::string> store = BlockMap(cc);
  size_t lookups = 0;
  BlockLookup counting = [&](const Hash& h) -> std::optional<std::string> {
    ++lookups;
    return MapLookup(store)(h);
  };
  ContentReader r(cc.root, content.size(), counting);
  std::string all;
  for (uint64_t off = 0; off < content.size(); off += 131072) {
    auto part = r.Read(off, 131072);
    ASSERT_TRUE(part.ok()) << part.status().message();
    all += *part;
  }
  EXPECT_EQ(all, content);
  EXPECT_EQ(lookups, cc.blocks.size()) << "a block read more than once front to back";

  std::mt19937_64 rng(3);
  for (int i = 0; i < 200; ++i) {
    const uint64_t off = rng() % (content.size() + 10);
    const size_t len = rng() % 5000;
    auto part = r.Read(off, len);
    ASSERT_TRUE(part.ok()) << part.status().message();
    EXPECT_EQ(*part, off < content.size() ? content.substr(off, len) : "") << off << " " << len;
  }
  ContentReader small("inline");
  EXPECT_EQ(*small.Read(2, 100), "line");
  EXPECT_EQ(*small.Read(6, 1), "");
}

TEST(ChunkerTest, ContentReaderFindsWrongSizesAndMissingBlocks) {
  CryptoInit();
  const std::string content = RandomText(100000, 8);
  ChunkedContent cc = ChunkContent(content);
  std::map<Hash, std::string> store = BlockMap(cc);
  ContentReader longer(cc.root, content.size() + 1, MapLookup(store));
  EXPECT_FALSE(longer.Read(0, content.size() + 1).ok()) << "the tree ends before the recorded size";
  ContentReader shorter(cc.root, content.size() - 1, MapLookup(store));
  EXPECT_FALSE(shorter.Read(0, content.size()).ok()) << "the tree holds more than the recorded size";
  store.erase(cc.blocks.front().hash == cc.root ? cc.blocks.back().hash : cc.blocks.front().hash);
  ContentReader gap(cc.root, content.size(), MapLookup(store));
  EXPECT_FALSE(gap.Read(0, content.size()).ok());
}

}  // namespace
}  // namespace basefs
