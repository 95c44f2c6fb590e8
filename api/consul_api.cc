#include "api/consul_api.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "base/crypto.h"
#include "base/host_port.h"
#include "store/store.h"
#include "zones/names.h"
#include "zones/service_file.h"

namespace basefs {
namespace {

using json = nlohmann::ordered_json;

// --- Responses ---------------------------------------------------------

HttpResponse Error(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = json{{"error", message}}.dump() + "\n";
  return r;
}

HttpResponse Json(const HttpRequest& req, const json& j, bool blocking) {
  HttpResponse r;
  r.body = req.Has("pretty") ? j.dump(4) : j.dump();
  r.blocking = blocking;
  return r;
}

HttpResponse Bool(bool ok) {
  HttpResponse r;
  r.body = ok ? "true" : "false";
  return r;
}

int StatusFor(const Status& st) {
  switch (st.code()) {
    case Code::kPermission: return 403;
    case Code::kInvalid: return 400;
    case Code::kTooLarge: return 413;
    case Code::kNotFound: return 404;
    case Code::kExists:
    case Code::kNotDir:
    case Code::kIsDir:
    case Code::kNotEmpty: return 409;
    default: return 500;
  }
}

HttpResponse Failed(const Status& st) { return Error(StatusFor(st), st.message()); }

std::string Duration(uint32_t ms) {
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

// --- JSON in Consul's shapes -------------------------------------------

json NodeJson(const Catalog& cat, const CatalogNode& n) {
  return json{
      {"ID", n.id},
      {"Node", n.name},
      {"Address", n.address},
      {"Datacenter", cat.datacenter},
      {"TaggedAddresses", {{"lan", n.address}, {"lan_ipv4", n.address}, {"wan", n.address}, {"wan_ipv4", n.address}}},
      {"Meta", {{"consul-network-segment", ""}}},
      {"CreateIndex", n.incarnation},
      {"ModifyIndex", n.incarnation}};
}

json MetaJson(const ServiceInstance& s) {
  json meta = json::object();
  for (const auto& [k, v] : s.txt) meta[k] = v;
  return meta;
}

json WeightsJson(const ServiceInstance& s) { return json{{"Passing", s.weight}, {"Warning", 1}}; }

// A service as the agent and health endpoints show it.
json ServiceJson(const Catalog& cat, const CatalogInstance& i, bool with_datacenter) {
  json j{{"ID", i.id},
         {"Service", i.service},
         {"Tags", i.spec.tags},
         {"Address", i.address},
         {"Meta", MetaJson(i.spec)},
         {"Port", i.spec.port},
         {"Weights", WeightsJson(i.spec)},
         {"EnableTagOverride", false}};
  if (with_datacenter) j["Datacenter"] = cat.datacenter;
  j["CreateIndex"] = i.create_index;
  j["ModifyIndex"] = i.modify_index;
  return j;
}

json CheckJson(const CatalogCheck& c) {
  json definition = json::object();
  if (c.type == "ttl") {
    definition["TTL"] = Duration(c.interval_ms);
  } else if (!c.type.empty()) {
    definition["Interval"] = Duration(c.interval_ms);
    definition["Timeout"] = Duration(c.timeout_ms);
  }
  return json{{"Node", c.node},
              {"CheckID", c.check_id},
              {"Name", c.name},
              {"Status", c.status},
              {"Notes", ""},
              {"Output", c.output},
              {"ServiceID", c.service_id},
              {"ServiceName", c.service_name},
              {"ServiceTags", c.service_tags},
              {"Type", c.type},
              {"Definition", definition},
              {"CreateIndex", 0},
              {"ModifyIndex", 0}};
}

// serf's member status numbers (agent/members).
int SerfStatus(const std::string& state) {
  if (state == "alive" || state == "suspect") return 1;
  if (state == "left") return 3;
  if (state == "failed") return 4;
  return 0;
}

json MemberJson(const Catalog& cat, const CatalogNode& n) {
  auto hp = ParseHostPort(n.addr);
  return json{{"Name", n.name},
              {"Addr", n.address},
              {"Port", hp.ok() ? hp->port : 0},
              {"Tags", {{"dc", cat.datacenter}, {"role", "node"}, {"id", n.id}, {"basefs_key", n.key}}},
              {"Status", SerfStatus(n.state)},
              {"ProtocolMin", 1},
              {"ProtocolMax", 5},
              {"ProtocolCur", 2},
              {"DelegateMin", 2},
              {"DelegateMax", 5},
              {"DelegateCur", 4}};
}

// --- Helpers -------------------------------------------------------------

bool HasTags(const CatalogInstance& i, const HttpRequest& req) {
  auto [lo, hi] = req.query.equal_range("tag");
  for (auto it = lo; it != hi; ++it)
    if (std::find(i.spec.tags.begin(), i.spec.tags.end(), Lowercase(it->second)) == i.spec.tags.end()) return false;
  return true;
}

// ?near=_agent or ?near=NODE: that node's instances first (basefs has no
// network coordinates yet; docs/http.md).
std::vector<const CatalogInstance*> Ordered(const Catalog& cat, std::vector<const CatalogInstance*> rows,
                                            const HttpRequest& req) {
  if (!req.Has("near")) return rows;
  const std::string near = req.Get("near") == "_agent" ? cat.self : req.Get("near");
  std::stable_partition(rows.begin(), rows.end(), [&](const CatalogInstance* i) { return i->node == near; });
  return rows;
}

std::vector<const CatalogInstance*> InstancesOf(const Catalog& cat, const std::string& service,
                                                const HttpRequest& req) {
  std::vector<const CatalogInstance*> rows;
  const std::string want = Lowercase(service);
  for (const auto& i : cat.instances)
    if (i.service == want && HasTags(i, req)) rows.push_back(&i);
  return Ordered(cat, std::move(rows), req);
}

// ?filter= over the rows an endpoint returns.
Result<json> Filtered(const HttpRequest& req, json rows) {
  if (req.Get("filter").empty()) return rows;
  BASEFS_ASSIGN_OR_RETURN(Filter f, Filter::Parse(req.Get("filter")));
  json out = rows.is_array() ? json::array() : json::object();
  for (auto it = rows.begin(); it != rows.end(); ++it) {
    if (!f.Matches(*it)) continue;
    if (rows.is_array())
      out.push_back(*it);
    else
      out[it.key()] = *it;
  }
  return out;
}

HttpResponse JsonRows(const HttpRequest& req, json rows) {
  auto filtered = Filtered(req, std::move(rows));
  if (!filtered.ok()) return Failed(filtered.status());
  return Json(req, *filtered, true);
}

// Looks a field up the way Go's encoding/json does: case-insensitively
// (python-consul sends "name", "port", ...).
const json* Field(const json& obj, std::string_view name) {
  if (!obj.is_object()) return nullptr;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& k = it.key();
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return &*it;
  }
  return nullptr;
}

Result<std::string> StringField(const json& obj, std::string_view name) {
  const json* f = Field(obj, name);
  if (!f || f->is_null()) return std::string();
  if (!f->is_string()) return Invalid(std::string(name) + " must be a string");
  return f->get<std::string>();
}

Result<uint64_t> NumberField(const json& obj, std::string_view name, uint64_t max) {
  const json* f = Field(obj, name);
  if (!f || f->is_null()) return uint64_t{0};
  if (!f->is_number_integer() && !f->is_number_unsigned()) return Invalid(std::string(name) + " must be an integer");
  if (f->is_number_integer() && f->get<int64_t>() < 0) return Invalid(std::string(name) + " must not be negative");
  const uint64_t v = f->get<uint64_t>();
  if (v > max) return Invalid(std::string(name) + " must be at most " + std::to_string(max));
  return v;
}

Result<uint64_t> ParseUint(const std::string& s, const char* what) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty())
    return Invalid(std::string(what) + " must be a non-negative integer");
  return v;
}

