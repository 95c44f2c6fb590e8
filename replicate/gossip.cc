#include "replicate/gossip.h"

#include <algorithm>
#include <cmath>

#include "base/log.h"

namespace basefs {
namespace {

// Runs `fn` after `ms` unless the owner is gone.
template <typename F>
void After(Clock* clock, const std::shared_ptr<bool>& alive, uint64_t ms, F fn) {
  clock->Schedule(ms, [w = std::weak_ptr<bool>(alive), fn = std::move(fn)]() mutable {
    if (!w.expired()) fn();
  });
}

std::string HashKey(const std::string& bytes) { return "e:" + std::string(AsView(HashBytes(bytes))); }

}  // namespace

Gossip::Gossip(GossipOptions options, Clock* clock, Transport* transport, Random* random, EntrySink* sink,
               Keyring keyring)
    : options_(std::move(options)),
      clock_(clock),
      transport_(transport),
      random_(random),
      sink_(sink),
      keyring_(std::move(keyring)) {
  assert(!options_.node_name.empty() && options_.node_name.size() <= kMaxNodeNameBytes);
  assert(options_.advertise_addr.size() <= kMaxAddressBytes);
  if (IsZero(options_.node_key.public_key)) options_.node_key = GenerateKeyPair();
  Member self;
  self.name = options_.node_name;
  self.addr = options_.advertise_addr;
  self.incarnation = 1;
  self.state = MemberState::kAlive;
  self.state_since_ms = clock_->NowMs();
  self.key = options_.node_key.public_key;
  members_[self.name] = self;
  SignSelf();
  transport_->SetReceiver([this](const std::string& from, std::string_view d) { OnDatagram(from, d); });
}

Gossip::~Gossip() {
  alive_.reset();
  transport_->SetReceiver(nullptr);
}

void Gossip::Start(const std::vector<std::string>& seeds) {
  for (const auto& s : seeds)
    if (s != options_.advertise_addr) seeds_.push_back(s);
  Enqueue("m:" + options_.node_name, members_.at(options_.node_name).signed_part);
  JoinTick();
  After(clock_, alive_, options_.probe_interval_ms, [this] { ProbeTick(); });
  After(clock_, alive_, options_.gossip_interval_ms, [this] { GossipTick(); });
  After(clock_, alive_, options_.push_pull_interval_ms, [this] { PushPullTick(); });
  After(clock_, alive_, options_.repair_interval_ms, [this] { RepairTick(); });
  After(clock_, alive_, 60 * 1000, [this] { ReapTick(); });
  After(clock_, alive_, options_.reconnect_interval_ms, [this] { ReconnectTick(); });
}

void Gossip::ReconnectTick() {
  if (left_) return;
  After(clock_, alive_, options_.reconnect_interval_ms, [this] { ReconnectTick(); });
  std::vector<const Member*> failed;
  for (const auto& [name, m] : members_)
    if (m.state == MemberState::kFailed) failed.push_back(&m);
  if (!failed.empty()) SendPushPull(failed[random_->Below(failed.size())]->addr, true);
}

void Gossip::Leave() {
  Member& self = members_[options_.node_name];
  self.incarnation += 1;
  self.state = MemberState::kLeft;
  left_ = true;
  SignSelf();
  const std::string part = self.signed_part;
  Enqueue("m:" + options_.node_name, part);
  for (const Member* m : RandomMembers(static_cast<size_t>(options_.gossip_nodes) * 2, {}))
    Send(m->addr, {part}, false);
}

void Gossip::SetMeta(std::string meta) {
  assert(meta.size() <= kMaxMetaBytes);
  Member& self = members_[options_.node_name];
  if (self.meta == meta) return;
  self.meta = std::move(meta);
  self.incarnation += 1;
  SignSelf();
  Enqueue("m:" + options_.node_name, self.signed_part);
}

MemberPart Gossip::PartOf(const Member& m) const {
  MemberPart p;
  p.state = m.state;
  p.incarnation = m.incarnation;
  p.name = m.name;
  p.addr = m.addr;
  p.meta = m.meta;
  return p;
}

void Gossip::SignSelf() {
  Member& self = members_.at(options_.node_name);
  self.signed_part = EncodePart(SignMember(PartOf(self), options_.node_key));
}

std::string Gossip::FactOf(const Member& m) const {
  if (m.state == MemberState::kAlive || m.state == MemberState::kLeft) return m.signed_part;
  MemberPart p = PartOf(m);
  p.meta.clear();  // an observation says who and which life, not what the node said
  return EncodePart(p);
}

std::vector<Member> Gossip::Members() const {
  std::vector<Member> out;
  for (const auto& [name, m] : members_) out.push_back(m);
  return out;
}

size_t Gossip::alive_count() const {
  size_t n = 0;
  for (const auto& [name, m] : members_) n += m.state == MemberState::kAlive || m.state == MemberState::kSuspect;
  return n;
}

int Gossip::RetransmitLimit() const {
  const double n = static_cast<double>(members_.size());
  return options_.retransmit_mult * static_cast<int>(std::ceil(std::log10(n + 1)));
}

uint64_t Gossip::SuspicionTimeoutMs() const {
  const double n = static_cast<double>(std::max<size_t>(members_.size(), 1));
  const double scale = std::max(1.0, std::log10(n));
  return static_cast<uint64_t>(options_.suspicion_mult * scale * static_cast<double>(options_.probe_interval_ms));
}

std::vector<const Member*> Gossip::RandomMembers(size_t k, const std::set<std::string>& exclude) const {
  std::vector<const Member*> pool;
  for (const auto& [name, m] : members_) {
    if (name == options_.node_name || exclude.count(name)) continue;
    if (m.state != MemberState::kAlive && m.state != MemberState::kSuspect) continue;
    pool.push_back(&m);
  }
  // Partial Fisher-Yates with the seeded source.
  const size_t take = std::min(k, pool.size());
  for (size_t i = 0; i < take; ++i) std::swap(pool[i], pool[i + random_->Below(pool.size() - i)]);
  pool.resize(take);
  return pool;
}

void Gossip::Enqueue(std::string key, std::string part) {
  if (part.empty()) return;
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->key == key) {
      queue_.erase(it);
      break;
    }
  }
  queue_.push_back({std::move(key), std::move(part), 0});
  // Bounded: past the limit the oldest entry goes (anti-entropy still
  // carries it); membership facts are never dropped for entries.
  if (queue_.size() > options_.max_queue) {
    auto victim = std::find_if(queue_.begin(), queue_.end(), [](const Broadcast& b) { return b.key[0] == 'e'; });
    queue_.erase(victim != queue_.end() ? victim : queue_.begin());
  }
}

