// A service instance file, /services/<service>/<instance> (TOML; see
// ../shared/DESIGN.md "Names in DNS"). Parsing validates every field and
// says what is wrong; formatting is what `basefs publish` writes, and parses
// back to the same instance.
//
// Pure functions, thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace basefs {

inline constexpr size_t kMaxServiceFileBytes = 16 * 1024;
inline constexpr size_t kMaxTxtStringBytes = 255;
inline constexpr size_t kMaxTags = 32;
inline constexpr uint32_t kDefaultServiceTtl = 10;
inline constexpr uint32_t kMaxServiceTtl = 86400;
inline constexpr uint32_t kMinCheckIntervalMs = 1000;
inline constexpr uint32_t kMaxCheckIntervalMs = 3600 * 1000;

struct HealthCheck {
  enum class Kind { kNone, kTcp, kHttp, kScript, kTtl };
  Kind kind = Kind::kNone;
  std::string target;  // host:port, URL or shell command; empty for ttl
  // The period of the checks; for ttl, how long a reported status holds
  // (`ttl = "30s"`: critical unless reported passing within it).
  uint32_t interval_ms = 10000;
  uint32_t timeout_ms = 2000;
  bool operator==(const HealthCheck&) const = default;
};

struct ServiceInstance {
  uint16_t port = 0;
  std::string address;  // empty: the owning node's advertised address
  std::string node;     // empty: the node that wrote the file
  std::string protocol = "tcp";
  std::vector<std::string> tags;  // lowercase
  uint16_t priority = 1;
  uint16_t weight = 1;
  uint32_t ttl = kDefaultServiceTtl;
  std::vector<std::pair<std::string, std::string>> txt;  // sorted by key (TOML tables are unordered)
  HealthCheck check;
  bool operator==(const ServiceInstance&) const = default;
};

// Where a tcp or http check connects: a numeric IP address ("localhost"
// is 127.0.0.1), a port and, for http, the path. Host names are refused:
// resolving one would block the daemon's loop, and a check runs on the
// node that owns the service, where the address is known.
struct CheckEndpoint {
  std::string host;  // numeric, without brackets
  uint16_t port = 0;
  std::string path;             // http: "/..." (default "/")
  std::string Address() const;  // "h:p", "[h]:p" for IPv6
};
Result<CheckEndpoint> ParseCheckEndpoint(const HealthCheck& c);

Result<ServiceInstance> ParseServiceFile(std::string_view text);
// TOML text that ParseServiceFile reads back as `s`. Precondition: `s` is
// valid (ValidateServiceInstance).
std::string FormatServiceFile(const ServiceInstance& s);
Status ValidateServiceInstance(const ServiceInstance& s);

// "10s", "500ms", "2m", or a bare number of seconds -> milliseconds.
Result<uint32_t> ParseDuration(std::string_view text);
// The same for longer spans (up to 10^9 units, so 10^9 hours), in ms.
Result<uint64_t> ParseDurationMs(std::string_view text);

}  // namespace basefs
