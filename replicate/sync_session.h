// SyncSession: one side of a Merkle anti-entropy exchange, sans-I/O.
//
// Both sides run the same state machine. After HELLO, each side *pulls*: if
// the root digests differ it asks for summaries of "/" (its own entry
// hashes and its children's digests), then descends only into children
// whose digests differ or that it lacks, asking for the entries it does not
// hold by hash; then it asks for the blocks its new writes still lack. Each
// side answers the other's requests. When a side has nothing left to ask it
// sends DONE; the session is finished when both have. Work and bytes grow
// with the difference and the depth, not with the size of the log.
//
// A clone starts with no store: it sends an all-zero genesis in HELLO, the
// other side answers with its genesis entry, and `create_store` makes the
// replica from it.
//
// Everything received is verified by the store before it is kept; a peer
// that sends garbage, lies, or stalls can only end the session (the driver
// enforces the deadline and the idle timeout).
//
// Thread-safety: none; one thread drives a session.
#pragma once

#include <deque>
#include <functional>
#include <set>
#include <string>

#include "replicate/sync_format.h"
#include "store/store.h"

namespace basefs {

struct SyncOptions {
  size_t max_requests_in_flight = 4;
  // Stop asking for what the peer does not seem to have after this many
  // rounds without progress.
  int max_idle_want_rounds = 2;
};

struct SyncStats {
  uint64_t bytes_in = 0, bytes_out = 0;
  uint64_t requests = 0;  // summary and want requests sent (round trips)
  uint64_t entries_new = 0, blocks_received = 0;
};

class SyncSession {
 public:
  using CreateStore = std::function<Result<Store*>(std::string_view genesis_bytes)>;
  // `store` may be null only for a clone (then `create_store` is required).
  explicit SyncSession(Store* store, SyncOptions options = SyncOptions(), CreateStore create_store = nullptr);

  // Queues HELLO. Call once.
  void Start();
  // Feeds bytes from the peer. A non-OK status ends the session (close it).
  Status Feed(std::string_view bytes);
  // Bytes to send to the peer (and clears them).
  std::string TakeOutput();
  bool finished() const { return done_sent_ && peer_done_ && in_flight_ == 0 && (in_sync_ || rounds_ >= kMaxRounds); }
  const SyncStats& stats() const { return stats_; }
  // Progress callback for clones: entries and blocks received so far.
  void set_progress(std::function<void(const SyncStats&)> fn) { progress_ = std::move(fn); }

 private:
  Status Handle(const SyncMsg& m);
  void Send(const SyncMsg& m);
  void Pump();
  // Both sides done: if the digests still differ (entries one side held
  // waiting were released meanwhile), pull again, a bounded number of times.
  void MaybeAnotherRound();
  static constexpr int kMaxRounds = 8;
  void Compare(const PathSummary& s);
  PathSummary Summarize(const SummaryRef& ref) const;
  // This node's children of `node` in `bucket`, with their digests.
  std::vector<std::pair<std::string, Hash>> BucketChildren(const PathNode* node, const std::string& bucket) const;
  // Digest of a list of (name, digest), in name order.
  static Hash ListDigest(const std::vector<std::pair<std::string, Hash>>& children);

  Store* store_;
  SyncOptions options_;
  CreateStore create_store_;
  FrameReader reader_;
  std::string out_;
  bool hello_seen_ = false;
  bool done_sent_ = false;
  bool peer_done_ = false;
  size_t in_flight_ = 0;
  std::deque<SummaryRef> paths_;  // to summarise
  // Requests in flight, in order: the paths of a summary request, or empty
  // for a want (answers come back in the order of the requests).
  std::deque<std::vector<SummaryRef>> outstanding_;
  std::deque<Hash> wanted_;  // entries to fetch
  std::set<Hash> asked_;     // never ask twice in one session
  int idle_rounds_ = 0;
  bool want_phase_ = false;
  uint64_t last_progress_ = 0;
  Hash peer_digest_{};
  bool in_sync_ = false;
  int rounds_ = 1;
  SyncStats stats_;
  std::function<void(const SyncStats&)> progress_;
};

}  // namespace basefs
