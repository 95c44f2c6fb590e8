// Keys: genkey, the grants in the log — grant, revoke, keys — and the
// cluster keys of a running cluster (keyring).
#include <sodium.h>

#include <array>
#include <map>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace basefs {
namespace {

struct KeyArgs {
  std::string name, path, key;
  bool purge = false, cluster = false;
  bool list = false;
  std::string install, use, remove;
};

// What the members answered, as `basefs keyring` prints it.
ControlResponse FormatKeyring(const KeyringResult& r, KeyringOp op, const std::string& key, bool as_json) {
  std::map<std::string, std::pair<size_t, size_t>> counts;  // key -> (installed on, primary on)
  for (const auto& [node, keys] : r.keys)
    for (size_t i = 0; i < keys.size(); ++i) {
      auto& [installed, primary] = counts[ToBase64(keys[i])];
      ++installed;
      primary += i == 0;
    }
  ControlResponse resp;
  resp.exit_code = r.errors.empty() ? 0 : 1;
  if (as_json) {
    json keys = json::array(), failed = json::object();
    for (const auto& [k, n] : counts) keys.push_back({{"key", k}, {"installed", n.first}, {"primary", n.second}});
    for (const auto& [node, why] : r.errors) failed[node] = why;
    resp.out =
        json{{"members", r.asked}, {"answered", r.keys.size()}, {"failed", failed}, {"keys", keys}}.dump(2) + "\n";
    return resp;
  }
  std::ostringstream out;
  const char* done = op == KeyringOp::kInstall ? "installed" : op == KeyringOp::kUse ? "now the primary" : "removed";
  if (op == KeyringOp::kList) {
    for (const auto& [k, n] : counts)
      out << k << "  installed on " << n.first << " of " << r.asked << " members, primary on " << n.second << "\n";
  } else {
    out << key << " " << done << " on " << r.keys.size() << " of " << r.asked << " members\n";
  }
  resp.out = out.str();
  for (const auto& [node, why] : r.errors) resp.err += "basefs: " + node + ": " + why + "\n";
  return resp;
}

// `keyring NAME --list|--install KEY|--use KEY|--remove KEY`: the cluster
// keys of every live member, through the running daemon (docs/gossip_format.md).
int CmdKeyring(const Context& c, const KeyArgs& a) {
  OrDie(ValidateFsName(a.name));
  const int given = a.list + !a.install.empty() + !a.use.empty() + !a.remove.empty();
  if (given != 1) Fail(Invalid("say one of --list, --install KEY, --use KEY, --remove KEY"));
  if (!c.io.daemon || !c.io.daemon->StoreFor(a.name))
    Fail(NotFound("the keyring is changed on a running cluster: no daemon runs for '" + a.name + "' in " +
                  c.g.data_dir.root + "; start one with 'basefs run " + a.name + " --cluster-key FILE'"));
  KeyringOp op = KeyringOp::kList;
  std::string text;
  if (!a.install.empty()) op = KeyringOp::kInstall, text = a.install;
  if (!a.use.empty()) op = KeyringOp::kUse, text = a.use;
  if (!a.remove.empty()) op = KeyringOp::kRemove, text = a.remove;
  ClusterKey key{};
  if (op != KeyringOp::kList) {
    auto parsed = ParsePublicKey(text);  // the same form: one line of base64, 32 bytes
    if (!parsed.ok()) Fail(Invalid("a cluster key is 32 bytes of base64 (basefs genkey --cluster makes one)"));
    key = *parsed;
  }
  c.io.daemon->RotateKeyring(
      op, key, [op, text, as_json = c.g.json](const KeyringResult& r) { return FormatKeyring(r, op, text, as_json); });
  return 0;  // the daemon answers when the members have
}

// `genkey --cluster`: a fresh cluster key for --cluster-key files (one
// line of base64 of 32 random bytes); nothing is written.
int CmdGenClusterKey(const Context& c) {
  std::array<uint8_t, 32> key{};
  randombytes_buf(key.data(), key.size());
  const std::string text = ToBase64(key);
  sodium_memzero(key.data(), key.size());
  if (c.g.json)
    PrintJson(c, json{{"cluster_key", text}});
  else
    c.io.out << text << "\n";
  return 0;
}

int CmdGenkey(const Context& c) {
  const std::string path = c.g.data_dir.KeyPath();
  auto created = CreateKey(path);
  KeyPair kp;
  if (created.ok()) {
    kp = *created;
  } else if (created.status().code() == Code::kExists) {
    kp = OrDie(LoadKey(path));
    c.io.err << "basefs: a key already exists at " << path << "; it is kept\n";
  } else {
    Fail(created.status());
  }
  if (c.g.json)
    PrintJson(c, json{{"key_file", path}, {"public_key", ToBase64(kp.public_key)}});
  else
    c.io.out << ToBase64(kp.public_key) << "\n";
  return 0;
}

int CmdGrant(const Context& c, const KeyArgs& a, bool revoke) {
  const PublicKey grantee = OrDie(ParsePublicKey(a.key));
  StoreRef store = OpenStore(c, a.name);
  const KeyPair key = SigningKey(c);
  OrDie(revoke ? store->Revoke(key, a.path, grantee, a.purge) : store->Grant(key, a.path, grantee));
  return 0;
}

int CmdKeys(const Context& c, const KeyArgs& a) {
  StoreRef store = OpenStore(c, a.name);
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
  if (c.g.json) {
    PrintJson(c, out);
  } else {
    for (const auto& k : out) c.io.out << k["path"].get<std::string>() << " " << k["key"].get<std::string>() << "\n";
  }
  return 0;
}

}  // namespace

