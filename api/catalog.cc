#include "api/catalog.h"

#include <algorithm>
#include <map>

#include "base/crypto.h"
#include "base/host_port.h"
#include "store/store.h"
#include "zones/names.h"

namespace basefs {

std::string NodeUuid(const std::string& key, const std::string& name) {
  const std::string hex = ToHex(HashBytes("basefs node id\n" + (key.empty() ? "name:" + name : key))).substr(0, 32);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20, 12);
}

const CatalogNode* Catalog::Node(const std::string& name) const {
  auto it = std::lower_bound(nodes.begin(), nodes.end(), name,
                             [](const CatalogNode& n, const std::string& v) { return n.name < v; });
  return it != nodes.end() && it->name == name ? &*it : nullptr;
}

CatalogCheck Catalog::NodeCheck(const CatalogNode& n) const {
  CatalogCheck c;
  c.node = n.name;
  c.check_id = "serfHealth";
  c.name = "Serf Health Status";
  c.status = n.alive ? "passing" : "critical";
  c.output = n.alive ? "Agent alive and reachable" : "Agent not live or unreachable (" + n.state + ")";
  return c;
}

namespace {

const char* CheckType(HealthCheck::Kind k) {
  switch (k) {
    case HealthCheck::Kind::kTcp: return "tcp";
    case HealthCheck::Kind::kHttp: return "http";
    case HealthCheck::Kind::kScript: return "script";
    case HealthCheck::Kind::kTtl: return "ttl";
    case HealthCheck::Kind::kNone: break;
  }
  return "";
}

// The instance's own check, as its owner reports it.
CatalogCheck ServiceCheck(const CatalogInput& in, const CatalogInstance& inst, const CatalogMemberInput* owner) {
  CatalogCheck c;
  c.node = inst.node;
  c.check_id = "service:" + inst.id;
  c.name = "Service '" + inst.service + "' check";
  c.type = CheckType(inst.spec.check.kind);
  c.service_id = inst.id;
  c.service_name = inst.service;
  c.service_tags = inst.spec.tags;
  c.interval_ms = inst.spec.check.interval_ms;
  c.timeout_ms = inst.spec.check.timeout_ms;
  const std::string id = InstanceId(inst.service, inst.id);
  if (owner && owner->name == in.self) {
    auto it = in.local_checks.find(id);
    if (it != in.local_checks.end()) {
      c.status = it->second.status;
      c.output = it->second.output;
    } else if (inst.spec.check.kind == HealthCheck::Kind::kTtl) {
      c.status = "critical";  // as HealthChecker starts it
      c.output = "TTL check: no status reported yet";
    } else {
      c.status = "passing";
      c.output = "not run yet";
    }
  } else if (owner && owner->failing.count(id)) {
    c.status = "critical";
    c.output = "reported failing by " + owner->name;
  } else {
    c.status = "passing";
    c.output = owner ? "reported passing by " + owner->name : "";
  }
  return c;
}

}  // namespace