bool Gossip::MaySendBulk(const std::string& to) const {
  return keyring_.enabled() || Trusted(to) || std::find(seeds_.begin(), seeds_.end(), to) != seeds_.end();
}

void Gossip::Send(const std::string& to, std::vector<std::string> parts, bool piggyback) {
  // To an address not verified yet (a member learnt from a datagram that
  // anyone could forge): probes, acks and requests only, no news, until it
  // answers a ping of ours.
  if (!MaySendBulk(to)) {
    const size_t before = parts.size();
    std::erase_if(parts, [](const std::string& p) {
      const auto type = static_cast<PartType>(p.empty() ? 0 : static_cast<uint8_t>(p[0]));
      return type != PartType::kPing && type != PartType::kAck && type != PartType::kPingReq && type != PartType::kWant;
    });
    if (parts.size() != before || (piggyback && !queue_.empty())) Validate(to);
    piggyback = false;
  }
  DatagramBuilder b;
  for (const auto& p : parts) {
    if (!b.Add(p)) {
      // Does not fit with what is there already: send what we have first.
      SendRaw(to, b.Finish());
      b = DatagramBuilder();
      const bool fits = b.Add(p);
      assert(fits);
      (void)fits;
    }
  }
  if (piggyback && !queue_.empty()) {
    // Membership facts first (a refutation must not wait behind entries),
    // then fewest transmissions first.
    std::stable_sort(queue_.begin(), queue_.end(), [](const Broadcast& a, const Broadcast& c) {
      const bool ae = a.key[0] == 'e', ce = c.key[0] == 'e';
      return ae != ce ? ce : a.transmits < c.transmits;
    });
    const int limit = RetransmitLimit();
    for (auto it = queue_.begin(); it != queue_.end() && b.room() > 3;) {
      if (b.Add(it->part)) {
        if (++it->transmits >= limit) {
          it = queue_.erase(it);
          continue;
        }
      }
      ++it;
    }
  }
  if (!b.empty()) SendRaw(to, b.Finish());
}

void Gossip::SendRaw(const std::string& to, const std::string& plaintext) {
  const std::string wire = keyring_.enabled() ? keyring_.Seal(plaintext) : plaintext;
  assert(wire.size() <= kMaxDatagramBytes);
  ++counters_.datagrams_out;
  counters_.bytes_out += wire.size();
  transport_->Send(to, wire);
}

