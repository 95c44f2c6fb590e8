#include "fuse/dir_listings.h"

#include <gtest/gtest.h>

namespace basefs {
namespace {

TEST(DirListingsTest, AHandleListingIsKeptUntilItsHandleCloses) {
  DirListings l;
  l.Open(5);
  ASSERT_NE(l.ForHandle(5), nullptr);
  EXPECT_TRUE(l.ForHandle(5)->empty());
  l.ForHandle(5)->push_back({"a", S_IFREG});
  EXPECT_EQ(l.ForHandle(5)->size(), 1u);
  l.Close(5);
  EXPECT_EQ(l.ForHandle(5), nullptr);
}

TEST(DirListingsTest, AnUnknownHandleHasNoListing) {
  DirListings l;
  EXPECT_EQ(l.ForHandle(7), nullptr);
}

TEST(DirListingsTest, APassListingServesTheReadsThatContinueIt) {
  DirListings l;
  l.ForPass(9, 0)->push_back({"a", S_IFREG});
  std::vector<DirItem>* again = l.ForPass(9, 3);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].name, "a");
}

TEST(DirListingsTest, AReadAtOffsetZeroTakesThePassListingAgain) {
  DirListings l;
  l.ForPass(9, 0)->push_back({"a", S_IFREG});
  EXPECT_TRUE(l.ForPass(9, 0)->empty());
}

TEST(DirListingsTest, EndPassDropsTheListing) {
  DirListings l;
  l.ForPass(9, 0)->push_back({"a", S_IFREG});
  l.EndPass(9);
  EXPECT_EQ(l.passes(), 0u);
  EXPECT_TRUE(l.ForPass(9, 3)->empty());
}

TEST(DirListingsTest, OneMoreThanTheMostPassesDropsThemAll) {
  DirListings l;
  for (uint64_t ino = 100; ino < 100 + DirListings::kMaxPasses; ++ino) l.ForPass(ino, 0)->push_back({"a", S_IFREG});
  EXPECT_EQ(l.passes(), DirListings::kMaxPasses);
  l.ForPass(1, 0);
  EXPECT_EQ(l.passes(), 1u);
  EXPECT_TRUE(l.ForPass(100, 3)->empty());
}

TEST(DirListingsTest, PathInoIsNeverANumberTheInodeTableGives) {
  EXPECT_NE(PathIno("/a") & (1ull << 63), 0u);
  EXPECT_NE(PathIno("/a"), PathIno("/b"));
  EXPECT_EQ(PathIno("/a"), PathIno("/a"));
}

}  // namespace
}  // namespace basefs