Catalog BuildCatalog(const CatalogInput& in) {
  Catalog cat;
  cat.self = in.self;
  cat.datacenter = in.datacenter;
  std::map<std::string, const CatalogMemberInput*> by_name, by_key;
  for (const auto& m : in.members) {
    by_name[m.name] = &m;
    if (!m.key.empty()) by_key[m.key] = &m;
    CatalogNode n;
    n.name = m.name;
    n.id = NodeUuid(m.key, m.name);
    n.addr = m.addr;
    auto hp = ParseHostPort(m.addr);
    n.address = hp.ok() ? hp->host : m.addr;
    n.state = m.state;
    n.incarnation = m.incarnation;
    n.key = m.key;
    n.alive = m.state == "alive" || m.state == "suspect";
    n.state_since_ms = m.state_since_ms;
    cat.nodes.push_back(std::move(n));
  }
  std::sort(cat.nodes.begin(), cat.nodes.end(),
            [](const CatalogNode& a, const CatalogNode& b) { return a.name < b.name; });

  for (const auto& f : in.files) {
    // /services/<service>/<instance>
    if (f.path.rfind("/services/", 0) != 0) continue;
    const std::string rest = f.path.substr(10);
    const size_t slash = rest.find('/');
    if (slash == std::string::npos || rest.find('/', slash + 1) != std::string::npos) continue;
    const std::string service = Lowercase(rest.substr(0, slash)), id = Lowercase(rest.substr(slash + 1));
    if (!IsServiceLabel(service) || !IsServiceLabel(id)) continue;
    auto parsed = ParseServiceFile(f.content);
    if (!parsed.ok()) {
      cat.bad_files.push_back({f.path, parsed.status().message()});
      continue;
    }
    CatalogInstance inst;
    inst.service = service;
    inst.id = id;
    inst.path = f.path;
    inst.spec = *parsed;
    inst.address = parsed->address;
    inst.create_index = f.create_ms;
    inst.modify_index = f.modify_ms;
    const CatalogMemberInput* owner = nullptr;
    if (!parsed->node.empty()) {
      auto it = by_name.find(parsed->node);
      if (it != by_name.end()) owner = it->second;
      inst.node = parsed->node;
    } else if (auto it = by_key.find(f.author); it != by_key.end()) {
      owner = it->second;
      inst.node = owner->name;
    }
    const CatalogNode* node = owner ? cat.Node(owner->name) : nullptr;
    if (node) {
      inst.node_address = node->address;
      inst.checks.push_back(cat.NodeCheck(*node));
    } else {
      CatalogCheck c;
      c.node = inst.node;
      c.check_id = "serfHealth";
      c.name = "Serf Health Status";
      c.status = "critical";
      c.output = inst.node.empty() ? "no member owns this instance (its writer's key is not a member's)"
                                   : "node '" + inst.node + "' is not a member";
      inst.checks.push_back(std::move(c));
    }
    if (parsed->check.kind != HealthCheck::Kind::kNone) inst.checks.push_back(ServiceCheck(in, inst, owner));
    inst.passing = std::all_of(inst.checks.begin(), inst.checks.end(),
                               [](const CatalogCheck& c) { return c.status == "passing"; });
    inst.serving = std::none_of(inst.checks.begin(), inst.checks.end(),
                                [](const CatalogCheck& c) { return c.status == "critical"; });
    cat.instances.push_back(std::move(inst));
  }
  std::sort(cat.instances.begin(), cat.instances.end(), [](const CatalogInstance& a, const CatalogInstance& b) {
    return std::tie(a.service, a.id, a.path) < std::tie(b.service, b.id, b.path);
  });
  return cat;
}

std::vector<CatalogFileInput> ServiceFilesOf(const Store& store) {
  std::vector<CatalogFileInput> out;
  auto services = store.Stat("/services");
  if (!services.ok() || (*services)->state().kind != Kind::kDir) return out;
  for (const auto& [service, dir] : (*services)->children()) {
    if (dir->state().kind != Kind::kDir) continue;
    for (const auto& [instance, file] : dir->children()) {
      const NodeState& st = file->state();
      if (st.kind != Kind::kFile && st.kind != Kind::kLink) continue;
      if (Store::ContentSize(file.get()) > kMaxServiceFileBytes) continue;
      const std::string path = "/services/" + service + "/" + instance;
      auto content = store.ReadFile(path);
      if (!content.ok()) continue;  // blocks still on their way
      const ViewEntry* by = st.modified ? st.modified : st.head;
      CatalogFileInput f;
      f.path = path;
      f.author = by ? ToBase64(by->entry.author) : "";
      f.content = std::move(*content);
      f.create_ms = file->chain().empty() ? 0 : file->chain().front()->entry.timestamp_ms;
      f.modify_ms = st.head ? st.head->entry.timestamp_ms : f.create_ms;
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace basefs
