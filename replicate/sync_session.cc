#include "replicate/sync_session.h"

#include <algorithm>

namespace basefs {

SyncSession::SyncSession(Store* store, SyncOptions options, CreateStore create_store)
    : store_(store), options_(options), create_store_(std::move(create_store)) {
  assert(store_ || create_store_);
}

void SyncSession::Start() {
  HelloMsg h;
  if (store_) {
    h.genesis = store_->view().genesis();
    h.root_digest = store_->view().RootDigest();
  }
  Send(h);
}

void SyncSession::Send(const SyncMsg& m) {
  const std::string f = EncodeFrame(m);
  stats_.bytes_out += f.size();
  out_ += f;
}

std::string SyncSession::TakeOutput() {
  std::string o;
  o.swap(out_);
  return o;
}

Status SyncSession::Feed(std::string_view bytes) {
  stats_.bytes_in += bytes.size();
  reader_.Append(bytes);
  while (true) {
    auto next = reader_.Next();
    if (!next.ok()) return next.status();
    if (!next->has_value()) return Status::Ok();
    BASEFS_RETURN_IF_ERROR(Handle(**next));
  }
}

namespace {
const char kHexDigits[] = "0123456789abcdef";

bool InBucket(const Hash& name_hash, const std::string& bucket) {
  for (size_t i = 0; i < bucket.size(); ++i)
    if (kHexDigits[BucketDigit(name_hash, i)] != bucket[i]) return false;
  return true;
}

// Answers stay well under the frame limit: a request whose answer would
// not fit is answered in part and the rest asked again.
constexpr size_t kMaxAnswerBytes = 4u << 20;
// What a peer can make one session hold.
constexpr size_t kMaxQueued = 1u << 20;
}  // namespace

std::vector<std::pair<std::string, Hash>> SyncSession::BucketChildren(const PathNode* node,
                                                                      const std::string& bucket) const {
  std::vector<std::pair<std::string, Hash>> out;
  if (!node) return out;
  for (const auto& [name, child] : node->children())
    if (InBucket(child->name_hash(), bucket)) out.emplace_back(name, store_->view().Digest(child.get()));
  return out;
}

Hash SyncSession::ListDigest(const std::vector<std::pair<std::string, Hash>>& children) {
  Hasher h;
  h.Update(std::string_view("basefs-bucket-v1"));
  for (const auto& [name, digest] : children) {
    const char len = static_cast<char>(name.size());
    h.Update(std::string_view(&len, 1));
    h.Update(name);
    h.Update(digest);
  }
  return h.Finish();
}

PathSummary SyncSession::Summarize(const SummaryRef& ref) const {
  PathSummary s;
  s.path = ref.path;
  s.bucket = ref.bucket;
  const PathNode* n = store_->view().FindPath(ref.path);
  if (!n) return s;
  s.known = true;
  if (ref.bucket.empty()) {
    for (const ViewEntry* e : n->entries()) s.entries.push_back(e->hash);
    std::sort(s.entries.begin(), s.entries.end());
  }
  auto children = BucketChildren(n, ref.bucket);
  if (children.size() <= kListLimit || ref.bucket.size() >= kMaxBucketDigits) {
    s.children = std::move(children);
    return s;
  }
  std::vector<std::pair<std::string, Hash>> sub[16];
  for (auto& c : children) sub[BucketDigit(HashBytes(c.first), ref.bucket.size())].push_back(std::move(c));
  for (uint8_t d = 0; d < 16; ++d)
    if (!sub[d].empty()) s.sub_buckets.emplace_back(d, ListDigest(sub[d]));
  return s;
}

void SyncSession::Compare(const PathSummary& s) {
  if (!s.known) return;
  const PathNode* mine = store_->view().FindPath(s.path);
  if (s.bucket.empty()) {
    std::set<Hash> have;
    if (mine)
      for (const ViewEntry* e : mine->entries()) have.insert(e->hash);
    for (const Hash& h : s.entries)
      if (!have.count(h) && asked_.insert(h).second) wanted_.push_back(h);
  }
  for (const auto& [name, digest] : s.children) {
    if (!ValidateName(name).ok() || !InBucket(HashBytes(name), s.bucket)) continue;  // a lying peer: ignore
    const std::string child = s.path == "/" ? "/" + name : s.path + "/" + name;
    const PathNode* c = mine ? store_->view().FindPath(child) : nullptr;
    if (!c || store_->view().Digest(c) != digest) paths_.push_back({child, ""});
  }
  if (s.sub_buckets.empty() || s.bucket.size() >= kMaxBucketDigits) return;
  // Compare each sub-bucket with ours; descend where they differ.
  std::vector<std::pair<std::string, Hash>> sub[16];
  for (auto& c : BucketChildren(mine, s.bucket))
    sub[BucketDigit(HashBytes(c.first), s.bucket.size())].push_back(std::move(c));
  for (const auto& [digit, digest] : s.sub_buckets) {
    if (!sub[digit].empty() && ListDigest(sub[digit]) == digest) continue;
    paths_.push_back({s.path, s.bucket + kHexDigits[digit]});
  }
}

void SyncSession::Pump() {
  if (!store_ || !hello_seen_) return;
  while (in_flight_ < options_.max_requests_in_flight) {
    if (!wanted_.empty()) {
      WantMsg w;
      while (!wanted_.empty() && w.hashes.size() < kMaxWantHashesPerRequest) {
        w.hashes.push_back(wanted_.front());
        wanted_.pop_front();
      }
      Send(w);
      ++in_flight_;
      ++stats_.requests;
      outstanding_.push_back({});
      continue;
    }
    if (!paths_.empty()) {
      SummaryReqMsg r;
      std::set<std::pair<std::string, std::string>> seen;
      while (!paths_.empty() && r.paths.size() < kMaxSummaryPaths) {
        if (seen.insert({paths_.front().path, paths_.front().bucket}).second) r.paths.push_back(paths_.front());
        paths_.pop_front();
      }
      outstanding_.push_back(r.paths);
      Send(r);
      ++in_flight_;
      ++stats_.requests;
      continue;
    }
    break;
  }
  if (in_flight_ > 0 || done_sent_) return;
  // Descent finished: fetch what the new entries still lack (blocks, and
  // parents held in the wait pool), for as long as answers bring progress.
  if (idle_rounds_ < options_.max_idle_want_rounds) {
    std::vector<Hash> missing = store_->Wanted(kMaxWantHashesPerRequest);
    if (!missing.empty()) {
      want_phase_ = true;
      Send(WantMsg{missing});
      ++in_flight_;
      ++stats_.requests;
      outstanding_.push_back({});
      return;
    }
  }
  done_sent_ = true;
  Send(DoneMsg{store_->view().RootDigest()});
  MaybeAnotherRound();
}

void SyncSession::MaybeAnotherRound() {
  if (!done_sent_ || !peer_done_ || in_flight_ > 0) return;
  in_sync_ = peer_digest_ == store_->view().RootDigest();
  if (in_sync_ || rounds_ >= kMaxRounds) return;
  ++rounds_;
  done_sent_ = false;
  idle_rounds_ = 0;
  want_phase_ = false;
  paths_.push_back({"/", ""});
  Pump();
}

Status SyncSession::Handle(const SyncMsg& msg) {
  if (const auto* h = std::get_if<HelloMsg>(&msg)) {
    if (hello_seen_) return Invalid("sync: second HELLO");
    if (h->version != kSyncVersion) return Invalid("sync: unsupported version " + std::to_string(h->version));
    hello_seen_ = true;
    if (!store_) {
      if (IsZero(h->genesis)) return Invalid("sync: the peer has no filesystem to clone");
      return Status::Ok();  // wait for GENESIS
    }
    if (IsZero(h->genesis)) {
      // The peer clones from us.
      Send(GenesisMsg{*store_->EntryBytes(store_->view().genesis())});
    } else if (h->genesis != store_->view().genesis()) {
      Send(ErrorMsg{"different filesystem"});
      return Invalid("sync: the peer serves a different filesystem");
    }
    if (IsZero(h->genesis) || h->root_digest != store_->view().RootDigest()) {
      if (!IsZero(h->genesis)) paths_.push_back({"/", ""});
    }
    Pump();
    return Status::Ok();
  }
  if (!hello_seen_) return Invalid("sync: message before HELLO");
  if (const auto* g = std::get_if<GenesisMsg>(&msg)) {
    if (store_) return Invalid("sync: unexpected GENESIS");
    BASEFS_ASSIGN_OR_RETURN(store_, create_store_(g->entry));
    // Our HELLO said we have nothing; the peer does not pull from us.
    paths_.push_back({"/", ""});
    Pump();
    return Status::Ok();
  }
  if (!store_) return Invalid("sync: no GENESIS from the peer");
  if (const auto* r = std::get_if<SummaryReqMsg>(&msg)) {
    peer_done_ = false;  // a request after DONE: the peer started another round
    SummaryMsg s;
    size_t bytes = 0;
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& p : r->paths) {
      auto norm = NormalizePath(p.path);
      if (!norm.ok()) return Invalid("sync: bad path in request");
      if (!seen.insert({*norm, p.bucket}).second) continue;  // asked twice in one request
      PathSummary one = Summarize({*norm, p.bucket});
      bytes += one.path.size() + one.entries.size() * kHashBytes + one.children.size() * 300 + 16 * 33;
      // The first answer always goes (a single path's history bounds it);
      // past the budget the rest is left for the peer to ask again.
      if (!s.paths.empty() && bytes > kMaxAnswerBytes) break;
      s.paths.push_back(std::move(one));
    }
    Send(s);
    return Status::Ok();
  }
  if (const auto* s = std::get_if<SummaryMsg>(&msg)) {
    if (in_flight_ == 0 || outstanding_.empty() || outstanding_.front().empty())
      return Invalid("sync: unrequested SUMMARY");
    --in_flight_;
    std::vector<SummaryRef> asked = std::move(outstanding_.front());
    outstanding_.pop_front();
    std::set<std::pair<std::string, std::string>> expected;
    for (const auto& r : asked) expected.insert({r.path, r.bucket});
    for (const auto& p : s->paths) {
      if (!expected.erase({p.path, p.bucket})) return Invalid("sync: summary of something not asked");
      Compare(p);
    }
    // A partial answer: ask for the rest again.
    for (const auto& r : asked)
      if (expected.count({r.path, r.bucket})) paths_.push_back(r);
    if (paths_.size() > kMaxQueued || wanted_.size() > kMaxQueued || asked_.size() > 4 * kMaxQueued)
      return Invalid("sync: the peer's summaries exceed this session's limits");
    Pump();
    return Status::Ok();
  }
  if (const auto* w = std::get_if<WantMsg>(&msg)) {
    peer_done_ = false;
    ObjectsMsg o;
    for (const Hash& h : w->hashes) {
      if (auto e = store_->EntryBytes(h)) {
        o.entries.push_back(std::move(*e));
      } else if (auto b = store_->FindBlock(h)) {
        o.blocks.push_back(std::move(*b));
      }
    }
    Send(o);
    return Status::Ok();
  }
  if (const auto* o = std::get_if<ObjectsMsg>(&msg)) {
    if (in_flight_ == 0 || outstanding_.empty() || !outstanding_.front().empty())
      return Invalid("sync: unrequested OBJECTS");
    --in_flight_;
    outstanding_.pop_front();
    Store::BulkScope bulk(store_);  // history, not news: gossip does not push it
    // Blocks first: writes that arrive with their blocks become visible at once.
    for (const auto& b : o->blocks) {
      ++stats_.blocks_received;
      (void)store_->AddBlock(b);  // junk is rejected and counted by the store
    }
    for (const auto& e : o->entries) {
      auto r = store_->AddEntry(e);
      if (r.ok() && *r == Placement::kReady) ++stats_.entries_new;
    }
    if (!o->blocks.empty()) {
      // Blocks may have arrived before the entries that need them.
      for (const auto& b : o->blocks) (void)store_->AddBlock(b);
    }
    // In the want phase, an answer that brought nothing counts as idle.
    const uint64_t got = stats_.entries_new + store_->log().block_count();
    if (want_phase_) idle_rounds_ = got == last_progress_ ? idle_rounds_ + 1 : 0;
    last_progress_ = got;
    if (progress_) progress_(stats_);
    Pump();
    return Status::Ok();
  }
  if (const auto* d = std::get_if<DoneMsg>(&msg)) {
    peer_done_ = true;
    peer_digest_ = d->root_digest;
    MaybeAnotherRound();
    return Status::Ok();
  }
  if (const auto* e = std::get_if<ErrorMsg>(&msg)) return Invalid("sync: the peer says: " + e->message);
  return Invalid("sync: unexpected message");
}

}  // namespace basefs
