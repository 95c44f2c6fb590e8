#include "cli/commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <CLI/CLI.hpp>
#include <sodium.h>
#include <nlohmann/json.hpp>

#include "cli/cluster_config.h"
#include "cli/keyfile.h"
#include "zones/names.h"
#include "zones/projection.h"
#include "zones/service_file.h"
#include "zones/sources.h"
#include "store/store.h"

namespace basefs {

std::string DefaultDataDir() {
  if (const char* h = std::getenv("BASEFS_HOME"); h && *h) return h;
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.local/share/basefs";
  return ".basefs";
}

std::string KeyPath(const Globals& g) { return g.key_file.empty() ? g.data_dir + "/key" : g.key_file; }

namespace {

using json = nlohmann::ordered_json;

uint64_t WallClockMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

StoreOptions DefaultOptions() {
  StoreOptions o;
  o.now_ms = WallClockMs;
  return o;
}

}  // namespace

std::string FsDir(const Globals& g, const std::string& name) { return g.data_dir + "/" + name; }
std::string ControlSocketPath(const Globals& g, const std::string& name) { return FsDir(g, name) + "/control.sock"; }

Status ValidateFsName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.' ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != std::string::npos)
    return Invalid("bad filesystem name '" + name + "': use 1..64 letters, digits, '.', '_' or '-'");
  return Status::Ok();
}

namespace {

std::string StoreDir(const Globals& g, const std::string& name) { return FsDir(g, name) + "/log"; }

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

Result<StoreRef> OpenStore(Io& io, const Globals& g, const std::string& name) {
  BASEFS_RETURN_IF_ERROR(ValidateFsName(name));
  if (io.daemon) {
    if (Store* s = io.daemon->StoreFor(name)) return StoreRef(s);
  }
  struct stat st {};
  if (::stat((g.data_dir + "/" + name).c_str(), &st) != 0)
    return NotFound("no filesystem '" + name + "' in " + g.data_dir +
                    "; create it with 'basefs bootstrap " + name + "' or clone it with 'basefs get'");
  BASEFS_ASSIGN_OR_RETURN(auto store, Store::Open(StoreDir(g, name), DefaultOptions()));
  return StoreRef(std::move(store));
}

[[noreturn]] void Fail(const Status& st) { throw CommandError(st); }

template <typename T>
T OrDie(Result<T> r) {
  if (!r.ok()) Fail(r.status());
  return std::move(r).value();
}

// The key a command signs with: the one its client sent when the daemon
// runs it, else the key file.
KeyPair SigningKey(const Io& io, const Globals& g) {
  if (io.client_key) return OrDie(Result<KeyPair>(*io.client_key));
  return OrDie(LoadKey(KeyPath(g)));
}

void OrDie(const Status& st) {
  if (!st.ok()) Fail(st);
}

std::string FormatTime(uint64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kDir: return "dir";
    case Kind::kFile: return "file";
    case Kind::kSymlink: return "symlink";
    case Kind::kLink: return "link";
    case Kind::kNone: return "none";
  }
  return "none";
}

std::string Hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

json EntryJson(const ViewEntry* ve) {
  return json{{"hash", ToHex(ve->hash)},
              {"action", ActionName(ve->entry.action)},
              {"author", ToBase64(ve->entry.author)},
              {"timestamp", ve->entry.timestamp_ms},
              {"size", ve->entry.size}};
}

// --- Subcommands -------------------------------------------------------------

int CmdGenkey(Io& io, const Globals& g) {
  const std::string path = KeyPath(g);
  auto created = CreateKey(path);
  KeyPair kp;
  if (created.ok()) {
    kp = *created;
  } else if (created.status().code() == Code::kExists) {
    kp = OrDie(LoadKey(path));
    io.err << "basefs: a key already exists at " << path << "; it is kept\n";
  } else {
    Fail(created.status());
  }
  if (g.json)
    io.out << json{{"key_file", path}, {"public_key", ToBase64(kp.public_key)}}.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  else
    io.out << ToBase64(kp.public_key) << "\n";
  return 0;
}

