// The web console's data (docs/console.md): /v1/internal/ui/*, what
// Consul's own UI has under the same prefix, plus what only basefs has —
// the tree, each file's signed history, grants. Every answer is a
// blocking read, so the console updates through blocking queries.
#include <algorithm>

#include "api/consul_api.h"
#include "base/crypto.h"
#include "store/store.h"
#include "zones/names.h"

namespace basefs {
namespace {

using json = nlohmann::ordered_json;

inline constexpr size_t kConsolePreviewBytes = 256 * 1024;
inline constexpr size_t kConsolePage = 1000;

HttpResponse Rows(const HttpRequest& req, json j) {
  HttpResponse r;
  r.body = req.Has("pretty") ? j.dump(2) : j.dump();
  r.blocking = true;
  return r;
}

HttpResponse Fail(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = json{{"error", message}}.dump() + "\n";
  return r;
}

// Text when it is valid UTF-8 without NULs (json::dump would throw on
// invalid UTF-8 otherwise); binary files are shown as such.
bool LooksLikeText(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string Cut(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) >> 6) == 0x2) --end;
  s.resize(end);
  return s;
}

// The directory whose grant let `author` write entries of `node`, or "/"
// for the root key; "" when none does (the entry is outside the view).
std::string GrantPath(const View& v, const PublicKey& author, const PathNode* node) {
  const int level = v.AuthorityLevel(author, node);
  if (level < 0) return "/";
  for (const PathNode* p = node->parent(); p; p = p->parent())
    if (p->depth() == level) return p->FullPath();
  return "";
}

json Members(const Catalog& cat) {
  json rows = json::array();
  for (const auto& n : cat.nodes) {
    json services = json::array();
    for (const auto& i : cat.instances)
      if (i.node == n.name) services.push_back(i.service + "/" + i.id);
    rows.push_back(json{{"name", n.name},
                        {"address", n.addr},
                        {"state", n.state},
                        {"since", n.state_since_ms},
                        {"incarnation", n.incarnation},
                        {"key", n.key},
                        {"self", n.name == cat.self},
                        {"services", services}});
  }
  return rows;
}

json Services(const Catalog& cat) {
  json rows = json::array();
  for (const auto& i : cat.instances) {
    json checks = json::array();
    for (const auto& c : i.checks)
      checks.push_back(json{{"id", c.check_id}, {"name", c.name}, {"status", c.status}, {"output", c.output}});
    const CatalogNode* n = cat.Node(i.node);
    rows.push_back(json{{"service", i.service},
                        {"id", i.id},
                        {"node", i.node},
                        {"address", i.address.empty() ? i.node_address : i.address},
                        {"port", i.spec.port},
                        {"tags", i.spec.tags},
                        {"path", i.path},
                        {"node_state", n ? n->state : "unknown"},
                        {"status", i.passing   ? "passing"
                                   : i.serving ? "warning"
                                               : "critical"},
                        {"checks", checks}});
  }
  return json{{"instances", rows}, {"bad_files", [&] {
                                      json bad = json::array();
                                      for (const auto& b : cat.bad_files)
                                        bad.push_back(json{{"path", b.path}, {"reason", b.reason}});
                                      return bad;
                                    }()}};
}

Result<const PathNode*> Find(const Store& store, const std::string& path) {
  auto norm = NormalizePath(path.empty() ? "/" : path);
  if (!norm.ok()) return norm.status();
  const PathNode* n = store.view().FindPath(*norm);
  if (!n) return NotFound("nothing at " + *norm);
  return n;
}

json EntryRow(const View& v, const ViewEntry* ve) {
  return json{{"hash", ToHex(ve->hash)},
              {"parent", ve->parent ? ToHex(ve->parent->hash) : ""},
              {"action", ActionName(ve->entry.action)},
              {"author", ToBase64(ve->entry.author)},
              {"grant", GrantPath(v, ve->entry.author, ve->path)},
              {"timestamp", ve->entry.timestamp_ms},
              {"size", ve->entry.size},
              {"in_view", ve->on_chain},
              {"effective", ve->effective},
              {"complete", ve->complete}};
}

HttpResponse Tree(const HttpRequest& req, const Store& store) {
  auto n = Find(store, req.Get("path"));
  if (!n.ok()) return Fail(404, n.status().message());
  const PathNode* dir = *n;
  if (!dir->exists()) return Fail(404, dir->FullPath() + " was removed");
  const size_t offset = req.Has("offset") ? std::strtoull(req.Get("offset").c_str(), nullptr, 10) : 0;
  const size_t limit = std::clamp<size_t>(
      req.Has("limit") ? std::strtoull(req.Get("limit").c_str(), nullptr, 10) : kConsolePage, 1, kConsolePage);
  json entries = json::array();
  size_t total = 0;
  for (const auto& [name, child] : dir->children()) {
    if (!child->exists()) continue;
    if (total++ < offset || entries.size() >= limit) continue;
    const NodeState& st = child->state();
    const ViewEntry* by = st.modified ? st.modified : st.head;
    entries.push_back(json{{"name", LooksLikeText(name) ? name : "(not UTF-8)"},
                           {"kind", KindName(st.kind)},
                           {"size", st.kind == Kind::kDir ? 0 : Store::ContentSize(child.get())},
                           {"modified", by ? by->entry.timestamp_ms : 0},
                           {"author", by ? ToBase64(by->entry.author) : ""},
                           {"revisions", child->chain().size()}});
  }
  json grants = json::array();
  for (const auto& [key, granted] : dir->grants())
    if (granted) grants.push_back(ToBase64(key));
  return Rows(req, json{{"path", dir->FullPath()},
                        {"kind", KindName(dir->state().kind)},
                        {"grants", grants},
                        {"total", total},
                        {"offset", offset},
                        {"entries", entries}});
}

