// What the subcommands share (cli/ only): the parsed global options, the
// store a command works on, and the one error path — a command fails by
// throwing CommandError, which Execute turns into one line on stderr and
// exit code 1.
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "store/store.h"

namespace CLI {
class App;
}

namespace basefs {

using json = nlohmann::ordered_json;

// Global options, accepted before or after the subcommand.
struct Globals {
  DataDir data_dir;
  bool json = false;
};

// A subcommand's invocation: the streams and hooks, and the globals,
// which are filled in by the parse before any command runs.
struct Context {
  Io& io;
  Globals g;
};

class CommandError : public std::runtime_error {
 public:
  explicit CommandError(Status st) : std::runtime_error(st.message()), status_(std::move(st)) {}
  const Status& status() const { return status_; }

 private:
  Status status_;
};

[[noreturn]] void Fail(const Status& st);
void OrDie(const Status& st);
template <typename T>
T OrDie(Result<T> r) {
  if (!r.ok()) Fail(r.status());
  return std::move(r).value();
}

// The store a command works on: the daemon's open one, or one opened here.
class StoreRef {
 public:
  explicit StoreRef(Store* borrowed) : ptr_(borrowed) {}
  explicit StoreRef(std::unique_ptr<Store> owned) : owned_(std::move(owned)), ptr_(owned_.get()) {}
  Store* operator->() const { return ptr_; }
  Store& operator*() const { return *ptr_; }

 private:
  std::unique_ptr<Store> owned_;
  Store* ptr_;
};

StoreOptions WallClockStoreOptions();
// The store of filesystem `name`; fails with what to do when there is none.
StoreRef OpenStore(const Context& c, const std::string& name);
// The key a command signs with: the one its client sent when the daemon
// runs it, else the key file.
KeyPair SigningKey(const Context& c);

// One line of JSON (invalid UTF-8 replaced), newline-terminated.
void PrintJson(const Context& c, const json& j);
std::string FormatTime(uint64_t ms);

// One subcommand as Execute runs it.
struct Subcommand {
  CLI::App* app = nullptr;
  // Works on a store: a running daemon for that filesystem runs it.
  bool on_store = false;
  // Runs before forwarding (reads what the daemon cannot: stdin, files).
  std::function<void()> prepare;
  // With on_store: the command line sent to the daemon after the global
  // options (empty: the original one) and its standard input.
  std::function<std::vector<std::string>()> forward_args;
  std::function<std::string()> forward_stdin;
  // The filesystem name it acts on.
  std::function<std::string()> fs_name;
  std::function<int()> run;

  // A command that runs here (not on a store).
  static Subcommand Here(CLI::App* app, std::function<int()> run);
  // A command on the store of filesystem `fs_name()`.
  static Subcommand OnStore(CLI::App* app, std::function<std::string()> fs_name, std::function<int()> run);
};

// Each group adds its subcommands to the parser; their `run`s see the
// options parsed into state the group owns.
void AddFileCommands(CLI::App& app, Context& c, std::vector<Subcommand>* out);
void AddKeyCommands(CLI::App& app, Context& c, std::vector<Subcommand>* out);
void AddNodeCommands(CLI::App& app, Context& c, std::vector<Subcommand>* out);
void AddServiceCommands(CLI::App& app, Context& c, std::vector<Subcommand>* out);

}  // namespace basefs