// --- Agent -----------------------------------------------------------------

const CatalogInstance* OwnInstance(const Catalog& cat, const std::string& id) {
  for (const auto& i : cat.instances)
    if (i.node == cat.self && i.id == Lowercase(id)) return &i;
  return nullptr;
}

HttpResponse AgentSelf(const HttpRequest& req, ConsulBackend& b) {
  const Catalog& cat = b.catalog();
  json member = json::object();
  std::string node_id;
  if (const CatalogNode* n = cat.Node(cat.self)) {
    member = MemberJson(cat, *n);
    node_id = n->id;
  }
  return Json(req,
              json{{"Config",
                    {{"Datacenter", cat.datacenter},
                     {"PrimaryDatacenter", cat.datacenter},
                     {"NodeName", cat.self},
                     {"NodeID", node_id},
                     {"Server", false},
                     {"Revision", b.version()},
                     {"Version", "1.16.0"},
                     {"BuildDate", ""}}},
                   {"Coord", nullptr},
                   {"Member", member},
                   {"Meta", {{"consul-network-segment", ""}}},
                   {"Stats", {{"basefs", {{"version", b.version()}}}}}},
              false);
}

json AgentServices(const Catalog& cat) {
  json out = json::object();
  for (const auto& i : cat.instances)
    if (i.node == cat.self) out[i.id] = ServiceJson(cat, i, true);
  return out;
}

json AgentChecks(const Catalog& cat) {
  json out = json::object();
  for (const auto& i : cat.instances)
    if (i.node == cat.self && i.checks.size() > 1) out[i.checks.back().check_id] = CheckJson(i.checks.back());
  return out;
}

