#include "daemon/handlers.h"

#include <algorithm>

#include "store/entry_format.h"

namespace basefs {

Result<HandlerSpec> ParseHandler(std::string_view spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string_view::npos)
    return Invalid("bad --handler '" + std::string(spec) + "': expected 'GLOB=COMMAND'");
  HandlerSpec h{std::string(spec.substr(0, eq)), std::string(spec.substr(eq + 1))};
  if (h.glob.empty() || h.glob[0] != '/')
    return Invalid("bad --handler glob '" + h.glob + "': it must be an absolute path pattern such as '/services/**'");
  if (h.glob.size() > kMaxPathBytes) return Invalid("--handler glob longer than 4096 bytes");
  if (h.command.empty()) return Invalid("bad --handler '" + std::string(spec) + "': the command is empty");
  if (h.command.size() > kMaxHandlerCommandBytes) return Invalid("--handler command longer than 64 KiB");
  return h;
}

namespace {

enum class Tok : uint8_t { kChar, kOne, kStar, kStarStar, kStarStarSlash };

}  // namespace

// Dynamic programming over (glob token, path prefix): O(|glob| * |path|)
// time and O(|path|) memory whatever the pattern, so no path from the
// network can make a match expensive.
bool GlobMatch(std::string_view glob, std::string_view path) {
  std::vector<std::pair<Tok, char>> toks;
  for (size_t i = 0; i < glob.size(); ++i) {
    if (glob[i] == '*' && i + 1 < glob.size() && glob[i + 1] == '*') {
      // "/**/" matches "/" or "/.../": the token eats the following '/'.
      if (i > 0 && glob[i - 1] == '/' && i + 2 < glob.size() && glob[i + 2] == '/') {
        toks.push_back({Tok::kStarStarSlash, 0});
        i += 2;
      } else {
        toks.push_back({Tok::kStarStar, 0});
        ++i;
      }
      while (i + 1 < glob.size() && glob[i + 1] == '*') ++i;  // "***" is "**"
    } else if (glob[i] == '*') {
      toks.push_back({Tok::kStar, 0});
    } else if (glob[i] == '?') {
      toks.push_back({Tok::kOne, 0});
    } else {
      toks.push_back({Tok::kChar, glob[i]});
    }
  }
  const size_t n = path.size();
  std::vector<char> cur(n + 1, 0), next(n + 1, 0);
  cur[0] = 1;
  for (const auto& [tok, c] : toks) {
    std::fill(next.begin(), next.end(), 0);
    bool any_before = false;  // cur[k] for some k < j
    for (size_t j = 0; j <= n; ++j) {
      switch (tok) {
        case Tok::kChar:
          if (j > 0 && cur[j - 1] && path[j - 1] == c) next[j] = 1;
          break;
        case Tok::kOne:
          if (j > 0 && cur[j - 1] && path[j - 1] != '/') next[j] = 1;
          break;
        case Tok::kStar: next[j] = cur[j] || (j > 0 && next[j - 1] && path[j - 1] != '/'); break;
        case Tok::kStarStar: next[j] = cur[j] || (j > 0 && next[j - 1]); break;
        case Tok::kStarStarSlash: next[j] = cur[j] || (any_before && path[j - 1] == '/'); break;
      }
      any_before = any_before || cur[j];
    }
    std::swap(cur, next);
  }
  return cur[n] != 0;
}

const char* EventTypeFor(const View& view, const Change& c) {
  switch (c.cause) {
    case Action::kMkdir: return "mkdir";
    case Action::kDelete: return "delete";
    case Action::kRevert: return "revert";
    case Action::kGrant: return "grant";
    case Action::kRevoke: return "revoke";
    case Action::kLink: return "link";
    case Action::kSlink: return "symlink";
    case Action::kMode: return "mode";
    case Action::kAttr: return "attr";
    case Action::kAck: return "update";
    case Action::kWrite: {
      const PathNode* n = view.Lookup(c.path);
      if (!n || n->chain().size() < 2) return "create";
      const ViewEntry* prev = n->chain()[n->chain().size() - 2];
      return prev->entry.action == Action::kDelete ? "create" : "update";
    }
  }
  return "update";
}

std::optional<HandlerLaunch> HandlerScheduler::OnEvent(size_t handler, const std::string& path,
                                                       const std::string& type) {
  Key key{handler, path};
  auto it = states_.find(key);
  if (it != states_.end() && it->second.pending) {
    it->second.pending_type = type;  // one pending run carries the latest event
    ++coalesced_;
    return std::nullopt;
  }
  const bool busy = it != states_.end() && it->second.running;
  if (!busy && running_ < options_.max_running) {
    states_[key].running = true;
    ++running_;
    return HandlerLaunch{handler, path, type};
  }
  if (waiting_ >= options_.max_waiting) {
    ++dropped_;
    return std::nullopt;
  }
  State& s = states_[key];
  s.pending = true;
  s.pending_type = type;
  ++waiting_;
  if (!busy) ready_.push_back(std::move(key));
  return std::nullopt;
}

std::vector<HandlerLaunch> HandlerScheduler::OnFinished(size_t handler, const std::string& path) {
  std::vector<HandlerLaunch> out;
  Key key{handler, path};
  auto it = states_.find(key);
  if (it == states_.end() || !it->second.running) return out;  // not ours
  it->second.running = false;
  --running_;
  if (it->second.pending)
    ready_.push_back(key);
  else
    states_.erase(it);
  Fill(&out);
  return out;
}

void HandlerScheduler::Fill(std::vector<HandlerLaunch>* out) {
  while (running_ < options_.max_running && !ready_.empty()) {
    Key key = std::move(ready_.front());
    ready_.pop_front();
    State& s = states_.at(key);
    s.pending = false;
    s.running = true;
    --waiting_;
    ++running_;
    out->push_back(HandlerLaunch{key.first, key.second, std::move(s.pending_type)});
  }
}

}  // namespace basefs
