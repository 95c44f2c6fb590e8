// The node and its filesystem: bootstrap, get, run, mount, status, members.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <set>
#include <type_traits>
#include <variant>

#include <CLI/CLI.hpp>

#include "base/cluster_config.h"
#include "cli/command.h"
#include "cli/version.h"
#include "zones/projection.h"
#include "zones/sources.h"

namespace basefs {
namespace {

struct NodeArgs {
  std::string name, addr, domain = "basefs.", cluster_key, config;
  std::vector<std::string> seeds;
  DaemonOptions run;
};

std::string Hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

int CmdBootstrap(const Context& c, const NodeArgs& a) {
  OrDie(ValidateFsName(a.name));
  ClusterConfig cc;
  cc.domain = OrDie(NormalizeDomain(a.domain));
  for (const auto& s : a.seeds) OrDie(ValidateSeed(s));
  cc.seeds = a.seeds;
  const DataDir& d = c.g.data_dir;
  const KeyPair key = OrDie(LoadOrCreateKey(d.KeyPath()));
  const std::string fs_dir = d.FsDir(a.name);
  struct stat st {};
  if (::stat(fs_dir.c_str(), &st) == 0)
    Fail(Status(Code::kExists, "filesystem '" + a.name + "' already exists in " + d.root));
  std::error_code ec;
  std::filesystem::create_directories(fs_dir, ec);
  if (ec) Fail(IOError("cannot create " + fs_dir + ": " + ec.message()));
  auto store = Store::Create(d.LogDir(a.name), key, a.name, RenderClusterConfig(cc), WallClockStoreOptions());
  if (!store.ok()) {
    std::filesystem::remove_all(fs_dir, ec);  // nothing half-done left behind
    Fail(store.status());
  }
  if (c.g.json) {
    PrintJson(c, json{{"name", a.name},
                      {"domain", cc.domain},
                      {"root_key", ToBase64(key.public_key)},
                      {"root_digest", ToHex((*store)->view().RootDigest())}});
  } else {
    c.io.out << "bootstrapped '" << a.name << "' (domain " << cc.domain << ") with root key "
             << ToBase64(key.public_key) << "\n";
  }
  return 0;
}

// Service and zone files that do not parse, with the reason: a function of
// the files alone, so it needs no daemon.
json StoreBadFilesJson(const Store& store) {
  ProjectionInput in;
  in.domain = "basefs.";
  std::vector<BadFile> bad;
  in.files = CollectSources(store, &bad);
  if (auto text = store.ReadFile("/.cluster"); text.ok())
    if (auto cc = ParseClusterConfig(*text); cc.ok()) in.domain = cc->domain;
  for (auto& b : Project(in).bad_files) bad.push_back(std::move(b));
  return BadFilesJson(bad);
}

void PrintStatusText(const Context& c, const json& status, const json& extra) {
  for (const char* key : {"name", "domain", "root_digest", "entries", "blocks", "paths", "node"}) {
    const json& v = status[key];
    std::string label = std::string(key) + ":";
    if (label == "root_digest:") label = "root digest:";
    label.resize(std::max<size_t>(label.size() + 1, 13), ' ');
    c.io.out << label << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
  }
  c.io.out << "daemon:      " << (c.io.daemon ? "running" : "not running") << "\n";
  for (const auto& item : extra.items())
    if (item.key() != "bad_files")
      c.io.out << item.key() << ": " << item.value().dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  const json& bad = status["bad_files"];
  c.io.out << "bad files:   " << bad.size() << (bad.empty() ? "" : " (skipped when serving DNS)") << "\n";
  for (const auto& b : bad)
    c.io.out << "  " << b["path"].get<std::string>() << ": " << b["reason"].get<std::string>() << "\n";
}

int CmdStatus(const Context& c, const NodeArgs& a) {
  StoreRef store = OpenStore(c, a.name);
  ClusterConfig cc;
  if (auto text = store->ReadFile("/.cluster"); text.ok()) {
    if (auto parsed = ParseClusterConfig(*text); parsed.ok()) cc = *parsed;
  }
  const View& v = store->view();
  json out{{"name", store->name()},
           {"domain", cc.domain},
           {"root_digest", ToHex(v.RootDigest())},
           {"entries", v.entry_count()},
           {"blocks", store->log().block_count()},
           {"paths", v.path_count()},
           {"node", Hostname()},
           {"root_key", ToBase64(v.root_key())},
           {"seeds", cc.seeds},
           {"daemon", c.io.daemon != nullptr},
           // (A daemon gives those of its last DNS rebuild.)
           {"bad_files", c.io.daemon ? json::array() : StoreBadFilesJson(*store)}};
  const json extra = c.io.daemon ? c.io.daemon->StatusJson() : json::object();
  for (const auto& item : extra.items()) out[item.key()] = item.value();
  if (extra.contains("node_name")) out["node"] = extra["node_name"];
  if (c.g.json)
    PrintJson(c, out);
  else
    PrintStatusText(c, out, extra);
  return 0;
}

int CmdMembers(const Context& c, const NodeArgs& a) {
  OrDie(ValidateFsName(a.name));
  if (!c.io.daemon || !c.io.daemon->StoreFor(a.name))
    Fail(NotFound("no daemon is running for '" + a.name + "' in " + c.g.data_dir.root +
                  "; start one with 'basefs run " + a.name + "'"));
  json rows = c.io.daemon->Members();
  if (c.g.json) {
    PrintJson(c, rows);
    return 0;
  }
  for (const auto& m : rows)
    c.io.out << m["name"].get<std::string>() << "  " << m["address"].get<std::string>() << "  "
             << m["state"].get<std::string>() << "  incarnation " << m["incarnation"].get<uint64_t>() << "\n";
  return 0;
}

// The options of `run` and `mount`: one flag per option of the table that
// config files read too (daemon/options.h).
void AddRunOptions(CLI::App* sub, DaemonOptions& run, std::string* config, bool is_run) {
  sub->add_option("--config", *config, "TOML file with any of these options (NAME = value); flags win");
  for (const OptionSpec& spec : RunOptionSpecs()) {
    if (spec.run_only && !is_run) continue;
    const std::string flag = std::string("--") + spec.name;
    std::visit(
        [&](auto field) {
          auto* target = field(run);
          using T = std::remove_pointer_t<decltype(target)>;
          if constexpr (std::is_same_v<T, bool>) {
            sub->add_flag(flag, *target, spec.help);
          } else if constexpr (std::is_same_v<T, uint64_t>) {
            sub->add_option(flag, *target, spec.help)->check(CLI::Range(uint64_t{0}, spec.max));
          } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            auto* opt = sub->add_option(flag, *target, spec.help);
            if (std::string(spec.name) == "axfr-allow" || std::string(spec.name) == "recursion-allow")
              opt->take_all();  // the flag replaces the default list
          } else {
            sub->add_option(flag, *target, spec.help);
          }
        },
        spec.field);
  }
}

// The options the command line of a `run`/`mount` gave.
std::set<std::string> GivenFlags(const CLI::App* sub, bool is_run) {
  std::set<std::string> given;
  for (const OptionSpec& spec : RunOptionSpecs())
    if ((!spec.run_only || is_run) && sub->count(std::string("--") + spec.name) > 0) given.insert(spec.name);
  if (!is_run) given.insert("mount");  // `mount NAME DIR`
  return given;
}

// The options of a `run`/`mount`: the flags, then the --config file for
// every option they left out; the same again at each reload (SIGHUP).
OptionsSource RunOptionsSource(const CLI::App* sub, const NodeArgs& a, const DataDir& data_dir, bool is_run) {
  DaemonOptions flags = a.run;
  flags.data_dir = data_dir;
  flags.version = std::string(BASEFS_VERSION) + " (commit " + BASEFS_COMMIT + ")";
  if (a.config.empty()) return [flags]() -> Result<DaemonOptions> { return flags; };
  return [flags, given = GivenFlags(sub, is_run), config = a.config]() -> Result<DaemonOptions> {
    DaemonOptions o = flags;
    BASEFS_RETURN_IF_ERROR(ApplyConfigFile(config, given, &o));
    return o;
  };
}

}  // namespace

