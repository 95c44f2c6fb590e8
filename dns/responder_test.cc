#include "dns/responder.h"

#include <cstring>
#include <functional>
#include <random>

#include <gtest/gtest.h>
#include <ldns/ldns.h>

#include "dns/query_wire_testing.h"

namespace basefs {
namespace {

using testing::Pkt;

// The queries of these tests (EDNS ones with DO).
std::string QueryWire(const std::string& name, ldns_rr_type type, bool edns = false, uint16_t payload = 1232,
                      ldns_rr_class cls = LDNS_RR_CLASS_IN) {
  testing::QueryOptions o;
  o.edns = edns;
  o.payload = payload;
  o.cls = cls;
  return testing::QueryWire(name, type, o);
}

class ResponderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ProjectionInput in;
    in.domain = "basefs.";
    in.self_node = "n1";
    in.members = {{"n1", "10.0.0.1", true, "K", {}}};
    in.files.push_back({"/services/web/web-1", "K", "port = 8080\naddress = \"192.0.2.10\"\ntags = [\"primary\"]\n"});
    for (int i = 0; i < 30; ++i)
      in.files.push_back({"/services/big/i" + std::to_string(i), "K",
                          "port = 80\naddress = \"2001:db8::" + std::to_string(i + 1) + "\"\n"});
    for (int i = 0; i < 20; ++i)
      in.files.push_back({"/services/mid/i" + std::to_string(i), "K",
                          "port = 80\naddress = \"2001:db8::" + std::to_string(i + 1) + "\"\n"});
    in.files.push_back({"/zones/example.org/www", "K", "A 192.0.2.1\n"});
    in.files.push_back({"/zones/example.org/alias", "K", "CNAME www.example.org.\n"});
    in.files.push_back({"/zones/example.org/a/b/deep", "K", "TXT hello\n"});
    const Projection p = Project(in);
    ASSERT_TRUE(p.bad_files.empty()) << p.bad_files[0].reason;
    auto t = AnswerTable::Build(p.zones, {7, 9});
    ASSERT_TRUE(t.ok()) << t.status().message();
    table_ = std::move(t).value();
  }

  Outcome Ask(const std::string& wire, bool tcp = false) {
    return Respond(reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), tcp, table_.get(), opts_, &q_, out_);
  }
  Pkt AskPkt(const std::string& wire, bool tcp = false) {
    Outcome o = Ask(wire, tcp);
    EXPECT_EQ(o.action, DnsAction::kReply);
    ldns_pkt* p = nullptr;
    EXPECT_EQ(ldns_wire2pkt(&p, out_, o.len), LDNS_STATUS_OK);
    return Pkt(p);
  }
  static bool AnswerHas(ldns_pkt* p, ldns_rr_type t, const std::string& rdata) {
    ldns_rr_list* an = ldns_pkt_answer(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(an); ++i) {
      ldns_rr* rr = ldns_rr_list_rr(an, i);
      if (ldns_rr_get_type(rr) != t) continue;
      char* s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
      const bool eq = rdata == s;
      free(s);
      if (eq) return true;
    }
    return false;
  }

  std::unique_ptr<AnswerTable> table_;
  ResponderOptions opts_;
  Query q_;
  uint8_t out_[kResponseBufferBytes];
};

TEST_F(ResponderTest, AnswersServiceAddressAuthoritatively) {
  Pkt p = AskPkt(QueryWire("web.service.basefs.", LDNS_RR_TYPE_A));
  EXPECT_EQ(ldns_pkt_id(p.get()), 0x1234);
  EXPECT_TRUE(ldns_pkt_aa(p.get()));
  EXPECT_TRUE(ldns_pkt_qr(p.get()));
  EXPECT_TRUE(ldns_pkt_rd(p.get()));
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NOERROR);
  EXPECT_TRUE(AnswerHas(p.get(), LDNS_RR_TYPE_A, "192.0.2.10"));
}

