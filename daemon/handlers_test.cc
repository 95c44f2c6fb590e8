#include "daemon/handlers.h"

#include <gtest/gtest.h>

namespace basefs {
namespace {

TEST(HandlerSpecTest, SplitsAtTheFirstEquals) {
  auto h = ParseHandler("/services/**=echo a=b");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->glob, "/services/**");
  EXPECT_EQ(h->command, "echo a=b");
}

TEST(HandlerSpecTest, RejectsMissingPartsAndRelativeGlobs) {
  EXPECT_FALSE(ParseHandler("no-equals").ok());
  EXPECT_FALSE(ParseHandler("/x=").ok());
  EXPECT_FALSE(ParseHandler("=cmd").ok());
  EXPECT_FALSE(ParseHandler("services/*=cmd").ok());
  EXPECT_FALSE(ParseHandler("/" + std::string(5000, 'a') + "=cmd").ok());
}

TEST(GlobTest, StarStaysWithinOneComponent) {
  EXPECT_TRUE(GlobMatch("/services/*", "/services/web"));
  EXPECT_FALSE(GlobMatch("/services/*", "/services/web/a"));
  EXPECT_TRUE(GlobMatch("/services/*/a", "/services/web/a"));
  EXPECT_TRUE(GlobMatch("/a/x*.conf", "/a/x1.conf"));
  EXPECT_FALSE(GlobMatch("/a/x*.conf", "/a/x1/2.conf"));
  EXPECT_TRUE(GlobMatch("/a/*", "/a/"));  // '*' may be empty
}

TEST(GlobTest, DoubleStarCrossesComponents) {
  EXPECT_TRUE(GlobMatch("/services/**", "/services/web/a"));
  EXPECT_TRUE(GlobMatch("/services/**", "/services/web"));
  EXPECT_FALSE(GlobMatch("/services/**", "/services"));
  EXPECT_FALSE(GlobMatch("/services/**", "/servicesX/a"));
  EXPECT_TRUE(GlobMatch("/**", "/"));
  EXPECT_TRUE(GlobMatch("/**", "/a/b/c"));
  EXPECT_TRUE(GlobMatch("/**/x", "/x"));
  EXPECT_TRUE(GlobMatch("/**/x", "/a/b/x"));
  EXPECT_FALSE(GlobMatch("/**/x", "/a/bx"));
  EXPECT_TRUE(GlobMatch("/a/**/x*/z", "/a/x1/x2/z"));
  EXPECT_TRUE(GlobMatch("/a/**.toml", "/a/b/c.toml"));
}

TEST(GlobTest, QuestionMarkAndLiterals) {
  EXPECT_TRUE(GlobMatch("/a?c", "/abc"));
  EXPECT_FALSE(GlobMatch("/a?c", "/a/c"));
  EXPECT_TRUE(GlobMatch("/exact", "/exact"));
  EXPECT_FALSE(GlobMatch("/exact", "/exact2"));
}

TEST(GlobTest, PathologicalPatternsStayCheap) {
  const std::string path = "/" + std::string(4000, 'a');
  EXPECT_FALSE(GlobMatch("/**a**a**a**a**a**a**a**a**b", path));
  EXPECT_FALSE(GlobMatch("/*a*a*a*a*a*a*a*a*a*a*a*b", path));
}

TEST(HandlerSchedulerTest, StartsAtOnceWhenIdle) {
  HandlerScheduler s({2, 10});
  auto l = s.OnEvent(0, "/a", "create");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->path, "/a");
  EXPECT_EQ(l->type, "create");
  EXPECT_EQ(s.running(), 1u);
}

TEST(HandlerSchedulerTest, CoalescesAStormIntoOnePendingRunWithTheLatestType) {
  HandlerScheduler s({2, 10});
  ASSERT_TRUE(s.OnEvent(0, "/a", "create").has_value());
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(s.OnEvent(0, "/a", "update").has_value());
  EXPECT_FALSE(s.OnEvent(0, "/a", "delete").has_value());
  EXPECT_EQ(s.waiting(), 1u);
  EXPECT_EQ(s.coalesced(), 100u);
  auto next = s.OnFinished(0, "/a");
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].type, "delete");
  EXPECT_TRUE(s.OnFinished(0, "/a").empty());
  EXPECT_EQ(s.running(), 0u);
  EXPECT_EQ(s.waiting(), 0u);
}

TEST(HandlerSchedulerTest, BoundsConcurrencyAndQueuesInOrder) {
  HandlerScheduler s({1, 10});
  ASSERT_TRUE(s.OnEvent(0, "/a", "create").has_value());
  EXPECT_FALSE(s.OnEvent(0, "/b", "create").has_value());
  EXPECT_FALSE(s.OnEvent(1, "/a", "create").has_value()) << "another handler, same path: its own run";
  EXPECT_EQ(s.waiting(), 2u);
  auto n1 = s.OnFinished(0, "/a");
  ASSERT_EQ(n1.size(), 1u);
  EXPECT_EQ(n1[0].path, "/b");
  auto n2 = s.OnFinished(0, "/b");
  ASSERT_EQ(n2.size(), 1u);
  EXPECT_EQ(n2[0].handler, 1u);
}

TEST(HandlerSchedulerTest, DropsBeyondTheWaitingBound) {
  HandlerScheduler s({1, 2});
  ASSERT_TRUE(s.OnEvent(0, "/0", "create").has_value());
  for (int i = 1; i <= 5; ++i) s.OnEvent(0, "/" + std::to_string(i), "create");
  EXPECT_EQ(s.waiting(), 2u);
  EXPECT_EQ(s.dropped(), 3u);
}

TEST(HandlerSchedulerTest, FinishedForUnknownRunIsIgnored) {
  HandlerScheduler s({1, 2});
  EXPECT_TRUE(s.OnFinished(3, "/nope").empty());
  EXPECT_EQ(s.running(), 0u);
}

}  // namespace
}  // namespace basefs