int CmdBootstrap(Io& io, const Globals& g, const std::string& name, const std::string& domain,
                 const std::vector<std::string>& seeds) {
  OrDie(ValidateFsName(name));
  ClusterConfig cc;
  cc.domain = OrDie(NormalizeDomain(domain));
  for (const auto& s : seeds) OrDie(ValidateHostPort(s));
  cc.seeds = seeds;
  const KeyPair key = OrDie(LoadOrCreateKey(KeyPath(g)));
  const std::string fs_dir = g.data_dir + "/" + name;
  struct stat st {};
  if (::stat(fs_dir.c_str(), &st) == 0)
    Fail(Status(Code::kExists, "filesystem '" + name + "' already exists in " + g.data_dir));
  std::error_code ec;
  std::filesystem::create_directories(fs_dir, ec);
  if (ec) Fail(IOError("cannot create " + fs_dir + ": " + ec.message()));
  auto store = Store::Create(StoreDir(g, name), key, name, RenderClusterConfig(cc), DefaultOptions());
  if (!store.ok()) {
    std::filesystem::remove_all(fs_dir, ec);  // nothing half-done left behind
    Fail(store.status());
  }
  if (g.json) {
    io.out << json{{"name", name},
                      {"domain", cc.domain},
                      {"root_key", ToBase64(key.public_key)},
                      {"root_digest", ToHex((*store)->view().RootDigest())}}
                     .dump(-1, ' ', false, json::error_handler_t::replace)
              << "\n";
  } else {
    io.out << "bootstrapped '" << name << "' (domain " << cc.domain << ") with root key "
              << ToBase64(key.public_key) << "\n";
  }
  return 0;
}

int CmdLs(Io& io, const Globals& g, const std::string& name, const std::string& path) {
  StoreRef store = OrDie(OpenStore(io, g, name));
  const PathNode* n = OrDie(store->Stat(path));
  std::vector<const PathNode*> items;
  if (n->state().kind == Kind::kDir)
    items = OrDie(store->List(path));
  else
    items.push_back(n);
  json out = json::array();
  for (const PathNode* c : items) {
    if (g.json) {
      out.push_back(json{{"name", c->name()},
                         {"type", KindName(c->state().kind)},
                         {"size", Store::ContentSize(c)},
                         {"executable", c->state().exec}});
    } else {
      io.out << c->name() << (c->state().kind == Kind::kDir ? "/" : "") << "\n";
    }
  }
  if (g.json) io.out << out.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  return 0;
}

int CmdCat(Io& io, const Globals& g, const std::string& name, const std::string& path) {
  StoreRef store = OrDie(OpenStore(io, g, name));
  const std::string content = OrDie(store->ReadFile(path));
  io.out.write(content.data(), static_cast<std::streamsize>(content.size()));
  return 0;
}

int CmdWrite(Io& io, const Globals& g, const std::string& name, const std::string& path,
             const std::string& content) {
  StoreRef store = OrDie(OpenStore(io, g, name));
  const KeyPair key = SigningKey(io, g);
  OrDie(store->WriteFile(key, path, content));
  return 0;
}

// `basefs publish`: validates like the DNS projection, then writes the
// instance file; `unpublish` removes it.
int CmdPublish(Io& io, const Globals& g, const std::string& name, const std::string& service,
               const std::string& instance, const ServiceInstance& inst) {
  if (!IsServiceLabel(service)) Fail(Invalid("service '" + service + "' is not a DNS label (letters, digits, '-')"));
  if (!IsServiceLabel(instance)) Fail(Invalid("instance '" + instance + "' is not a DNS label (letters, digits, '-')"));
  OrDie(ValidateServiceInstance(inst));
  const std::string text = FormatServiceFile(inst);
  OrDie(ParseServiceFile(text).status());  // what we write must read back
  StoreRef store = OrDie(OpenStore(io, g, name));
  const KeyPair key = SigningKey(io, g);
  if (auto dir = store->Stat("/services/" + service); !dir.ok())
    OrDie(store->Mkdir(key, "/services/" + service, true));
  OrDie(store->WriteFile(key, "/services/" + service + "/" + instance, text));
  return 0;
}

