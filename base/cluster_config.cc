#include "base/cluster_config.h"

#include <cctype>
#include <sstream>

#include <toml++/toml.h>

#include "base/host_port.h"

namespace basefs {

Result<std::string> NormalizeDomain(std::string_view domain) {
  std::string d(domain);
  if (d.empty() || d == ".") return Invalid("the domain must not be empty or the root");
  if (d.back() != '.') d.push_back('.');
  if (d.size() > 254) return Invalid("domain longer than 253 characters: " + d);
  size_t start = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(d[i]);
    if (c == '.') {
      const size_t len = i - start;
      if (len == 0 || len > 63) return Invalid("bad label in domain '" + d + "' (labels are 1..63 characters)");
      if (d[start] == '-' || d[i - 1] == '-') return Invalid("a label must not start or end with '-': " + d);
      start = i + 1;
      continue;
    }
    if (!std::isalnum(c) && c != '-' && c != '_')
      return Invalid("bad character in domain '" + d + "': use letters, digits and '-'");
    d[i] = static_cast<char>(std::tolower(c));
  }
  return d;
}

Status ValidateSeed(std::string_view hp) { return ParseHostPort(hp, {.allow_names = true}).status(); }

std::string RenderClusterConfig(const ClusterConfig& c) {
  toml::array seeds;
  for (const auto& s : c.seeds) seeds.push_back(s);
  toml::table t{{"domain", c.domain}, {"seeds", seeds}};
  std::ostringstream out;
  out << t << "\n";
  return out.str();
}

Result<ClusterConfig> ParseClusterConfig(std::string_view text) {
  ClusterConfig c;
  toml::table t;
  try {
    t = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return Invalid(std::string("/.cluster: ") + std::string(e.description()));
  }
  if (auto d = t["domain"].value<std::string>()) {
    BASEFS_ASSIGN_OR_RETURN(c.domain, NormalizeDomain(*d));
  }
  if (auto* arr = t["seeds"].as_array()) {
    for (const auto& v : *arr) {
      auto s = v.value<std::string>();
      if (!s) return Invalid("/.cluster: seeds must be strings \"ADDR:PORT\"");
      BASEFS_RETURN_IF_ERROR(ValidateSeed(*s));
      c.seeds.push_back(*s);
    }
  }
  return c;
}

}  // namespace basefs