TEST_F(ResponderTest, NamesAreCaseInsensitiveAndTheQuestionKeepsItsCase) {
  const std::string wire = QueryWire("WeB.SeRvIcE.BaseFS.", LDNS_RR_TYPE_A);
  Pkt p = AskPkt(wire);
  EXPECT_TRUE(AnswerHas(p.get(), LDNS_RR_TYPE_A, "192.0.2.10"));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out_) + 12, q_.question_end - 12),
            wire.substr(12, q_.question_end - 12));
}

TEST_F(ResponderTest, SrvCarriesTargetAddressInAdditional) {
  Pkt p = AskPkt(QueryWire("_web._tcp.basefs.", LDNS_RR_TYPE_SRV));
  ASSERT_EQ(ldns_pkt_ancount(p.get()), 1);
  ASSERT_GE(ldns_pkt_arcount(p.get()), 1);
  ldns_rr* add = ldns_rr_list_rr(ldns_pkt_additional(p.get()), 0);
  EXPECT_EQ(ldns_rr_get_type(add), LDNS_RR_TYPE_A);
}

TEST_F(ResponderTest, DnsSdPtrCarriesSrvTxtAndAddress) {
  Pkt p = AskPkt(QueryWire("_web._tcp.basefs.", LDNS_RR_TYPE_PTR));
  EXPECT_TRUE(AnswerHas(p.get(), LDNS_RR_TYPE_PTR, "web-1._web._tcp.basefs."));
  std::set<int> types;
  for (size_t i = 0; i < ldns_pkt_arcount(p.get()); ++i)
    types.insert(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_additional(p.get()), i)));
  EXPECT_EQ(types, (std::set<int>{LDNS_RR_TYPE_SRV, LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_A}));
}

TEST_F(ResponderTest, NxDomainAndNoDataCarryTheSoa) {
  Pkt nx = AskPkt(QueryWire("nope.service.basefs.", LDNS_RR_TYPE_A));
  EXPECT_EQ(ldns_pkt_get_rcode(nx.get()), LDNS_RCODE_NXDOMAIN);
  EXPECT_TRUE(ldns_pkt_aa(nx.get()));
  ASSERT_EQ(ldns_pkt_nscount(nx.get()), 1);
  ldns_rr* soa = ldns_rr_list_rr(ldns_pkt_authority(nx.get()), 0);
  EXPECT_EQ(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
  EXPECT_EQ(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)), 7u);
  EXPECT_EQ(ldns_rr_ttl(soa), 10u);

  Pkt nodata = AskPkt(QueryWire("web.service.basefs.", LDNS_RR_TYPE_MX));
  EXPECT_EQ(ldns_pkt_get_rcode(nodata.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(ldns_pkt_ancount(nodata.get()), 0);
  EXPECT_EQ(ldns_pkt_nscount(nodata.get()), 1);
}

TEST_F(ResponderTest, EmptyNonTerminalIsNoData) {
  Pkt p = AskPkt(QueryWire("b.a.example.org.", LDNS_RR_TYPE_A));
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 0);
  EXPECT_EQ(ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_authority(p.get()), 0), 2)), 9u);
}

TEST_F(ResponderTest, CnameIsChasedInsideTheZone) {
  Pkt p = AskPkt(QueryWire("alias.example.org.", LDNS_RR_TYPE_A));
  EXPECT_TRUE(AnswerHas(p.get(), LDNS_RR_TYPE_CNAME, "www.example.org."));
  EXPECT_TRUE(AnswerHas(p.get(), LDNS_RR_TYPE_A, "192.0.2.1"));
  Pkt nodata = AskPkt(QueryWire("alias.example.org.", LDNS_RR_TYPE_TXT));
  EXPECT_TRUE(AnswerHas(nodata.get(), LDNS_RR_TYPE_CNAME, "www.example.org."));
  EXPECT_EQ(ldns_pkt_nscount(nodata.get()), 1);
}

TEST_F(ResponderTest, EdnsIsEchoed) {
  Pkt p = AskPkt(QueryWire("web.service.basefs.", LDNS_RR_TYPE_A, true, 4096));
  EXPECT_EQ(ldns_pkt_edns_udp_size(p.get()), kMaxUdpPayload);
  EXPECT_TRUE(ldns_pkt_edns_do(p.get()));
  Pkt plain = AskPkt(QueryWire("web.service.basefs.", LDNS_RR_TYPE_A));
  EXPECT_FALSE(ldns_pkt_edns(plain.get()));
}

