#include "base/log.h"

#include <gtest/gtest.h>

namespace basefs {
namespace {

TEST(LogTest, ParsesEveryLevelByItsName) {
  for (LogLevel l :
       {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError, LogLevel::kOff}) {
    auto parsed = ParseLogLevel(LogLevelName(l));
    ASSERT_TRUE(parsed.ok()) << LogLevelName(l);
    EXPECT_EQ(*parsed, l);
  }
  auto bad = ParseLogLevel("verbose");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("verbose"), std::string::npos);
}

TEST(LogTest, LevelsBelowTheOneInForceAreOff) {
  SetLogLevel(LogLevel::kWarn);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarn));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  SetLogLevel(LogLevel::kOff);
  EXPECT_FALSE(LogEnabled(LogLevel::kError));
  SetLogLevel(LogLevel::kInfo);
}

TEST(LogTest, ALineCarriesTimeLevelNodeAndMessage) {
  SetLogLevel(LogLevel::kInfo);
  SetLogNode("web-1");
  ::testing::internal::CaptureStderr();
  LogInfo("serving '{}' on {}", "prod", 7400);
  LogDebug("not shown {}", 1);
  const std::string out = ::testing::internal::GetCapturedStderr();
  SetLogNode("basefs");
  // 2026-12-05T02:20:00.123Z info web-1: serving 'prod' on 7400
  EXPECT_NE(out.find("Z info web-1: serving 'prod' on 7400\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("not shown"), std::string::npos) << out;
  EXPECT_EQ(out.size(), std::string("2026-12-05T02:20:00.123Z info web-1: serving 'prod' on 7400\n").size()) << out;
}

}  // namespace
}  // namespace basefs
