// Status and Result<T>: the one error type at every basefs module boundary.
//
// A Status is a code plus a human-readable message saying what is wrong and,
// where possible, what to do. Each edge translates it once: to an exit code
// and one line on stderr in the CLI, to errno in fuse/, to an RCODE in dns/.
//
// Thread-safety: plain values; no shared state.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace basefs {

enum class Code {
  kOk = 0,
  kInvalid,     // malformed input: bad encoding, bad name, bad argument
  kNotFound,    // no such path, entry, key or filesystem
  kPermission,  // the author key has no grant covering the path
  kExists,      // the path (or filesystem) already exists
  kCorrupt,     // stored data failed verification
  kIO,          // the operating system or LevelDB failed
  kBusy,        // the store is locked by another process, or an address is in use
  kTooLarge,    // over a configured limit (file size, entry size)
  kNotDir,      // a path component is not a directory
  kIsDir,       // the path is a directory where a file was expected
  kNotEmpty,    // a directory still has children
  kPending,     // accepted for later: a parent, block or grant is missing
};

class Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status Invalid(std::string m) { return Status(Code::kInvalid, std::move(m)); }
inline Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
inline Status PermissionDenied(std::string m) { return Status(Code::kPermission, std::move(m)); }
inline Status Corrupt(std::string m) { return Status(Code::kCorrupt, std::move(m)); }
inline Status IOError(std::string m) { return Status(Code::kIO, std::move(m)); }

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "Result from an OK status needs a value");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace basefs

// Propagates a non-OK Status from an expression returning Status.
#define BASEFS_RETURN_IF_ERROR(expr) \
  do {                               \
    ::basefs::Status _st = (expr);   \
    if (!_st.ok()) return _st;       \
  } while (0)

#define BASEFS_CONCAT_INNER(a, b) a##b
#define BASEFS_CONCAT(a, b) BASEFS_CONCAT_INNER(a, b)
// Assigns the value of a Result expression to `lhs`, or returns its Status.
#define BASEFS_ASSIGN_OR_RETURN(lhs, expr) BASEFS_ASSIGN_OR_RETURN_IMPL(BASEFS_CONCAT(_res_, __LINE__), lhs, expr)
#define BASEFS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
