#include "daemon/watchers.h"

#include <vector>

namespace basefs {

bool PathWithin(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path.compare(0, dir.size(), dir) == 0 && (path.size() == dir.size() || path[dir.size()] == '/');
}

void Watchers::Add(const std::string& path, Format format, ControlServer::Reply reply,
                   const ControlServer::Stream& stream) {
  if (watchers_.size() >= kMaxWatchers) {
    reply(ControlResponse{
        1, "",
        "basefs: watch: this daemon already serves " + std::to_string(kMaxWatchers) + " watches; end one first\n"});
    return;
  }
  const uint64_t id = next_id_++;
  watchers_[id] = Watcher{path, std::move(format), std::move(reply), stream.emit};
  stream.on_close([this, id] { watchers_.erase(id); });
}

void Watchers::OnChange(const Change& c) {
  std::vector<uint64_t> slow;
  for (auto& [id, w] : watchers_) {
    if (!PathWithin(c.path, w.path)) continue;
    const std::string line = w.format(c);
    if (!line.empty() && !w.emit(line)) slow.push_back(id);
  }
  for (uint64_t id : slow) {
    auto it = watchers_.find(id);
    const ControlServer::Reply reply = std::move(it->second.reply);
    watchers_.erase(it);
    reply(ControlResponse{1, "", "basefs: watch: the client did not keep up with the changes; stopped\n"});
  }
}

}  // namespace basefs