void Gossip::OnDatagram(const std::string& from, std::string_view datagram) {
  ++counters_.datagrams_in;
  counters_.bytes_in += datagram.size();
  std::string opened;
  if (keyring_.enabled()) {
    size_t index = 0;
    auto r = keyring_.Open(datagram, &index);
    if (!r.ok()) {
      ++counters_.dropped_unauthenticated;
      const uint64_t now = clock_->NowMs();
      if (last_unopened_log_ms_ == 0 || now - last_unopened_log_ms_ >= 60000) {
        last_unopened_log_ms_ = now;
        LogWarn(
            "gossip from {} is not sealed with any cluster key this node holds: dropped (if the cluster key was "
            "rotated while this node was away, put the current key in its --cluster-key file)",
            from);
      }
      return;
    }
    opened = std::move(r).value();
    datagram = opened;
    if (index > 0) {
      // The sender seals with a key we hold but no longer seal with: it
      // missed a rotation. Send it our keyring (in its key), at most every
      // 10 s; it takes it if it is newer than its own.
      const uint64_t now = clock_->NowMs();
      auto last = keyring_synced_.find(from);
      if ((last == keyring_synced_.end() || now - last->second >= 10000) && keyring_synced_.size() < 256) {
        keyring_synced_[from] = now;
        KeyringPart sync;
        sync.op = KeyringOp::kSync;
        sync.generation = keyring_.generation();
        for (size_t i = 0; i < keyring_.keys().size() && i < kMaxKeyringKeys; ++i)
          sync.keys.push_back(keyring_.keys()[i]);
        DatagramBuilder b;
        b.Add(EncodePart(sync));
        const std::string wire = keyring_.SealWith(b.Finish(), index);
        ++counters_.datagrams_out;
        counters_.bytes_out += wire.size();
        transport_->Send(from, wire);
      }
    }
  }
  if (datagram.size() >= 2 && static_cast<uint8_t>(datagram[0]) == kGossipMagic &&
      static_cast<uint8_t>(datagram[1]) == kGossipVersionUnsigned) {
    ++counters_.dropped_old_version;
    const uint64_t now = clock_->NowMs();
    if (last_old_version_log_ms_ == 0 || now - last_old_version_log_ms_ >= 60000) {
      last_old_version_log_ms_ = now;
      LogWarn("gossip from {} is version 1 (unsigned membership): dropped; upgrade that node to join this cluster",
              from);
    }
    return;
  }
  auto parts = DecodeDatagram(datagram);
  if (!parts.ok()) {
    ++counters_.dropped_malformed;
    return;
  }
  if (left_) return;
  const bool trusted = Trusted(from);
  if (!trusted) ++counters_.unverified_in;
  std::vector<std::string> replies;
  bool got_entry = false;
  for (const Part& p : *parts) {
    HandlePart(from, p, trusted, &replies);
    got_entry |= std::holds_alternative<EntryPart>(p);
  }
  if (got_entry) {
    // Whatever the new entries still lack (blocks, parents), the sender has:
    // ask it now rather than at the next repair tick.
    std::vector<Hash> want = sink_->Wanted(kMaxWantHashes);
    if (!want.empty()) {
      replies.push_back(EncodePart(WantPart{std::move(want)}));
      ++counters_.wants_sent;
    }
  }
  // News rides only on replies to verified addresses (an ack is smaller
  // than the ping it answers).
  if (!replies.empty()) Send(from, std::move(replies), trusted);
  if (!trusted) Validate(from);
}

void Gossip::Verify(const std::string& addr) {
  if (keyring_.enabled()) return;
  if (!verified_.count(addr) && verified_.size() >= options_.max_members) {
    auto oldest = verified_.begin();
    for (auto it = verified_.begin(); it != verified_.end(); ++it)
      if (it->second < oldest->second) oldest = it;
    verified_.erase(oldest);
  }
  verified_[addr] = clock_->NowMs();
  if (owed_push_pull_.erase(addr)) SendPushPull(addr, false);
}

void Gossip::Validate(const std::string& addr) {
  // One validation ping per address at a time, and a bounded number in all.
  for (const auto& [seq, a] : validating_)
    if (a == addr) return;
  if (validating_.size() >= 256) return;
  const uint32_t seq = NextSeq();
  validating_[seq] = addr;
  Send(addr, {EncodePart(PingPart{seq, "", options_.node_name, options_.advertise_addr})}, false);
  After(clock_, alive_, options_.probe_timeout_ms * 2, [this, seq] {
    auto it = validating_.find(seq);
    if (it == validating_.end()) return;
    owed_push_pull_.erase(it->second);  // never answered: owed nothing (it asks again once verified)
    validating_.erase(it);
  });
}