// Registration: a JSON body in the shape of Consul's AgentServiceRegistration.
Result<Registration> ParseRegistration(const std::string& body, const std::string& self) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Invalid("the body must be a JSON object");
  Registration r;
  BASEFS_ASSIGN_OR_RETURN(std::string name, StringField(j, "Name"));
  BASEFS_ASSIGN_OR_RETURN(std::string id, StringField(j, "ID"));
  if (name.empty()) return Invalid("missing service name (Name)");
  if (id.empty()) id = name;
  r.service = Lowercase(name);
  r.id = Lowercase(id);
  if (!IsServiceLabel(r.service))
    return Invalid("service name '" + name + "' is not a DNS label (letters, digits, '-'; basefs serves it in DNS)");
  if (!IsServiceLabel(r.id)) return Invalid("service ID '" + id + "' is not a DNS label (letters, digits, '-')");
  if (const json* kind = Field(j, "Kind"); kind && !kind->is_null() && *kind != "")
    return Invalid("service kinds (connect proxies, gateways) are not supported");
  if (const json* connect = Field(j, "Connect"); connect && !connect->is_null() && !connect->empty())
    return Invalid("Connect is not supported");
  ServiceInstance& s = r.instance;
  BASEFS_ASSIGN_OR_RETURN(uint64_t port, NumberField(j, "Port", 65535));
  if (port == 0) return Invalid("Port must be 1..65535 (basefs serves every instance as an SRV record)");
  s.port = static_cast<uint16_t>(port);
  BASEFS_ASSIGN_OR_RETURN(s.address, StringField(j, "Address"));
  if (!s.address.empty() && !ParseHostPort(s.address + ":1").ok() && !ParseHostPort("[" + s.address + "]:1").ok())
    return Invalid("Address must be an IPv4 or IPv6 address, not '" + s.address + "'");
  if (const json* tags = Field(j, "Tags"); tags && !tags->is_null()) {
    if (!tags->is_array()) return Invalid("Tags must be a list of strings");
    for (const auto& t : *tags) {
      if (!t.is_string()) return Invalid("Tags must be a list of strings");
      const std::string tag = Lowercase(t.get<std::string>());
      if (!IsServiceLabel(tag))
        return Invalid("tag '" + t.get<std::string>() + "' is not a DNS label (basefs serves tags in DNS names)");
      if (std::find(s.tags.begin(), s.tags.end(), tag) == s.tags.end()) s.tags.push_back(tag);
    }
  }
  if (const json* meta = Field(j, "Meta"); meta && !meta->is_null()) {
    if (!meta->is_object()) return Invalid("Meta must be an object of strings");
    for (auto it = meta->begin(); it != meta->end(); ++it) {
      if (!it->is_string()) return Invalid("Meta values must be strings");
      s.txt.emplace_back(it.key(), it->get<std::string>());
    }
    std::sort(s.txt.begin(), s.txt.end());
  }
  if (const json* w = Field(j, "Weights"); w && !w->is_null()) {
    BASEFS_ASSIGN_OR_RETURN(uint64_t passing, NumberField(*w, "Passing", 65535));
    s.weight = static_cast<uint16_t>(passing);
  }
  // One check per instance: Check, or a Checks list of one.
  const json* check = Field(j, "Check");
  if (check && check->is_null()) check = nullptr;
  if (const json* checks = Field(j, "Checks"); checks && !checks->is_null()) {
    if (!checks->is_array()) return Invalid("Checks must be a list");
    if (checks->size() > 1 || (check && !checks->empty()))
      return Invalid("basefs runs one check per service instance; give one Check");
    if (!checks->empty()) check = &(*checks)[0];
  }
  if (check) {
    if (!check->is_object()) return Invalid("Check must be an object");
    BASEFS_ASSIGN_OR_RETURN(std::string http, StringField(*check, "HTTP"));
    BASEFS_ASSIGN_OR_RETURN(std::string tcp, StringField(*check, "TCP"));
    BASEFS_ASSIGN_OR_RETURN(std::string ttl, StringField(*check, "TTL"));
    BASEFS_ASSIGN_OR_RETURN(std::string script, StringField(*check, "Script"));
    const json* args = Field(*check, "Args");
    if (!script.empty() || (args && !args->is_null()))
      return Invalid(
          "script checks cannot be registered through the API (as with Consul's enable_script_checks "
          "off); write the service file with 'basefs publish --check-script'");
    const int kinds = !http.empty() + !tcp.empty() + !ttl.empty();
    if (kinds != 1) return Invalid("a Check needs exactly one of HTTP, TCP or TTL");
    HealthCheck& c = s.check;
    if (!ttl.empty()) {
      c.kind = HealthCheck::Kind::kTtl;
      BASEFS_ASSIGN_OR_RETURN(c.interval_ms, ParseDuration(ttl));
      c.timeout_ms = c.interval_ms;
    } else {
      c.kind = http.empty() ? HealthCheck::Kind::kTcp : HealthCheck::Kind::kHttp;
      c.target = http.empty() ? tcp : http;
      BASEFS_ASSIGN_OR_RETURN(std::string interval, StringField(*check, "Interval"));
      BASEFS_ASSIGN_OR_RETURN(std::string timeout, StringField(*check, "Timeout"));
      if (!interval.empty()) {
        BASEFS_ASSIGN_OR_RETURN(c.interval_ms, ParseDuration(interval));
      }
      if (!timeout.empty()) {
        BASEFS_ASSIGN_OR_RETURN(c.timeout_ms, ParseDuration(timeout));
      }
      if (timeout.empty()) c.timeout_ms = std::min(c.timeout_ms, c.interval_ms);
    }
  }
  (void)self;
  BASEFS_RETURN_IF_ERROR(ValidateServiceInstance(s));
  return r;
}

