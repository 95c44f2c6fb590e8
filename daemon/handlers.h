// Change handlers (`--handler 'GLOB=CMD'`): the pure part — parsing a spec,
// matching paths against globs, naming events, and the scheduler that
// decides when a handler runs. handler_runner.h starts the processes.
//
// Globs match whole absolute paths: `*` matches any run of characters
// within one path component, `?` one character of a component, `**`
// any run of characters across components (so `/a/**` matches everything
// below /a, and `/**/x` also matches `/x`). Everything else matches itself.
//
// Scheduling: one run per (handler, path) at a time. A change that arrives
// while that run is going (or waiting for a slot) is coalesced into at most
// one pending run, which carries the latest event type; handlers should read
// the current state of the path rather than rely on every intermediate
// event. At most `max_running` runs at once over all handlers; at most
// `max_waiting` pending runs, beyond which events are dropped and counted.
//
// Thread-safety: none; the loop thread owns a scheduler.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "store/view.h"

namespace basefs {

struct HandlerSpec {
  std::string glob;
  std::string command;
};

inline constexpr size_t kMaxHandlerCommandBytes = 64 * 1024;

// Splits 'GLOB=CMD' at the first '='. The glob must be absolute (start
// with '/') and at most 4096 bytes; the command non-empty.
Result<HandlerSpec> ParseHandler(std::string_view spec);

bool GlobMatch(std::string_view glob, std::string_view path);

// BASEFS_EVENT_TYPE for a change: create, update, delete, mkdir, link,
// symlink, mode, revert, grant, revoke. `view` is the view right after the
// change (a write is an update when the path existed before it).
const char* EventTypeFor(const View& view, const Change& c);

struct HandlerLaunch {
  size_t handler = 0;
  std::string path;
  std::string type;
};

struct SchedulerOptions {
  size_t max_running = 4;
  size_t max_waiting = 1024;
};

class HandlerScheduler {
 public:
  explicit HandlerScheduler(SchedulerOptions options) : options_(options) {}

  // Handler `handler` matched a change at `path`: a run to start now, or
  // nothing (coalesced, queued or dropped).
  std::optional<HandlerLaunch> OnEvent(size_t handler, const std::string& path, const std::string& type);
  // The run of (handler, path) ended: the runs to start now.
  std::vector<HandlerLaunch> OnFinished(size_t handler, const std::string& path);

  size_t running() const { return running_; }
  size_t waiting() const { return waiting_; }
  uint64_t coalesced() const { return coalesced_; }
  uint64_t dropped() const { return dropped_; }

 private:
  using Key = std::pair<size_t, std::string>;
  struct State {
    bool running = false;
    bool pending = false;
    std::string pending_type;
  };
  // Starts queued runs while there are free slots.
  void Fill(std::vector<HandlerLaunch>* out);

  SchedulerOptions options_;
  std::map<Key, State> states_;
  std::deque<Key> ready_;  // pending and not running, oldest first
  size_t running_ = 0;
  size_t waiting_ = 0;
  uint64_t coalesced_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace basefs