void Gossip::HandlePart(const std::string& from, const Part& part, bool trusted, std::vector<std::string>* replies) {
  if (const auto* ping = std::get_if<PingPart>(&part)) {
    // A probe for another name (a node that had this address before) gets
    // no ack: acking would keep that node alive forever.
    if (!ping->target.empty() && ping->target != options_.node_name) return;
    // Answer to the address it came from: that is where the prober listens.
    replies->push_back(EncodePart(AckPart{ping->seq, options_.node_name}));
    // A node we have not heard of: ask for its member list, which holds
    // its signed statement (a ping's names are not signed). Only a
    // verified address is asked (Send drops the request otherwise).
    if (!ping->from_name.empty() && !members_.count(ping->from_name) && trusted)
      replies->push_back(EncodePart(PushPullPart{true}));
  } else if (const auto* ack = std::get_if<AckPart>(&part)) {
    if (ack->seq == probe_seq_) {
      probe_acked_ = true;
      if (auto t = members_.find(probe_target_); t != members_.end() && t->second.addr == from) Verify(from);
    }
    if (auto v = validating_.find(ack->seq); v != validating_.end() && v->second == from) {
      validating_.erase(v);
      Verify(from);
    }
    if (auto c = confirming_.find(ack->seq); c != confirming_.end()) {
      auto m = members_.find(c->second.name);
      // From the member itself, or relayed by a member we asked to ping it.
      const bool direct = m != members_.end() && m->second.addr == from;
      if (m != members_.end() && (direct || ack->from_name == c->second.name)) {
        // It answers: the claim is wrong (or stale). Drop it, and tell the
        // member, so that it refutes the claim for everyone.
        ++counters_.claims_refuted;
        if (direct) Verify(from);
        const std::string claim = EncodePart(c->second);
        const std::string addr = m->second.addr;
        confirming_.erase(c);
        Send(addr, {claim}, false);
      }
    }
    auto relay = relays_.find(ack->seq);
    if (relay != relays_.end()) {
      Send(relay->second.first, {EncodePart(AckPart{relay->second.second, ack->from_name})}, false);
      relays_.erase(relay);
    }
  } else if (const auto* req = std::get_if<PingReqPart>(&part)) {
    const uint32_t seq = NextSeq();
    relays_[seq] = {from, req->seq};
    Send(req->target_addr, {EncodePart(PingPart{seq, req->target, options_.node_name, options_.advertise_addr})},
         false);
    After(clock_, alive_, options_.probe_timeout_ms * 2, [this, seq] { relays_.erase(seq); });
  } else if (const auto* m = std::get_if<MemberPart>(&part)) {
    ApplyObservation(*m);
  } else if (const auto* sm = std::get_if<SignedMemberPart>(&part)) {
    ApplySigned(*sm);
  } else if (const auto* kp = std::get_if<KeyringPart>(&part)) {
    if (!keyring_.enabled()) return;  // only ever sealed
    const Status st = ApplyKeyring(*kp);
    if (kp->op == KeyringOp::kSync) return;
    KeyringReplyPart reply;
    reply.id = kp->id;
    reply.ok = st.ok();
    reply.error = st.message();
    for (size_t i = 0; i < keyring_.keys().size() && i < kMaxKeyringKeys; ++i) reply.keys.push_back(keyring_.keys()[i]);
    replies->push_back(EncodePart(reply));
  } else if (const auto* kr = std::get_if<KeyringReplyPart>(&part)) {
    auto run = keyring_runs_.find(kr->id);
    if (run == keyring_runs_.end()) return;
    for (auto it = run->second.waiting.begin(); it != run->second.waiting.end(); ++it) {
      if (it->second != from) continue;
      if (kr->ok)
        run->second.result.keys[it->first] = kr->keys;
      else
        run->second.result.errors[it->first] = kr->error;
      run->second.waiting.erase(it);
      break;
    }
    if (run->second.waiting.empty()) FinishKeyring(kr->id);
  } else if (const auto* e = std::get_if<EntryPart>(&part)) {
    ++counters_.entries_in;
    auto r = sink_->OfferEntry(e->bytes);
    if (!r.ok()) {
      ++counters_.entries_rejected;
    } else if (*r == Placement::kReady) {
      ++counters_.entries_new;
    }
  } else if (const auto* b = std::get_if<BlockPart>(&part)) {
    ++counters_.blocks_in;
    (void)sink_->OfferBlock(b->bytes);
  } else if (const auto* w = std::get_if<WantPart>(&part)) {
    if (!trusted) return;  // entries for a few hashes: only to a verified address
    for (const Hash& h : w->hashes) {
      if (auto found = sink_->Lookup(h)) {
        replies->push_back(EncodePart(*found));
        ++counters_.wants_served;
      }
    }
  } else if (const auto* pp = std::get_if<PushPullPart>(&part)) {
    if (pp->reply_wanted) {
      if (trusted) {
        SendPushPull(from, false);
      } else if (owed_push_pull_.size() < 256) {
        owed_push_pull_.insert(from);  // sent when its ack to our validation ping comes
      }
    }
    // Joined once a seed has answered: a push-pull from some other newcomer
    // does not connect us to the cluster (islands formed that way).
    if (std::find(seeds_.begin(), seeds_.end(), from) != seeds_.end()) joined_ = true;
  }
}

