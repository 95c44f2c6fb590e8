// Runs the health checks of the service instances this node owns
// ([check] in their files: tcp, http or script), on the daemon's loop,
// never blocking it. Results are soft state: the daemon spreads the set of
// failing instance ids in its gossip meta, never in the log.
//
// A check passes until its first result; then each run replaces the
// result. A ttl check (Consul's TTL checks) is run by nobody: the service
// reports its status (ReportTtl, through the HTTP API); it starts critical
// and turns critical again when no report arrives within its ttl. Scripts run through /bin/sh in their own process
// group, are killed at their timeout and reaped by pid (never waitpid(-1), so other children of the daemon are left
// alone).
//
// Thread-safety: loop thread only. The event_base and Clock must outlive it.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "base/seams.h"
#include "zones/service_file.h"

struct event_base;

namespace basefs {

class HealthChecker {
 public:
  // `on_change` runs (on the loop) whenever the failing set changes.
  HealthChecker(event_base* base, Clock* clock, std::function<void()> on_change);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // The checks to run, by instance id. Unchanged checks keep their result
  // and schedule; removed ones stop (and their failure is forgotten).
  void SetChecks(const std::map<std::string, HealthCheck>& checks);
  const std::set<std::string>& failing() const { return failing_; }
  // The last result of a check: "passing", "warning" or "critical", and
  // what the check said; null for an id without a check.
  struct CheckResult {
    std::string status = "passing";
    std::string output;
  };
  const CheckResult* ResultOf(const std::string& id) const;
  std::map<std::string, CheckResult> Results() const;
  // Called (on the loop) whenever a result's status or output changes.
  void set_result_listener(std::function<void()> fn) { on_result_ = std::move(fn); }
  // A ttl check's report: `status` is passing, warning or critical (a
  // warning does not take the instance out of DNS, as in Consul); it holds
  // for `ttl_ms`. A report may come before SetChecks names the check (a
  // service that registers and reports at once): it is kept until then.
  void ReportTtl(const std::string& id, uint32_t ttl_ms, const std::string& status, const std::string& output);
  size_t check_count() const { return checks_.size(); }
  // Results of every run so far.
  uint64_t passes() const { return passes_; }
  uint64_t fails() const { return fails_; }

 private:
  struct Probe;
  struct Check {
    HealthCheck spec;
    CheckResult result;
    Clock::TimerId next = 0;  // the next run; for ttl, the expiry
    std::unique_ptr<Probe> probe;
  };
  void Schedule(const std::string& id, uint64_t delay_ms);
  void Run(const std::string& id);
  void StartTcp(const HealthCheck& spec, Probe* raw);
  void StartHttp(const HealthCheck& spec, Probe* raw);
  void StartScript(const HealthCheck& spec, Probe* raw);
  void Report(const std::string& id, bool ok, std::string output);
  void SetResult(Check& c, const std::string& id, std::string status, std::string output);
  void ArmTtl(const std::string& id, uint64_t delay_ms);
  struct TtlReport {
    CheckResult result;
    uint64_t expires_ms = 0;
  };
  std::map<std::string, TtlReport> ttl_reports_;  // the last report of each ttl check
  void PollScript(Probe* probe);

  event_base* base_;
  Clock* clock_;
  std::function<void()> on_change_;
  std::function<void()> on_result_;
  std::map<std::string, Check> checks_;
  std::set<std::string> failing_;
  uint64_t passes_ = 0, fails_ = 0;
  friend struct Probe;
};

}  // namespace basefs
