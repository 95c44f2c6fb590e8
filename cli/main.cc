// basefs: the command line. Each subcommand parses its flags, opens the
// store and calls the same core the daemon uses; errors become one line on
// stderr and a non-zero exit.
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
#include <nlohmann/json.hpp>

#include "cli/cluster_config.h"
#include "cli/keyfile.h"
#include "store/store.h"

namespace basefs {
namespace {

using json = nlohmann::ordered_json;

struct Globals {
  std::string data_dir;
  std::string key_file;
  bool json = false;
};

std::string DefaultDataDir() {
  if (const char* h = std::getenv("BASEFS_HOME"); h && *h) return h;
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.local/share/basefs";
  return ".basefs";
}

std::string KeyPath(const Globals& g) { return g.key_file.empty() ? g.data_dir + "/key" : g.key_file; }

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

Status ValidateFsName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.' ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != std::string::npos)
    return Invalid("bad filesystem name '" + name + "': use 1..64 letters, digits, '.', '_' or '-'");
  return Status::Ok();
}

std::string StoreDir(const Globals& g, const std::string& name) { return g.data_dir + "/" + name + "/log"; }

Result<std::unique_ptr<Store>> OpenStore(const Globals& g, const std::string& name) {
  BASEFS_RETURN_IF_ERROR(ValidateFsName(name));
  struct stat st {};
  if (::stat((g.data_dir + "/" + name).c_str(), &st) != 0)
    return NotFound("no filesystem '" + name + "' in " + g.data_dir +
                    "; create it with 'basefs bootstrap " + name + "' or clone it with 'basefs get'");
  return Store::Open(StoreDir(g, name), DefaultOptions());
}

[[noreturn]] void Fail(const Status& st) {
  std::cerr << "basefs: " << st.message() << "\n";
  std::exit(1);
}

template <typename T>
T OrDie(Result<T> r) {
  if (!r.ok()) Fail(r.status());
  return std::move(r).value();
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

int CmdGenkey(const Globals& g) {
  const std::string path = KeyPath(g);
  auto created = CreateKey(path);
  KeyPair kp;
  if (created.ok()) {
    kp = *created;
  } else if (created.status().code() == Code::kExists) {
    kp = OrDie(LoadKey(path));
    std::cerr << "basefs: a key already exists at " << path << "; it is kept\n";
  } else {
    Fail(created.status());
  }
  if (g.json)
    std::cout << json{{"key_file", path}, {"public_key", ToBase64(kp.public_key)}}.dump() << "\n";
  else
    std::cout << ToBase64(kp.public_key) << "\n";
  return 0;
}

int CmdBootstrap(const Globals& g, const std::string& name, const std::string& domain,
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
    std::cout << json{{"name", name},
                      {"domain", cc.domain},
                      {"root_key", ToBase64(key.public_key)},
                      {"root_digest", ToHex((*store)->view().RootDigest())}}
                     .dump()
              << "\n";
  } else {
    std::cout << "bootstrapped '" << name << "' (domain " << cc.domain << ") with root key "
              << ToBase64(key.public_key) << "\n";
  }
  return 0;
}

int CmdLs(const Globals& g, const std::string& name, const std::string& path) {
  auto store = OrDie(OpenStore(g, name));
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
      std::cout << c->name() << (c->state().kind == Kind::kDir ? "/" : "") << "\n";
    }
  }
  if (g.json) std::cout << out.dump() << "\n";
  return 0;
}

int CmdCat(const Globals& g, const std::string& name, const std::string& path) {
  auto store = OrDie(OpenStore(g, name));
  const std::string content = OrDie(store->ReadFile(path));
  std::cout.write(content.data(), static_cast<std::streamsize>(content.size()));
  return 0;
}

int CmdWrite(const Globals& g, const std::string& name, const std::string& path, const std::string& file) {
  std::string content;
  if (file.empty() || file == "-") {
    content.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) Fail(NotFound("cannot read " + file));
    content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto store = OrDie(OpenStore(g, name));
  const KeyPair key = OrDie(LoadKey(KeyPath(g)));
  OrDie(store->WriteFile(key, path, content));
  return 0;
}

int CmdMkdir(const Globals& g, const std::string& name, const std::string& path, bool parents) {
  auto store = OrDie(OpenStore(g, name));
  const KeyPair key = OrDie(LoadKey(KeyPath(g)));
  OrDie(store->Mkdir(key, path, parents));
  return 0;
}

int CmdRm(const Globals& g, const std::string& name, const std::string& path, bool recursive) {
  auto store = OrDie(OpenStore(g, name));
  const KeyPair key = OrDie(LoadKey(KeyPath(g)));
  OrDie(store->Remove(key, path, recursive));
  return 0;
}

int CmdGrant(const Globals& g, const std::string& name, const std::string& path, const std::string& pub,
             bool revoke, bool purge) {
  const PublicKey grantee = OrDie(ParsePublicKey(pub));
  auto store = OrDie(OpenStore(g, name));
  const KeyPair key = OrDie(LoadKey(KeyPath(g)));
  OrDie(revoke ? store->Revoke(key, path, grantee, purge) : store->Grant(key, path, grantee));
  return 0;
}

