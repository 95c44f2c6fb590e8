#include "daemon/prometheus.h"

#include <cmath>
#include <cstdio>

namespace basefs {
namespace {

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

// Label values escape backslash, double quote and newline.
std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string LabelText(const PrometheusWriter::Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i)
    out += (i ? "," : "") + labels[i].first + "=\"" + Escape(labels[i].second) + "\"";
  return out + "}";
}

}  // namespace

void PrometheusWriter::Family(const std::string& name, const char* type, const std::string& help) {
  out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void PrometheusWriter::Sample(const std::string& name, const Labels& labels, double value) {
  out_ += name + LabelText(labels) + " " + Number(value) + "\n";
}

void PrometheusWriter::Counter(const std::string& name, const std::string& help, double value) {
  Family(name, "counter", help);
  Sample(name, {}, value);
}

void PrometheusWriter::Gauge(const std::string& name, const std::string& help, double value) {
  Family(name, "gauge", help);
  Sample(name, {}, value);
}

void PrometheusWriter::HistogramSamples(const std::string& name, const Labels& labels, const Histogram& h) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= h.bucket_count(); ++i) {
    cumulative += h.count_in(i);
    Labels with_le = labels;
    with_le.emplace_back("le", i < h.bucket_count() ? Number(h.bound(i)) : "+Inf");
    Sample(name + "_bucket", with_le, static_cast<double>(cumulative));
  }
  Sample(name + "_sum", labels, h.sum());
  Sample(name + "_count", labels, static_cast<double>(h.count()));
}

}  // namespace basefs