void Gossip::ApplySigned(const SignedMemberPart& p) {
  const MemberPart& m = p.member;
  // An incarnation near the top could wrap on refutation: nobody honest
  // gets there (it grows by one per refutation).
  if (m.incarnation >= kMaxIncarnation) return;
  auto it = members_.find(m.name);
  const std::string encoded = EncodePart(p);
  if (it != members_.end() && it->second.signed_part == encoded) return;  // known: no need to verify again
  if (!VerifyMember(p)) {
    ++counters_.dropped_bad_signature;
    return;
  }
  if (m.name == options_.node_name) {
    if (p.key != public_key()) {
      ++counters_.dropped_wrong_key;  // another key claims our name
      return;
    }
    // Our own statement from an older life (we restarted, others remember
    // it): move past it, so that our own news is believed.
    if (!left_ && m.incarnation >= members_.at(options_.node_name).incarnation) Refute(m.incarnation);
    return;
  }
  if (options_.admit && !options_.admit(p.key)) {
    ++counters_.dropped_not_admitted;
    return;
  }
  if (it == members_.end()) {
    if (members_.size() >= options_.max_members) return;
    // A member this node forgot on purpose stays forgotten unless it comes
    // back alive with a newer incarnation.
    if (auto t = tombstones_.find(m.name); t != tombstones_.end()) {
      if (clock_->NowMs() > t->second.second) {
        tombstones_.erase(t);
      } else if (m.state != MemberState::kAlive || m.incarnation <= t->second.first) {
        return;
      }
    }
    if (m.state == MemberState::kLeft) return;  // said goodbye before we met
    Member nm;
    nm.name = m.name;
    nm.addr = m.addr;
    nm.meta = m.meta;
    nm.incarnation = m.incarnation;
    nm.state = MemberState::kAlive;
    nm.state_since_ms = clock_->NowMs();
    nm.key = p.key;
    nm.signed_part = encoded;
    it = members_.emplace(m.name, nm).first;
    probe_order_.insert(probe_order_.begin() + static_cast<long>(random_->Below(probe_order_.size() + 1)), m.name);
    Enqueue("m:" + m.name, encoded);
    Notify(it->second);
    return;
  }
  Member& cur = it->second;
  if (!IsZero(cur.key) && cur.key != p.key) {
    ++counters_.dropped_wrong_key;  // the name is pinned to the key that first spoke for it
    return;
  }
  bool changed = false;
  if (m.state == MemberState::kAlive) {
    // A higher incarnation overrides anything (a refutation or a restart).
    if (m.incarnation <= cur.incarnation) return;
    changed = cur.state != MemberState::kAlive || cur.addr != m.addr || cur.meta != m.meta;
    cur.addr = m.addr;
    cur.meta = m.meta;
    if (cur.state != MemberState::kAlive) cur.state_since_ms = clock_->NowMs();
    cur.state = MemberState::kAlive;
  } else {  // left: the node itself said so
    if (m.incarnation < cur.incarnation || cur.state == MemberState::kLeft) return;
    cur.state = MemberState::kLeft;
    cur.state_since_ms = clock_->NowMs();
    changed = true;
  }
  cur.incarnation = m.incarnation;
  cur.key = p.key;
  cur.signed_part = encoded;
  if (auto t = suspicion_timers_.find(m.name); t != suspicion_timers_.end()) {
    clock_->Cancel(t->second.first);
    suspicion_timers_.erase(t);
  }
  Enqueue("m:" + m.name, encoded);
  if (changed) Notify(cur);
}

void Gossip::ApplyObservation(const MemberPart& m) {
  if (m.name == options_.node_name) {
    // Suspected or declared failed in our current life: refute it. A
    // later life than ours was never signed by us: nobody saw it.
    Member& self = members_.at(options_.node_name);
    if (left_) return;
    if (m.incarnation == self.incarnation) {
      Refute(m.incarnation);
    } else if (m.incarnation > self.incarnation) {
      ++counters_.dropped_unverifiable;
    }
    return;
  }
  auto it = members_.find(m.name);
  // Only about a life the member signed: nobody can suspect a node we do
  // not know, or an incarnation it never had (which would take it past
  // where it could refute).
  if (it == members_.end() || m.incarnation > it->second.incarnation) {
    ++counters_.dropped_unverifiable;
    return;
  }
  Member& cur = it->second;
  if (m.incarnation < cur.incarnation) return;  // about an earlier life
  switch (cur.state) {
    case MemberState::kAlive: Confirm(m); return;  // believed only if it does not answer us
    case MemberState::kSuspect:
      // We doubt it already (our own probes, or a claim it did not answer).
      if (m.state == MemberState::kFailed) ApplyClaim(m);
      return;
    case MemberState::kFailed:
    case MemberState::kLeft: return;
  }
}

void Gossip::Confirm(const MemberPart& claim) {
  auto it = members_.find(claim.name);
  if (it == members_.end()) return;
  // One confirmation per member at a time; a failure claim outranks a suspicion.
  for (auto& [seq, c] : confirming_) {
    if (c.name != claim.name) continue;
    if (claim.state == MemberState::kFailed) c.state = MemberState::kFailed;
    return;
  }
  const uint32_t seq = NextSeq();
  confirming_[seq] = claim;
  // As a probe of our own: a direct ping, then (no ack within the probe
  // timeout) pings through `indirect_checks` other members; believed only
  // if nothing answers within the probe interval. On a lossy network a
  // single lost ping must not make a forged claim stick.
  Send(it->second.addr, {EncodePart(PingPart{seq, claim.name, options_.node_name, options_.advertise_addr})}, false);
  After(clock_, alive_, options_.probe_timeout_ms, [this, seq] {
    auto c = confirming_.find(seq);
    if (c == confirming_.end()) return;
    auto m = members_.find(c->second.name);
    if (m == members_.end()) return;
    const std::string part = EncodePart(PingReqPart{seq, c->second.name, m->second.addr});
    for (const Member* r : RandomMembers(static_cast<size_t>(options_.indirect_checks), {c->second.name}))
      Send(r->addr, {part}, false);
  });
  After(clock_, alive_, options_.probe_interval_ms - 1, [this, seq] {
    auto c = confirming_.find(seq);
    if (c == confirming_.end()) return;
    const MemberPart claim_now = c->second;
    confirming_.erase(c);
    ApplyClaim(claim_now);  // no answer in time: believe it
  });
}

