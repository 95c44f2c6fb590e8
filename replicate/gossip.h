// Gossip: SWIM membership with failure detection, and infection-style
// dissemination of log entries and blocks, over datagrams.
//
// Membership follows SWIM (Das et al.) as refined by memberlist/Lifeguard:
// each probe interval one member, in a shuffled round-robin order, is sent a
// ping; without an ack within the probe timeout, `indirect_checks` other
// members are asked to ping it; without any ack by the end of the interval
// it becomes suspect. A suspect that does not refute within
// suspicion_mult * max(1, log10(N)) probe intervals is declared failed. A
// node refutes a suspicion (or a false failure) about itself by raising its
// incarnation number. Membership facts ride piggybacked on every probe and
// ack, are pushed to `gossip_nodes` random members every gossip interval,
// and are retransmitted retransmit_mult * ceil(log10(N + 1)) times. Now and
// then, and when joining, a node exchanges its whole member list with one
// other (push-pull), so a node that rejoins is known quickly.
//
// Entries: every entry the store accepts is pushed at once — by its writer
// to every member (small clusters) and by each receiver to ln(N) + 2 random
// members — and then piggybacked like a membership fact. A received entry goes to the EntrySink (which verifies
// and stores it); an entry whose parent or blocks are missing makes the node
// ask the sender for them (WANT), and a repair timer asks again later.
//
// Without a cluster key anyone can send datagrams with a forged source
// address, so replies larger than the request (acks with piggybacked news,
// member lists, WANTed entries) go only to addresses that answered a ping
// of ours there ("verified"). An unverified sender gets an ack if it
// pinged, and a ping of ours with a random sequence number; its ack
// verifies it, and a member list it asked for follows then. Members are
// learnt from datagrams too, so an unverified member address is sent only
// pings, acks, ping-reqs and WANTs until it answers (seeds excepted). With
// a cluster key every datagram is authenticated and every sender trusted.
//
// Membership is signed (docs/gossip_format.md, version 2). What a node says
// of itself — alive with its address and meta, left — is signed by its node
// key and relayed as it is; the first key seen for a name is pinned, and
// statements signed by another key are dropped, so nobody can move a node,
// change its meta or make it leave. Suspect and failed are observations of
// others, unsigned: they may only name an incarnation the node itself has
// signed, and before applying one about a member it believes alive a node
// pings that member; an ack makes it drop the claim (and tell the member,
// which refutes it with a signed alive at a higher incarnation). So a forged
// failure about a reachable node changes nobody's view. `admit` (the
// daemon's --members-need-grant) can refuse keys altogether.
//
// Everything reaches the network, time and randomness through the seams, so
// the same code runs on real sockets and in the in-memory simulator.
//
// Thread-safety: none; all calls and callbacks on the loop's thread.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/crypto.h"
#include "base/seams.h"
#include "replicate/gossip_format.h"
#include "store/store.h"

