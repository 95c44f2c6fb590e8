// File access without FUSE: ls, cat, write, mkdir, rm, log, revert, show.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "daemon/handlers.h"

namespace basefs {
namespace {

struct FileArgs {
  std::string name, path, arg, content;
  bool parents = false, recursive = false, long_format = false;
};

json EntryJson(const ViewEntry* ve) {
  return json{{"hash", ToHex(ve->hash)},
              {"action", ActionName(ve->entry.action)},
              {"author", ToBase64(ve->entry.author)},
              {"timestamp", ve->entry.timestamp_ms},
              {"size", ve->entry.size}};
}

// The permission bits `ls` shows: the stored ones, else the default the
// mount shows with the default umask (0644, 0755 for executables and
// directories, 0777 for links).
unsigned ShownMode(const PathNode* n, const StoredAttrs& a) {
  const NodeState& s = n->state();
  if (s.kind == Kind::kSymlink || s.kind == Kind::kLink) return 0777;
  if (a.perm) return *a.perm;
  return s.kind == Kind::kDir || s.exec ? 0755 : 0644;
}

std::string Octal(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}

// "drwxr-sr-x", as ls -l writes it.
std::string ModeString(Kind kind, unsigned mode) {
  std::string out(1, kind == Kind::kDir ? 'd' : kind == Kind::kSymlink ? 'l' : '-');
  const char* rwx = "rwx";
  for (int i = 8; i >= 0; --i) out.push_back((mode >> i) & 1 ? rwx[(8 - i) % 3] : '-');
  if (mode & kSetgidBit) out[6] = (mode & 010) ? 's' : 'S';
  return out;
}

int CmdLs(const Context& c, const FileArgs& a) {
  StoreRef store = OpenStore(c, a.name);
  const PathNode* n = OrDie(store->Stat(a.path));
  std::vector<const PathNode*> items;
  if (n->state().kind == Kind::kDir)
    items = OrDie(store->List(a.path));
  else
    items.push_back(n);
  json out = json::array();
  for (const PathNode* child : items) {
    const StoredAttrs attrs = child->Attrs();
    const unsigned mode = ShownMode(child, attrs);
    const double mtime = static_cast<double>(attrs.mtime.seconds) + attrs.mtime.nanoseconds / 1e9;
    if (c.g.json) {
      out.push_back(json{{"name", child->name()},
                         {"type", KindName(child->state().kind)},
                         {"size", Store::ContentSize(child)},
                         {"executable", child->state().exec},
                         {"mode", Octal(mode)},
                         {"owner", attrs.owner ? json(*attrs.owner) : json(nullptr)},
                         {"group", attrs.group ? json(*attrs.group) : json(nullptr)},
                         {"mtime", mtime}});
    } else if (a.long_format) {
      c.io.out << ModeString(child->state().kind, mode) << " " << attrs.owner.value_or("-") << " "
               << attrs.group.value_or("-") << " " << Store::ContentSize(child) << " "
               << FormatTime(static_cast<uint64_t>(std::max<int64_t>(0, attrs.mtime.seconds)) * 1000) << " "
               << child->name() << (child->state().kind == Kind::kDir ? "/" : "") << "\n";
    } else {
      c.io.out << child->name() << (child->state().kind == Kind::kDir ? "/" : "") << "\n";
    }
  }
  if (c.g.json) PrintJson(c, out);
  return 0;
}

// `watch`: one line per visible change at or below PATH, as it happens,
// streamed by the running daemon until this command is ended.
int CmdWatch(const Context& c, const FileArgs& a) {
  if (!c.io.daemon || !c.io.daemon->StoreFor(a.name))
    Fail(NotFound("watch streams the changes a running daemon sees: no daemon runs for '" + a.name + "' in " +
                  c.g.data_dir.root + "; start one with 'basefs run " + a.name + "'"));
  Store* store = c.io.daemon->StoreFor(a.name);
  const std::string path = OrDie(NormalizePath(a.path));
  const bool as_json = c.g.json;
  c.io.daemon->Watch(path, [store, as_json](const Change& change) {
    const char* type = EventTypeFor(store->view(), change);
    if (!as_json) return std::string(type) + " " + change.path + "\n";
    json line{{"type", type}, {"path", change.path}};
    const PathNode* n = store->view().FindPath(change.path);
    if (n && !n->chain().empty()) {
      const ViewEntry* head = n->chain().back();
      line["hash"] = ToHex(head->hash);
      line["author"] = ToBase64(head->entry.author);
      line["timestamp"] = head->entry.timestamp_ms;
    }
    line["kind"] = n ? KindName(n->state().kind) : "none";
    return line.dump() + "\n";
  });
  return 0;  // the daemon streams, and answers when the stream ends
}

int CmdCat(const Context& c, const FileArgs& a) {
  StoreRef store = OpenStore(c, a.name);
  const std::string content = OrDie(store->ReadFile(a.path));
  c.io.out.write(content.data(), static_cast<std::streamsize>(content.size()));
  return 0;
}

// The content of `write`: FILE, or standard input when absent or "-".
std::string ReadWriteSource(const Context& c, const std::string& file) {
  if (file.empty() || file == "-") return c.io.read_stdin ? c.io.read_stdin() : c.io.in;
  std::ifstream in(file, std::ios::binary);
  if (!in) Fail(NotFound("cannot read " + file));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int CmdLog(const Context& c, const FileArgs& a) {
  StoreRef store = OpenStore(c, a.name);
  const std::string path = OrDie(NormalizePath(a.path));
  const PathNode* n = store->view().Lookup(path);
  if (!n || n->chain().empty()) Fail(NotFound("no history at " + path));
  json out = json::array();
  for (auto it = n->chain().rbegin(); it != n->chain().rend(); ++it) {
    if (c.g.json) {
      out.push_back(EntryJson(*it));
    } else {
      const Entry& e = (*it)->entry;
      c.io.out << ToHex((*it)->hash) << " " << ActionName(e.action) << " " << FormatTime(e.timestamp_ms) << " "
               << ToBase64(e.author) << " " << e.size << "\n";
    }
  }
  if (c.g.json) PrintJson(c, out);
  return 0;
}

// One path of `show`: its revision tree, depth first.
void ShowPath(const Context& c, const PathNode* n, json* out) {
  json entries = json::array();
  if (!c.g.json)
    c.io.out << n->FullPath() << (n->exists() ? std::string("  [") + KindName(n->state().kind) + "]" : "  [gone]")
             << "\n";
  std::vector<std::pair<const ViewEntry*, int>> es;
  for (auto it = n->roots().rbegin(); it != n->roots().rend(); ++it) es.push_back({*it, 1});
  while (!es.empty()) {
    auto [ve, depth] = es.back();
    es.pop_back();
    const char* mark = ve->on_chain ? "*" : ve->effective ? "+" : "x";
    if (c.g.json) {
      json j = EntryJson(ve);
      j["in_view"] = ve->on_chain;
      j["effective"] = ve->effective;
      j["complete"] = ve->complete;
      entries.push_back(j);
    } else {
      c.io.out << std::string(static_cast<size_t>(depth) * 2, ' ') << mark << (ve->complete ? " " : "~")
               << ToHex(ve->hash).substr(0, 16) << " " << ActionName(ve->entry.action) << " by "
               << ToBase64(ve->entry.author).substr(0, 12) << "\n";
    }
    for (auto it = ve->revisions.rbegin(); it != ve->revisions.rend(); ++it) es.push_back({*it, depth + 1});
  }
  if (c.g.json)
    out->push_back(json{{"path", n->FullPath()}, {"type", KindName(n->state().kind)}, {"entries", entries}});
}

// Prints each path, then its revision tree: '*' on the view's chain, '+'
// effective on another branch, 'x' not part of the view (no permission),
// '~' content still incomplete.
int CmdShow(const Context& c, const FileArgs& a) {
  StoreRef store = OpenStore(c, a.name);
  json out = json::array();
  std::vector<const PathNode*> stack{store->view().root()};
  while (!stack.empty()) {
    const PathNode* n = stack.back();
    stack.pop_back();
    ShowPath(c, n, &out);
    for (auto it = n->children().rbegin(); it != n->children().rend(); ++it) stack.push_back(it->second.get());
  }
  if (c.g.json) PrintJson(c, out);
  return 0;
}

}  // namespace

void AddFileCommands(CLI::App& app, Context& c, std::vector<Subcommand>* out) {
  auto a = std::make_shared<FileArgs>();
  const auto name = [a] { return a->name; };
  const auto add = [&](CLI::App* sub, std::function<int()> run) {
    out->push_back(Subcommand::OnStore(sub, name, std::move(run)));
  };
  auto* ls = app.add_subcommand("ls", "list a directory");
  ls->add_flag("-l,--long", a->long_format,
               "mode, owner and group as the log stores them ('-': none, the mount's), size, mtime, name");
  auto* cat = app.add_subcommand("cat", "print a file");
  auto* mkdir = app.add_subcommand("mkdir", "create a directory");
  mkdir->add_flag("-p,--parents", a->parents, "create missing parents, no error if it exists");
  auto* rm = app.add_subcommand("rm", "remove a file or directory");
  rm->add_flag("-r,--recursive", a->recursive, "remove a directory and everything below it");
  auto* log = app.add_subcommand("log", "revisions of a path, newest first");
  auto* write = app.add_subcommand("write", "write a file from FILE or stdin");
  auto* revert = app.add_subcommand("revert", "revert a path to an earlier revision");
  for (auto* sub : {ls, cat, mkdir, rm, log, write, revert}) {
    sub->add_option("NAME", a->name)->required();
    sub->add_option("PATH", a->path)->required();
  }
  write->add_option("FILE", a->arg, "source file; stdin if absent or -");
  revert->add_option("REVISION", a->arg, "entry hash or a unique prefix of at least 8 hex digits")->required();
  auto* watch = app.add_subcommand(
      "watch",
      "print each change at or below PATH as it happens (local, remote, by sync) until ended; needs a "
      "running daemon; --json: one object per line");
  watch->add_option("NAME", a->name)->required();
  watch->add_option("PATH", a->path)->required();
  add(watch, [&c, a] { return CmdWatch(c, *a); });
  auto* show = app.add_subcommand("show", "the log as a tree, the view marked");
  show->add_option("NAME", a->name)->required();

  add(ls, [&c, a] { return CmdLs(c, *a); });
  add(cat, [&c, a] { return CmdCat(c, *a); });
  add(log, [&c, a] { return CmdLog(c, *a); });
  add(show, [&c, a] { return CmdShow(c, *a); });
  add(mkdir, [&c, a] {
    OrDie(OpenStore(c, a->name)->Mkdir(SigningKey(c), a->path, a->parents));
    return 0;
  });
  add(rm, [&c, a] {
    OrDie(OpenStore(c, a->name)->Remove(SigningKey(c), a->path, a->recursive));
    return 0;
  });
  add(revert, [&c, a] {
    OrDie(OpenStore(c, a->name)->Revert(SigningKey(c), a->path, a->arg));
    return 0;
  });
  add(write, [&c, a] {
    StoreRef store = OpenStore(c, a->name);
    OrDie(store->WriteFile(SigningKey(c), a->path, a->content));
    return 0;
  });
  // The content is read here, where the file and stdin are; a daemon gets it
  // as its client's stdin.
  out->back().prepare = [&c, a] { a->content = ReadWriteSource(c, a->arg); };
  out->back().forward_args = [a] { return std::vector<std::string>{"write", a->name, a->path, "-"}; };
  out->back().forward_stdin = [a] { return a->content; };
}

}  // namespace basefs
