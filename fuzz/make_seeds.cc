// Writes the seed corpus of every fuzz target: valid messages of each kind,
// made with the project's own encoders, into DIR/<target>/. The fuzzers
// start from them (contrib/fuzz.sh) and the suite replays them.
//
//   fuzz_seeds DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/control_format.h"
#include "dns/wire.h"
#include "replicate/gossip_format.h"
#include "replicate/sync_format.h"
#include "store/test_util.h"
#include "zones/service_file.h"

namespace {

using namespace basefs;

class Seeds {
 public:
  explicit Seeds(std::filesystem::path dir) : dir_(std::move(dir)) {}
  void Add(const std::string& target, const std::string& bytes) {
    const auto d = dir_ / target;
    std::filesystem::create_directories(d);
    std::ofstream(d / ("seed-" + std::to_string(++n_)), std::ios::binary) << bytes;
  }

 private:
  std::filesystem::path dir_;
  int n_ = 0;
};

std::string U16(size_t n) { return {static_cast<char>(n >> 8), static_cast<char>(n)}; }

std::string Datagram(const std::vector<Part>& parts) {
  DatagramBuilder b;
  for (const Part& p : parts) b.Add(EncodePart(p));
  return b.Finish();
}

// A DNS query in wire form.
std::string QueryWire(const std::string& name, uint16_t type, bool edns, const std::string& cookie = "") {
  std::string m = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, static_cast<char>(edns ? 1 : 0)};
  uint8_t wire[256];
  size_t len = 0;
  NameToWire(name, wire, &len);
  m.append(reinterpret_cast<char*>(wire), len);
  m += U16(type) + U16(1);
  if (edns) {
    std::string opt;
    if (!cookie.empty()) opt = U16(kOptionCookie) + U16(cookie.size()) + cookie;
    m += std::string(1, '\0') + U16(41) + U16(1232) + std::string("\0\0\x80\0", 4) + U16(opt.size()) + opt;
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds DIR\n");
    return 2;
  }
  Seeds seeds(argv[1]);
  testing::MemStoreFactory factory;
  const KeyPair root = GenerateKeyPair(), other = GenerateKeyPair();
  auto store = factory.Create(root, factory.NewDir(), "basefs.");
  (void)store->Mkdir(root, "/services/web", true);
  (void)store->WriteFile(root, "/services/web/w1", "port = 8080\naddress = \"192.0.2.1\"\n");
  (void)store->WriteFile(root, "/big", std::string(70000, 'b'));
  (void)store->Grant(root, "/services", other.public_key);
  (void)store->Revoke(root, "/services", other.public_key, false);
  AttrChange attrs;
  attrs.mode = 02750;
  attrs.owner = "root";
  attrs.group = "adm";
  attrs.mtime = Mtime{1577836800, 5};
  (void)store->SetAttrs(root, "/services/web", attrs);
  const std::vector<std::string> entries = testing::EntryBytes(*store);
  std::vector<std::string> blocks;
  (void)store->log().ForEachBlock([&](const Hash&, const std::string& b) {
    blocks.push_back(b);
    return Status::Ok();
  });

  // entry: every entry of that log, and its blocks.
  for (const auto& e : entries) seeds.Add("entry", e);
  for (size_t i = 0; i < blocks.size() && i < 4; ++i) seeds.Add("entry", blocks[i]);

