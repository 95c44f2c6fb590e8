// The node's side of the HTTP API (api/consul_api.h): the catalog built
// from gossip's members, the view's /services files and this node's check
// results, rebuilt only after something changed; writes signed with the
// node key.
//
// Thread-safety: loop thread only.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "api/consul_api.h"
#include "base/crypto.h"

namespace basefs {

class Store;
class Gossip;
class DnsService;

struct NodeApiSources {
  Store* store = nullptr;
  const Gossip* gossip = nullptr;
  DnsService* dns = nullptr;
  std::string self, datacenter, version;
  std::optional<KeyPair> key;  // none: every write is refused
  std::function<std::string()> metrics;
  // The wall clock (ms) at a time of the gossip clock.
  std::function<uint64_t(uint64_t)> wall_ms_at;
};

class NodeApiBackend : public ConsulBackend {
 public:
  explicit NodeApiBackend(NodeApiSources s) : s_(std::move(s)) {}
  // Something the catalog shows changed.
  void Invalidate() { dirty_ = true; }

  const Catalog& catalog() override;
  const Store& store() override;
  std::string version() override { return s_.version; }
  std::string metrics() override { return s_.metrics ? s_.metrics() : ""; }
  Status WriteFile(const std::string& path, const std::string& content) override;
  Status Mkdir(const std::string& path) override;
  Status Remove(const std::string& path, bool recursive) override;
  void ReportTtl(const std::string& instance_id, uint32_t ttl_ms, const std::string& status,
                 const std::string& output) override;

 private:
  Status NeedKey() const;
  NodeApiSources s_;
  Catalog catalog_;
  bool dirty_ = true;
};

}  // namespace basefs
