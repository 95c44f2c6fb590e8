#include "daemon/health_checker.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <iostream>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "base/host_port.h"
#include "base/log.h"

extern char** environ;

namespace basefs {

// One run of one check. Reports exactly once through `done`.
struct HealthChecker::Probe {
  HealthChecker* owner = nullptr;
  std::string id;
  Clock::TimerId timeout = 0, poll = 0;
  bool reported = false;
  bufferevent* bev = nullptr;
  evhttp_connection* http = nullptr;
  pid_t pid = -1;

  void Done(bool ok, std::string output) {
    if (reported) return;
    reported = true;
    // The owner drops this probe later, outside libevent's callback.
    HealthChecker* o = owner;
    const std::string check_id = id;
    o->clock_->Schedule(0, [o, check_id, this] {
      auto it = o->checks_.find(check_id);
      if (it != o->checks_.end() && it->second.probe.get() == this) it->second.probe.reset();
    });
    o->Report(id, ok, std::move(output));
  }
  ~Probe() {
    Clock* clock = owner->clock_;
    if (timeout) clock->Cancel(timeout);
    if (poll) clock->Cancel(poll);
    if (bev) bufferevent_free(bev);
    if (http) evhttp_connection_free(http);
    if (pid > 0) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);  // just killed: returns at once
    }
  }
};

HealthChecker::HealthChecker(event_base* base, Clock* clock, std::function<void()> on_change)
    : base_(base), clock_(clock), on_change_(std::move(on_change)) {}

HealthChecker::~HealthChecker() {
  for (auto& [id, c] : checks_) {
    if (c.next) clock_->Cancel(c.next);
    c.probe.reset();
  }
}

void HealthChecker::SetChecks(const std::map<std::string, HealthCheck>& checks) {
  bool changed = false, results_changed = false;
  for (auto it = checks_.begin(); it != checks_.end();) {
    auto want = checks.find(it->first);
    if (want != checks.end() && want->second == it->second.spec) {
      ++it;
      continue;
    }
    if (it->second.next) clock_->Cancel(it->second.next);
    changed |= failing_.erase(it->first) > 0;
    it = checks_.erase(it);
    results_changed = true;
  }
  for (const auto& [id, spec] : checks) {
    if (checks_.count(id)) continue;
    results_changed = true;
    Check& c = checks_[id];
    c.spec = spec;
    if (spec.kind == HealthCheck::Kind::kTtl) {
      auto report = ttl_reports_.find(id);
      const uint64_t now = clock_->NowMs();
      if (report != ttl_reports_.end() && report->second.expires_ms > now) {
        c.result = report->second.result;
        if (c.result.status == "critical") changed |= failing_.insert(id).second;
        ArmTtl(id, report->second.expires_ms - now);
      } else {
        c.result = {"critical", "TTL check: no status reported yet"};
        changed |= failing_.insert(id).second;
      }
      continue;
    }
    Schedule(id, 0);
  }
  if (changed) on_change_();
  // Checks came or went (a ttl check may have taken an earlier report).
  if (results_changed && on_result_) on_result_();
}

const HealthChecker::CheckResult* HealthChecker::ResultOf(const std::string& id) const {
  auto it = checks_.find(id);
  return it == checks_.end() ? nullptr : &it->second.result;
}

std::map<std::string, HealthChecker::CheckResult> HealthChecker::Results() const {
  std::map<std::string, CheckResult> out;
  for (const auto& [id, c] : checks_) out.emplace(id, c.result);
  // Reports of ttl checks not named yet (SetChecks will take them).
  const uint64_t now = clock_->NowMs();
  for (const auto& [id, r] : ttl_reports_)
    if (r.expires_ms > now) out.emplace(id, r.result);
  return out;
}

void HealthChecker::ReportTtl(const std::string& id, uint32_t ttl_ms, const std::string& status,
                              const std::string& output) {
  const uint64_t now = clock_->NowMs();
  for (auto it = ttl_reports_.begin(); it != ttl_reports_.end();)
    it = it->second.expires_ms <= now ? ttl_reports_.erase(it) : std::next(it);
  ttl_reports_[id] = TtlReport{{status, output}, now + ttl_ms};
  auto it = checks_.find(id);
  if (it == checks_.end() || it->second.spec.kind != HealthCheck::Kind::kTtl) return;
  SetResult(it->second, id, status, output);
  ArmTtl(id, it->second.spec.interval_ms);
}

// Critical when the ttl passes without another report.
void HealthChecker::ArmTtl(const std::string& id, uint64_t delay_ms) {
  Check& c = checks_.at(id);
  if (c.next) clock_->Cancel(c.next);
  c.next = clock_->Schedule(delay_ms, [this, id] {
    auto it = checks_.find(id);
    if (it == checks_.end()) return;
    it->second.next = 0;
    SetResult(it->second, id, "critical", "TTL expired");
  });
}

void HealthChecker::SetResult(Check& c, const std::string& id, std::string status, std::string output) {
  const bool ok = status != "critical";
  if (c.result.status != status || c.result.output != output) {
    c.result = {std::move(status), std::move(output)};
    if (on_result_) on_result_();
  }
  const bool was_failing = failing_.count(id) > 0;
  if (ok == !was_failing) return;
  if (ok)
    failing_.erase(id);
  else
    failing_.insert(id);
  LogInfo("health check of {} {}", id, ok ? "passes again" : "fails");
  on_change_();
}