int CmdKeys(const Globals& g, const std::string& name) {
  auto store = OrDie(OpenStore(g, name));
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
    std::cout << out.dump() << "\n";
  } else {
    for (const auto& k : out) std::cout << k["path"].get<std::string>() << " " << k["key"].get<std::string>() << "\n";
  }
  return 0;
}

int CmdLog(const Globals& g, const std::string& name, const std::string& raw) {
  auto store = OrDie(OpenStore(g, name));
  const std::string path = OrDie(NormalizePath(raw));
  const PathNode* n = store->view().Lookup(path);
  if (!n || n->chain().empty()) Fail(NotFound("no history at " + path));
  json out = json::array();
  for (auto it = n->chain().rbegin(); it != n->chain().rend(); ++it) {
    if (g.json) {
      out.push_back(EntryJson(*it));
    } else {
      const Entry& e = (*it)->entry;
      std::cout << ToHex((*it)->hash) << " " << ActionName(e.action) << " " << FormatTime(e.timestamp_ms) << " "
                << ToBase64(e.author) << " " << e.size << "\n";
    }
  }
  if (g.json) std::cout << out.dump() << "\n";
  return 0;
}

int CmdRevert(const Globals& g, const std::string& name, const std::string& path, const std::string& rev) {
  auto store = OrDie(OpenStore(g, name));
  const KeyPair key = OrDie(LoadKey(KeyPath(g)));
  OrDie(store->Revert(key, path, rev));
  return 0;
}

// Prints each path, then its revision tree: '*' on the view's chain, '+'
// effective on another branch, 'x' not part of the view (no permission),
// '~' content still incomplete.
int CmdShow(const Globals& g, const std::string& name) {
  auto store = OrDie(OpenStore(g, name));
  json out = json::array();
  std::vector<const PathNode*> stack{store->view().root()};
  while (!stack.empty()) {
    const PathNode* n = stack.back();
    stack.pop_back();
    json entries = json::array();
    if (!g.json)
      std::cout << n->FullPath() << (n->exists() ? std::string("  [") + KindName(n->state().kind) + "]" : "  [gone]")
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
        std::cout << std::string(static_cast<size_t>(depth) * 2, ' ') << mark << (ve->complete ? " " : "~")
                  << ToHex(ve->hash).substr(0, 16) << " " << ActionName(ve->entry.action) << " by "
                  << ToBase64(ve->entry.author).substr(0, 12) << "\n";
      }
      for (auto it = ve->revisions.rbegin(); it != ve->revisions.rend(); ++it) es.push_back({*it, depth + 1});
    }
    if (g.json)
      out.push_back(json{{"path", n->FullPath()}, {"type", KindName(n->state().kind)}, {"entries", entries}});
    for (auto it = n->children().rbegin(); it != n->children().rend(); ++it) stack.push_back(it->second.get());
  }
  if (g.json) std::cout << out.dump() << "\n";
  return 0;
}

int CmdStatus(const Globals& g, const std::string& name) {
  auto store = OrDie(OpenStore(g, name));
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
           {"daemon", false},
           {"bad_files", json::array()}};
  if (g.json) {
    std::cout << out.dump() << "\n";
  } else {
    std::cout << "name:        " << store->name() << "\n"
              << "domain:      " << cc.domain << "\n"
              << "root digest: " << ToHex(v.RootDigest()) << "\n"
              << "entries:     " << v.entry_count() << "\n"
              << "blocks:      " << store->log().block_count() << "\n"
              << "paths:       " << v.path_count() << "\n"
              << "node:        " << Hostname() << "\n"
              << "daemon:      not running\n";
  }
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  CryptoInit();
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
  for (auto* c : {keys, show, status}) c->add_option("NAME", name)->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (g.data_dir.empty()) g.data_dir = DefaultDataDir();

  if (*genkey) return CmdGenkey(g);
  if (*bootstrap) return CmdBootstrap(g, name, domain, seeds);
  if (*ls) return CmdLs(g, name, path);
  if (*cat) return CmdCat(g, name, path);
  if (*write) return CmdWrite(g, name, path, arg);
  if (*mkdir) return CmdMkdir(g, name, path, flag_p);
  if (*rm) return CmdRm(g, name, path, flag_r);
  if (*grant) return CmdGrant(g, name, path, arg, false, false);
  if (*revoke) return CmdGrant(g, name, path, arg, true, purge);
  if (*keys) return CmdKeys(g, name);
  if (*log) return CmdLog(g, name, path);
  if (*revert) return CmdRevert(g, name, path, arg);
  if (*show) return CmdShow(g, name);
  if (*status) return CmdStatus(g, name);
  return 2;
}

}  // namespace basefs

int main(int argc, char** argv) { return basefs::Main(argc, argv); }