TEST_F(ResponderTest, LargeAnswerTruncatesOverUdpAndIsWholeOverTcp) {
  const std::string q = QueryWire("big.service.basefs.", LDNS_RR_TYPE_AAAA);
  Pkt udp = AskPkt(q);
  EXPECT_TRUE(ldns_pkt_tc(udp.get()));
  EXPECT_EQ(ldns_pkt_ancount(udp.get()), 0);
  Pkt tcp = AskPkt(q, true);
  EXPECT_FALSE(ldns_pkt_tc(tcp.get()));
  EXPECT_EQ(ldns_pkt_ancount(tcp.get()), 30);
  Pkt edns = AskPkt(QueryWire("big.service.basefs.", LDNS_RR_TYPE_AAAA, true, 4096));
  EXPECT_FALSE(ldns_pkt_tc(edns.get()));  // 30 AAAA fit 1232 bytes, not 512
  EXPECT_EQ(ldns_pkt_ancount(edns.get()), 30);
}

TEST_F(ResponderTest, SrvWithoutRoomForAdditionalDropsItWithoutTc) {
  // 20 SRV (~860 bytes: targets are never compressed) fit 1232 bytes; with
  // their 20 AAAA in the additional section they would not.
  Pkt p = AskPkt(QueryWire("mid.service.basefs.", LDNS_RR_TYPE_SRV, true, 4096));
  EXPECT_FALSE(ldns_pkt_tc(p.get()));
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 20);
  EXPECT_EQ(ldns_pkt_arcount(p.get()), 0);  // ldns counts the OPT record apart
  EXPECT_TRUE(ldns_pkt_edns(p.get()));
}

TEST_F(ResponderTest, OutsideTheZonesIsForwardedOrRefused) {
  EXPECT_EQ(Ask(QueryWire("example.com.", LDNS_RR_TYPE_A)).action, DnsAction::kForward);
  opts_.forward = false;
  Pkt p = AskPkt(QueryWire("example.com.", LDNS_RR_TYPE_A));
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_REFUSED);
}

TEST_F(ResponderTest, TransferNeedsTcpAndStartsAndEndsWithSoa) {
  Pkt udp = AskPkt(QueryWire("basefs.", LDNS_RR_TYPE_AXFR));
  EXPECT_EQ(ldns_pkt_get_rcode(udp.get()), LDNS_RCODE_FORMERR);
  EXPECT_EQ(Ask(QueryWire("basefs.", LDNS_RR_TYPE_AXFR), true).action, DnsAction::kTransfer);
  const auto msgs = table_->Transfer(q_);
  ASSERT_FALSE(msgs.empty());
  ldns_pkt* first = nullptr;
  ldns_pkt* last = nullptr;
  ASSERT_EQ(ldns_wire2pkt(&first, reinterpret_cast<const uint8_t*>(msgs.front().data()), msgs.front().size()),
            LDNS_STATUS_OK);
  ASSERT_EQ(ldns_wire2pkt(&last, reinterpret_cast<const uint8_t*>(msgs.back().data()), msgs.back().size()),
            LDNS_STATUS_OK);
  EXPECT_EQ(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(first), 0)), LDNS_RR_TYPE_SOA);
  ldns_rr_list* an = ldns_pkt_answer(last);
  EXPECT_EQ(ldns_rr_get_type(ldns_rr_list_rr(an, ldns_rr_list_rr_count(an) - 1)), LDNS_RR_TYPE_SOA);
  ldns_pkt_free(first);
  ldns_pkt_free(last);
}

// --- Malformed input -------------------------------------------------------