void AddNodeCommands(CLI::App& app, Context& c, std::vector<Subcommand>* out) {
  auto a = std::make_shared<NodeArgs>();
  const auto name = [a] { return a->name; };
  auto* bootstrap = app.add_subcommand("bootstrap", "create a new filesystem with this node's key as root");
  bootstrap->add_option("NAME", a->name)->required();
  bootstrap->add_option("--domain", a->domain, "cluster DNS domain");
  bootstrap->add_option("--seed", a->seeds, "ADDR:PORT of a node new members join through (repeatable)");
  out->push_back(Subcommand::Here(bootstrap, [&c, a] { return CmdBootstrap(c, *a); }));

  auto* get = app.add_subcommand("get", "clone a filesystem from a running peer (or resume a clone)");
  get->add_option("NAME", a->name)->required();
  get->add_option("ADDR", a->addr, "ADDR:PORT of a running node")->required();
  get->add_option("--cluster-key", a->cluster_key, "file with the cluster key(s), when the cluster has one");
  out->push_back(Subcommand::Here(get, [&c, a] {
    if (!c.io.clone) Fail(Invalid("a daemon cannot clone"));
    OrDie(ValidateSeed(a->addr));
    OrDie(c.io.clone(c.g.data_dir, a->name, a->addr, a->cluster_key));
    return 0;
  }));

  auto* runcmd = app.add_subcommand("run", "run the node: gossip, sync, DNS (and FUSE with --mount)");
  auto* mount = app.add_subcommand("mount", "run the node with the filesystem mounted at DIR");
  runcmd->add_option("NAME", a->run.name)->required();
  mount->add_option("NAME", a->run.name)->required();
  mount->add_option("DIR", a->run.mount.dir)->required();
  AddRunOptions(runcmd, a->run, &a->config, true);
  AddRunOptions(mount, a->run, &a->config, false);
  for (auto* sub : {runcmd, mount})
    out->push_back(Subcommand::Here(sub, [&c, a, sub, is_run = sub == runcmd] {
      if (!c.io.run_daemon) Fail(Invalid("a daemon cannot start another daemon"));
      OptionsSource options = RunOptionsSource(sub, *a, c.g.data_dir, is_run);
      const DaemonOptions run = OrDie(options());
      return c.io.run_daemon(run, a->config.empty() ? nullptr : options);
    }));

  auto* status = app.add_subcommand("status", "root digest, counts, bad files");
  auto* members = app.add_subcommand("members", "every member of the cluster, this node included");
  for (auto* sub : {status, members}) sub->add_option("NAME", a->name)->required();
  out->push_back(Subcommand::OnStore(status, name, [&c, a] { return CmdStatus(c, *a); }));
  out->push_back(Subcommand::OnStore(members, name, [&c, a] { return CmdMembers(c, *a); }));
}

}  // namespace basefs
