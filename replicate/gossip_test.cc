// Gossip on the in-memory network and clock: no sockets, no sleeping; a
// minute of cluster time runs in milliseconds, and the seed fixes the run.
#include "replicate/gossip.h"

#include <gtest/gtest.h>

#include "base/fake_seams.h"
#include "replicate/store_sink.h"
#include "store/test_util.h"

namespace basefs {
namespace {

struct Node {
  std::unique_ptr<Store> store;
  std::unique_ptr<StoreSink> sink;
  FakeNetwork::Endpoint* ep = nullptr;
  std::unique_ptr<SeededRandom> rnd;
  std::unique_ptr<Gossip> gossip;
  KeyPair key = GenerateKeyPair();  // its node key (kept across a restart)
};

class GossipTest : public ::testing::Test {
 protected:
  GossipTest() : net_(&clock_, 1234), root_(GenerateKeyPair()) { origin_ = factory_.Create(root_, factory_.NewDir()); }

  Node& AddNode(const Keyring& ring = Keyring()) {
    const size_t i = nodes_.size();
    auto n = std::make_unique<Node>();
    auto replica = Store::CreateReplica(factory_.NewDir(), testing::EntryBytes(*origin_).at(0), factory_.Options());
    EXPECT_TRUE(replica.ok());
    n->store = std::move(replica).value();
    n->sink = std::make_unique<StoreSink>(n->store.get());
    const std::string addr = "10.0.0." + std::to_string(i + 1) + ":7400";
    n->ep = net_.Add(addr);
    n->rnd = std::make_unique<SeededRandom>(100 + i);
    GossipOptions o;
    o.node_name = "node-" + std::to_string(i);
    o.advertise_addr = addr;
    o.node_key = n->key;
    o.admit = admit_;
    n->gossip = std::make_unique<Gossip>(o, &clock_, n->ep, n->rnd.get(), n->sink.get(), ring);
    Gossip* g = n->gossip.get();
    Store* s = n->store.get();
    s->set_entry_listener([g, s](const Hash& h, const std::string& bytes, bool local) {
      g->Disseminate(bytes, s->BlocksOf(h, 16), local);
    });
    nodes_.push_back(std::move(n));
    return *nodes_.back();
  }

  void StartAll(size_t n) {
    for (size_t i = 0; i < n; ++i) AddNode();
    for (size_t i = 0; i < n; ++i) nodes_[i]->gossip->Start({nodes_[0]->ep->address()});
  }

  // State of `name` as `observer` sees it.
  std::optional<Member> Seen(size_t observer, const std::string& name) {
    for (const Member& m : nodes_[observer]->gossip->Members())
      if (m.name == name) return m;
    return std::nullopt;
  }

  // Runs the cluster until `pred` holds or `limit_ms` of simulated time pass.
  bool RunUntil(const std::function<bool()>& pred, uint64_t limit_ms) {
    const uint64_t end = clock_.NowMs() + limit_ms;
    while (clock_.NowMs() < end) {
      if (pred()) return true;
      clock_.RunFor(10);
    }
    return pred();
  }

  bool EveryoneSeesAllAlive() {
    for (auto& n : nodes_)
      if (n->gossip->alive_count() != nodes_.size()) return false;
    return true;
  }

  bool AllSee(size_t n, const std::string& name, MemberState state, std::optional<size_t> except = {}) {
    for (size_t i = 0; i < n; ++i) {
      if (except && *except == i) continue;
      auto m = Seen(i, name);
      if (!m || m->state != state) return false;
    }
    return true;
  }

