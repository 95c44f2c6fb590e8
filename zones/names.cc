#include "zones/names.h"

namespace basefs {
namespace {

bool IsLdh(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'; }

}  // namespace

bool IsServiceLabel(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabelBytes) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (char c : label)
    if (!IsLdh(c)) return false;
  return true;
}

bool IsZoneLabel(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabelBytes) return false;
  for (char c : label)
    if (!IsLdh(c) && c != '_') return false;
  return true;
}

bool IsZoneName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > kMaxDnsNameBytes) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    if (!IsZoneLabel(name.substr(start, dot - start))) return false;
    start = dot + 1;
  }
  return true;
}

std::string Lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool InZone(std::string_view name, std::string_view zone) {
  if (name.size() < zone.size()) return false;
  if (name.substr(name.size() - zone.size()) != zone) return false;
  return name.size() == zone.size() || zone == "." || name[name.size() - zone.size() - 1] == '.';
}

}  // namespace basefs