HttpResponse Register(const HttpRequest& req, ConsulBackend& b) {
  auto r = ParseRegistration(req.body, b.catalog().self);
  if (!r.ok()) return Failed(r.status());
  const std::string text = FormatServiceFile(r->instance);
  if (!ParseServiceFile(text).ok()) return Error(500, "the service file would not read back");
  const std::string dir = "/services/" + r->service, path = dir + "/" + r->id;
  // The same ID under another service of this node is replaced (an ID
  // names one service on an agent).
  std::vector<std::string> stale;
  const Catalog& cat = b.catalog();
  for (const auto& i : cat.instances)
    if (i.node == cat.self && i.id == r->id && i.path != path) stale.push_back(i.path);
  if (!b.store().Stat(dir).ok()) {
    if (Status st = b.Mkdir(dir); !st.ok()) return Failed(st);
  }
  if (auto cur = b.store().ReadFile(path); !cur.ok() || *cur != text) {
    if (Status st = b.WriteFile(path, text); !st.ok()) return Failed(st);
  }
  for (const auto& p : stale)
    if (Status st = b.Remove(p, false); !st.ok()) return Failed(st);
  return HttpResponse{};
}

HttpResponse Deregister(const std::string& id, ConsulBackend& b) {
  std::vector<std::string> paths;
  const Catalog& cat = b.catalog();
  for (const auto& i : cat.instances)
    if (i.node == cat.self && i.id == Lowercase(id)) paths.push_back(i.path);
  if (paths.empty()) return Error(404, "Unknown service ID \"" + id + "\"");
  for (const auto& p : paths)
    if (Status st = b.Remove(p, false); !st.ok()) return Failed(st);
  return HttpResponse{};
}

HttpResponse UpdateCheck(const std::string& verb, const std::string& check_id, const HttpRequest& req,
                         ConsulBackend& b) {
  std::string status, output = req.Get("note");
  if (verb == "pass" || verb == "warn" || verb == "fail") {
    status = verb == "pass" ? "passing" : verb == "warn" ? "warning" : "critical";
  } else {  // update: {"Status": ..., "Output": ...}
    const json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Error(400, "the body must be a JSON object");
    auto s = StringField(j, "Status");
    auto o = StringField(j, "Output");
    if (!s.ok() || !o.ok()) return Error(400, "Status and Output must be strings");
    status = *s;
    output = *o;
    if (status != "passing" && status != "warning" && status != "critical")
      return Error(400, "Status must be passing, warning or critical");
  }
  if (output.size() > 4096) output.resize(4096);
  const std::string prefix = "service:";
  const CatalogInstance* inst =
      check_id.rfind(prefix, 0) == 0 ? OwnInstance(b.catalog(), check_id.substr(prefix.size())) : nullptr;
  if (!inst || inst->spec.check.kind != HealthCheck::Kind::kTtl)
    return Error(404, "Unknown check ID \"" + check_id + "\" (a TTL check of a service on this node)");
  b.ReportTtl(InstanceId(inst->service, inst->id), inst->spec.check.interval_ms, status, output);
  return HttpResponse{};
}

// --- KV ---------------------------------------------------------------------

struct KvKey {
  std::string key;   // as given, without a leading '/'
  std::string path;  // the file: "/" + key without a trailing '/'
  bool folder = false;
};

Result<KvKey> ParseKey(const std::string& key, bool allow_empty) {
  KvKey k;
  k.key = key;
  if (key.empty()) {
    if (!allow_empty) return Invalid("Missing key name");
    k.path = "/";
    return k;
  }
  if (key.size() > 4096) return Invalid("key longer than 4096 bytes");
  if (key.find('\0') != std::string::npos) return Invalid("key holds a NUL byte");
  k.folder = key.back() == '/';
  std::string trimmed = "/" + (k.folder ? key.substr(0, key.size() - 1) : key);
  auto norm = NormalizePath(trimmed);
  if (!norm.ok() || *norm != trimmed)
    return Invalid("key '" + key + "' is not a path in the tree (no empty, '.' or '..' parts)");
  if (trimmed == "/.basefs" || trimmed.rfind("/.basefs/", 0) == 0)
    return Invalid(".basefs/ is the mount's status directory, not stored");
  k.path = trimmed;
  return k;
}

uint64_t CreateIndex(const PathNode* n) { return n->chain().empty() ? 0 : n->chain().front()->entry.timestamp_ms; }
uint64_t ModifyIndex(const PathNode* n) {
  return n->state().head ? n->state().head->entry.timestamp_ms : CreateIndex(n);
}

// Consul's KVPair.
Result<json> KvRow(const Store& store, const PathNode* n, const std::string& key) {
  json row{{"LockIndex", 0}, {"Key", key}, {"Flags", 0}, {"Value", nullptr}};
  if (n->state().kind != Kind::kDir) {
    if (Store::ContentSize(n) > kMaxKvReadBytes)
      return Status(Code::kTooLarge, "'" + key + "' is larger than the API serves (8 MiB); read it through the mount");
    BASEFS_ASSIGN_OR_RETURN(std::string content, store.ReadFile("/" + key));
    row["Value"] = ToBase64(reinterpret_cast<const uint8_t*>(content.data()), content.size());
  }
  row["CreateIndex"] = CreateIndex(n);
  row["ModifyIndex"] = ModifyIndex(n);
  return row;
}

