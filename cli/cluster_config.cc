#include "cli/cluster_config.h"

#include <arpa/inet.h>

#include <cctype>
#include <sstream>
#include <toml++/toml.h>

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

Status ValidateHostPort(std::string_view hp) {
  std::string host;
  std::string_view port;
  if (!hp.empty() && hp[0] == '[') {
    const size_t close = hp.find(']');
    if (close == std::string_view::npos || close + 1 >= hp.size() || hp[close + 1] != ':')
      return Invalid("bad address '" + std::string(hp) + "': expected [IPV6]:PORT");
    host = std::string(hp.substr(1, close - 1));
    port = hp.substr(close + 2);
    in6_addr a6{};
    if (inet_pton(AF_INET6, host.c_str(), &a6) != 1) return Invalid("bad IPv6 address in '" + std::string(hp) + "'");
  } else {
    const size_t colon = hp.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return Invalid("bad address '" + std::string(hp) + "': expected ADDR:PORT");
    host = std::string(hp.substr(0, colon));
    port = hp.substr(colon + 1);
    in_addr a4{};
    if (host.find(':') != std::string::npos) return Invalid("write IPv6 addresses as [ADDR]:PORT: '" + std::string(hp) + "'");
    if (inet_pton(AF_INET, host.c_str(), &a4) != 1) {
      // A host name: letters, digits, '-', '.'.
      for (char c : host)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.')
          return Invalid("bad host in '" + std::string(hp) + "'");
    }
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
    return Invalid("bad port in '" + std::string(hp) + "'");
  const int p = std::stoi(std::string(port));
  if (p < 1 || p > 65535) return Invalid("port out of range in '" + std::string(hp) + "'");
  return Status::Ok();
}

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
      BASEFS_RETURN_IF_ERROR(ValidateHostPort(*s));
      c.seeds.push_back(*s);
    }
  }
  return c;
}

}  // namespace basefs
