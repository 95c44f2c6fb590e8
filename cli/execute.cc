// Execute: parses a command line into one Subcommand and runs it — here,
// or in the daemon that serves its filesystem when one runs.
#include <sodium.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "cli/version.h"

namespace basefs {
namespace {

// The command line a daemon runs for this client: absolute paths, the
// client's own flags minus those it resolved here.
std::vector<std::string> ForwardedArgs(const Context& c, const std::vector<std::string>& args, const Subcommand& cmd) {
  const DataDir& d = c.g.data_dir;
  std::vector<std::string> fwd = {"--data-dir", std::filesystem::absolute(d.root).string(), "--key",
                                  std::filesystem::absolute(d.KeyPath()).string()};
  if (c.g.json) fwd.push_back("--json");
  if (cmd.forward_args) {
    for (auto& a : cmd.forward_args()) fwd.push_back(std::move(a));
    return fwd;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--data-dir" || a == "--key") {
      ++i;
      continue;
    }
    if (a.rfind("--data-dir=", 0) == 0 || a.rfind("--key=", 0) == 0 || a == "--json") continue;
    fwd.push_back(a);
  }
  return fwd;
}

// Hands the command to the daemon serving its filesystem, with this
// client's key; nullopt when no daemon runs.
std::optional<int> Forward(const Context& c, const std::vector<std::string>& args, const Subcommand& cmd) {
  ControlRequest request;
  request.args = ForwardedArgs(c, args, cmd);
  if (cmd.forward_stdin) request.stdin_bytes = cmd.forward_stdin();
  if (auto key = LoadKey(c.g.data_dir.KeyPath()); key.ok())
    request.key_secret.assign(reinterpret_cast<const char*>(key->secret_key.data()), key->secret_key.size());
  else
    request.key_error = key.status().message();
  const auto code = c.io.forward(c.g.data_dir, cmd.fs_name(), request);
  sodium_memzero(request.key_secret.data(), request.key_secret.size());
  return code;
}

// The subcommand word of a command line: the first argument that is not
// a global option or its value.
std::optional<std::string> CommandWord(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--data-dir" || args[i] == "--key") {
      ++i;
      continue;
    }
    if (args[i].rfind('-', 0) != 0) return args[i];
  }
  return std::nullopt;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "unknown command 'lss'; did you mean 'ls'?" when `word` names none.
std::optional<std::string> UnknownCommand(const std::string& word, const std::vector<Subcommand>& commands) {
  std::string nearest;
  size_t best = 3;  // suggest only within two edits
  for (const Subcommand& cmd : commands) {
    const std::string& name = cmd.app->get_name();
    if (name == word) return std::nullopt;
    if (const size_t d = EditDistance(word, name); d < best) {
      best = d;
      nearest = name;
    }
  }
  return "unknown command '" + word + "'" + (nearest.empty() ? "" : "; did you mean '" + nearest + "'?");
}

int Run(Context& c, const std::vector<std::string>& args, const Subcommand& cmd) {
  if (cmd.prepare) cmd.prepare();
  if (cmd.on_store && !c.io.daemon && c.io.forward) {
    if (auto code = Forward(c, args, cmd)) return *code;
  }
  return cmd.run();
}

}  // namespace

int Execute(const std::vector<std::string>& args, Io& io) {
  Context c{io, {}};
  CLI::App app{"basefs: a peer-to-peer, eventually consistent filesystem for cluster configuration"};
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--data-dir", c.g.data_dir.root, "data directory (default $BASEFS_HOME or ~/.local/share/basefs)");
  app.add_option("--key", c.g.data_dir.key_file, "key file (default <data-dir>/key)");
  app.add_flag("--json", c.g.json, "machine-readable output");
  app.set_version_flag("--version", std::string("basefs ") + BASEFS_VERSION + " (commit " + BASEFS_COMMIT + ")");
  std::vector<Subcommand> commands;
  AddKeyCommands(app, c, &commands);
  AddNodeCommands(app, c, &commands);
  AddFileCommands(app, c, &commands);
  AddServiceCommands(app, c, &commands);

  if (auto word = CommandWord(args)) {
    if (auto unknown = UnknownCommand(*word, commands)) {
      io.err << "basefs: " << *unknown << " (see 'basefs --help')\n";
      return 2;
    }
  }
  // CLI11 reads the vector from its back.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    io.out << app.help();
    return 0;
  } catch (const CLI::CallForVersion& e) {
    io.out << e.what() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    io.err << "basefs: " << e.what() << " (see 'basefs --help')\n";
    return 2;
  }
  if (c.g.data_dir.root.empty()) c.g.data_dir.root = DefaultDataDir();
  try {
    for (const Subcommand& cmd : commands)
      if (cmd.app->parsed()) return Run(c, args, cmd);
  } catch (const CommandError& e) {
    io.err << "basefs: " << e.status().message() << "\n";
    return 1;
  } catch (const std::exception& e) {
    // Anything else is a bug, but a command must never take the daemon down.
    io.err << "basefs: internal error: " << e.what() << "\n";
    return 1;
  }
  return 2;
}

ControlResponse RunClientCommand(const ControlRequest& request, DaemonHooks& daemon) {
  std::ostringstream out, err;
  Io io{request.stdin_bytes, out, err};
  io.daemon = &daemon;
  if (!request.key_secret.empty())
    io.client_key = KeyPairFromSecret(request.key_secret, "the key sent by the client");
  else
    io.client_key =
        Result<KeyPair>(PermissionDenied(request.key_error.empty() ? "the client sent no key" : request.key_error));
  ControlResponse response;
  response.exit_code = Execute(request.args, io);
  response.out = out.str();
  response.err = err.str();
  return response;
}

}  // namespace basefs
