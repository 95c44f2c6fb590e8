// Watchers: the `basefs watch` streams a daemon serves. Each one names a
// path; every visible change at or below it (local, remote, by sync) is
// sent to its client as one line, as it happens, until the client goes.
//
// Bounds: at most kMaxWatchers at once (the control socket serves 32
// clients; the rest stay for commands). A client that does not read (more
// than the control server's backlog unread) is told so and dropped: a
// stalled watcher never holds the daemon's memory.
//
// Thread-safety: loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "daemon/control_server.h"
#include "store/view.h"

namespace basefs {

class Watchers {
 public:
  static constexpr size_t kMaxWatchers = 16;
  // The line a change gives (with its newline), or "" for none.
  using Format = std::function<std::string(const Change&)>;

  // Starts a stream for changes at or below `path` (normalised, absolute).
  // Answers `reply` at once with an error when there are too many.
  void Add(const std::string& path, Format format, ControlServer::Reply reply, const ControlServer::Stream& stream);
  void OnChange(const Change& c);
  size_t size() const { return watchers_.size(); }

 private:
  struct Watcher {
    std::string path;
    Format format;
    ControlServer::Reply reply;
    std::function<bool(std::string_view)> emit;
  };
  std::map<uint64_t, Watcher> watchers_;
  uint64_t next_id_ = 1;
};

// Whether `path` is `dir` or below it.
bool PathWithin(const std::string& path, const std::string& dir);

}  // namespace basefs