  // gossip: sequences of datagrams, plain (first byte 0) and sealed (1).
  MemberPart alive;
  alive.name = "n2";
  alive.addr = "10.0.0.2:7400";
  alive.incarnation = 3;
  alive.meta = "dns=127.0.0.1:5354";
  MemberPart left = alive;
  left.state = MemberState::kLeft;
  left.incarnation = 4;
  MemberPart failed = alive;
  failed.state = MemberState::kFailed;
  failed.meta.clear();
  const KeyPair n2 = GenerateKeyPair();
  const std::vector<std::string> datagrams = {
      Datagram({PingPart{1, "fuzz", "n2", "10.0.0.2:7400"}, SignMember(alive, n2)}),
      Datagram({AckPart{1, "n2"}}),
      Datagram({PingReqPart{2, "n3", "10.0.0.3:7400"}}),
      Datagram({PushPullPart{true}, SignMember(alive, n2)}),
      Datagram({failed}),
      Datagram({SignMember(left, n2)}),
      Datagram({EntryPart{entries.back()}, WantPart{{HashBytes(entries.front())}}}),
      Datagram({BlockPart{blocks.empty() ? std::string("x") : blocks.front()}}),
      Datagram({KeyringPart{7, KeyringOp::kInstall, 2, {ClusterKey{4}}}}),
      Datagram({KeyringPart{8, KeyringOp::kList, 2, {}}}),
      Datagram({KeyringPart{0, KeyringOp::kSync, 9, {ClusterKey{4}, ClusterKey{1, 2, 3}}}}),
      Datagram({KeyringReplyPart{7, true, "", {ClusterKey{4}}}}),
  };
  for (char sealed : {'\0', '\1'}) {
    std::string all(1, sealed);
    for (const auto& d : datagrams) {
      seeds.Add("gossip", std::string(1, sealed) + U16(d.size()) + d);
      all += U16(d.size()) + d;
    }
    seeds.Add("gossip", all);
  }

  // sync: a peer's stream (first byte: the piece size) of each message.
  const Hash genesis = HashBytes(entries.front());
  std::vector<SyncMsg> msgs = {
      HelloMsg{kSyncVersion, genesis, store->view().RootDigest()},
      SummaryReqMsg{{SummaryRef{"/", ""}, SummaryRef{"/services", "a"}}},
      SummaryMsg{{PathSummary{"/", "", true, {genesis}, {{"services", HashBytes("d")}}, {}},
                  PathSummary{"/services", "3", true, {}, {}, {{1, HashBytes("s")}}}}},
      WantMsg{{genesis, HashBytes("nothing")}},
      ObjectsMsg{{entries.begin(), entries.end()},
                 {blocks.begin(), blocks.begin() + std::min<size_t>(2, blocks.size())}},
      DoneMsg{store->view().RootDigest()},
      ErrorMsg{"bye"},
      GenesisMsg{entries.front()},
  };
  std::string stream;
  for (const SyncMsg& m : msgs) {
    seeds.Add("sync", std::string(1, '\x40') + EncodeFrame(m));
    stream += EncodeFrame(m);
  }
  seeds.Add("sync", std::string(1, '\xff') + stream);
  seeds.Add("sync", std::string(1, '\x07') + EncodeFrame(msgs[0]) + EncodeFrame(msgs[3]) + EncodeFrame(msgs[5]));

  // dns: queries of every kind the table answers, with and without EDNS.
  const std::vector<std::pair<std::string, uint16_t>> questions = {{"web.service.basefs.", 1},
                                                                   {"web.service.basefs.", 33},
                                                                   {"_web._tcp.basefs.", 33},
                                                                   {"_web._tcp.basefs.", 12},
                                                                   {"primary.web.service.basefs.", 1},
                                                                   {"web-1.web.instance.basefs.", 16},
                                                                   {"_services._dns-sd._udp.basefs.", 12},
                                                                   {"basefs.", 6},
                                                                   {"basefs.", 2},
                                                                   {"basefs.", 252},
                                                                   {"basefs.", 251},
                                                                   {"n1.node.basefs.", 1},
                                                                   {"www.example.org.", 28},
                                                                   {"alias.example.org.", 1},
                                                                   {"example.org.", 15},
                                                                   {"nope.example.org.", 1},
                                                                   {"b.example.org.", 16},
                                                                   {"example.com.", 1},
                                                                   {"web.service.basefs.", 255}};
  for (const auto& [name, type] : questions) {
    seeds.Add("dns", QueryWire(name, type, false));
    seeds.Add("dns", QueryWire(name, type, true));
  }
  seeds.Add("dns", QueryWire("web.service.basefs.", 1, true, "abcdefgh"));
  seeds.Add("dns", QueryWire("web.service.basefs.", 1, true, std::string("abcdefgh\x01\0\0\0kkkkhhhhhhhh", 24)));