// Every existing key (files as "a/b", directories as "a/") that starts
// with `prefix`, sorted; at most kMaxKvListed.
Result<std::vector<std::pair<std::string, const PathNode*>>> KeysWithPrefix(const Store& store,
                                                                            const std::string& prefix) {
  std::vector<std::pair<std::string, const PathNode*>> out;
  const size_t slash = prefix.rfind('/');
  const std::string dir_key = slash == std::string::npos ? "" : prefix.substr(0, slash + 1);
  const std::string dir_path = dir_key.empty() ? "/" : "/" + dir_key.substr(0, dir_key.size() - 1);
  auto dir = store.Stat(dir_path);
  if (!dir.ok() || (*dir)->state().kind != Kind::kDir) return out;
  std::vector<std::pair<std::string, const PathNode*>> stack{{dir_key, *dir}};
  while (!stack.empty()) {
    auto [key, node] = stack.back();
    stack.pop_back();
    for (const auto& [name, child] : node->children()) {
      if (!child->exists()) continue;
      const bool is_dir = child->state().kind == Kind::kDir;
      std::string k = key + name + (is_dir ? "/" : "");
      const bool match = k.rfind(prefix, 0) == 0;
      if (match) {
        if (out.size() >= kMaxKvListed)
          return Status(Code::kTooLarge, "more than " + std::to_string(kMaxKvListed) + " keys under '" + prefix + "'");
        out.emplace_back(k, child.get());
      }
      if (is_dir && (match || prefix.rfind(k, 0) == 0)) stack.emplace_back(std::move(k), child.get());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

HttpResponse KvGet(const HttpRequest& req, const KvKey& k, ConsulBackend& b) {
  const Store& store = b.store();
  HttpResponse not_found = Error(404, "no key '" + k.key + "'");
  not_found.blocking = true;
  not_found.body = "";
  if (req.Has("keys") || req.Has("recurse")) {
    auto keys = KeysWithPrefix(store, k.key);
    if (!keys.ok()) return Failed(keys.status());
    if (keys->empty()) return not_found;
    json rows = json::array();
    if (req.Has("keys")) {
      const std::string sep = req.Get("separator");
      std::string last;
      for (const auto& [key, node] : *keys) {
        std::string shown = key;
        if (!sep.empty()) {
          const size_t at = key.find(sep, k.key.size());
          if (at != std::string::npos) shown = key.substr(0, at + sep.size());
        }
        if (shown != last) rows.push_back(shown);
        last = std::move(shown);
      }
      return Json(req, rows, true);
    }
    size_t bytes = 0;
    for (const auto& [key, node] : *keys) {
      auto row = KvRow(store, node, key);
      if (!row.ok()) return Failed(row.status());
      bytes += Store::ContentSize(node);
      if (bytes > kMaxKvReadBytes)
        return Error(413, "the values under '" + k.key + "' are larger than the API serves at once (8 MiB)");
      rows.push_back(std::move(*row));
    }
    return JsonRows(req, std::move(rows));
  }
  auto node = store.Stat(k.path);
  if (!node.ok() || k.path == "/") return not_found;
  const bool is_dir = (*node)->state().kind == Kind::kDir;
  if (is_dir != k.folder) return not_found;
  if (req.Has("raw")) {
    if (is_dir) return not_found;
    if (Store::ContentSize(*node) > kMaxKvReadBytes) return Error(413, "larger than the API serves (8 MiB)");
    auto content = store.ReadFile(k.path);
    if (!content.ok()) return Failed(content.status());
    HttpResponse r;
    r.content_type = "application/octet-stream";
    r.body = std::move(*content);
    r.blocking = true;
    return r;
  }
  auto row = KvRow(store, *node, k.key);
  if (!row.ok()) return Failed(row.status());
  return Json(req, json::array({*row}), true);
}

// ?cas=N: 0 creates only; N > 0 changes only the revision whose
// ModifyIndex is N (this node's view: basefs is AP).
Result<bool> CasHolds(const HttpRequest& req, const Store& store, const std::string& path) {
  if (!req.Has("cas")) return true;
  BASEFS_ASSIGN_OR_RETURN(uint64_t cas, ParseUint(req.Get("cas"), "cas"));
  auto node = store.Stat(path);
  if (cas == 0) return !node.ok();
  return node.ok() && ModifyIndex(*node) == cas;
}

HttpResponse KvPut(const HttpRequest& req, const KvKey& k, ConsulBackend& b) {
  if (req.Has("acquire") || req.Has("release")) return Error(400, "sessions (acquire, release) are not supported");
  if (req.Has("flags")) {
    auto flags = ParseUint(req.Get("flags"), "flags");
    if (!flags.ok()) return Failed(flags.status());
    if (*flags != 0) return Error(400, "flags are not stored by basefs (only 0)");
  }
  if (req.body.size() > kMaxKvValueBytes) return Error(413, "Value exceeds 524288 byte limit");
  const Store& store = b.store();
  auto cas = CasHolds(req, store, k.path);
  if (!cas.ok()) return Failed(cas.status());
  if (!*cas) return Bool(false);
  if (k.folder) {
    if (auto node = store.Stat(k.path); node.ok() && (*node)->state().kind == Kind::kDir) return Bool(true);
    if (Status st = b.Mkdir(k.path); !st.ok()) return Failed(st);
    return Bool(true);
  }
  const std::string parent = k.path.substr(0, k.path.rfind('/'));
  if (!parent.empty()) {
    auto dir = store.Stat(parent);
    if (dir.ok() && (*dir)->state().kind != Kind::kDir)
      return Error(409, "'" + parent.substr(1) + "' holds a value, so '" + k.key +
                            "' cannot be a key too (basefs keys are files in a tree)");
    if (!dir.ok()) {
      if (Status st = b.Mkdir(parent); !st.ok()) return Failed(st);
    }
  }
  if (auto node = store.Stat(k.path); node.ok() && (*node)->state().kind == Kind::kDir)
    return Error(409, "'" + k.key + "' is a folder (it holds keys below it)");
  if (Status st = b.WriteFile(k.path, req.body); !st.ok()) return Failed(st);
  return Bool(true);
}

HttpResponse KvDelete(const HttpRequest& req, const KvKey& k, ConsulBackend& b) {
  const Store& store = b.store();
  if (req.Has("recurse")) {
    if (k.key.empty()) return Error(400, "refusing to delete the whole tree; delete below a prefix");
    auto keys = KeysWithPrefix(store, k.key);
    if (!keys.ok()) return Failed(keys.status());
    // Only the outermost matches: a folder goes with what it holds.
    std::vector<std::string> outer;
    for (const auto& [key, node] : *keys)
      if (outer.empty() || outer.back().back() != '/' || key.rfind(outer.back(), 0) != 0) outer.push_back(key);
    for (const auto& key : outer) {
      const std::string path = "/" + (key.back() == '/' ? key.substr(0, key.size() - 1) : key);
      if (Status st = b.Remove(path, true); !st.ok()) return Failed(st);
    }
    return Bool(true);
  }
  if (k.path == "/") return Error(400, "Missing key name");
  auto cas = CasHolds(req, store, k.path);
  if (!cas.ok()) return Failed(cas.status());
  if (req.Has("cas") && req.Get("cas") == "0") return Bool(false);
  if (!*cas) return Bool(false);
  auto node = store.Stat(k.path);
  if (!node.ok()) return Bool(true);
  if (Status st = b.Remove(k.path, false); !st.ok()) return Failed(st);
  return Bool(true);
}

// --- Catalog and health -------------------------------------------------------

json HealthRow(const Catalog& cat, const CatalogInstance& i) {
  json node;
  if (const CatalogNode* n = cat.Node(i.node)) {
    node = NodeJson(cat, *n);
  } else {
    node = json{{"ID", ""}, {"Node", i.node}, {"Address", ""}, {"Datacenter", cat.datacenter}};
  }
  json checks = json::array();
  for (const auto& c : i.checks) checks.push_back(CheckJson(c));
  return json{{"Node", node}, {"Service", ServiceJson(cat, i, false)}, {"Checks", checks}};
}

json CatalogServiceRow(const Catalog& cat, const CatalogInstance& i) {
  const CatalogNode* n = cat.Node(i.node);
  const std::string address = n ? n->address : "";
  return json{{"ID", n ? n->id : ""},
              {"Node", i.node},
              {"Address", address},
              {"Datacenter", cat.datacenter},
              {"TaggedAddresses", {{"lan", address}, {"wan", address}}},
              {"NodeMeta", {{"consul-network-segment", ""}}},
              {"ServiceKind", ""},
              {"ServiceID", i.id},
              {"ServiceName", i.service},
              {"ServiceTags", i.spec.tags},
              {"ServiceAddress", i.address},
              {"ServiceWeights", WeightsJson(i.spec)},
              {"ServiceMeta", MetaJson(i.spec)},
              {"ServicePort", i.spec.port},
              {"ServiceEnableTagOverride", false},
              {"CreateIndex", i.create_index},
              {"ModifyIndex", i.modify_index}};
}

bool NodeMetaMatches(const HttpRequest& req) {
  // Nodes carry only consul-network-segment="" as meta.
  auto [lo, hi] = req.query.equal_range("node-meta");
  for (auto it = lo; it != hi; ++it)
    if (it->second != "consul-network-segment:") return false;
  return true;
}

HttpResponse CatalogEndpoint(const std::string& what, const std::string& arg, const HttpRequest& req,
                             ConsulBackend& b) {
  const Catalog& cat = b.catalog();
  if (what == "datacenters" && arg.empty()) return Json(req, json::array({cat.datacenter}), false);
  if (what == "nodes" && arg.empty()) {
    json rows = json::array();
    if (NodeMetaMatches(req))
      for (const auto& n : cat.nodes)
        if (n.state != "left") rows.push_back(NodeJson(cat, n));
    return JsonRows(req, std::move(rows));
  }
  if (what == "node" && !arg.empty()) {
    const CatalogNode* n = cat.Node(arg);
    if (!n || n->state == "left") return Json(req, nullptr, true);
    json services = json::object();
    for (const auto& i : cat.instances)
      if (i.node == n->name) services[i.id] = ServiceJson(cat, i, false);
    return Json(req, json{{"Node", NodeJson(cat, *n)}, {"Services", services}}, true);
  }
  if (what == "services" && arg.empty()) {
    std::map<std::string, std::set<std::string>> tags;
    if (NodeMetaMatches(req))
      for (const auto& i : cat.instances) tags[i.service].insert(i.spec.tags.begin(), i.spec.tags.end());
    json out = json::object();
    for (const auto& [s, t] : tags) out[s] = std::vector<std::string>(t.begin(), t.end());
    return Json(req, out, true);
  }
  if (what == "service" && !arg.empty()) {
    json rows = json::array();
    if (NodeMetaMatches(req))
      for (const CatalogInstance* i : InstancesOf(cat, arg, req)) rows.push_back(CatalogServiceRow(cat, *i));
    return JsonRows(req, std::move(rows));
  }
  return Error(404, "no such endpoint /v1/catalog/" + what + (arg.empty() ? "" : "/" + arg));
}

HttpResponse HealthEndpoint(const std::string& what, const std::string& arg, const HttpRequest& req, ConsulBackend& b) {
  const Catalog& cat = b.catalog();
  if (arg.empty()) return Error(404, "no such endpoint /v1/health/" + what);
  json rows = json::array();
  if (what == "service") {
    const bool passing = req.Has("passing") && req.Get("passing") != "false" && req.Get("passing") != "0";
    for (const CatalogInstance* i : InstancesOf(cat, arg, req))
      if (!passing || i->passing) rows.push_back(HealthRow(cat, *i));
    return JsonRows(req, std::move(rows));
  }
  if (what == "node") {
    if (const CatalogNode* n = cat.Node(arg); n && n->state != "left") rows.push_back(CheckJson(cat.NodeCheck(*n)));
    for (const auto& i : cat.instances)
      if (i.node == arg && i.checks.size() > 1) rows.push_back(CheckJson(i.checks.back()));
    return JsonRows(req, std::move(rows));
  }
  if (what == "checks") {
    for (const CatalogInstance* i : InstancesOf(cat, arg, req))
      if (i->checks.size() > 1) rows.push_back(CheckJson(i->checks.back()));
    return JsonRows(req, std::move(rows));
  }
  if (what == "state") {
    if (arg != "any" && arg != "passing" && arg != "warning" && arg != "critical")
      return Error(400, "Bad check state '" + arg + "': any, passing, warning or critical");
    const auto want = [&](const CatalogCheck& c) { return arg == "any" || c.status == arg; };
    for (const auto& n : cat.nodes)
      if (n.state != "left" && want(cat.NodeCheck(n))) rows.push_back(CheckJson(cat.NodeCheck(n)));
    for (const auto& i : cat.instances)
      if (i.checks.size() > 1 && want(i.checks.back())) rows.push_back(CheckJson(i.checks.back()));
    return JsonRows(req, std::move(rows));
  }
  return Error(404, "no such endpoint /v1/health/" + what + "/" + arg);
}

// --- Routing --------------------------------------------------------------------

// Splits "/v1/a/b/rest..." into {"a", "b", "rest..."}.
std::vector<std::string> Split(std::string_view path, size_t max_parts) {
  std::vector<std::string> parts;
  while (!path.empty() && parts.size() + 1 < max_parts) {
    const size_t slash = path.find('/');
    parts.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return parts;
    path.remove_prefix(slash + 1);
  }
  parts.emplace_back(path);
  return parts;
}

HttpResponse Route(const HttpRequest& req, ConsulBackend& b) {
  const std::string& m = req.method;
  const bool read = m == "GET" || m == "HEAD";
  const bool write = m == "PUT" || m == "POST";
  if (req.path.rfind("/v1/", 0) != 0) return Error(404, "no such endpoint " + req.path);
  if (req.Has("dc") && req.Get("dc") != b.catalog().datacenter)
    return Error(500,
                 "No path to datacenter '" + req.Get("dc") + "' (this cluster is '" + b.catalog().datacenter + "')");
  for (const char* p : {"ns", "partition"})
    if (req.Has(p) && !req.Get(p).empty() && req.Get(p) != "default")
      return Error(400, std::string(p) + " '" + req.Get(p) + "': basefs has only the default namespace and partition");
  const std::string rest = req.path.substr(4);
  if (req.cross_site && !read) return Error(403, "a request from another web site may not change state");
  if (req.cross_site && (rest.rfind("agent/service/deregister/", 0) == 0 || rest.rfind("agent/check/", 0) == 0))
    return Error(403, "a request from another web site may not change state");
  if (rest.rfind("kv", 0) == 0 && (rest.size() == 2 || rest[2] == '/')) {
    auto key = ParseKey(rest.size() > 3 ? rest.substr(3) : "", read || m == "DELETE");
    if (!key.ok()) return Failed(key.status());
    if (read) return KvGet(req, *key, b);
    if (write) return KvPut(req, *key, b);
    if (m == "DELETE") return KvDelete(req, *key, b);
    return Error(405, "method " + m + " not allowed on /v1/kv");
  }
  const std::vector<std::string> p = Split(rest, 4);
  const std::string& group = p[0];
  const std::string what = p.size() > 1 ? p[1] : "";
  const auto tail = [&](size_t from) {
    std::string out;
    for (size_t i = from; i < p.size(); ++i) out += (i > from ? "/" : "") + p[i];
    return out;
  };
  const auto method = [&](bool ok, const char* want) {
    return ok ? std::optional<HttpResponse>()
              : std::optional<HttpResponse>(
                    Error(405, "method " + m + " not allowed on " + req.path + " (" + want + ")"));
  };
  if (group == "agent") {
    if (what == "service" && p.size() > 2 && p[2] == "register") {
      if (auto bad = method(write, "PUT")) return *bad;
      return Register(req, b);
    }
    // Consul before 1.0 took GET here, and clients still send it
    // (python3-consul); never from another site (cross_site).
    const bool legacy_get = m == "GET" && !req.cross_site;
    if (what == "service" && p.size() > 3 && p[2] == "deregister") {
      if (auto bad = method(write || legacy_get, "PUT")) return *bad;
      return Deregister(p[3], b);
    }
    if (what == "check" && p.size() > 3 && (p[2] == "pass" || p[2] == "warn" || p[2] == "fail" || p[2] == "update")) {
      if (auto bad = method(write || (legacy_get && p[2] != "update"), "PUT")) return *bad;
      return UpdateCheck(p[2], p[3], req, b);
    }
    if (auto bad = method(read, "GET")) return *bad;
    const Catalog& cat = b.catalog();
    if (what == "self" && p.size() == 2) return AgentSelf(req, b);
    if (what == "members" && p.size() == 2) {
      json rows = json::array();
      for (const auto& n : cat.nodes) rows.push_back(MemberJson(cat, n));
      return JsonRows(req, std::move(rows));
    }
    if (what == "services" && p.size() == 2) return JsonRows(req, AgentServices(cat));
    if (what == "checks" && p.size() == 2) return JsonRows(req, AgentChecks(cat));
    if (what == "service" && p.size() == 3) {
      const CatalogInstance* i = OwnInstance(cat, p[2]);
      if (!i) return Error(404, "unknown service ID \"" + p[2] + "\"");
      return Json(req, ServiceJson(cat, *i, true), true);
    }
    if (what == "metrics" && p.size() == 2) {
      if (req.Get("format") != "prometheus")
        return Error(400, "basefs serves its metrics as Prometheus text: add ?format=prometheus");
      HttpResponse r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = b.metrics();
      return r;
    }
  } else if (group == "catalog" && !what.empty()) {
    if (auto bad = method(read, "GET")) return *bad;
    return CatalogEndpoint(what, tail(2), req, b);
  } else if (group == "health" && !what.empty()) {
    if (auto bad = method(read, "GET")) return *bad;
    return HealthEndpoint(what, tail(2), req, b);
  } else if (group == "status" && p.size() == 2) {
    if (auto bad = method(read, "GET")) return *bad;
    const Catalog& cat = b.catalog();
    const CatalogNode* self = cat.Node(cat.self);
    if (what == "leader") return Json(req, self ? self->addr : "", false);
    if (what == "peers") {
      json peers = json::array();
      for (const auto& n : cat.nodes)
        if (n.alive) peers.push_back(n.addr);
      return Json(req, peers, false);
    }
  } else if (group == "internal" && what == "ui" && p.size() == 3) {
    return HandleConsoleRequest(p[2], req, b);
  } else {
    static const std::set<std::string> kUnsupported = {
        "acl",      "session", "query",     "connect",   "event",   "txn",      "operator",        "coordinate",
        "snapshot", "config",  "namespace", "partition", "peering", "internal", "discovery-chain", "lock"};
    if (kUnsupported.count(group))
      return Error(501, "/v1/" + group + " is not supported by basefs (docs/http.md lists what is)");
  }
  return Error(404, "no such endpoint " + req.path);
}

}  // namespace

HttpResponse HandleConsulRequest(const HttpRequest& req, ConsulBackend& backend) {
  try {
    return Route(req, backend);
  } catch (const nlohmann::json::exception& e) {
    return Error(400, std::string("bad JSON: ") + e.what());
  }
}

std::string BlockingKey(const HttpRequest& req) {
  std::string key = req.method + " " + req.path + "?";
  for (const auto& [k, v] : req.query) {
    if (k == "index" || k == "wait" || k == "token") continue;
    key += k + "=" + v + "&";
  }
  return key;
}

Result<uint64_t> ParseWait(const std::string& text, uint64_t max_ms) {
  auto ms = ParseDurationMs(text);  // the service files' durations: 500ms, 10s, 5m, 1h
  if (!ms.ok()) return Invalid("Invalid wait time '" + text + "'");
  return std::min<uint64_t>(*ms, max_ms);
}

}  // namespace basefs
