// The one logger of basefs: one line per event on stderr (journald keeps
// it), "TIME LEVEL NODE: message", at or above the level in force.
//
//   2026-12-05T02:20:00.123Z info web-1: serving 'prod' as web-1 at ...
//
// Levels: trace (per-entry and per-member events, for benchmarks), debug,
// info (start, stop, membership of the node itself), warn (something is
// skipped or degraded), error (something failed). Messages are formatted
// only when their level is enabled.
//
// Thread-safety: every function may be called from any thread (the DNS
// worker logs too); SetLogLevel and SetLogNode are meant for start-up and
// reload.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "base/result.h"

namespace basefs {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// "trace", "debug", "info", "warn", "error", "off".
Result<LogLevel> ParseLogLevel(std::string_view name);
const char* LogLevelName(LogLevel level);

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
// The name every line carries (the node name; "basefs" until it is known).
void SetLogNode(std::string node);
void LogLine(LogLevel level, std::string_view message);

template <typename... Args>
void Log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (LogEnabled(level)) LogLine(level, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void LogTrace(fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kTrace, format, std::forward<Args>(args)...);
}
template <typename... Args>
void LogDebug(fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kDebug, format, std::forward<Args>(args)...);
}
template <typename... Args>
void LogInfo(fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kInfo, format, std::forward<Args>(args)...);
}
template <typename... Args>
void LogWarn(fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kWarn, format, std::forward<Args>(args)...);
}
template <typename... Args>
void LogError(fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kError, format, std::forward<Args>(args)...);
}

}  // namespace basefs
