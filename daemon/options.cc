#include "daemon/options.h"

#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "base/host_port.h"
#include "base/log.h"
#include "dns/server.h"

namespace basefs {
namespace {

Status CheckAddress(const std::string& v) { return ParseHostPort(v, {.allow_port_zero = true}).status(); }
Status CheckAdvertise(const std::string& v) {
  return ParseHostPort(v, {.allow_names = true, .default_port = 1}).status();
}
Status CheckRecursor(const std::string& v) { return ParseHostPort(v, {.default_port = 53}).status(); }
Status CheckAddressBlock(const std::string& v) { return ParseAddressList({v}).status(); }
Status CheckOwner(const std::string& v) {
  const size_t colon = v.find(':');
  if (v.empty() || colon == 0 || (colon != std::string::npos && colon + 1 == v.size()))
    return Invalid("expected USER or USER:GROUP, not '" + v + "'");
  return Status::Ok();
}
Status CheckUmask(const std::string& v) {
  if (v.empty() || v.size() > 4 || v.find_first_not_of("01234567") != std::string::npos)
    return Invalid("expected an octal mode such as 022 or 0077, not '" + v + "'");
  return Status::Ok();
}
Status CheckToken(const std::string& v) {
  if (v.size() < 16 || v.size() > 256) return Invalid("an http-token must be 16..256 characters");
  for (char c : v)
    if (c <= ' ' || c > '~') return Invalid("an http-token must be printable ASCII without spaces");
  return Status::Ok();
}
Status CheckLogLevel(const std::string& v) { return ParseLogLevel(v).status(); }
Status CheckHandler(const std::string& v) {
  const size_t eq = v.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == v.size()) return Invalid("expected 'GLOB=CMD', not '" + v + "'");
  return Status::Ok();
}

}  // namespace

const std::vector<OptionSpec>& RunOptionSpecs() {
  using O = DaemonOptions;
  static const std::vector<OptionSpec> specs = {
      {"bind", "ADDR:PORT for gossip (UDP) and sync (TCP)", +[](O& o) { return &o.node.bind; }, CheckAddress},
      {"advertise", "address other nodes and DNS answers use", +[](O& o) { return &o.node.advertise; }, CheckAdvertise},
      {"dns", "ADDR:PORT of the DNS server", +[](O& o) { return &o.dns.listen; }, CheckAddress},
      {"join", "ADDR:PORT of a member to join through (repeatable)", +[](O& o) { return &o.node.join; }},
      {"node-name", "this node's name (default: the host name)", +[](O& o) { return &o.node.node_name; }},
      {"handler", "'GLOB=CMD' run on every change under GLOB (repeatable)", +[](O& o) { return &o.handlers; },
       CheckHandler},
      {"recursor", "upstream resolver ADDR[:PORT] (repeatable)", +[](O& o) { return &o.dns.recursors; }, CheckRecursor},
      {"metrics", "ADDR:PORT serving Prometheus metrics at /metrics", +[](O& o) { return &o.metrics; }, CheckAddress},
      {"http", "ADDR:PORT serving the Consul-compatible HTTP API under /v1/ (off unless given)",
       +[](O& o) { return &o.http.listen; }, CheckAddress},
      {"http-token", "token the HTTP API needs for writes (X-Consul-Token), and for reads off loopback",
       +[](O& o) { return &o.http.token; }, CheckToken},
      {"http-open-reads", "HTTP API reads need no token even off loopback", +[](O& o) { return &o.http.open_reads; }},
      {"log-level", "trace, debug, info, warn or error (default info)", +[](O& o) { return &o.log_level; },
       CheckLogLevel},
      {"cluster-key", "file with the cluster key(s): seals gossip and sync",
       +[](O& o) { return &o.node.cluster_key_file; }},
      {"members-need-grant", "refuse members whose node key holds no grant in the log (or was revoked)",
       +[](O& o) { return &o.node.members_need_grant; }},
      {"no-recursion", "refuse names outside the cluster domain and /zones", +[](O& o) { return &o.dns.no_recursion; }},
      {"recursion-allow",
       "CIDR, 'localhost' or 'localnets' whose other names are forwarded (repeatable; default localhost and "
       "localnets; others get REFUSED)",
       +[](O& o) { return &o.dns.recursion_allow; }, CheckAddressBlock},
      {"axfr-allow", "CIDR, 'localhost' or 'localnets' allowed to transfer zones (repeatable; default localhost)",
       +[](O& o) { return &o.dns.axfr_allow; }, CheckAddressBlock},
      {"dns-rate-limit", "UDP responses per second per client network and answer, then 1 in 2 truncated (0: off)",
       +[](O& o) { return &o.dns.rate_limit; }, nullptr, 1000000},
      {"mount", "mount the filesystem at DIR", +[](O& o) { return &o.mount.dir; }, nullptr, 0, true},
      {"read-only", "mount read-only: every change through the mount fails with EROFS",
       +[](O& o) { return &o.mount.read_only; }},
      {"mount-owner", "USER[:GROUP] shown as the owner of every file (default: the daemon's user)",
       +[](O& o) { return &o.mount.owner; }, CheckOwner},
      {"mount-umask", "permission bits taken from 0666 (files) and 0777 (directories, executables); default 022",
       +[](O& o) { return &o.mount.umask; }, CheckUmask},
      {"latency-hold",
       "while the mount gets 32 requests per MS ms, keep idle CPUs quick to wake (default 20; 0: never; needs root)",
       +[](O& o) { return &o.mount.latency_hold_ms; }, nullptr, 60000},
  };
  return specs;
}

