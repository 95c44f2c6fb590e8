// Keys: genkey, and the grants in the log — grant, revoke, keys.
#include <sodium.h>

#include <array>
#include <memory>

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace basefs {
namespace {

struct KeyArgs {
  std::string name, path, key;
  bool purge = false, cluster = false;
};

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
}

}  // namespace basefs
