// The catalog the HTTP API answers from: the members gossip knows, the
// service instances of /services with the node that owns each, and their
// health as Consul models it — one "serfHealth" check per node and one
// "service:<id>" check per instance that has a [check].
//
// A pure function of its input (no store, no sockets, no clock), like the
// DNS projection (zones/projection.h), and with the same ownership rule:
// an instance belongs to its file's `node`, or to the member whose key
// wrote the file. It is healthy in DNS exactly when every check here is
// passing or warning.
//
// Thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "zones/projection.h"
#include "zones/service_file.h"

namespace basefs {

// A member as gossip holds it.
struct CatalogMemberInput {
  std::string name;
  std::string addr;   // advertised "IP:PORT" (gossip and sync)
  std::string state;  // alive, suspect, failed or left
  uint64_t incarnation = 0;
  std::string key;                // base64 node key ("" if unknown)
  std::set<std::string> failing;  // InstanceIds its checks report failing
  uint64_t state_since_ms = 0;    // wall clock of its last state change (0: unknown)
};

// A file under /services, with the log's times of its first entry and of
// the entry that set its content (milliseconds: the API's indexes).
struct CatalogFileInput {
  std::string path;
  std::string author;  // base64 key of the entry that set the content
  std::string content;
  uint64_t create_ms = 0, modify_ms = 0;
};

// This node's own check results (HealthChecker), by InstanceId.
struct LocalCheckResult {
  std::string status;  // passing, warning or critical
  std::string output;
};

struct CatalogInput {
  std::string self;        // this node's name
  std::string datacenter;  // the filesystem's name
  std::vector<CatalogMemberInput> members;
  std::vector<CatalogFileInput> files;
  std::map<std::string, LocalCheckResult> local_checks;
};

struct CatalogNode {
  std::string name, id;  // id: a UUID made from the node key (Consul's node ID)
  std::string address;   // IP, no port
  std::string addr;      // IP:PORT
  std::string state;
  uint64_t incarnation = 0;
  std::string key;
  bool alive = false;  // alive or suspect
  uint64_t state_since_ms = 0;
};

struct CatalogCheck {
  std::string node, check_id, name, status, output, type;
  std::string service_id, service_name;
  std::vector<std::string> service_tags;
  uint32_t interval_ms = 0, timeout_ms = 0;
};

struct CatalogInstance {
  std::string service, id;   // id: the instance name, Consul's ServiceID
  std::string node;          // owning node ("" when no member owns it)
  std::string address;       // the file's address ("" = the node's)
  std::string node_address;  // the owning node's IP
  std::string path;
  ServiceInstance spec;
  uint64_t create_index = 0, modify_index = 0;
  std::vector<CatalogCheck> checks;  // serfHealth of its node first
  // Every check passing (Consul's ?passing), or none worse than warning
  // (in DNS).
  bool passing = false, serving = false;
};

struct Catalog {
  std::string self, datacenter;
  std::vector<CatalogNode> nodes;          // by name; left members included
  std::vector<CatalogInstance> instances;  // by (service, id)
  std::vector<BadFile> bad_files;          // service files that do not parse

  const CatalogNode* Node(const std::string& name) const;
  // The node's serfHealth check.
  CatalogCheck NodeCheck(const CatalogNode& n) const;
};

Catalog BuildCatalog(const CatalogInput& in);

class Store;
// The files /services/<service>/<instance> of a store's view (symlinks
// and files over kMaxServiceFileBytes left out: they never parse).
std::vector<CatalogFileInput> ServiceFilesOf(const Store& store);

// A UUID (8-4-4-4-12 hex) derived from a base64 node key, or from the node
// name when the key is unknown: stable for a node across restarts.
std::string NodeUuid(const std::string& key, const std::string& name);

}  // namespace basefs