  // forwarder: replies from an upstream to www.example.com A.
  std::string reply = QueryWire("www.example.com.", 1, false);
  reply[2] = static_cast<char>(0x81);
  reply[3] = static_cast<char>(0x80);
  reply[7] = 1;  // ANCOUNT
  std::string answer = reply + std::string("\xc0\x0c", 2) + U16(1) + U16(1) + std::string("\0\0\x0e\x10", 4) + U16(4) +
                       std::string("\xc0\x00\x02\x01", 4);
  seeds.Add("forwarder", answer);
  std::string nx = QueryWire("www.example.com.", 1, true);
  nx[2] = static_cast<char>(0x81);
  nx[3] = static_cast<char>(0x83);
  seeds.Add("forwarder", nx);

  // projection: service files and zone data (kind | u16 length | content).
  ServiceInstance si;
  si.port = 8080;
  si.address = "192.0.2.7";
  si.tags = {"primary"};
  const std::vector<std::pair<uint8_t, std::string>> files = {
      {0, FormatServiceFile(si)},
      {1, "port = 443\naddress = \"2001:db8::5\"\n[txt]\npath = \"/api\"\n[check]\ntcp = \"127.0.0.1:443\"\n"},
      {3, "MX 10 mail\n300 IN TXT \"v=spf1 -all\"\nNS ns1.example.org.\n"},
      {4, "A 192.0.2.1\nAAAA 2001:db8::1\nCNAME x\n"},
      {5, "SRV 0 0 80 www.example.org.\n"},
      {6, "SOA ns1 hostmaster 1 3600 600 1209600 10\n"},
  };
  std::string all_files;
  for (const auto& [kind, content] : files) {
    const std::string f = std::string(1, static_cast<char>(kind)) + U16(content.size()) + content;
    seeds.Add("projection", f);
    all_files += f;
  }
  seeds.Add("projection", all_files);

  // control: requests as the command line sends them.
  ControlRequest r;
  r.args = {"status", "demo", "--json"};
  seeds.Add("control", EncodeRequest(r));
  r.args = {"write", "demo", "/a"};
  r.stdin_bytes = "hello";
  r.key_secret = std::string(reinterpret_cast<const char*>(root.secret_key.data()), root.secret_key.size());
  seeds.Add("control", EncodeRequest(r));
  seeds.Add("control", EncodeResponse(ControlResponse{0, "ok\n", ""}));
  seeds.Add("control", EncodeStreamFrame("create /conf/app\n") + EncodeStreamFrame("delete /conf/app\n") +
                           EncodeResponse(ControlResponse{1, "", "stopped\n"}));

  // config: the example file's keys.
  seeds.Add("config",
            "bind = \"0.0.0.0:7400\"\njoin = [\"192.0.2.1:7400\"]\nno-recursion = false\n"
            "recursion-allow = [\"localhost\", \"10.0.0.0/8\"]\nlatency-hold = 20\nlog-level = \"info\"\n");
  seeds.Add("config", "dns = \"127.0.0.1:5354\"\nhandler = [\"/services/**=true\"]\n[table]\nx = 1\n");
  // http: what Consul clients send (the first line, then the body).
  for (const char* req : {
           "GET /v1/agent/self",
           "GET /v1/catalog/service/web?tag=primary&filter=ServiceMeta.version%20%3D%3D%20%222%22",
           "GET /v1/health/service/web?passing=1&index=12&wait=5s&near=_agent",
           "GET /v1/health/state/critical",
           "GET /v1/kv/app/?keys&separator=/",
           "GET /v1/kv/app?recurse",
           "PUT /v1/kv/app/config?cas=0\nhost=db1",
           "DELETE /v1/kv/app?recurse",
           "PUT /v1/agent/service/register\n{\"Name\": \"web\", \"ID\": \"web-1\", \"Port\": 8080, \"Tags\": "
           "[\"v1\"], \"Meta\": {\"k\": \"v\"}, \"Check\": {\"HTTP\": \"http://127.0.0.1:8080/\", "
           "\"Interval\": \"5s\"}}",
           "PUT /v1/agent/service/register\n{\"name\": \"db\", \"port\": 5432, \"check\": {\"ttl\": \"10s\"}}",
           "GET /v1/agent/check/pass/service:db?note=ok",
           "PUT /v1/agent/check/update/service:db\n{\"Status\": \"warning\", \"Output\": \"slow\"}",
           "GET /v1/agent/service/deregister/web-1",
       })
    seeds.Add("http", req);
  std::printf("seeds written to %s\n", argv[1]);
  return 0;
}
