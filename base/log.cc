#include "base/log.h"

#include <atomic>
#include <memory>
#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace basefs {
namespace {

constexpr struct {
  LogLevel level;
  const char* name;
  spdlog::level::level_enum spd;
} kLevels[] = {
    {LogLevel::kTrace, "trace", spdlog::level::trace}, {LogLevel::kDebug, "debug", spdlog::level::debug},
    {LogLevel::kInfo, "info", spdlog::level::info},    {LogLevel::kWarn, "warn", spdlog::level::warn},
    {LogLevel::kError, "error", spdlog::level::err},   {LogLevel::kOff, "off", spdlog::level::off},
};

std::atomic<LogLevel> g_level{LogLevel::kInfo};

struct Logger {
  std::mutex mu;
  std::string node = "basefs";
  std::shared_ptr<spdlog::logger> sink;
  Logger() {
    // Not the registry's default logger: nothing global but this object,
    // and the level check happens before formatting (LogEnabled).
    sink = std::make_shared<spdlog::logger>("basefs", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    sink->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %v", spdlog::pattern_time_type::utc);
    sink->set_level(spdlog::level::trace);
    sink->flush_on(spdlog::level::trace);  // a line is on stderr when the call returns
  }
};

Logger& TheLogger() {
  static Logger* logger = new Logger();  // never destroyed: threads may log during exit
  return *logger;
}

}  // namespace

Result<LogLevel> ParseLogLevel(std::string_view name) {
  for (const auto& l : kLevels)
    if (name == l.name) return l.level;
  return Invalid("bad log level '" + std::string(name) + "': use trace, debug, info, warn, error or off");
}

const char* LogLevelName(LogLevel level) {
  for (const auto& l : kLevels)
    if (l.level == level) return l.name;
  return "?";
}

void SetLogLevel(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }

bool LogEnabled(LogLevel level) { return level != LogLevel::kOff && level >= g_level.load(std::memory_order_relaxed); }

void SetLogNode(std::string node) {
  Logger& l = TheLogger();
  std::lock_guard<std::mutex> lock(l.mu);
  l.node = std::move(node);
}

void LogLine(LogLevel level, std::string_view message) {
  Logger& l = TheLogger();
  spdlog::level::level_enum spd = spdlog::level::info;
  for (const auto& entry : kLevels)
    if (entry.level == level) spd = entry.spd;
  std::string node;
  {
    std::lock_guard<std::mutex> lock(l.mu);
    node = l.node;
  }
  l.sink->log(spd, "{} {}: {}", LogLevelName(level), node, message);
}

}  // namespace basefs