namespace basefs {

struct GossipOptions {
  std::string node_name;       // unique in the cluster, 1..64 bytes
  std::string advertise_addr;  // the address others send to
  uint64_t probe_interval_ms = 1000;
  uint64_t probe_timeout_ms = 500;
  int indirect_checks = 3;
  int suspicion_mult = 4;
  uint64_t gossip_interval_ms = 200;
  int gossip_nodes = 3;
  int retransmit_mult = 4;
  // Minimum number of members a received entry is forwarded to at once
  // (the actual fan-out is max(this, ln(N) + 2)).
  int eager_push_nodes = 3;
  // A node that writes an entry sends it straight to every member when the
  // cluster has at most this many; beyond, to twice the forward fan-out.
  size_t direct_push_limit = 128;
  uint64_t push_pull_interval_ms = 30000;
  uint64_t join_retry_ms = 1000;
  uint64_t repair_interval_ms = 1000;
  // Every so often a failed (not left) member is sent a push-pull, so that
  // the two sides of a healed partition find each other again.
  uint64_t reconnect_interval_ms = 10000;
  // Failed and left members are forgotten after this long.
  uint64_t reap_after_ms = 3600 * 1000;
  // Entries with more blocks than this are not pushed eagerly with their
  // blocks; receivers ask for the blocks instead.
  size_t eager_block_limit = 16;
  // Bounds on what peers can make this node hold.
  size_t max_queue = 1024;
  size_t max_members = 10000;
  // This node's key: signs its own membership statements. A zero key
  // (tests that do not care) is replaced by a fresh one.
  KeyPair node_key;
  // Whether a node key may be a member (null: every key). Asked for every
  // signed statement; Recheck() asks again for the members there are.
  std::function<bool(const PublicKey&)> admit;
};

// What gossip needs from the store. The daemon implements it on a Store;
// tests may implement it on anything.
class EntrySink {
 public:
  virtual ~EntrySink() = default;
  virtual Result<Placement> OfferEntry(std::string_view bytes) = 0;
  virtual Status OfferBlock(std::string_view bytes) = 0;
  // An entry's or a block's bytes by hash, if stored here.
  virtual std::optional<Part> Lookup(const Hash& h) = 0;
  // What this node waits for: parents of held entries, missing blocks.
  virtual std::vector<Hash> Wanted(size_t max) = 0;
};

// Facts with an incarnation this high are ignored (refuting one would wrap).
inline constexpr uint64_t kMaxIncarnation = uint64_t{1} << 62;

struct Member {
  std::string name;
  std::string addr;
  std::string meta;
  uint64_t incarnation = 0;
  MemberState state = MemberState::kAlive;
  uint64_t state_since_ms = 0;
  PublicKey key{};          // its node key (pinned at the first signed statement)
  std::string signed_part;  // its latest signed statement, encoded (relayed as it is)
};

// What a keyring operation found on each live member (ChangeKeyring).
struct KeyringResult {
  size_t asked = 0;                                     // live members asked, this node included
  std::map<std::string, std::vector<ClusterKey>> keys;  // member -> its keyring after it, primary first
  std::map<std::string, std::string> errors;            // member -> why it did not
};

struct GossipCounters {
  uint64_t datagrams_in = 0, datagrams_out = 0, bytes_in = 0, bytes_out = 0;
  uint64_t dropped_malformed = 0, dropped_unauthenticated = 0;
  uint64_t entries_in = 0, entries_new = 0, entries_rejected = 0, blocks_in = 0;
  uint64_t wants_sent = 0, wants_served = 0;
  uint64_t unverified_in = 0;  // datagrams from addresses not verified yet (no key only)
  // Membership facts dropped, by reason (docs/gossip_format.md).
  uint64_t dropped_old_version = 0;    // version 1 datagrams (unsigned membership)
  uint64_t dropped_bad_signature = 0;  // signed statements that do not verify
  uint64_t dropped_wrong_key = 0;      // signed by another key than the name's pinned one
  uint64_t dropped_not_admitted = 0;   // keys `admit` refuses
  uint64_t dropped_unverifiable = 0;   // observations of an incarnation the node never signed, or of unknown nodes
  uint64_t claims_refuted = 0;         // suspect/failed claims dropped because the member answered a ping
};

class Gossip {
 public:
  Gossip(GossipOptions options, Clock* clock, Transport* transport, Random* random, EntrySink* sink,
         Keyring keyring = Keyring());
  ~Gossip();
  Gossip(const Gossip&) = delete;
  Gossip& operator=(const Gossip&) = delete;

  // Starts probing and joins through `seeds` (addresses; own address skipped).
  void Start(const std::vector<std::string>& seeds);
  // Announces a graceful leave (pushed at once to several members).
  void Leave();
  // Sets this node's soft state and spreads it (raises the incarnation).
  void SetMeta(std::string meta);

  // Spreads an entry the store has just accepted (`local`: written on this
  // node), and its blocks if there are few.
  // `eager` false (entries that arrived by sync: history, not news): only
  // piggybacked, not pushed at once.
  void Disseminate(const std::string& entry_bytes, const std::vector<std::string>& blocks, bool local,
                   bool eager = true);

  // All members, this node included, sorted by name.
  std::vector<Member> Members() const;
  size_t alive_count() const;
  const GossipCounters& counters() const { return counters_; }
  size_t queue_size() const { return queue_.size(); }
  const std::string& name() const { return options_.node_name; }

  // Called when a member's state or address changes (not for self).
  void set_member_listener(std::function<void(const Member&)> fn) { member_listener_ = std::move(fn); }
  // Asks `admit` again about every member (the keys' grants changed):
  // members it refuses are dropped (reported as left) and stay out.
  void Recheck();

  // Online rotation of the cluster key (sealed clusters only): runs `op`
  // with `key` on this node, then on every live member (asked again every
  // second), and calls `done` when all have answered or after `timeout_ms`.
  void ChangeKeyring(KeyringOp op, const ClusterKey& key, std::function<void(const KeyringResult&)> done,
                     uint64_t timeout_ms = 5000);
  // Called with the keyring whenever it changes (an operation, or catching
  // up with a newer one from a member); the daemon writes the key file and
  // reseals sync. An error undoes the change and is the member's answer.
  void set_keyring_listener(std::function<Status(const Keyring&)> fn) { keyring_listener_ = std::move(fn); }
  const Keyring& keyring() const { return keyring_; }
  const PublicKey& public_key() const { return options_.node_key.public_key; }

 private:
  struct Broadcast {
    std::string key;   // "m:<name>" or "e:<hash>": a newer one replaces an older
    std::string part;  // encoded
    int transmits = 0;
  };