  ManualClock clock_;
  FakeNetwork net_;
  testing::MemStoreFactory factory_;
  KeyPair root_;
  std::unique_ptr<Store> origin_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::function<bool(const PublicKey&)> admit_;  // for nodes added after it is set
};

std::string Datagram(const std::vector<Part>& parts) {
  DatagramBuilder b;
  for (const Part& p : parts) EXPECT_TRUE(b.Add(EncodePart(p)));
  return b.Finish();
}

TEST_F(GossipTest, JoinsThroughOneSeedAndEveryoneSeesEveryone) {
  StartAll(10);
  EXPECT_TRUE(RunUntil([&] { return EveryoneSeesAllAlive(); }, 10000));
}

TEST_F(GossipTest, DetectsAStoppedNode) {
  StartAll(8);
  ASSERT_TRUE(RunUntil([&] { return AllSee(8, "node-5", MemberState::kAlive); }, 10000));
  net_.SetDown(nodes_[5]->ep->address(), true);
  const uint64_t t0 = clock_.NowMs();
  ASSERT_TRUE(RunUntil([&] { return AllSee(8, "node-5", MemberState::kFailed, 5); }, 30000));
  const uint64_t took = clock_.NowMs() - t0;
  EXPECT_GT(took, 1000u) << "a failure needs a missed probe and a suspicion timeout";
  // Nobody else was wrongly declared failed.
  for (size_t i = 0; i < 8; ++i) {
    if (i != 5) {
      EXPECT_TRUE(AllSee(8, "node-" + std::to_string(i), MemberState::kAlive, 5)) << i;
    }
  }
}

// A wrong suspicion or failure claim about a member that answers is
// dropped by every node that pings it first: nobody's view changes, and the
// member refutes the claim (a signed alive at a higher incarnation), so the
// claim cannot come back at that incarnation either.
TEST_F(GossipTest, AFalseClaimAboutAReachableNodeChangesNoViewAndIsRefuted) {
  StartAll(6);
  ASSERT_TRUE(RunUntil([&] { return AllSee(6, "node-2", MemberState::kAlive); }, 10000));
  const uint64_t inc = Seen(1, "node-2")->incarnation;
  std::vector<std::string> changes;  // any state change of node-2 anywhere
  for (size_t i = 0; i < 6; ++i)
    nodes_[i]->gossip->set_member_listener([&changes](const Member& m) {
      if (m.name == "node-2") changes.push_back(MemberStateName(m.state));
    });
  for (MemberState claim : {MemberState::kSuspect, MemberState::kFailed}) {
    // node-1 wrongly claims it and tells everyone.
    MemberPart m;
    m.state = claim;
    m.incarnation = Seen(1, "node-2")->incarnation;
    m.name = "node-2";
    m.addr = nodes_[2]->ep->address();
    for (size_t i = 0; i < 6; ++i) nodes_[1]->ep->Send(nodes_[i]->ep->address(), Datagram({m}));
    for (int ms = 0; ms < 3000; ++ms) {
      clock_.RunFor(1);
      ASSERT_TRUE(AllSee(6, "node-2", MemberState::kAlive)) << "at " << ms << " ms after the claim";
    }
  }
  EXPECT_TRUE(changes.empty()) << changes.front();
  uint64_t refuted = 0;
  for (size_t i = 0; i < 6; ++i) refuted += nodes_[i]->gossip->counters().claims_refuted;
  EXPECT_GE(refuted, 2u);
  EXPECT_TRUE(RunUntil(
      [&] {
        for (size_t i = 0; i < 6; ++i)
          if (Seen(i, "node-2")->incarnation <= inc) return false;
        return true;
      },
      3000))
      << "node-2 did not refute the claims";
  clock_.RunFor(20000);
  EXPECT_TRUE(AllSee(6, "node-2", MemberState::kAlive)) << "the refutation must hold, not decay into a failure";
}

// Forged membership from a host that can send datagrams (no cluster key):
// a `left` or an address change for a live node signed by another key, a
// bad signature over the node's own key, an observation of an incarnation
// the node never signed, unsigned alive/left. None changes any view.
TEST_F(GossipTest, ForgedMembershipChangesNothing) {
  StartAll(5);
  ASSERT_TRUE(RunUntil([&] { return EveryoneSeesAllAlive(); }, 10000));
  const Member before = *Seen(0, "node-3");
  std::vector<std::string> changes;
  for (size_t i = 0; i < 5; ++i)
    nodes_[i]->gossip->set_member_listener([&changes](const Member& m) {
      if (m.name == "node-3") changes.push_back(std::string(MemberStateName(m.state)) + " " + m.addr);
    });
  auto* attacker = net_.Add("10.6.6.6:7400");
  const KeyPair evil = GenerateKeyPair();
  MemberPart left;
  left.state = MemberState::kLeft;
  left.incarnation = before.incarnation + 1;
  left.name = "node-3";
  left.addr = before.addr;
  MemberPart moved = left;
  moved.state = MemberState::kAlive;
  moved.addr = "10.6.6.6:7400";
  moved.incarnation = before.incarnation + 5;
  SignedMemberPart bad_sig = SignMember(moved, evil);
  bad_sig.key = nodes_[3]->key.public_key;  // claims node-3's key, cannot sign with it
  MemberPart far_failed;
  far_failed.state = MemberState::kFailed;
  far_failed.incarnation = kMaxIncarnation - 1;
  far_failed.name = "node-3";
  far_failed.addr = before.addr;
  for (size_t i = 0; i < 5; ++i) {
    const std::string to = nodes_[i]->ep->address();
    attacker->Send(to, Datagram({SignMember(left, evil)}));
    attacker->Send(to, Datagram({SignMember(moved, evil)}));
    attacker->Send(to, Datagram({bad_sig}));
    attacker->Send(to, Datagram({far_failed}));
    // Unsigned alive and left are not even well-formed any more.
    std::string unsigned_left = EncodePart(left);
    attacker->Send(to, std::string("\x42\x02") + unsigned_left);
  }
  for (int ms = 0; ms < 5000; ms += 10) {
    clock_.RunFor(10);
    for (size_t i = 0; i < 5; ++i) {
      auto m = Seen(i, "node-3");
      ASSERT_TRUE(m && m->state == MemberState::kAlive && m->addr == before.addr) << "node " << i << " at " << ms;
    }
  }
  EXPECT_TRUE(changes.empty()) << changes.front();
  uint64_t wrong_key = 0, bad_signature = 0, unverifiable = 0, malformed = 0;
  for (size_t i = 0; i < 5; ++i) {
    const GossipCounters& c = nodes_[i]->gossip->counters();
    wrong_key += c.dropped_wrong_key;
    bad_signature += c.dropped_bad_signature;
    unverifiable += c.dropped_unverifiable;
    malformed += c.dropped_malformed;
  }
  EXPECT_GE(wrong_key, 8u);  // left and moved at the four others (node-3 drops both too)
  EXPECT_GE(bad_signature, 5u);
  EXPECT_GE(unverifiable, 4u);
  EXPECT_GE(malformed, 5u);
  // A node refuses statements signed with another key about itself.
  EXPECT_GE(nodes_[3]->gossip->counters().dropped_wrong_key, 2u);
}

// The name is pinned to its first key, so a newcomer cannot take over a
// live member's name with its own key, not even at a higher incarnation.
TEST_F(GossipTest, ANameStaysWithItsKey) {
  StartAll(4);
  ASSERT_TRUE(RunUntil([&] { return EveryoneSeesAllAlive(); }, 10000));
  const PublicKey key = nodes_[2]->key.public_key;
  // An impostor process with node-2's name but its own key.
  auto* ep = net_.Add("10.0.0.99:7400");
  SeededRandom rnd(77);
  auto sink = std::make_unique<StoreSink>(nodes_[0]->store.get());
  GossipOptions o;
  o.node_name = "node-2";
  o.advertise_addr = "10.0.0.99:7400";
  Gossip impostor(o, &clock_, ep, &rnd, sink.get());
  for (int i = 0; i < 20; ++i) impostor.SetMeta("v" + std::to_string(i));  // a high incarnation
  impostor.Start({nodes_[0]->ep->address()});
  clock_.RunFor(20000);
  for (size_t i = 0; i < 4; ++i) {
    auto m = Seen(i, "node-2");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->addr, nodes_[2]->ep->address()) << i;
    EXPECT_EQ(m->key, key) << i;
    EXPECT_EQ(m->state, MemberState::kAlive) << i;
  }
}

// --members-need-grant: a key `admit` refuses never becomes a member, and
// a member whose key stops being admitted (revoked) is dropped everywhere
// and cannot come back.
TEST_F(GossipTest, AdmitKeepsOutKeysWithoutAGrantAndRecheckDropsRevokedOnes) {
  std::set<PublicKey> granted;
  admit_ = [&granted](const PublicKey& k) { return granted.count(k) > 0; };
  for (int i = 0; i < 5; ++i) granted.insert(AddNode().key.public_key);
  Node& outsider = AddNode();  // node-5: no grant
  for (auto& n : nodes_) n->gossip->Start({nodes_[0]->ep->address()});
  ASSERT_TRUE(RunUntil([&] { return AllSee(5, "node-4", MemberState::kAlive); }, 10000));
  clock_.RunFor(10000);
  for (size_t i = 0; i < 5; ++i) EXPECT_FALSE(Seen(i, "node-5").has_value()) << i;
  EXPECT_GT(nodes_[0]->gossip->counters().dropped_not_admitted, 0u);
  (void)outsider;

  // node-4's grant is revoked: every node drops it at its next check.
  granted.erase(nodes_[4]->key.public_key);
  for (size_t i = 0; i < 4; ++i) nodes_[i]->gossip->Recheck();
  for (size_t i = 0; i < 4; ++i) EXPECT_FALSE(Seen(i, "node-4").has_value()) << i;
  // It keeps trying (it does not know), and stays out.
  nodes_[4]->gossip->SetMeta("still here");
  clock_.RunFor(30000);
  for (size_t i = 0; i < 4; ++i) EXPECT_FALSE(Seen(i, "node-4").has_value()) << i;
  EXPECT_TRUE(AllSee(4, "node-3", MemberState::kAlive));
}

// A node of the unsigned version 1 is refused, and counted, not half
// understood.
TEST_F(GossipTest, VersionOneDatagramsAreRefused) {
  StartAll(2);
  clock_.RunFor(3000);
  auto* old = net_.Add("10.0.0.50:7400");
  std::string v1 = Datagram({PingPart{1, "node-1", "old", "10.0.0.50:7400"}});
  v1[1] = 1;
  old->Send(nodes_[1]->ep->address(), v1);
  clock_.RunFor(100);
  EXPECT_EQ(nodes_[1]->gossip->counters().dropped_old_version, 1u);
  EXPECT_FALSE(Seen(1, "old").has_value());
}

TEST_F(GossipTest, LeaveIsSeenByEveryone) {
  StartAll(6);
  ASSERT_TRUE(RunUntil([&] { return AllSee(6, "node-4", MemberState::kAlive); }, 10000));
  nodes_[4]->gossip->Leave();
  ASSERT_TRUE(RunUntil([&] { return AllSee(6, "node-4", MemberState::kLeft, 4); }, 5000));
}

TEST_F(GossipTest, ARestartedNodeMovesPastItsOldIncarnation) {
  StartAll(5);
  ASSERT_TRUE(RunUntil([&] { return AllSee(5, "node-3", MemberState::kAlive); }, 10000));
  // Raise node-3's incarnation as a few refutations would.
  for (int i = 0; i < 3; ++i) nodes_[3]->gossip->SetMeta("v" + std::to_string(i));
  ASSERT_TRUE(RunUntil([&] { return Seen(0, "node-3")->incarnation >= 4; }, 10000));
  const uint64_t old_inc = Seen(0, "node-3")->incarnation;
  // Restart it: a new Gossip starts again at incarnation 1 with new meta.
  GossipOptions o;
  o.node_name = "node-3";
  o.advertise_addr = nodes_[3]->ep->address();
  o.node_key = nodes_[3]->key;  // the key file outlives the process
  nodes_[3]->gossip.reset();    // the old instance lets go of the transport first
  nodes_[3]->gossip = std::make_unique<Gossip>(o, &clock_, nodes_[3]->ep, nodes_[3]->rnd.get(), nodes_[3]->sink.get());
  nodes_[3]->gossip->SetMeta("after restart");
  nodes_[3]->gossip->Start({nodes_[0]->ep->address()});
  ASSERT_TRUE(RunUntil(
      [&] {
        for (size_t i = 0; i < 5; ++i) {
          auto m = Seen(i, "node-3");
          if (!m || m->meta != "after restart" || m->incarnation <= old_inc) return false;
        }
        return true;
      },
      20000))
      << "the restarted node's news was not believed";
}

TEST_F(GossipTest, DisseminatesEntriesAndBlocksToEveryMember) {
  StartAll(10);
  ASSERT_TRUE(RunUntil([&] { return EveryoneSeesAllAlive(); }, 10000));
  ASSERT_TRUE(nodes_[3]->store->WriteFile(root_, "/small", "port = 80\n").ok());
  std::string big(60000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 31) % 26);
  ASSERT_TRUE(nodes_[7]->store->WriteFile(root_, "/big", big).ok());
  const Hash want = nodes_[7]->store->view().RootDigest();
  (void)want;
  ASSERT_TRUE(RunUntil(
      [&] {
        for (auto& n : nodes_) {
          auto s = n->store->ReadFile("/small");
          auto b = n->store->ReadFile("/big");
          if (!s.ok() || *s != "port = 80\n" || !b.ok() || *b != big) return false;
        }
        return true;
      },
      20000))
      << [&] {
           std::string why;
           for (auto& n : nodes_)
             why += std::string(n->store->ReadFile("/small").ok() ? "small " : "NO-small ") +
                    (n->store->ReadFile("/big").ok() ? std::to_string(n->store->ReadFile("/big")->size())
                                                     : n->store->ReadFile("/big").status().message()) +
                    " " + n->gossip->name() + ": incomplete " + std::to_string(n->store->view().incomplete().size()) +
                    " wanted " + std::to_string(n->store->Wanted(1000).size()) + " blocks " +
                    std::to_string(n->store->log().block_count()) + " wants sent " +
                    std::to_string(n->gossip->counters().wants_sent) + " served " +
                    std::to_string(n->gossip->counters().wants_served) + "\n";
           return why;
         }();
  for (auto& n : nodes_) EXPECT_EQ(n->store->view().RootDigest(), nodes_[0]->store->view().RootDigest());
}

