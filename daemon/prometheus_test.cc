#include "daemon/prometheus.h"

#include <gtest/gtest.h>

namespace basefs {
namespace {

TEST(PrometheusWriterTest, AFamilyHasHelpTypeAndLabelledSamples) {
  PrometheusWriter w;
  w.Family("basefs_members", "gauge", "Members by state");
  w.Sample("basefs_members", {{"state", "alive"}}, 3);
  w.Sample("basefs_members", {{"state", "failed"}}, 0);
  EXPECT_EQ(w.text(),
            "# HELP basefs_members Members by state\n"
            "# TYPE basefs_members gauge\n"
            "basefs_members{state=\"alive\"} 3\n"
            "basefs_members{state=\"failed\"} 0\n");
}

TEST(PrometheusWriterTest, LabelValuesAreEscaped) {
  PrometheusWriter w;
  w.Sample("m", {{"a", "x\"y\\z\nw"}}, 1.5);
  EXPECT_EQ(w.text(), "m{a=\"x\\\"y\\\\z\\nw\"} 1.5\n");
}

TEST(PrometheusWriterTest, HistogramBucketsAreCumulativeAndEndWithInf) {
  Histogram h({0.001, 0.01});
  h.Observe(0.0005);
  h.Observe(0.005);
  h.Observe(0.005);
  h.Observe(2);
  PrometheusWriter w;
  w.HistogramSamples("d_seconds", {{"op", "read"}}, h);
  EXPECT_EQ(w.text(),
            "d_seconds_bucket{op=\"read\",le=\"0.001\"} 1\n"
            "d_seconds_bucket{op=\"read\",le=\"0.01\"} 3\n"
            "d_seconds_bucket{op=\"read\",le=\"+Inf\"} 4\n"
            "d_seconds_sum{op=\"read\"} 2.0105\n"
            "d_seconds_count{op=\"read\"} 4\n");
}

TEST(PrometheusWriterTest, AnObservationOnABoundCountsInThatBucket) {
  Histogram h({0.001, 0.01});
  h.Observe(0.001);
  EXPECT_EQ(h.count_in(0), 1u);
  EXPECT_EQ(h.count_in(1), 0u);
}

}  // namespace
}  // namespace basefs
