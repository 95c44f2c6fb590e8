#include "daemon/handler_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <iostream>

#include <event2/event.h>

#include "base/log.h"

extern char** environ;

namespace basefs {

Result<std::unique_ptr<HandlerRunner>> HandlerRunner::Create(event_base* base, std::string fs_name,
                                                             const std::vector<std::string>& specs,
                                                             SchedulerOptions options) {
  std::vector<HandlerSpec> parsed;
  for (const std::string& s : specs) {
    BASEFS_ASSIGN_OR_RETURN(HandlerSpec h, ParseHandler(s));
    parsed.push_back(std::move(h));
  }
  std::unique_ptr<HandlerRunner> r(new HandlerRunner(base, std::move(fs_name), std::move(parsed), options));
  if (!r->specs_.empty()) BASEFS_RETURN_IF_ERROR(r->WatchChildren());
  return r;
}

// SIGCHLD only once there are handlers: a daemon without any leaves it alone.
Status HandlerRunner::WatchChildren() {
  if (sigchld_) return Status::Ok();
  sigchld_ = evsignal_new(base_, SIGCHLD, &HandlerRunner::OnSigchld, this);
  if (!sigchld_ || event_add(sigchld_, nullptr) != 0) return IOError("cannot watch SIGCHLD");
  return Status::Ok();
}

Status HandlerRunner::SetSpecs(const std::vector<std::string>& specs) {
  std::vector<HandlerSpec> parsed;
  for (const std::string& s : specs) {
    BASEFS_ASSIGN_OR_RETURN(HandlerSpec h, ParseHandler(s));
    parsed.push_back(std::move(h));
  }
  if (!parsed.empty()) BASEFS_RETURN_IF_ERROR(WatchChildren());
  next_specs_ = std::move(parsed);
  ApplyNextSpecs();
  return Status::Ok();
}

// The scheduler's state names handlers by index: new specs start with a
// new scheduler, once the old one has nothing running or waiting.
void HandlerRunner::ApplyNextSpecs() {
  if (!next_specs_ || scheduler_.running() != 0 || scheduler_.waiting() != 0) return;
  specs_ = std::move(*next_specs_);
  next_specs_.reset();
  scheduler_ = HandlerScheduler(options_);
}

HandlerRunner::~HandlerRunner() {
  if (sigchld_) event_free(sigchld_);
}

void HandlerRunner::OnChange(const std::string& path, const std::string& type) {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (!GlobMatch(specs_[i].glob, path)) continue;
    if (auto launch = scheduler_.OnEvent(i, path, type)) Start(*launch);
  }
  ApplyNextSpecs();  // a run that could not start leaves nothing to wait for
}

void HandlerRunner::Start(const HandlerLaunch& launch) {
  std::vector<std::string> env_s;
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, "BASEFS_EVENT_", 13) == 0 || std::strncmp(*e, "BASEFS_NAME=", 12) == 0) continue;
    env_s.emplace_back(*e);
  }
  env_s.push_back("BASEFS_EVENT_TYPE=" + launch.type);
  env_s.push_back("BASEFS_EVENT_PATH=" + launch.path);
  env_s.push_back("BASEFS_NAME=" + fs_name_);
  std::vector<char*> envp;
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = specs_[launch.handler].command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  // The child gets stdin from /dev/null and nothing of ours above stderr
  // (no /dev/fuse, sockets or LevelDB files).
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults, empty;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&defaults, sig);
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  const int err = posix_spawn(&pid, argv[0], &fa, &attr, argv, envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) {
    ++spawn_failures_;
    LogWarn("cannot start handler for {}: {}", launch.path, std::strerror(err));
    for (const HandlerLaunch& next : scheduler_.OnFinished(launch.handler, launch.path)) Start(next);
    return;
  }
  ++runs_;
  children_.emplace(pid, launch);
}

void HandlerRunner::OnSigchld(int, short, void* arg) { static_cast<HandlerRunner*>(arg)->Reap(); }

void HandlerRunner::Reap() {
  std::vector<HandlerLaunch> done;
  for (auto it = children_.begin(); it != children_.end();) {
    int status = 0;
    const pid_t r = ::waitpid(it->first, &status, WNOHANG);
    if (r == 0) {
      ++it;
      continue;
    }
    if (r == it->first && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
      ++failures_;
      if (WIFEXITED(status)) LogWarn("handler for {} exited with {}", it->second.path, WEXITSTATUS(status));
    }
    done.push_back(std::move(it->second));
    it = children_.erase(it);
  }
  for (const HandlerLaunch& d : done)
    for (const HandlerLaunch& next : scheduler_.OnFinished(d.handler, d.path)) Start(next);
  ApplyNextSpecs();
}

}  // namespace basefs