int CmdMkdir(Io& io, const Globals& g, const std::string& name, const std::string& path, bool parents) {
  StoreRef store = OrDie(OpenStore(io, g, name));
  const KeyPair key = SigningKey(io, g);
  OrDie(store->Mkdir(key, path, parents));
  return 0;
}

int CmdRm(Io& io, const Globals& g, const std::string& name, const std::string& path, bool recursive) {
  StoreRef store = OrDie(OpenStore(io, g, name));
  const KeyPair key = SigningKey(io, g);
  OrDie(store->Remove(key, path, recursive));
  return 0;
}

int CmdGrant(Io& io, const Globals& g, const std::string& name, const std::string& path, const std::string& pub,
             bool revoke, bool purge) {
  const PublicKey grantee = OrDie(ParsePublicKey(pub));
  StoreRef store = OrDie(OpenStore(io, g, name));
  const KeyPair key = SigningKey(io, g);
  OrDie(revoke ? store->Revoke(key, path, grantee, purge) : store->Grant(key, path, grantee));
  return 0;
}

int CmdKeys(Io& io, const Globals& g, const std::string& name) {
  StoreRef store = OrDie(OpenStore(io, g, name));
  const View& v = store->view();
  json out = json::array();
  out.push_back(json{{"path", "/"}, {"key", ToBase64(v.root_key())}});
  std::vector<const PathNode*> stack{v.root()};
  while (!stack.empty()) {
    const PathNode* n = stack.back();
    stack.pop_back();
    for (const auto& [key, granted] : n->grants())
      if (granted) out.push_back(json{{"path", n->FullPath()}, {"key", ToBase64(key)}});
    for (auto it = n->children().rbegin(); it != n->children().rend(); ++it) stack.push_back(it->second.get());
  }
  if (g.json) {
    io.out << out.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    for (const auto& k : out) io.out << k["path"].get<std::string>() << " " << k["key"].get<std::string>() << "\n";
  }
  return 0;
}

int CmdLog(Io& io, const Globals& g, const std::string& name, const std::string& raw) {
  StoreRef store = OrDie(OpenStore(io, g, name));
  const std::string path = OrDie(NormalizePath(raw));
  const PathNode* n = store->view().Lookup(path);
  if (!n || n->chain().empty()) Fail(NotFound("no history at " + path));
  json out = json::array();
  for (auto it = n->chain().rbegin(); it != n->chain().rend(); ++it) {
    if (g.json) {
      out.push_back(EntryJson(*it));
    } else {
      const Entry& e = (*it)->entry;
      io.out << ToHex((*it)->hash) << " " << ActionName(e.action) << " " << FormatTime(e.timestamp_ms) << " "
                << ToBase64(e.author) << " " << e.size << "\n";
    }
  }
  if (g.json) io.out << out.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  return 0;
}

int CmdRevert(Io& io, const Globals& g, const std::string& name, const std::string& path, const std::string& rev) {
  StoreRef store = OrDie(OpenStore(io, g, name));
  const KeyPair key = SigningKey(io, g);
  OrDie(store->Revert(key, path, rev));
  return 0;
}

