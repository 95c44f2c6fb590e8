// TTL checks (Consul's): reported by the service, critical when the reports
// stop; a report that comes before the check is named is kept for it.
#include "daemon/health_checker.h"

#include <gtest/gtest.h>

#include "base/fake_seams.h"

namespace basefs {
namespace {

HealthCheck Ttl(uint32_t ms) {
  HealthCheck c;
  c.kind = HealthCheck::Kind::kTtl;
  c.interval_ms = c.timeout_ms = ms;
  return c;
}

TEST(HealthCheckerTest, ATtlCheckStartsCriticalAndExpires) {
  ManualClock clock;
  int changes = 0, results = 0;
  HealthChecker h(nullptr, &clock, [&] { ++changes; });
  h.set_result_listener([&] { ++results; });
  h.SetChecks({{"id1", Ttl(10000)}});
  EXPECT_TRUE(h.failing().count("id1"));
  EXPECT_EQ(h.ResultOf("id1")->status, "critical");
  EXPECT_EQ(changes, 1);

  h.ReportTtl("id1", 10000, "passing", "ran fine");
  EXPECT_FALSE(h.failing().count("id1"));
  EXPECT_EQ(h.ResultOf("id1")->output, "ran fine");
  h.ReportTtl("id1", 10000, "warning", "slow");
  EXPECT_FALSE(h.failing().count("id1")) << "a warning keeps the instance served";
  clock.RunFor(9999);
  EXPECT_FALSE(h.failing().count("id1"));
  clock.RunFor(2);
  EXPECT_TRUE(h.failing().count("id1"));
  EXPECT_EQ(h.ResultOf("id1")->output, "TTL expired");
  EXPECT_GE(results, 4);
}

// A service that registers and reports at once: the report comes before
// the node has read the registration (SetChecks), and is not lost.
TEST(HealthCheckerTest, AReportBeforeTheCheckIsNamedIsKept) {
  ManualClock clock;
  int results = 0;
  HealthChecker h(nullptr, &clock, [] {});
  h.set_result_listener([&] { ++results; });
  h.ReportTtl("early", 10000, "passing", "up");
  EXPECT_EQ(h.Results().at("early").status, "passing") << "shown before the check is named";
  clock.RunFor(4000);
  h.SetChecks({{"early", Ttl(10000)}});
  EXPECT_FALSE(h.failing().count("early"));
  EXPECT_EQ(h.ResultOf("early")->output, "up");
  EXPECT_GE(results, 1) << "the API must hear that results changed";
  clock.RunFor(6001);  // the report's ttl, counted from the report
  EXPECT_TRUE(h.failing().count("early"));
  // An expired report is not taken by a check named later.
  h.ReportTtl("late", 1000, "passing", "");
  clock.RunFor(1001);
  h.SetChecks({{"early", Ttl(10000)}, {"late", Ttl(1000)}});
  EXPECT_TRUE(h.failing().count("late"));
}

}  // namespace
}  // namespace basefs