HttpResponse File(const HttpRequest& req, const Store& store) {
  auto n = Find(store, req.Get("path"));
  if (!n.ok()) return Fail(404, n.status().message());
  const PathNode* node = *n;
  const View& v = store.view();
  json history = json::array();
  // Every entry of the path, newest first; those on the view's chain are
  // its history, the others lost a conflict (or were not authorised).
  std::vector<const ViewEntry*> all(node->entries().begin(), node->entries().end());
  std::sort(all.begin(), all.end(), [](const ViewEntry* a, const ViewEntry* b) {
    return std::tie(b->entry.timestamp_ms, b->hash) < std::tie(a->entry.timestamp_ms, a->hash);
  });
  const bool conflicts =
      std::any_of(all.begin(), all.end(), [](const ViewEntry* e) { return e->revisions.size() > 1; });
  for (const ViewEntry* ve : all) history.push_back(EntryRow(v, ve));
  json out{{"path", node->FullPath()},
           {"kind", KindName(node->state().kind)},
           {"exists", node->exists()},
           {"size", node->exists() && node->state().kind != Kind::kDir ? Store::ContentSize(node) : 0},
           {"conflicts", conflicts},
           {"history", history}};
  // The content of the current revision, or of ?rev=HASH (for a diff).
  const ViewEntry* shown = nullptr;
  if (req.Has("rev")) {
    for (const ViewEntry* ve : all)
      if (ToHex(ve->hash) == req.Get("rev")) shown = ve;
    if (!shown) return Fail(404, "no revision " + req.Get("rev") + " of " + node->FullPath());
    if (shown->entry.action != Action::kWrite) shown = nullptr;
  } else if (node->exists() && node->state().kind == Kind::kFile) {
    shown = node->state().content;
  }
  if (shown) {
    out["revision"] = ToHex(shown->hash);
    std::unique_ptr<ContentReader> reader = store.OpenContent(shown);
    std::string content;
    if (reader) {
      auto got = reader->Read(0, kConsolePreviewBytes + 4);
      if (got.ok()) content = std::move(*got);
    }
    const uint64_t size = shown->entry.size;
    const bool text = LooksLikeText(Cut(content, kConsolePreviewBytes));
    out["binary"] = !text;
    out["truncated"] = size > kConsolePreviewBytes;
    out["content_size"] = size;
    out["content"] = text ? Cut(std::move(content), kConsolePreviewBytes) : "";
  } else if (node->state().kind == Kind::kSymlink && node->state().content) {
    out["target"] = node->state().content->entry.content;
  }
  return Rows(req, std::move(out));
}

HttpResponse Grants(const HttpRequest& req, const Store& store) {
  const View& v = store.view();
  json rows = json::array();
  if (v.has_genesis()) rows.push_back(json{{"path", "/"}, {"key", ToBase64(v.root_key())}, {"root", true}});
  std::vector<const PathNode*> stack{v.root()};
  while (!stack.empty() && rows.size() < 100000) {
    const PathNode* n = stack.back();
    stack.pop_back();
    if (!n) continue;
    for (const auto& [key, granted] : n->grants())
      if (granted) rows.push_back(json{{"path", n->FullPath()}, {"key", ToBase64(key)}, {"root", false}});
    for (auto it = n->children().rbegin(); it != n->children().rend(); ++it) stack.push_back(it->second.get());
  }
  return Rows(req, std::move(rows));
}

}  // namespace

HttpResponse HandleConsoleRequest(const std::string& what, const HttpRequest& req, ConsulBackend& b) {
  if (req.method != "GET" && req.method != "HEAD") return Fail(405, "the console's data is read-only");
  if (what == "members") return Rows(req, Members(b.catalog()));
  if (what == "services") return Rows(req, Services(b.catalog()));
  if (what == "tree") return Tree(req, b.store());
  if (what == "file") return File(req, b.store());
  if (what == "grants") return Grants(req, b.store());
  if (what == "node") {
    const Catalog& cat = b.catalog();
    return Rows(req, json{{"name", cat.self}, {"datacenter", cat.datacenter}, {"version", b.version()}});
  }
  return Fail(404, "no such console endpoint " + what);
}

}  // namespace basefs