void HealthChecker::Schedule(const std::string& id, uint64_t delay_ms) {
  auto it = checks_.find(id);
  if (it == checks_.end()) return;
  it->second.next = clock_->Schedule(delay_ms, [this, id] {
    auto jt = checks_.find(id);
    if (jt == checks_.end()) return;
    jt->second.next = 0;
    Run(id);
    Schedule(id, jt->second.spec.interval_ms);
  });
}

void HealthChecker::Report(const std::string& id, bool ok, std::string output) {
  auto it = checks_.find(id);
  if (it == checks_.end()) return;
  ++(ok ? passes_ : fails_);
  SetResult(it->second, id, ok ? "passing" : "critical", std::move(output));
}

// Reaps a check script by pid, polling every 20 ms: cheap for the few
// scripts a node runs, and it never takes another child's exit status.
void HealthChecker::PollScript(Probe* raw) {
  raw->poll = clock_->Schedule(20, [this, raw] {
    raw->poll = 0;
    int status = 0;
    if (::waitpid(raw->pid, &status, WNOHANG) == raw->pid) {
      raw->pid = -1;
      const bool exited = WIFEXITED(status);
      raw->Done(exited && WEXITSTATUS(status) == 0,
                exited ? "script exited with status " + std::to_string(WEXITSTATUS(status))
                       : "script killed by signal " + std::to_string(WTERMSIG(status)));
      return;
    }
    if (!raw->reported) PollScript(raw);
  });
}

void HealthChecker::Run(const std::string& id) {
  Check& c = checks_.at(id);
  if (c.probe) return;  // the last run has not finished: its timeout will report
  auto p = std::make_unique<Probe>();
  p->owner = this;
  p->id = id;
  Probe* raw = p.get();
  c.probe = std::move(p);
  raw->timeout = clock_->Schedule(c.spec.timeout_ms, [raw, ms = c.spec.timeout_ms] {
    raw->timeout = 0;
    raw->Done(false, "timed out after " + std::to_string(ms) + " ms");
  });
  switch (c.spec.kind) {
    case HealthCheck::Kind::kNone:
    case HealthCheck::Kind::kTtl: raw->Done(true, ""); return;
    case HealthCheck::Kind::kTcp: StartTcp(c.spec, raw); return;
    case HealthCheck::Kind::kHttp: StartHttp(c.spec, raw); return;
    case HealthCheck::Kind::kScript: StartScript(c.spec, raw); return;
  }
}

// Passes when a TCP connection is accepted.
void HealthChecker::StartTcp(const HealthCheck& spec, Probe* raw) {
  auto endpoint = ParseCheckEndpoint(spec);
  socklen_t len = 0;
  auto ss = endpoint.ok() ? ParseSockaddr(endpoint->Address(), &len) : Result<sockaddr_storage>(endpoint.status());
  if (!ss.ok()) {
    raw->Done(false, ss.status().message());
    return;
  }
  raw->bev = bufferevent_socket_new(base_, -1, BEV_OPT_CLOSE_ON_FREE);
  bufferevent_setcb(
      raw->bev, nullptr, nullptr,
      [](bufferevent*, short what, void* arg) {
        const bool ok = (what & BEV_EVENT_CONNECTED) != 0;
        static_cast<Probe*>(arg)->Done(ok, ok ? "TCP connect: Success" : "TCP connect: refused or failed");
      },
      raw);
  if (bufferevent_socket_connect(raw->bev, reinterpret_cast<sockaddr*>(&*ss), static_cast<int>(len)) != 0)
    raw->Done(false, std::string("TCP connect: ") + std::strerror(errno));
}

// Passes on a 2xx or 3xx answer to a GET. Numeric hosts only
// (ParseCheckEndpoint): libevent resolves nothing, so nothing blocks the loop.
void HealthChecker::StartHttp(const HealthCheck& spec, Probe* raw) {
  auto endpoint = ParseCheckEndpoint(spec);
  if (!endpoint.ok()) {
    raw->Done(false, endpoint.status().message());
    return;
  }
  raw->http = evhttp_connection_base_new(base_, nullptr, endpoint->host.c_str(), endpoint->port);
  if (!raw->http) {
    raw->Done(false, "HTTP GET: cannot connect");
    return;
  }
  evhttp_connection_set_retries(raw->http, 0);
  evhttp_request* req = evhttp_request_new(
      [](evhttp_request* r, void* arg) {
        const int code = r ? evhttp_request_get_response_code(r) : 0;
        static_cast<Probe*>(arg)->Done(code >= 200 && code < 400,
                                       code ? "HTTP GET: " + std::to_string(code) : "HTTP GET: no answer");
      },
      raw);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Host", endpoint->Address().c_str());
  evhttp_add_header(evhttp_request_get_output_headers(req), "User-Agent", "basefs-health-check");
  if (evhttp_make_request(raw->http, req, EVHTTP_REQ_GET, endpoint->path.c_str()) != 0)
    raw->Done(false, "HTTP GET: cannot send");
}

// Passes when `sh -c TARGET` exits 0; it runs in a process group of its
// own, with /dev/null for input and output.
void HealthChecker::StartScript(const HealthCheck& spec, Probe* raw) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  const char* argv[] = {"sh", "-c", spec.target.c_str(), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    raw->Done(false, std::string("cannot start the script: ") + std::strerror(rc));
    return;
  }
  raw->pid = pid;
  PollScript(raw);
}

}  // namespace basefs