// Prints each path, then its revision tree: '*' on the view's chain, '+'
// effective on another branch, 'x' not part of the view (no permission),
// '~' content still incomplete.
int CmdShow(Io& io, const Globals& g, const std::string& name) {
  StoreRef store = OrDie(OpenStore(io, g, name));
  json out = json::array();
  std::vector<const PathNode*> stack{store->view().root()};
  while (!stack.empty()) {
    const PathNode* n = stack.back();
    stack.pop_back();
    json entries = json::array();
    if (!g.json)
      io.out << n->FullPath() << (n->exists() ? std::string("  [") + KindName(n->state().kind) + "]" : "  [gone]")
                << "\n";
    std::vector<std::pair<const ViewEntry*, int>> es;
    for (auto it = n->roots().rbegin(); it != n->roots().rend(); ++it) es.push_back({*it, 1});
    while (!es.empty()) {
      auto [ve, depth] = es.back();
      es.pop_back();
      const char* mark = ve->on_chain ? "*" : ve->effective ? "+" : "x";
      if (g.json) {
        json j = EntryJson(ve);
        j["in_view"] = ve->on_chain;
        j["effective"] = ve->effective;
        j["complete"] = ve->complete;
        entries.push_back(j);
      } else {
        io.out << std::string(static_cast<size_t>(depth) * 2, ' ') << mark << (ve->complete ? " " : "~")
                  << ToHex(ve->hash).substr(0, 16) << " " << ActionName(ve->entry.action) << " by "
                  << ToBase64(ve->entry.author).substr(0, 12) << "\n";
      }
      for (auto it = ve->revisions.rbegin(); it != ve->revisions.rend(); ++it) es.push_back({*it, depth + 1});
    }
    if (g.json)
      out.push_back(json{{"path", n->FullPath()}, {"type", KindName(n->state().kind)}, {"entries", entries}});
    for (auto it = n->children().rbegin(); it != n->children().rend(); ++it) stack.push_back(it->second.get());
  }
  if (g.json) io.out << out.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  return 0;
}

}  // namespace

json BadFilesJson(const std::vector<BadFile>& bad) {
  json out = json::array();
  for (const auto& b : bad) out.push_back(json{{"path", b.path}, {"reason", b.reason}});
  return out;
}

namespace {

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

int CmdStatus(Io& io, const Globals& g, const std::string& name) {
  StoreRef store = OrDie(OpenStore(io, g, name));
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
           {"daemon", io.daemon != nullptr},
           // (A daemon gives those of its last DNS rebuild.)
           {"bad_files", io.daemon ? json::array() : StoreBadFilesJson(*store)}};
  const json extra = io.daemon ? io.daemon->StatusJson() : json::object();
  for (const auto& item : extra.items()) out[item.key()] = item.value();
  if (extra.contains("node_name")) out["node"] = extra["node_name"];
  if (g.json) {
    io.out << out.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    io.out << "name:        " << store->name() << "\n"
              << "domain:      " << cc.domain << "\n"
              << "root digest: " << ToHex(v.RootDigest()) << "\n"
              << "entries:     " << v.entry_count() << "\n"
              << "blocks:      " << store->log().block_count() << "\n"
              << "paths:       " << v.path_count() << "\n"
              << "node:        " << out["node"].get<std::string>() << "\n"
              << "daemon:      " << (io.daemon ? "running" : "not running") << "\n";
    for (const auto& item : extra.items())
      if (item.key() != "bad_files")
        io.out << item.key() << ": " << item.value().dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    const json& bad = out["bad_files"];
    io.out << "bad files:   " << bad.size() << (bad.empty() ? "" : " (skipped when serving DNS)") << "\n";
    for (const auto& b : bad)
      io.out << "  " << b["path"].get<std::string>() << ": " << b["reason"].get<std::string>() << "\n";
  }
  return 0;
}

int CmdMembers(Io& io, const Globals& g, const std::string& name) {
  OrDie(ValidateFsName(name));
  if (!io.daemon || !io.daemon->StoreFor(name))
    Fail(NotFound("no daemon is running for '" + name + "' in " + g.data_dir + "; start one with 'basefs run " +
                  name + "'"));
  json rows = io.daemon->Members();
  if (g.json) {
    io.out << rows.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    return 0;
  }
  for (const auto& m : rows)
    io.out << m["name"].get<std::string>() << "  " << m["address"].get<std::string>() << "  "
           << m["state"].get<std::string>() << "  incarnation " << m["incarnation"].get<uint64_t>() << "\n";
  return 0;
}

}  // namespace

