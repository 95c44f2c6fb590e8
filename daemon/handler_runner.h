// HandlerRunner: runs the `--handler` commands for store changes, on the
// daemon's loop, without ever blocking it.
//
// Each run is `/bin/sh -c CMD` started with posix_spawn (no fork of the
// daemon's memory, descriptors above stderr closed in the child) with
// BASEFS_EVENT_TYPE, BASEFS_EVENT_PATH and BASEFS_NAME added to the
// daemon's environment; stdout and stderr are the daemon's. Children are
// reaped on SIGCHLD (a libevent signal event) with waitpid(pid, WNOHANG) on
// each pid this runner started, never on others. HandlerScheduler
// (handlers.h) decides what runs when: per-path coalescing and a bound on
// concurrent and waiting runs. A handler that runs for long only holds its
// slot; the loop goes on.
//
// Thread-safety: loop thread only. Lifetime: the event_base must outlive
// the runner; runs still going when it is destroyed are left to finish on
// their own (not killed, not waited for).
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/handlers.h"

struct event_base;
struct event;

namespace basefs {

class HandlerRunner {
 public:
  // Parses every 'GLOB=CMD' spec (an error names the bad one).
  static Result<std::unique_ptr<HandlerRunner>> Create(event_base* base, std::string fs_name,
                                                       const std::vector<std::string>& specs,
                                                       SchedulerOptions options = {});
  ~HandlerRunner();
  HandlerRunner(const HandlerRunner&) = delete;
  HandlerRunner& operator=(const HandlerRunner&) = delete;

  // Runs (or schedules) every handler whose glob matches `path`.
  void OnChange(const std::string& path, const std::string& type);
  // Replaces the handlers (a reload): all specs parse or nothing changes.
  // The new ones take over at once when no run is going or waiting, else
  // when the last of those ends (until then changes go to the old ones).
  Status SetSpecs(const std::vector<std::string>& specs);

  const HandlerScheduler& scheduler() const { return scheduler_; }
  uint64_t spawn_failures() const { return spawn_failures_; }
  uint64_t runs() const { return runs_; }          // processes started
  uint64_t failures() const { return failures_; }  // of those: a non-zero exit or a signal

 private:
  HandlerRunner(event_base* base, std::string fs_name, std::vector<HandlerSpec> specs, SchedulerOptions options)
      : base_(base), fs_name_(std::move(fs_name)), specs_(std::move(specs)), options_(options), scheduler_(options) {}
  Status WatchChildren();
  void ApplyNextSpecs();
  void Start(const HandlerLaunch& launch);
  static void OnSigchld(int, short, void* arg);
  void Reap();

  event_base* base_;
  std::string fs_name_;
  std::vector<HandlerSpec> specs_;
  std::optional<std::vector<HandlerSpec>> next_specs_;  // a reload waiting for runs to end
  SchedulerOptions options_;
  HandlerScheduler scheduler_;
  event* sigchld_ = nullptr;
  std::map<pid_t, HandlerLaunch> children_;
  uint64_t spawn_failures_ = 0;
  uint64_t runs_ = 0, failures_ = 0;
};

}  // namespace basefs