TEST_F(GossipTest, SmallWriteReachesEveryNodeInAFewHops) {
  StartAll(10);
  ASSERT_TRUE(RunUntil([&] { return EveryoneSeesAllAlive(); }, 10000));
  net_.set_latency_ms(5, 0);
  ASSERT_TRUE(nodes_[0]->store->WriteFile(root_, "/x", "1").ok());
  const uint64_t t0 = clock_.NowMs();
  ASSERT_TRUE(RunUntil(
      [&] {
        for (auto& n : nodes_)
          if (!n->store->ReadFile("/x").ok()) return false;
        return true;
      },
      5000));
  // The writer pushes to every member: one hop of 5 ms, not a gossip interval.
  EXPECT_LE(clock_.NowMs() - t0, 20u);
}

TEST_F(GossipTest, GarbageAndForeignKeysAreDroppedAndCounted) {
  std::array<uint8_t, 32> k1{}, k2{};
  k1.fill(1);
  k2.fill(2);
  Keyring ring1, ring2;
  ring1.Add(k1);
  ring2.Add(k2);
  AddNode(ring1);
  AddNode(ring1);
  AddNode(ring2);  // wrong cluster key
  for (auto& n : nodes_) n->gossip->Start({nodes_[0]->ep->address()});
  clock_.RunFor(10000);
  EXPECT_EQ(nodes_[0]->gossip->alive_count(), 2u);
  EXPECT_EQ(nodes_[2]->gossip->alive_count(), 1u);
  EXPECT_GT(nodes_[0]->gossip->counters().dropped_unauthenticated, 0u);
  // Garbage of every length straight at a node.
  auto* attacker = net_.Add("10.6.6.6:1");
  SeededRandom r(9);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(r.Below(1300), '\0');
    for (auto& c : junk) c = static_cast<char>(r.Next());
    if (i % 2) junk.insert(0, "\x42\x01");
    attacker->Send(nodes_[1]->ep->address(), junk);
  }
  clock_.RunFor(100);
  EXPECT_GE(nodes_[1]->gossip->counters().dropped_unauthenticated, 2000u);
  EXPECT_EQ(nodes_[1]->gossip->alive_count(), 2u);
}