int Execute(const std::vector<std::string>& args, Io& io) {
  Globals g;
  CLI::App app{"basefs: a peer-to-peer, eventually consistent filesystem for cluster configuration"};
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--data-dir", g.data_dir, "data directory (default $BASEFS_HOME or ~/.local/share/basefs)");
  app.add_option("--key", g.key_file, "key file (default <data-dir>/key)");
  app.add_flag("--json", g.json, "machine-readable output");

  std::string name, path, arg, domain = "basefs.";
  std::vector<std::string> seeds;
  bool flag_p = false, flag_r = false, purge = false;
  RunOptions run;

  auto* genkey = app.add_subcommand("genkey", "create the key file (if missing) and print the public key");
  auto* bootstrap = app.add_subcommand("bootstrap", "create a new filesystem with this node's key as root");
  bootstrap->add_option("NAME", name)->required();
  bootstrap->add_option("--domain", domain, "cluster DNS domain");
  bootstrap->add_option("--seed", seeds, "ADDR:PORT of a node new members join through (repeatable)");
  auto* ls = app.add_subcommand("ls", "list a directory");
  auto* cat = app.add_subcommand("cat", "print a file");
  auto* mkdir = app.add_subcommand("mkdir", "create a directory");
  mkdir->add_flag("-p,--parents", flag_p, "create missing parents, no error if it exists");
  auto* rm = app.add_subcommand("rm", "remove a file or directory");
  rm->add_flag("-r,--recursive", flag_r, "remove a directory and everything below it");
  auto* log = app.add_subcommand("log", "revisions of a path, newest first");
  for (auto* c : {ls, cat, mkdir, rm, log}) {
    c->add_option("NAME", name)->required();
    c->add_option("PATH", path)->required();
  }
  auto* write = app.add_subcommand("write", "write a file from FILE or stdin");
  write->add_option("NAME", name)->required();
  write->add_option("PATH", path)->required();
  write->add_option("FILE", arg, "source file; stdin if absent or -");
  auto* grant = app.add_subcommand("grant", "give a key write permission below PATH");
  auto* revoke = app.add_subcommand("revoke", "take a grant back (acks the key's current writes)");
  revoke->add_flag("--purge", purge, "do not ack: the key's writes drop out of the view");
  for (auto* c : {grant, revoke}) {
    c->add_option("NAME", name)->required();
    c->add_option("PATH", path)->required();
    c->add_option("PUBKEY", arg)->required();
  }
  auto* revert = app.add_subcommand("revert", "revert a path to an earlier revision");
  revert->add_option("NAME", name)->required();
  revert->add_option("PATH", path)->required();
  revert->add_option("REVISION", arg, "entry hash or a unique prefix of at least 8 hex digits")->required();
  auto* keys = app.add_subcommand("keys", "granted keys by path");
  auto* show = app.add_subcommand("show", "the log as a tree, the view marked");
  auto* status = app.add_subcommand("status", "root digest, counts, bad files");
  auto* members = app.add_subcommand("members", "every member of the cluster, this node included");
  for (auto* c : {keys, show, status, members}) c->add_option("NAME", name)->required();
  auto* publish = app.add_subcommand("publish", "publish a service instance (writes /services/SERVICE/INSTANCE)");
  auto* unpublish = app.add_subcommand("unpublish", "remove a service instance");
  std::string service, instance, check_tcp, check_http, check_script, check_interval = "10s", check_timeout = "2s";
  std::vector<std::string> txt;
  ServiceInstance inst;
  for (auto* c : {publish, unpublish}) {
    c->add_option("NAME", name)->required();
    c->add_option("SERVICE", service)->required();
    c->add_option("INSTANCE", instance)->required();
  }
  publish->add_option("--port", inst.port, "port (1..65535)")->required();
  publish->add_option("--address", inst.address, "IPv4 or IPv6 address (default: the owning node's)");
  publish->add_option("--node", inst.node, "owning node (default: the node that writes the file)");
  publish->add_option("--tag", inst.tags, "tag (repeatable)");
  publish->add_option("--protocol", inst.protocol, "tcp or udp");
  publish->add_option("--priority", inst.priority, "SRV priority");
  publish->add_option("--weight", inst.weight, "SRV weight");
  publish->add_option("--ttl", inst.ttl, "TTL in seconds");
  publish->add_option("--txt", txt, "K=V for the TXT record (repeatable)");
  publish->add_option("--check-tcp", check_tcp, "health check: HOST:PORT accepts a connection");
  publish->add_option("--check-http", check_http, "health check: URL answers 2xx or 3xx");
  publish->add_option("--check-script", check_script, "health check: command exits 0");
  publish->add_option("--check-interval", check_interval, "health check interval (e.g. 10s)");
  publish->add_option("--check-timeout", check_timeout, "health check timeout (e.g. 2s)");
  auto* get = app.add_subcommand("get", "clone a filesystem from a running peer (or resume a clone)");
  get->add_option("NAME", name)->required();
  get->add_option("ADDR", arg, "ADDR:PORT of a running node")->required();
  std::string get_cluster_key;
  get->add_option("--cluster-key", get_cluster_key, "file with the cluster key(s), when the cluster has one");
  auto* runcmd = app.add_subcommand("run", "run the node: gossip, sync, DNS (and FUSE with --mount)");
  auto* mount = app.add_subcommand("mount", "run the node with the filesystem mounted at DIR");
  runcmd->add_option("NAME", run.name)->required();
  mount->add_option("NAME", run.name)->required();
  mount->add_option("DIR", run.mount)->required();
  for (auto* c : {runcmd, mount}) {
    c->add_option("--bind", run.bind, "ADDR:PORT for gossip (UDP) and sync (TCP)");
    c->add_option("--advertise", run.advertise, "address other nodes and DNS answers use");
    c->add_option("--dns", run.dns, "ADDR:PORT of the DNS server");
    c->add_option("--join", run.join, "ADDR:PORT of a member to join through (repeatable)");
    c->add_option("--node-name", run.node_name, "this node's name (default: the host name)");
    c->add_option("--handler", run.handlers, "'GLOB=CMD' run on every change under GLOB (repeatable)");
    c->add_option("--recursor", run.recursors, "upstream resolver ADDR[:PORT] (repeatable)");
    c->add_option("--metrics", run.metrics, "ADDR:PORT for HTTP metrics");
    c->add_option("--cluster-key", run.cluster_key_file, "file with the cluster key(s): seals gossip and sync");
    c->add_flag("--no-recursion", run.no_recursion, "refuse names outside the cluster domain and /zones");
    c->add_option("--axfr-allow", run.axfr_allow, "CIDR allowed to transfer zones (repeatable; default loopback)")
        ->take_all();
  }
  runcmd->add_option("--mount", run.mount, "mount the filesystem at DIR");
  for (auto* c : {runcmd, mount}) {
    c->add_flag("--read-only", run.read_only, "mount read-only: every change through the mount fails with EROFS");
    c->add_option("--latency-hold", run.latency_hold_ms,
                  "while the mount gets 32 requests per MS ms, keep idle CPUs quick to wake "
                  "(default 20; 0: never; needs root)")
        ->check(CLI::Range(uint64_t{0}, uint64_t{60000}));
  }

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    io.out << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    io.err << "basefs: " << e.what() << " (see 'basefs --help')\n";
    return 2;
  }
  if (g.data_dir.empty()) g.data_dir = DefaultDataDir();

  try {
    if (*genkey) return CmdGenkey(io, g);
    if (*bootstrap) return CmdBootstrap(io, g, name, domain, seeds);
    if (*get) {
      if (!io.clone) Fail(Invalid("a daemon cannot clone"));
      OrDie(ValidateHostPort(arg));
      OrDie(io.clone(g, name, arg, get_cluster_key));
      return 0;
    }
    if (*runcmd || *mount) {
      if (!io.run_daemon) Fail(Invalid("a daemon cannot start another daemon"));
      return io.run_daemon(g, run);
    }
    // Everything else works on a store: through the daemon if one runs.
    std::string content;
    if (*write) {
      if (arg.empty() || arg == "-") {
        content = io.read_stdin ? io.read_stdin() : io.in;
      } else {
        std::ifstream in(arg, std::ios::binary);
        if (!in) Fail(NotFound("cannot read " + arg));
        content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
    }
    if (!io.daemon && io.forward) {
      // The daemon runs the same command with absolute paths and the
      // content read here.
      std::vector<std::string> fwd = {"--data-dir", std::filesystem::absolute(g.data_dir).string(), "--key",
                                      std::filesystem::absolute(KeyPath(g)).string()};
      if (g.json) fwd.push_back("--json");
      for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--data-dir" || a == "--key") {
          ++i;
          continue;
        }
        if (a.rfind("--data-dir=", 0) == 0 || a.rfind("--key=", 0) == 0 || a == "--json") continue;
        fwd.push_back(a);
      }
      if (*write) fwd = {fwd[0], fwd[1], fwd[2], fwd[3], "write", name, path, "-"};
      if (*write && g.json) fwd.insert(fwd.begin() + 4, "--json");
      std::string key_secret, key_error;
      if (auto key = LoadKey(KeyPath(g)); key.ok())
        key_secret.assign(reinterpret_cast<const char*>(key->secret_key.data()), key->secret_key.size());
      else
        key_error = key.status().message();
      const auto code = io.forward(name, fwd, content, key_secret, key_error);
      sodium_memzero(key_secret.data(), key_secret.size());
      if (code) return *code;
    }
    if (*ls) return CmdLs(io, g, name, path);
    if (*cat) return CmdCat(io, g, name, path);
    if (*write) return CmdWrite(io, g, name, path, content);
    if (*mkdir) return CmdMkdir(io, g, name, path, flag_p);
    if (*rm) return CmdRm(io, g, name, path, flag_r);
    if (*grant) return CmdGrant(io, g, name, path, arg, false, false);
    if (*revoke) return CmdGrant(io, g, name, path, arg, true, purge);
    if (*keys) return CmdKeys(io, g, name);
    if (*log) return CmdLog(io, g, name, path);
    if (*revert) return CmdRevert(io, g, name, path, arg);
    if (*show) return CmdShow(io, g, name);
    if (*status) return CmdStatus(io, g, name);
    if (*publish) {
      for (const auto& kv : txt) {
        const size_t eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) Fail(Invalid("--txt wants KEY=VALUE, not '" + kv + "'"));
        inst.txt.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
      }
      std::sort(inst.txt.begin(), inst.txt.end());
      inst.node = Lowercase(inst.node);
      inst.protocol = Lowercase(inst.protocol);
      for (auto& t : inst.tags) t = Lowercase(t);
      const int checks = !check_tcp.empty() + !check_http.empty() + !check_script.empty();
      if (checks > 1) Fail(Invalid("give at most one of --check-tcp, --check-http, --check-script"));
      if (checks == 1) {
        inst.check.kind = !check_tcp.empty()    ? HealthCheck::Kind::kTcp
                          : !check_http.empty() ? HealthCheck::Kind::kHttp
                                                : HealthCheck::Kind::kScript;
        inst.check.target = check_tcp + check_http + check_script;
        inst.check.interval_ms = OrDie(ParseDuration(check_interval));
        inst.check.timeout_ms = OrDie(ParseDuration(check_timeout));
      }
      return CmdPublish(io, g, name, Lowercase(service), Lowercase(instance), inst);
    }
    if (*unpublish) {
      if (!IsServiceLabel(service) || !IsServiceLabel(instance))
        Fail(Invalid("service and instance must be DNS labels (letters, digits, '-')"));
      return CmdRm(io, g, name, "/services/" + Lowercase(service) + "/" + Lowercase(instance), false);
    }
    if (*members) return CmdMembers(io, g, name);
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

}  // namespace basefs