  void OnDatagram(const std::string& from, std::string_view datagram);
  void HandlePart(const std::string& from, const Part& p, bool trusted, std::vector<std::string>* replies);
  // Address verification (no cluster key): see the file comment.
  bool Trusted(const std::string& addr) const { return keyring_.enabled() || verified_.count(addr) > 0; }
  void Verify(const std::string& addr);
  // Whether `addr` may be sent more than probes and requests: verified, a
  // seed (from this node's configuration), or any address with a key.
  bool MaySendBulk(const std::string& addr) const;
  void Validate(const std::string& addr);
  void Send(const std::string& to, std::vector<std::string> parts, bool piggyback);
  void SendRaw(const std::string& to, const std::string& plaintext);

  void ProbeTick();
  void ProbeTimeout(uint32_t seq);
  void ProbeDeadline(uint32_t seq);
  void GossipTick();
  void PushPullTick();
  void RepairTick();
  void JoinTick();
  void ReapTick();
  void ReconnectTick();
  void SendPushPull(const std::string& to, bool reply_wanted);

  void ApplySigned(const SignedMemberPart& p);
  void ApplyObservation(const MemberPart& m);
  // Applies a suspect/failed claim about another node (no checks).
  void ApplyClaim(const MemberPart& m);
  // Pings `name` before believing `claim` about it (see the file comment).
  void Confirm(const MemberPart& claim);
  void Suspect(const std::string& name, uint64_t incarnation);
  void Refute(uint64_t incarnation);
  void Enqueue(std::string key, std::string part);
  // Signs this node's current statement about itself into its Member.
  void SignSelf();
  MemberPart PartOf(const Member& m) const;
  // The encoded fact to spread about `m`: its signed statement when alive
  // or left, an observation when suspect or failed.
  std::string FactOf(const Member& m) const;
  std::vector<const Member*> RandomMembers(size_t k, const std::set<std::string>& exclude) const;
  int RetransmitLimit() const;
  uint64_t SuspicionTimeoutMs() const;
  uint32_t NextSeq() { return static_cast<uint32_t>(random_->Next()); }
  void Notify(const Member& m);

  GossipOptions options_;
  Clock* clock_;
  Transport* transport_;
  Random* random_;
  EntrySink* sink_;
  Keyring keyring_;                        // changes only by rotation (ChangeKeyring, or a newer one from a member)
  std::map<std::string, Member> members_;  // includes self
  std::vector<std::string> probe_order_;
  size_t probe_index_ = 0;
  // The probe in flight.
  uint32_t probe_seq_ = 0;
  std::string probe_target_;
  bool probe_acked_ = true;
  // Indirect probes this node runs for others: our seq -> (requester, their seq).
  std::map<uint32_t, std::pair<std::string, uint32_t>> relays_;
  std::map<std::string, std::pair<Clock::TimerId, uint64_t>> suspicion_timers_;  // timer, incarnation
  // Claims being confirmed: our ping's seq -> the claim (one per member).
  std::map<uint32_t, MemberPart> confirming_;
  // Reaped members: name -> (incarnation, forget-until time).
  std::map<std::string, std::pair<uint64_t, uint64_t>> tombstones_;
  // Addresses that acked a ping of ours sent there, with when (at most
  // max_members; the oldest goes first); validation pings in flight by
  // sequence number; addresses owed a member list once verified.
  std::map<std::string, uint64_t> verified_;
  std::map<uint32_t, std::string> validating_;
  std::set<std::string> owed_push_pull_;
  std::deque<Broadcast> queue_;
  std::vector<std::string> seeds_;
  bool joined_ = false;
  bool left_ = false;
  std::vector<Clock::TimerId> timers_;
  GossipCounters counters_;
  std::function<void(const Member&)> member_listener_;
  uint64_t last_old_version_log_ms_ = 0;
  uint64_t last_unopened_log_ms_ = 0;
  // Keyring operations this node runs, by id.
  struct KeyringRun {
    KeyringPart part;
    std::map<std::string, std::string> waiting;  // member -> address, not answered yet
    KeyringResult result;
    std::function<void(const KeyringResult&)> done;
  };
  std::map<uint32_t, KeyringRun> keyring_runs_;
  std::map<std::string, uint64_t> keyring_synced_;  // address -> when we last sent it our keyring
  std::function<Status(const Keyring&)> keyring_listener_;
  // Applies a keyring operation here (the listener may refuse it).
  Status ApplyKeyring(const KeyringPart& p);
  void KeyringTick(uint32_t id, uint64_t deadline_ms);
  void FinishKeyring(uint32_t id);
  // Set in the destructor so that timers that still fire do nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace basefs