void AddKeyCommands(CLI::App& app, Context& c, std::vector<Subcommand>* out) {
  auto a = std::make_shared<KeyArgs>();
  const auto name = [a] { return a->name; };
  auto* genkey = app.add_subcommand("genkey", "create the key file (if missing) and print the public key");
  genkey->add_flag("--cluster", a->cluster, "print a fresh cluster key (for --cluster-key files) instead");
  out->push_back(Subcommand::Here(genkey, [&c, a] { return a->cluster ? CmdGenClusterKey(c) : CmdGenkey(c); }));
  auto* grant = app.add_subcommand("grant", "give a key write permission below PATH");
  auto* revoke = app.add_subcommand("revoke", "take a grant back (acks the key's current writes)");
  revoke->add_flag("--purge", a->purge, "do not ack: the key's writes drop out of the view");
  for (auto* sub : {grant, revoke}) {
    sub->add_option("NAME", a->name)->required();
    sub->add_option("PATH", a->path)->required();
    sub->add_option("PUBKEY", a->key)->required();
  }
  auto* keys = app.add_subcommand("keys", "granted keys by path");
  keys->add_option("NAME", a->name)->required();
  out->push_back(Subcommand::OnStore(grant, name, [&c, a] { return CmdGrant(c, *a, false); }));
  out->push_back(Subcommand::OnStore(revoke, name, [&c, a] { return CmdGrant(c, *a, true); }));
  out->push_back(Subcommand::OnStore(keys, name, [&c, a] { return CmdKeys(c, *a); }));
  auto* keyring = app.add_subcommand("keyring", "list or rotate the cluster keys of every live member (online)");
  keyring->add_option("NAME", a->name)->required();
  keyring->add_flag("--list", a->list, "each key, and on how many members it is installed and the primary");
  keyring->add_option("--install", a->install, "add KEY to every member's keyring (not yet sealing with it)");
  keyring->add_option("--use", a->use, "seal with KEY from now on (install it everywhere first)");
  keyring->add_option("--remove", a->remove, "drop KEY from every keyring (not the primary)");
  out->push_back(Subcommand::OnStore(keyring, name, [&c, a] { return CmdKeyring(c, *a); }));
}

}  // namespace basefs