namespace {

std::string Where(const std::string& path, const toml::node& n) {
  return path + ":" + std::to_string(n.source().begin.line);
}

// Sets one key from its TOML value.
Status SetField(const OptionSpec& spec, const toml::node& value, DaemonOptions* o) {
  const auto string_value = [&](const toml::node& v, std::string* out) -> Status {
    auto s = v.value<std::string>();
    if (!s) return Invalid("must be a string");
    if (spec.check) {
      Status st = spec.check(*s);
      if (!st.ok()) return st;
    }
    *out = *s;
    return Status::Ok();
  };
  if (auto* f = std::get_if<std::string* (*)(DaemonOptions&)>(&spec.field)) return string_value(value, (*f)(*o));
  if (auto* f = std::get_if<std::vector<std::string>* (*)(DaemonOptions&)>(&spec.field)) {
    const toml::array* arr = value.as_array();
    if (!arr) return Invalid("must be a list of strings, e.g. [\"...\"]");
    std::vector<std::string> out;
    for (const auto& item : *arr) {
      std::string s;
      BASEFS_RETURN_IF_ERROR(string_value(item, &s));
      out.push_back(std::move(s));
    }
    *(*f)(*o) = std::move(out);
    return Status::Ok();
  }
  if (auto* f = std::get_if<bool* (*)(DaemonOptions&)>(&spec.field)) {
    auto b = value.value<bool>();
    if (!b) return Invalid("must be true or false");
    *(*f)(*o) = *b;
    return Status::Ok();
  }
  auto* f = std::get_if<uint64_t* (*)(DaemonOptions&)>(&spec.field);
  auto n = value.is_integer() ? value.value<int64_t>() : std::nullopt;
  if (!n) return Invalid("must be a whole number");
  if (*n < 0 || static_cast<uint64_t>(*n) > spec.max)
    return Invalid("must be 0.." + std::to_string(spec.max) + ", not " + std::to_string(*n));
  *(*f)(*o) = static_cast<uint64_t>(*n);
  return Status::Ok();
}

}  // namespace

Status ApplyConfigFile(const std::string& path, const std::set<std::string>& given, DaemonOptions* options) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  return ApplyConfigText(text.str(), path, given, options);
}

Status ApplyConfigText(const std::string& text, const std::string& path, const std::set<std::string>& given,
                       DaemonOptions* options) {
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return Invalid(path + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  DaemonOptions from_file = *options;
  for (const auto& [key, value] : table) {
    const std::string k(key.str());
    const OptionSpec* spec = nullptr;
    for (const auto& s : RunOptionSpecs())
      if (k == s.name) spec = &s;
    if (!spec) {
      std::string known;
      for (const auto& s : RunOptionSpecs()) known += std::string(known.empty() ? "" : ", ") + s.name;
      return Invalid(Where(path, value) + ": unknown key '" + k + "' (keys: " + known + ")");
    }
    if (given.count(k)) continue;  // the flag wins
    Status st = SetField(*spec, value, &from_file);
    if (!st.ok()) return Invalid(Where(path, value) + ": key '" + k + "': " + st.message());
  }
  *options = std::move(from_file);
  return Status::Ok();
}

}  // namespace basefs
