#include "fuse/owner_names.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace basefs {

namespace {

// NSS lookups with a buffer that grows on ERANGE (up to 1 MiB).
template <typename Call>
bool WithBuffer(Call call) {
  std::vector<char> buf(1024);
  while (true) {
    const int r = call(buf.data(), buf.size());
    if (r != ERANGE || buf.size() >= (1u << 20)) return r == 0;
    buf.resize(buf.size() * 2);
  }
}

std::optional<unsigned> LookupId(const std::string& name, bool group) {
  if (group) return LookupGroup(name);
  auto user = LookupUser(name);
  return user ? std::optional<unsigned>(user->uid) : std::nullopt;
}

std::optional<std::string> LookupName(unsigned id, bool group) {
  std::optional<std::string> name;
  if (group) {
    WithBuffer([&](char* b, size_t n) {
      struct group g {};
      struct group* out = nullptr;
      const int r = ::getgrgid_r(id, &g, b, n, &out);
      if (r == 0 && out) name = out->gr_name;
      return r;
    });
  } else {
    WithBuffer([&](char* b, size_t n) {
      struct passwd p {};
      struct passwd* out = nullptr;
      const int r = ::getpwuid_r(id, &p, b, n, &out);
      if (r == 0 && out) name = out->pw_name;
      return r;
    });
  }
  return name;
}

}  // namespace

std::optional<UserIds> LookupUser(const std::string& name) {
  std::optional<UserIds> ids;
  WithBuffer([&](char* b, size_t n) {
    struct passwd p {};
    struct passwd* out = nullptr;
    const int r = ::getpwnam_r(name.c_str(), &p, b, n, &out);
    if (r == 0 && out) ids = UserIds{out->pw_uid, out->pw_gid};
    return r;
  });
  return ids;
}

std::optional<unsigned> LookupGroup(const std::string& name) {
  std::optional<unsigned> id;
  WithBuffer([&](char* b, size_t n) {
    struct group g {};
    struct group* out = nullptr;
    const int r = ::getgrnam_r(name.c_str(), &g, b, n, &out);
    if (r == 0 && out) id = out->gr_gid;
    return r;
  });
  return id;
}

std::optional<unsigned> OwnerNames::Find(std::unordered_map<std::string, IdEntry>* cache, const std::string& name,
                                         bool group) {
  const auto now = Clock::now();
  if (auto it = cache->find(name); it != cache->end() && it->second.expires > now) return it->second.id;
  if (cache->size() >= kMaxCached) cache->clear();
  IdEntry e{LookupId(name, group), now + std::chrono::seconds(kCacheSeconds)};
  (*cache)[name] = e;
  return e.id;
}

std::optional<std::string> OwnerNames::Name(std::unordered_map<unsigned, NameEntry>* cache, unsigned id, bool group) {
  const auto now = Clock::now();
  if (auto it = cache->find(id); it != cache->end() && it->second.expires > now) return it->second.name;
  if (cache->size() >= kMaxCached) cache->clear();
  NameEntry e{LookupName(id, group), now + std::chrono::seconds(kCacheSeconds)};
  (*cache)[id] = e;
  return e.name;
}

}  // namespace basefs