TEST_F(GossipTest, GarbagePlaintextIsDroppedAsMalformed) {
  StartAll(2);
  clock_.RunFor(3000);
  auto* attacker = net_.Add("10.6.6.6:1");
  SeededRandom r(10);
  for (int i = 0; i < 2000; ++i) {
    std::string junk = "\x42\x02";
    junk.resize(3 + r.Below(1100));
    for (size_t j = 2; j < junk.size(); ++j) junk[j] = static_cast<char>(r.Next());
    attacker->Send(nodes_[1]->ep->address(), junk);
  }
  clock_.RunFor(100);
  EXPECT_GT(nodes_[1]->gossip->counters().dropped_malformed, 1500u);
  EXPECT_EQ(nodes_[1]->store->log().entry_count(), 1u) << "nothing unverified is stored";
  EXPECT_EQ(nodes_[1]->gossip->alive_count(), 2u);
}

// Without a cluster key a datagram's source can be forged: a node must not
// answer an unverified address with more than it was sent (a reflector for
// attacks on that address). Once the address acks a ping of ours, it gets
// the member list it asked for and the entries it WANTs.
TEST_F(GossipTest, AnUnverifiedAddressGetsNoMoreThanItSent) {
  StartAll(6);
  ASSERT_TRUE(RunUntil([&] { return EveryoneSeesAllAlive(); }, 10000));
  const std::string genesis = testing::EntryBytes(*origin_).at(0);
  const Hash genesis_hash = HashBytes(genesis);
  ASSERT_TRUE(nodes_[1]->sink->Lookup(genesis_hash).has_value()) << "the WANT below must name a stored entry";

  // News in every queue: what an ack would carry to a verified address.
  ASSERT_TRUE(nodes_[1]->store->WriteFile(root_, "/news", "port = 80\n").ok());

  auto* victim = net_.Add("10.9.9.9:7400");
  size_t received = 0, member_parts = 0, entries = 0;
  std::vector<uint32_t> pings;
  victim->SetReceiver([&](const std::string&, std::string_view d) {
    received += d.size();
    auto parts = DecodeDatagram(d);
    if (!parts.ok()) return;
    for (const Part& p : *parts) {
      if (std::holds_alternative<MemberPart>(p) || std::holds_alternative<SignedMemberPart>(p)) ++member_parts;
      if (std::holds_alternative<EntryPart>(p)) ++entries;
      if (const auto* ping = std::get_if<PingPart>(&p)) pings.push_back(ping->seq);
    }
  });
  auto datagram = [](std::vector<Part> parts) {
    DatagramBuilder b;
    for (const Part& p : parts) EXPECT_TRUE(b.Add(EncodePart(p)));
    return b.Finish();
  };
  const std::string target = nodes_[1]->ep->address();
  size_t sent = 0;
  for (const std::string& d : {datagram({PushPullPart{true}}), datagram({WantPart{{genesis_hash}}}),
                               datagram({PingPart{7, "", "", ""}}), datagram({PushPullPart{true}})}) {
    victim->Send(target, d);
    sent += d.size();
  }
  clock_.RunFor(300);  // within the validation ping's lifetime (2 probe timeouts)
  EXPECT_LE(received, 3 * sent) << "sent " << sent;
  EXPECT_EQ(member_parts, 0u);
  EXPECT_EQ(entries, 0u);
  ASSERT_FALSE(pings.empty()) << "the node did not try to verify the address";
  EXPECT_GE(nodes_[1]->gossip->counters().unverified_in, 4u);

  // The address answers: now it is verified, and what it asked for comes.
  victim->Send(target, datagram({AckPart{pings.back(), "victim"}}));
  clock_.RunFor(500);
  EXPECT_GE(member_parts, 6u) << "no member list after verification";
  victim->Send(target, datagram({WantPart{{genesis_hash}}}));
  clock_.RunFor(500);
  EXPECT_EQ(entries, 1u);
}