void Gossip::ApplyClaim(const MemberPart& m) {
  auto it = members_.find(m.name);
  if (it == members_.end()) return;
  Member& cur = it->second;
  if (m.incarnation < cur.incarnation) return;  // refuted meanwhile
  if (m.state == MemberState::kSuspect) {
    if (cur.state == MemberState::kAlive) Suspect(m.name, m.incarnation);
    return;
  }
  if (cur.state != MemberState::kAlive && cur.state != MemberState::kSuspect) return;
  cur.incarnation = m.incarnation;
  cur.state = MemberState::kFailed;
  cur.state_since_ms = clock_->NowMs();
  if (auto t = suspicion_timers_.find(m.name); t != suspicion_timers_.end()) {
    clock_->Cancel(t->second.first);
    suspicion_timers_.erase(t);
  }
  Enqueue("m:" + m.name, FactOf(cur));
  Notify(cur);
}

void Gossip::Recheck() {
  if (!options_.admit) return;
  for (auto it = members_.begin(); it != members_.end();) {
    Member& m = it->second;
    if (m.name == options_.node_name || options_.admit(m.key)) {
      ++it;
      continue;
    }
    if (auto t = suspicion_timers_.find(m.name); t != suspicion_timers_.end()) {
      clock_->Cancel(t->second.first);
      suspicion_timers_.erase(t);
    }
    Member gone = m;
    gone.state = MemberState::kLeft;
    gone.state_since_ms = clock_->NowMs();
    it = members_.erase(it);
    Notify(gone);
  }
}

void Gossip::Suspect(const std::string& name, uint64_t incarnation) {
  auto it = members_.find(name);
  if (it == members_.end()) return;
  Member& m = it->second;
  const bool was_suspect = m.state == MemberState::kSuspect;
  m.state = MemberState::kSuspect;
  m.incarnation = std::max(m.incarnation, incarnation);
  if (!was_suspect) m.state_since_ms = clock_->NowMs();
  Enqueue("m:" + name, FactOf(m));
  if (!was_suspect) Notify(m);
  if (auto t = suspicion_timers_.find(name); t != suspicion_timers_.end()) {
    if (!was_suspect || incarnation <= t->second.second) return;
    clock_->Cancel(t->second.first);  // re-armed for the newer incarnation
    suspicion_timers_.erase(t);
  }
  const uint64_t inc = m.incarnation;
  Clock::TimerId id = clock_->Schedule(SuspicionTimeoutMs(), [this, name, inc, w = std::weak_ptr<bool>(alive_)] {
    if (w.expired()) return;
    suspicion_timers_.erase(name);
    auto it2 = members_.find(name);
    if (it2 == members_.end() || it2->second.state != MemberState::kSuspect || it2->second.incarnation != inc) return;
    it2->second.state = MemberState::kFailed;
    it2->second.state_since_ms = clock_->NowMs();
    Enqueue("m:" + name, FactOf(it2->second));
    Notify(it2->second);
  });
  suspicion_timers_[name] = {id, inc};
}

void Gossip::Refute(uint64_t incarnation) {
  Member& self = members_[options_.node_name];
  self.incarnation = incarnation + 1;
  self.state = MemberState::kAlive;
  SignSelf();
  Enqueue("m:" + options_.node_name, self.signed_part);
}

void Gossip::Notify(const Member& m) {
  if (member_listener_) member_listener_(m);
}

void Gossip::ProbeTick() {
  if (left_) return;
  After(clock_, alive_, options_.probe_interval_ms, [this] { ProbeTick(); });
  // Round-robin over a shuffled order; reshuffle at the end of each round.
  std::string target;
  for (size_t tries = 0; tries < probe_order_.size() + 1 && target.empty(); ++tries) {
    if (probe_index_ >= probe_order_.size()) {
      probe_order_.clear();
      for (const auto& [name, m] : members_)
        if (name != options_.node_name) probe_order_.push_back(name);
      for (size_t i = probe_order_.size(); i > 1; --i) std::swap(probe_order_[i - 1], probe_order_[random_->Below(i)]);
      probe_index_ = 0;
      if (probe_order_.empty()) return;
    }
    const std::string& cand = probe_order_[probe_index_++];
    auto it = members_.find(cand);
    if (it != members_.end() && (it->second.state == MemberState::kAlive || it->second.state == MemberState::kSuspect))
      target = cand;
  }
  if (target.empty()) return;
  probe_target_ = target;
  probe_seq_ = NextSeq();
  probe_acked_ = false;
  const uint32_t seq = probe_seq_;
  Send(members_[target].addr, {EncodePart(PingPart{seq, target, options_.node_name, options_.advertise_addr})}, true);
  After(clock_, alive_, options_.probe_timeout_ms, [this, seq] { ProbeTimeout(seq); });
  After(clock_, alive_, options_.probe_interval_ms - 1, [this, seq] { ProbeDeadline(seq); });
}

