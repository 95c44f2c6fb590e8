// DNS name helpers shared by zones/ and dns/: label validation and the
// lowercase, absolute presentation form every projected name uses.
//
// All functions are pure and thread-compatible.
#pragma once

#include <string>
#include <string_view>

namespace basefs {

inline constexpr size_t kMaxLabelBytes = 63;
inline constexpr size_t kMaxDnsNameBytes = 253;  // presentation form, without the final dot

// A service, instance, tag or node name: one label of letters, digits and
// hyphens (not at either end), 1..63 bytes.
bool IsServiceLabel(std::string_view label);
// A label of a /zones owner name: like IsServiceLabel, but underscores
// (_dmarc, _sip) are allowed too, and hyphens anywhere. Wildcards ("*") are
// not served (docs/dns.md).
bool IsZoneLabel(std::string_view label);
// A zone name in presentation form ("example.org" or "example.org."):
// IsZoneLabel labels, at most 253 bytes.
bool IsZoneName(std::string_view name);

std::string Lowercase(std::string_view s);

// True when `name` equals `zone` or lies below it (both absolute,
// lowercase).
bool InZone(std::string_view name, std::string_view zone);

}  // namespace basefs