// A member can be made up by anyone without a cluster key (a fresh key
// signing "alive at some address"): until that address answers a ping, the
// cluster sends it probes and validation pings only, never news, member
// lists or entries. A ping naming an unknown node makes no member at all.
TEST_F(GossipTest, AMadeUpMemberGetsOnlyPings) {
  StartAll(6);
  ASSERT_TRUE(RunUntil([&] { return EveryoneSeesAllAlive(); }, 10000));
  auto* victim = net_.Add("10.9.9.9:7400");  // receives, never answers
  size_t datagrams = 0, largest = 0, other_parts = 0;
  victim->SetReceiver([&](const std::string&, std::string_view d) {
    ++datagrams;
    largest = std::max(largest, d.size());
    auto parts = DecodeDatagram(d);
    if (!parts.ok()) return;
    for (const Part& p : *parts)
      if (!std::holds_alternative<PingPart>(p)) ++other_parts;
  });
  auto* forger = net_.Add("10.6.6.6:1");
  forger->Send(nodes_[1]->ep->address(), Datagram({PingPart{5, "", "pinged-up", "10.9.9.9:7400"}}));
  MemberPart made_up;
  made_up.name = "made-up";
  made_up.addr = "10.9.9.9:7400";
  made_up.incarnation = 1;
  forger->Send(nodes_[1]->ep->address(), Datagram({SignMember(made_up, GenerateKeyPair())}));
  clock_.RunFor(500);
  EXPECT_FALSE(Seen(1, "pinged-up").has_value()) << "a ping's names are not signed: no member from them";
  ASSERT_TRUE(Seen(1, "made-up").has_value()) << "the node did not take the made-up member";
  for (int i = 0; i < 5; ++i) {  // news in every queue meanwhile
    ASSERT_TRUE(nodes_[i]->store->WriteFile(root_, "/news" + std::to_string(i), "port = 80\n").ok());
    clock_.RunFor(6000);
  }
  clock_.RunFor(30000);  // long enough to be declared failed and "reconnected" to
  EXPECT_GT(datagrams, 0u) << "nobody probed the made-up member";
  EXPECT_EQ(other_parts, 0u);
  EXPECT_LE(largest, 200u);
}

