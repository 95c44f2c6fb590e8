#include "daemon/member_sync.h"

#include <gtest/gtest.h>

namespace basefs {
namespace {

TEST(MemberSyncPolicyTest, SyncsWithTheFirstMemberThatJoins) {
  MemberSyncPolicy p(2000);
  EXPECT_TRUE(p.OnMember("a", MemberState::kAlive, 100));
}

TEST(MemberSyncPolicyTest, JoinsWithinTheIntervalShareOneSession) {
  MemberSyncPolicy p(2000);
  EXPECT_TRUE(p.OnMember("a", MemberState::kAlive, 10'000));
  EXPECT_FALSE(p.OnMember("b", MemberState::kAlive, 10'500));
  EXPECT_FALSE(p.OnMember("c", MemberState::kAlive, 12'000));
  EXPECT_TRUE(p.OnMember("d", MemberState::kAlive, 12'001));
}

TEST(MemberSyncPolicyTest, AMemberBackFromFailedIsSyncedAtOnceEveryTime) {
  MemberSyncPolicy p(2000);
  EXPECT_TRUE(p.OnMember("a", MemberState::kAlive, 10'000));
  EXPECT_FALSE(p.OnMember("a", MemberState::kSuspect, 10'100));
  EXPECT_FALSE(p.OnMember("a", MemberState::kFailed, 10'200));
  EXPECT_TRUE(p.OnMember("a", MemberState::kAlive, 10'300));
  EXPECT_FALSE(p.OnMember("a", MemberState::kFailed, 10'400));
  EXPECT_TRUE(p.OnMember("a", MemberState::kAlive, 10'500));
}

TEST(MemberSyncPolicyTest, NoSessionWithAMemberThatIsNotAlive) {
  MemberSyncPolicy p(2000);
  EXPECT_FALSE(p.OnMember("a", MemberState::kSuspect, 10'000));
  EXPECT_FALSE(p.OnMember("a", MemberState::kLeft, 20'000));
  // A suspect refuted is not a return from failed: the join rule applies.
  EXPECT_TRUE(p.OnMember("a", MemberState::kAlive, 30'000));
}

}  // namespace
}  // namespace basefs