void Gossip::ProbeTimeout(uint32_t seq) {
  if (seq != probe_seq_ || probe_acked_) return;
  auto it = members_.find(probe_target_);
  if (it == members_.end()) return;
  const std::string part = EncodePart(PingReqPart{seq, probe_target_, it->second.addr});
  for (const Member* m : RandomMembers(static_cast<size_t>(options_.indirect_checks), {probe_target_}))
    Send(m->addr, {part}, false);
}

void Gossip::ProbeDeadline(uint32_t seq) {
  if (seq != probe_seq_ || probe_acked_) return;
  auto it = members_.find(probe_target_);
  if (it == members_.end()) return;
  if (it->second.state == MemberState::kAlive || it->second.state == MemberState::kSuspect)
    Suspect(probe_target_, it->second.incarnation);
}

void Gossip::GossipTick() {
  if (left_) return;
  After(clock_, alive_, options_.gossip_interval_ms, [this] { GossipTick(); });
  if (queue_.empty()) return;
  for (const Member* m : RandomMembers(static_cast<size_t>(options_.gossip_nodes), {})) Send(m->addr, {}, true);
}

void Gossip::SendPushPull(const std::string& to, bool reply_wanted) {
  if (!MaySendBulk(to)) {
    Validate(to);  // the list follows once it answers (owed if it asked)
    if (reply_wanted) return;
    if (owed_push_pull_.size() < 256) owed_push_pull_.insert(to);
    return;
  }
  // The whole member list, split over as many datagrams as it takes; each
  // datagram starts with the push-pull marker.
  const std::string marker = EncodePart(PushPullPart{reply_wanted});
  DatagramBuilder b;
  b.Add(marker);
  const auto add = [&](const std::string& part) {
    if (part.empty() || b.Add(part)) return;
    SendRaw(to, b.Finish());
    b = DatagramBuilder();
    b.Add(EncodePart(PushPullPart{false}));
    b.Add(part);
  };
  // Each member's signed statement, then (suspect or failed) what we
  // observe: a receiver that does not know the member learns it from the
  // first and can weigh the second.
  for (const auto& [name, m] : members_) {
    add(m.signed_part);
    if (m.state == MemberState::kSuspect || m.state == MemberState::kFailed) add(FactOf(m));
  }
  SendRaw(to, b.Finish());
}

void Gossip::PushPullTick() {
  if (left_) return;
  // A push-pull carries the whole member list: in large clusters it runs
  // less often (as memberlist scales it), so the bytes per node grow with
  // log N rather than N.
  const double n = static_cast<double>(members_.size());
  const uint64_t scale = n <= 32 ? 1 : static_cast<uint64_t>(std::ceil(std::log2(n) - std::log2(32.0))) + 1;
  After(clock_, alive_, options_.push_pull_interval_ms * scale, [this] { PushPullTick(); });
  // Usually a live member; one time in four any known member not gone, so
  // that islands of a split membership exchange their lists.
  std::vector<const Member*> any;
  for (const auto& [name, m] : members_)
    if (name != options_.node_name && m.state != MemberState::kLeft) any.push_back(&m);
  auto peers = RandomMembers(1, {});
  if (!seeds_.empty() && random_->Below(8) == 0) {
    SendPushPull(seeds_[random_->Below(seeds_.size())], true);  // the seeds tie the cluster together
  } else if (!any.empty() && (peers.empty() || random_->Below(4) == 0)) {
    SendPushPull(any[random_->Below(any.size())]->addr, true);
  } else if (!peers.empty()) {
    SendPushPull(peers[0]->addr, true);
  }
}

void Gossip::JoinTick() {
  if (left_ || joined_ || seeds_.empty()) return;
  for (const auto& s : seeds_) SendPushPull(s, true);
  After(clock_, alive_, options_.join_retry_ms, [this] { JoinTick(); });
}

void Gossip::RepairTick() {
  if (left_) return;
  After(clock_, alive_, options_.repair_interval_ms, [this] { RepairTick(); });
  std::vector<Hash> want = sink_->Wanted(kMaxWantHashes);
  if (want.empty()) return;
  auto peers = RandomMembers(1, {});
  if (peers.empty()) return;
  ++counters_.wants_sent;
  Send(peers[0]->addr, {EncodePart(WantPart{want})}, false);
}

void Gossip::ReapTick() {
  After(clock_, alive_, 60 * 1000, [this] { ReapTick(); });
  const uint64_t now = clock_->NowMs();
  for (auto it = members_.begin(); it != members_.end();) {
    const Member& m = it->second;
    if ((m.state == MemberState::kFailed || m.state == MemberState::kLeft) &&
        now - m.state_since_ms > options_.reap_after_ms) {
      tombstones_[m.name] = {m.incarnation, now + 2 * options_.reap_after_ms};
      it = members_.erase(it);
    } else {
      ++it;
    }
  }
}