// Online rotation in a sealed cluster: each step reaches every live member
// and goes through its listener (the daemon's key file); a member that was
// down during two steps catches up from the first member that hears it
// seal with the older key; a listener that fails is that member's answer.
TEST_F(GossipTest, KeyringRotationReachesEveryMemberAndALateOneCatchesUp) {
  const ClusterKey k1{1}, k2{2};
  Keyring ring;
  ring.Add(k1);
  std::map<std::string, std::vector<ClusterKey>> files;  // what each node's listener wrote
  for (int i = 0; i < 4; ++i) {
    Node& n = AddNode(ring);
    n.gossip->set_keyring_listener([&files, i](const Keyring& k) {
      if (i == 2 && k.keys().size() > 2) return IOError("disk full");
      files["node-" + std::to_string(i)] = k.keys();
      return Status::Ok();
    });
  }
  for (auto& n : nodes_) n->gossip->Start({nodes_[0]->ep->address()});
  ASSERT_TRUE(RunUntil([&] { return EveryoneSeesAllAlive(); }, 10000));
  auto step = [&](size_t at, KeyringOp op, const ClusterKey& key) {
    std::optional<KeyringResult> out;
    nodes_[at]->gossip->ChangeKeyring(op, key, [&out](const KeyringResult& r) { out = r; });
    EXPECT_TRUE(RunUntil([&] { return out.has_value(); }, 10000));
    return out.value_or(KeyringResult{});
  };

  // node-3 is away for the install and the switch.
  net_.SetDown(nodes_[3]->ep->address(), true);
  ASSERT_TRUE(RunUntil([&] { return AllSee(3, "node-3", MemberState::kFailed); }, 30000));
  KeyringResult r = step(0, KeyringOp::kInstall, k2);
  EXPECT_EQ(r.asked, 3u);
  EXPECT_TRUE(r.errors.empty());
  r = step(1, KeyringOp::kUse, k2);
  EXPECT_EQ(r.keys.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(nodes_[i]->gossip->keyring().keys(), (std::vector<ClusterKey>{k2, k1})) << i;
    EXPECT_EQ(files["node-" + std::to_string(i)], (std::vector<ClusterKey>{k2, k1})) << i;
  }
  EXPECT_EQ(nodes_[3]->gossip->keyring().keys(), std::vector<ClusterKey>{k1});

  // Back: it seals with k1, which the others hold; they send it theirs.
  net_.SetDown(nodes_[3]->ep->address(), false);
  ASSERT_TRUE(RunUntil([&] { return nodes_[3]->gossip->keyring().keys() == std::vector<ClusterKey>{k2, k1}; }, 30000));
  EXPECT_EQ(files["node-3"], (std::vector<ClusterKey>{k2, k1}));
  ASSERT_TRUE(RunUntil([&] { return EveryoneSeesAllAlive(); }, 30000));
  // An older keyring never replaces a newer one: node-3's own generation is
  // the newest now, and the others keep theirs.
  clock_.RunFor(20000);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(nodes_[i]->gossip->keyring().keys(), (std::vector<ClusterKey>{k2, k1})) << i;

  // A listener that cannot write: that member answers with its error and
  // keeps its keyring; the others take the step.
  r = step(0, KeyringOp::kInstall, ClusterKey{3});
  EXPECT_EQ(r.asked, 4u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors.begin()->first, "node-2");
  EXPECT_EQ(r.errors.begin()->second, "disk full");
  EXPECT_EQ(nodes_[2]->gossip->keyring().keys().size(), 2u);
  EXPECT_EQ(nodes_[1]->gossip->keyring().keys().size(), 3u);
}

// Without a cluster key there is nothing to rotate, and the answer says so.
TEST_F(GossipTest, KeyringStepsNeedAClusterKey) {
  StartAll(2);
  std::optional<KeyringResult> out;
  nodes_[0]->gossip->ChangeKeyring(KeyringOp::kList, ClusterKey{}, [&out](const KeyringResult& r) { out = r; });
  ASSERT_TRUE(out.has_value());
  ASSERT_EQ(out->errors.size(), 1u);
  EXPECT_NE(out->errors.begin()->second.find("no cluster key"), std::string::npos);
}

}  // namespace
}  // namespace basefs