std::string Header(uint16_t qd, uint16_t an = 0, uint16_t ns = 0, uint16_t ar = 0, uint8_t hi = 0x01) {
  std::string h(12, '\0');
  h[0] = 0x12;
  h[1] = 0x34;
  h[2] = static_cast<char>(hi);
  h[4] = static_cast<char>(qd >> 8);
  h[5] = static_cast<char>(qd);
  h[6] = static_cast<char>(an >> 8);
  h[7] = static_cast<char>(an);
  h[8] = static_cast<char>(ns >> 8);
  h[9] = static_cast<char>(ns);
  h[10] = static_cast<char>(ar >> 8);
  h[11] = static_cast<char>(ar);
  return h;
}
const std::string kQuestion(
    "\x03web\x07service\x06"
    "basefs\x00\x00\x01\x00\x01",
    24);

TEST_F(ResponderTest, ShortHeaderAndResponsesAreDropped) {
  EXPECT_EQ(Ask(std::string("\x12\x34\x01", 3)).action, DnsAction::kDrop);
  EXPECT_EQ(Ask("").action, DnsAction::kDrop);
  EXPECT_EQ(Ask(Header(1, 0, 0, 0, 0x81) + kQuestion).action, DnsAction::kDrop);
}

TEST_F(ResponderTest, MalformedQueriesGetFormErr) {
  const std::string cases[] = {
      Header(2) + kQuestion + kQuestion,                                                              // QDCOUNT 2
      Header(0),                                                                                      // no question
      Header(1) + std::string("\x41", 1) + std::string(65, 'a') + '\0' + std::string("\0\1\0\1", 4),  // label > 63
      Header(1) + std::string("\xc0\x0c\x00\x01\x00\x01", 6),               // compression in the question
      Header(1) + std::string("\x03web", 4),                                // name runs off the end
      Header(1) + std::string("\x03web\x00\x00", 6),                        // no QCLASS
      Header(1, 0, 0, 1) + kQuestion + std::string("\xc0\x1d\x00\x29", 4),  // additional record cut short
      Header(1) + std::string("\x03web\x00\x00\x01\x00\x2a", 9),            // class 42
      Header(1) + std::string("\x03web\x00\x00\x00\x00\x01", 9),            // QTYPE 0
  };
  for (const auto& c : cases) {
    Pkt p = AskPkt(c);
    ASSERT_TRUE(p) << "case " << &c - cases;
    EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_FORMERR) << "case " << &c - cases;
  }
}

TEST_F(ResponderTest, LongNamesAreRejected) {
  std::string name;
  for (int i = 0; i < 5; ++i) name += std::string("\x3f", 1) + std::string(63, 'a');
  Pkt p = AskPkt(Header(1) + name + '\0' + std::string("\0\1\0\1", 4));
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_FORMERR);
}

TEST_F(ResponderTest, OtherOpcodesClassesAndVersions) {
  Pkt notify = AskPkt(Header(1, 0, 0, 0, 0x20) + kQuestion);  // opcode 4 (NOTIFY)
  EXPECT_EQ(ldns_pkt_get_rcode(notify.get()), LDNS_RCODE_NOTIMPL);
  Pkt chaos = AskPkt(QueryWire("version.bind.", LDNS_RR_TYPE_TXT, false, 0, LDNS_RR_CLASS_CH));
  EXPECT_EQ(ldns_pkt_get_rcode(chaos.get()), LDNS_RCODE_REFUSED);
  // EDNS version 1: BADVERS (extended rcode 1 in the OPT record).
  std::string v1 = Header(1, 0, 0, 1) + kQuestion + std::string("\x00\x00\x29\x04\xd0\x00\x01\x00\x00\x00\x00", 11);
  Outcome o = Ask(v1);
  ASSERT_EQ(o.action, DnsAction::kReply);
  ASSERT_GE(o.len, 11u);
  EXPECT_EQ(out_[o.len - 6], 1);  // extended rcode byte of the OPT TTL
}

TEST_F(ResponderTest, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  const std::string valid = QueryWire("web.service.basefs.", LDNS_RR_TYPE_SRV, true);
  for (int i = 0; i < 200000; ++i) {
    std::string m = valid;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) m[rng() % m.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0) m.resize(rng() % (m.size() + 1));
    Outcome o = Ask(m, rng() % 2);
    ASSERT_LE(o.len, kResponseBufferBytes);
    if (o.action == DnsAction::kReply) {
      ASSERT_GE(o.len, 12u);
    }
  }
}

}  // namespace
}  // namespace basefs
