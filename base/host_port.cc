#include "base/host_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>

namespace basefs {
namespace {

bool IsIpv4(const std::string& host) {
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1;
}

bool IsIpv6(const std::string& host) {
  in6_addr a{};
  return inet_pton(AF_INET6, host.c_str(), &a) == 1;
}

bool IsHostName(const std::string& host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  return true;
}

}  // namespace

std::string HostPort::BracketedHost() const { return is_ipv6() ? "[" + host + "]" : host; }

std::string HostPort::ToString() const { return BracketedHost() + ":" + std::to_string(port); }

Result<HostPort> ParseHostPort(std::string_view text, HostPortRules rules) {
  const std::string t(text);
  const bool port_optional = rules.default_port != 0;
  const std::string host_word = rules.allow_names ? "HOST" : "ADDR";
  const std::string expected = host_word + (port_optional ? "[:PORT]" : ":PORT") + " or [IPV6]:PORT";
  HostPort hp;
  std::string_view port;
  bool has_port = false;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return Invalid("bad address '" + t + "': missing ']'");
    hp.host = std::string(text.substr(1, close - 1));
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return Invalid("bad address '" + t + "': expected " + expected);
      port = text.substr(close + 2);
      has_port = true;
    }
    if (!IsIpv6(hp.host)) return Invalid("bad IPv6 address in '" + t + "'");
  } else {
    const size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) {
      // Two or more colons: a bare IPv6 address, which cannot carry a port.
      if (!port_optional) return Invalid("write IPv6 addresses as [ADDR]:PORT: '" + t + "'");
      hp.host = t;
      if (!IsIpv6(hp.host)) return Invalid("bad IPv6 address '" + t + "'");
    } else {
      hp.host = std::string(text.substr(0, colon));
      if (colon != std::string_view::npos) {
        port = text.substr(colon + 1);
        has_port = true;
      }
      if (hp.host.empty()) return Invalid("bad address '" + t + "': expected " + expected);
      if (!IsIpv4(hp.host) && !(rules.allow_names && IsHostName(hp.host)))
        return Invalid("bad address '" + t + "': use a numeric IPv4 or [IPv6] address" +
                       (rules.allow_names ? " or a host name" : ""));
    }
  }
  if (!has_port) {
    if (!port_optional) return Invalid("bad address '" + t + "': expected " + expected);
    hp.port = rules.default_port;
    return hp;
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
    return Invalid("bad port in '" + t + "'");
  const unsigned long p = std::stoul(std::string(port));
  if (p > 65535 || (p == 0 && !rules.allow_port_zero)) return Invalid("port out of range (1..65535) in '" + t + "'");
  hp.port = static_cast<uint16_t>(p);
  return hp;
}

Result<sockaddr_storage> ParseSockaddr(std::string_view text, socklen_t* len) {
  BASEFS_ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(text, {.allow_port_zero = true}));
  sockaddr_storage ss{};
  if (hp.is_ipv6()) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_pton(AF_INET6, hp.host.c_str(), &v6->sin6_addr);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(hp.port);
    *len = sizeof(sockaddr_in6);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    inet_pton(AF_INET, hp.host.c_str(), &v4->sin_addr);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(hp.port);
    *len = sizeof(sockaddr_in);
  }
  return ss;
}

std::string FormatSockaddr(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof(buf));
    return std::string(buf) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof(buf));
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  return "?";
}

}  // namespace basefs