Status Gossip::ApplyKeyring(const KeyringPart& p) {
  Keyring next = keyring_;
  Status st = Status::Ok();
  switch (p.op) {
    case KeyringOp::kInstall: st = next.Install(p.keys.at(0)); break;
    case KeyringOp::kUse: st = next.Use(p.keys.at(0)); break;
    case KeyringOp::kRemove: st = next.Remove(p.keys.at(0)); break;
    case KeyringOp::kList: return Status::Ok();
    case KeyringOp::kSync: {
      if (p.generation <= keyring_.generation()) return Status::Ok();  // ours is as new
      next = Keyring();
      for (const auto& k : p.keys) next.Add(k);
      LogInfo("cluster keyring: took generation {} from a member ({} keys); this node had missed a rotation",
              p.generation, p.keys.size());
      break;
    }
  }
  if (!st.ok()) return st;
  next.set_generation(std::max(p.generation, keyring_.generation()));
  if (next == keyring_ && next.generation() == keyring_.generation()) return Status::Ok();
  if (keyring_listener_) BASEFS_RETURN_IF_ERROR(keyring_listener_(next));
  keyring_ = std::move(next);
  return Status::Ok();
}

void Gossip::ChangeKeyring(KeyringOp op, const ClusterKey& key, std::function<void(const KeyringResult&)> done,
                           uint64_t timeout_ms) {
  KeyringResult result;
  if (!keyring_.enabled()) {
    result.asked = 1;
    result.errors[options_.node_name] = "this cluster has no cluster key (--cluster-key): nothing to rotate";
    done(result);
    return;
  }
  uint32_t id = NextSeq();
  while (id == 0 || keyring_runs_.count(id)) id = NextSeq();
  KeyringRun& run = keyring_runs_[id];
  run.part.id = id;
  run.part.op = op;
  if (op != KeyringOp::kList) run.part.keys = {key};
  // Newer than any this node knows (wall time would do, but a member's
  // clock may be behind: one more than ours is enough).
  run.part.generation = op == KeyringOp::kList ? keyring_.generation() : keyring_.generation() + 1;
  run.done = std::move(done);
  // Here first: `use` then seals with the new key, which the others hold
  // if the install went everywhere.
  const Status st = ApplyKeyring(run.part);
  run.result.asked = 1;
  if (st.ok())
    run.result.keys[options_.node_name] = keyring_.keys();
  else
    run.result.errors[options_.node_name] = st.message();
  for (const auto& [name, m] : members_)
    if (name != options_.node_name && (m.state == MemberState::kAlive || m.state == MemberState::kSuspect))
      run.waiting[name] = m.addr;
  run.result.asked += run.waiting.size();
  if (!st.ok() || run.waiting.empty()) {
    FinishKeyring(id);
    return;
  }
  KeyringTick(id, clock_->NowMs() + timeout_ms);
}

void Gossip::KeyringTick(uint32_t id, uint64_t deadline_ms) {
  auto it = keyring_runs_.find(id);
  if (it == keyring_runs_.end()) return;
  if (clock_->NowMs() >= deadline_ms) {
    for (const auto& [name, addr] : it->second.waiting)
      it->second.result.errors[name] =
          "no answer (down, or it holds no key this node seals with: it catches up when it is back, or gets the "
          "key by hand)";
    it->second.waiting.clear();
    FinishKeyring(id);
    return;
  }
  const std::string part = EncodePart(it->second.part);
  for (const auto& [name, addr] : it->second.waiting) Send(addr, {part}, false);
  const uint64_t next = std::min<uint64_t>(1000, deadline_ms - clock_->NowMs());
  After(clock_, alive_, next, [this, id, deadline_ms] { KeyringTick(id, deadline_ms); });
}

void Gossip::FinishKeyring(uint32_t id) {
  auto it = keyring_runs_.find(id);
  if (it == keyring_runs_.end()) return;
  KeyringRun run = std::move(it->second);
  keyring_runs_.erase(it);
  if (run.done) run.done(run.result);
}

void Gossip::Disseminate(const std::string& entry_bytes, const std::vector<std::string>& blocks, bool local,
                         bool eager) {
  if (left_) return;
  const std::string part = EncodePart(EntryPart{entry_bytes});
  if (!eager) {
    Enqueue(HashKey(entry_bytes), part);
    return;
  }
  std::vector<std::string> parts{part};
  if (blocks.size() <= options_.eager_block_limit)
    for (const auto& b : blocks) parts.push_back(EncodePart(BlockPart{b}));
  // The writer tells every member at once in clusters up to
  // direct_push_limit (one hop, on the order of a millisecond on a LAN);
  // every receiver forwards to ln(N) + 2 random members, which reaches the
  // few a lost datagram missed, and piggybacking catches any straggler.
  const size_t n = members_.size();
  const size_t forward = std::max<size_t>(static_cast<size_t>(options_.eager_push_nodes),
                                          static_cast<size_t>(std::ceil(std::log(static_cast<double>(n) + 1))) + 2);
  const size_t fanout = local ? (n <= options_.direct_push_limit ? n : 2 * forward) : forward;
  for (const Member* m : RandomMembers(fanout, {})) Send(m->addr, parts, false);
  Enqueue(HashKey(entry_bytes), part);
}

}  // namespace basefs
