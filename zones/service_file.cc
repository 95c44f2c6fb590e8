#include "zones/service_file.h"

#include <arpa/inet.h>

#include <sstream>

#include <toml++/toml.h>

#include "base/host_port.h"
#include "zones/names.h"

namespace basefs {
namespace {

bool IsIpAddress(const std::string& a) {
  unsigned char buf[16];
  return inet_pton(AF_INET, a.c_str(), buf) == 1 || inet_pton(AF_INET6, a.c_str(), buf) == 1;
}

// Reads an integer field within [lo, hi] into `out` if present.
template <typename T>
Status IntField(const toml::table& t, const char* key, int64_t lo, int64_t hi, T* out) {
  const toml::node* n = t.get(key);
  if (!n) return Status::Ok();
  auto v = n->value<int64_t>();
  if (!n->is_integer() || !v) return Invalid(std::string(key) + " must be an integer");
  if (*v < lo || *v > hi)
    return Invalid(std::string(key) + " = " + std::to_string(*v) + " is out of range " + std::to_string(lo) + ".." +
                   std::to_string(hi));
  *out = static_cast<T>(*v);
  return Status::Ok();
}

Status StringField(const toml::table& t, const char* key, std::string* out) {
  const toml::node* n = t.get(key);
  if (!n) return Status::Ok();
  if (!n->is_string()) return Invalid(std::string(key) + " must be a string");
  *out = *n->value<std::string>();
  return Status::Ok();
}

Result<uint32_t> DurationField(const toml::table& t, const char* key, uint32_t dflt) {
  const toml::node* n = t.get(key);
  if (!n) return dflt;
  if (n->is_integer()) return ParseDuration(std::to_string(*n->value<int64_t>()));
  if (!n->is_string()) return Invalid(std::string(key) + " must be a duration such as \"10s\"");
  auto d = ParseDuration(*n->value<std::string>());
  if (!d.ok()) return Invalid(std::string(key) + ": " + d.status().message());
  return d;
}

std::string Quote(const std::string& s) {
  std::ostringstream o;
  o << toml::value<std::string>(s);
  return o.str();
}

}  // namespace

Result<uint64_t> ParseDurationMs(std::string_view text) {
  if (text.empty()) return Invalid("empty duration");
  size_t i = 0;
  uint64_t n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    n = n * 10 + static_cast<uint64_t>(text[i] - '0');
    if (n > 1'000'000'000) return Invalid("duration too large: " + std::string(text));
    ++i;
  }
  if (i == 0) return Invalid("bad duration '" + std::string(text) + "' (use e.g. 10s, 500ms, 2m)");
  const std::string_view unit = text.substr(i);
  if (unit.empty() || unit == "s") return n * 1000;
  if (unit == "ms") return n;
  if (unit == "m") return n * 60000;
  if (unit == "h") return n * 3600000;
  return Invalid("bad duration unit in '" + std::string(text) + "' (use ms, s, m or h)");
}

Result<uint32_t> ParseDuration(std::string_view text) {
  BASEFS_ASSIGN_OR_RETURN(uint64_t ms, ParseDurationMs(text));
  if (ms > UINT32_MAX) return Invalid("duration too large: " + std::string(text));
  return static_cast<uint32_t>(ms);
}

Status ValidateServiceInstance(const ServiceInstance& s) {
  if (s.port == 0) return Invalid("port must be 1..65535");
  if (!s.address.empty() && !IsIpAddress(s.address))
    return Invalid("address '" + s.address + "' is not an IPv4 or IPv6 address");
  if (!s.node.empty() && !IsServiceLabel(s.node))
    return Invalid("node '" + s.node + "' is not a DNS label (letters, digits, '-')");
  if (s.protocol != "tcp" && s.protocol != "udp")
    return Invalid("protocol must be tcp or udp, not '" + s.protocol + "'");
  if (s.tags.size() > kMaxTags) return Invalid("more than " + std::to_string(kMaxTags) + " tags");
  for (const auto& tag : s.tags)
    if (!IsServiceLabel(tag)) return Invalid("tag '" + tag + "' is not a DNS label (letters, digits, '-')");
  if (s.ttl > kMaxServiceTtl) return Invalid("ttl must be 0.." + std::to_string(kMaxServiceTtl));
  size_t txt_total = 0;
  for (const auto& [k, v] : s.txt) {
    if (k.empty() || k.find('=') != std::string::npos)
      return Invalid("txt key '" + k + "' must be non-empty, without '='");
    if (k.size() + 1 + v.size() > kMaxTxtStringBytes) return Invalid("txt " + k + "=... is longer than 255 bytes");
    txt_total += k.size() + 2 + v.size();
  }
  if (txt_total > 8192) return Invalid("txt records longer than 8192 bytes in all");
  if (s.check.kind == HealthCheck::Kind::kTtl) {
    if (!s.check.target.empty()) return Invalid("a ttl check has no target");
    if (s.check.interval_ms < kMinCheckIntervalMs || s.check.interval_ms > kMaxCheckIntervalMs)
      return Invalid("check ttl must be 1s..1h");
  } else if (s.check.kind != HealthCheck::Kind::kNone) {
    if (s.check.target.empty() || s.check.target.size() > 1024) return Invalid("check target must be 1..1024 bytes");
    if (s.check.interval_ms < kMinCheckIntervalMs || s.check.interval_ms > kMaxCheckIntervalMs)
      return Invalid("check interval must be 1s..1h");
    if (s.check.timeout_ms == 0 || s.check.timeout_ms > s.check.interval_ms)
      return Invalid("check timeout must be more than 0 and at most the interval");
    if (s.check.kind == HealthCheck::Kind::kHttp || s.check.kind == HealthCheck::Kind::kTcp)
      BASEFS_RETURN_IF_ERROR(ParseCheckEndpoint(s.check).status());
  }
  return Status::Ok();
}

std::string CheckEndpoint::Address() const { return HostPort{host, port}.ToString(); }

Result<CheckEndpoint> ParseCheckEndpoint(const HealthCheck& c) {
  const bool http = c.kind == HealthCheck::Kind::kHttp;
  if (!http && c.kind != HealthCheck::Kind::kTcp) return Invalid("only tcp and http checks connect");
  std::string hp = c.target;
  CheckEndpoint e;
  if (http) {
    if (hp.rfind("http://", 0) != 0) return Invalid("check http must be an http:// URL");
    hp = hp.substr(7);
    const size_t slash = hp.find('/');
    e.path = slash == std::string::npos ? "/" : hp.substr(slash);
    hp = hp.substr(0, slash);
  }
  auto parsed = ParseHostPort(hp, {.allow_names = true, .default_port = static_cast<uint16_t>(http ? 80 : 0)});
  if (!parsed.ok()) return Invalid("check " + std::string(http ? "http" : "tcp") + ": " + parsed.status().message());
  e.host = parsed->host;
  e.port = parsed->port;
  if (e.host == "localhost") e.host = "127.0.0.1";
  if (!IsIpAddress(e.host))
    return Invalid("check host '" + e.host + "' must be a numeric IP address or localhost (names are not resolved)");
  return e;
}

Result<ServiceInstance> ParseServiceFile(std::string_view text) {
  if (text.size() > kMaxServiceFileBytes)
    return Invalid("service file larger than " + std::to_string(kMaxServiceFileBytes) + " bytes");
  toml::table t;
  try {
    t = toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream o;
    o << "bad TOML at line " << e.source().begin.line << ": " << e.description();
    return Invalid(o.str());
  }
  static const char* const kKnown[] = {"port",     "address", "node", "protocol", "tags",
                                       "priority", "weight",  "ttl",  "txt",      "check"};
  for (const auto& [key, value] : t) {
    bool known = false;
    for (const char* k : kKnown) known |= key.str() == k;
    if (!known) return Invalid("unknown key '" + std::string(key.str()) + "'");
  }
  ServiceInstance s;
  if (!t.get("port")) return Invalid("port is required");
  BASEFS_RETURN_IF_ERROR(IntField(t, "port", 1, 65535, &s.port));
  BASEFS_RETURN_IF_ERROR(StringField(t, "address", &s.address));
  BASEFS_RETURN_IF_ERROR(StringField(t, "node", &s.node));
  BASEFS_RETURN_IF_ERROR(StringField(t, "protocol", &s.protocol));
  s.node = Lowercase(s.node);
  s.protocol = Lowercase(s.protocol);
  BASEFS_RETURN_IF_ERROR(IntField(t, "priority", 0, 65535, &s.priority));
  BASEFS_RETURN_IF_ERROR(IntField(t, "weight", 0, 65535, &s.weight));
  BASEFS_RETURN_IF_ERROR(IntField(t, "ttl", 0, kMaxServiceTtl, &s.ttl));
  if (const toml::node* n = t.get("tags")) {
    const toml::array* a = n->as_array();
    if (!a) return Invalid("tags must be an array of strings");
    for (const auto& v : *a) {
      if (!v.is_string()) return Invalid("tags must be an array of strings");
      s.tags.push_back(Lowercase(*v.value<std::string>()));
    }
  }
  if (const toml::node* n = t.get("txt")) {
    const toml::table* tt = n->as_table();
    if (!tt) return Invalid("txt must be a table of key = \"value\"");
    for (const auto& [k, v] : *tt) {
      std::string value;
      if (v.is_string())
        value = *v.value<std::string>();
      else if (v.is_integer())
        value = std::to_string(*v.value<int64_t>());
      else if (v.is_boolean())
        value = *v.value<bool>() ? "true" : "false";
      else
        return Invalid("txt " + std::string(k.str()) + " must be a string, number or boolean");
      s.txt.emplace_back(std::string(k.str()), std::move(value));
    }
  }
  if (const toml::node* n = t.get("check")) {
    const toml::table* c = n->as_table();
    if (!c) return Invalid("check must be a table");
    int kinds = 0;
    for (const auto& [key, value] : *c) {
      const std::string_view k = key.str();
      if (k == "tcp" || k == "http" || k == "script") {
        if (!value.is_string()) return Invalid("check " + std::string(k) + " must be a string");
        ++kinds;
        s.check.kind = k == "tcp"    ? HealthCheck::Kind::kTcp
                       : k == "http" ? HealthCheck::Kind::kHttp
                                     : HealthCheck::Kind::kScript;
        s.check.target = *value.value<std::string>();
      } else if (k == "ttl") {
        ++kinds;
        s.check.kind = HealthCheck::Kind::kTtl;
      } else if (k != "interval" && k != "timeout") {
        return Invalid("unknown key 'check." + std::string(k) + "'");
      }
    }
    if (kinds != 1) return Invalid("check needs exactly one of tcp, http, script or ttl");
    if (s.check.kind == HealthCheck::Kind::kTtl) {
      if (c->get("interval") || c->get("timeout")) return Invalid("a ttl check takes no interval or timeout");
      BASEFS_ASSIGN_OR_RETURN(s.check.interval_ms, DurationField(*c, "ttl", 0));
      s.check.timeout_ms = s.check.interval_ms;
    } else {
      BASEFS_ASSIGN_OR_RETURN(s.check.interval_ms, DurationField(*c, "interval", 10000));
      BASEFS_ASSIGN_OR_RETURN(s.check.timeout_ms, DurationField(*c, "timeout", 2000));
    }
  }
  BASEFS_RETURN_IF_ERROR(ValidateServiceInstance(s));
  return s;
}

std::string FormatServiceFile(const ServiceInstance& s) {
  std::ostringstream o;
  o << "port = " << s.port << "\n";
  if (!s.address.empty()) o << "address = " << Quote(s.address) << "\n";
  if (!s.node.empty()) o << "node = " << Quote(s.node) << "\n";
  if (s.protocol != "tcp") o << "protocol = " << Quote(s.protocol) << "\n";
  if (!s.tags.empty()) {
    o << "tags = [";
    for (size_t i = 0; i < s.tags.size(); ++i) o << (i ? ", " : "") << Quote(s.tags[i]);
    o << "]\n";
  }
  if (s.priority != 1) o << "priority = " << s.priority << "\n";
  if (s.weight != 1) o << "weight = " << s.weight << "\n";
  if (s.ttl != kDefaultServiceTtl) o << "ttl = " << s.ttl << "\n";
  if (!s.txt.empty()) {
    o << "[txt]\n";
    for (const auto& [k, v] : s.txt) o << Quote(k) << " = " << Quote(v) << "\n";
  }
  if (s.check.kind == HealthCheck::Kind::kTtl) {
    o << "[check]\nttl = \"" << s.check.interval_ms << "ms\"\n";
  } else if (s.check.kind != HealthCheck::Kind::kNone) {
    static const char* const kNames[] = {"", "tcp", "http", "script"};
    o << "[check]\n"
      << kNames[static_cast<int>(s.check.kind)] << " = " << Quote(s.check.target) << "\n"
      << "interval = \"" << s.check.interval_ms << "ms\"\n"
      << "timeout = \"" << s.check.timeout_ms << "ms\"\n";
  }
  return o.str();
}

}  // namespace basefs
