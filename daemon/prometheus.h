// Writes the Prometheus text exposition format (version 0.0.4): a family
// header (# HELP, # TYPE) then its samples, labels escaped. It formats what
// it is handed; the numbers belong to the subsystems that count them.
//
//   PrometheusWriter w;
//   w.Family("basefs_dns_queries_total", "counter", "DNS queries answered");
//   w.Sample("basefs_dns_queries_total", {{"type", "A"}, {"rcode", "NOERROR"}}, 12);
//   w.Histogram("basefs_dns_query_duration_seconds", "...", {}, histogram);
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/histogram.h"

namespace basefs {

class PrometheusWriter {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  // `type`: counter, gauge or histogram.
  void Family(const std::string& name, const char* type, const std::string& help);
  void Sample(const std::string& name, const Labels& labels, double value);
  // One family of one metric without labels.
  void Counter(const std::string& name, const std::string& help, double value);
  void Gauge(const std::string& name, const std::string& help, double value);
  // The _bucket (cumulative, le="+Inf" last), _sum and _count samples of
  // `h` with `labels`; call Family(name, "histogram", help) once first.
  void HistogramSamples(const std::string& name, const Labels& labels, const Histogram& h);

  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

}  // namespace basefs
