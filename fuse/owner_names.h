// OwnerNames: the user and group names the log stores, mapped to this
// host's ids and back (docs/fuse.md, "Owners"). Names travel between
// machines; numeric ids do not.
//
// Lookups go through NSS (getpwnam_r and friends) and are cached for
// kCacheSeconds, so a stat storm costs no NSS call per stat and an edit of
// /etc/passwd is seen within that time. Each cache holds at most
// kMaxCached names (names come from the log, which other nodes write): it
// is emptied when full.
//
// Thread-safety: none; the FUSE loop thread owns it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

namespace basefs {

// NSS lookups, uncached: a user's uid and primary gid, a group's gid.
struct UserIds {
  unsigned uid = 0;
  unsigned gid = 0;
};
std::optional<UserIds> LookupUser(const std::string& name);
std::optional<unsigned> LookupGroup(const std::string& name);

class OwnerNames {
 public:
  static constexpr size_t kMaxCached = 4096;
  static constexpr int kCacheSeconds = 30;

  std::optional<uid_t> Uid(const std::string& user) { return Find(&uids_, user, false); }
  std::optional<gid_t> Gid(const std::string& group) { return Find(&gids_, group, true); }
  // The name of a local id, if it has one.
  std::optional<std::string> UserName(uid_t uid) { return Name(&users_, uid, false); }
  std::optional<std::string> GroupName(gid_t gid) { return Name(&groups_, gid, true); }

 private:
  using Clock = std::chrono::steady_clock;
  struct IdEntry {
    std::optional<unsigned> id;
    Clock::time_point expires;
  };
  struct NameEntry {
    std::optional<std::string> name;
    Clock::time_point expires;
  };
  static std::optional<unsigned> Find(std::unordered_map<std::string, IdEntry>* cache, const std::string& name,
                                      bool group);
  static std::optional<std::string> Name(std::unordered_map<unsigned, NameEntry>* cache, unsigned id, bool group);

  std::unordered_map<std::string, IdEntry> uids_, gids_;
  std::unordered_map<unsigned, NameEntry> users_, groups_;
};

}  // namespace basefs
