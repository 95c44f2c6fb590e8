// A hostile peer as a real process: forged gossip datagrams aimed at one
// daemon's gossip port, about one of its members. Tests run it against real
// daemons (tests/membership_test.cc).
//
//   hostile_peer forge-member TARGET NAME ADDR INCARNATION
//
// sends to TARGET (ADDR:PORT, plaintext gossip: no cluster key), about the
// member NAME at ADDR whose signed incarnation is INCARNATION:
//   1. a signed `left` at INCARNATION + 1, signed by a fresh key;
//   2. a signed alive at INCARNATION + 5 moving NAME to this process's
//      address, signed by the fresh key;
//   3. the same with a signature that does not verify;
//   4. `failed` at the highest incarnation there is;
//   5. `failed` at INCARNATION (a claim the member can refute);
//   6. an unsigned `left` (not a valid part since version 2);
//   7. a version 1 datagram.
// Prints "sent N" and exits 0.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/crypto.h"
#include "base/host_port.h"
#include "replicate/gossip.h"
#include "replicate/gossip_format.h"

namespace {

std::string Datagram(const basefs::Part& p) {
  basefs::DatagramBuilder b;
  b.Add(basefs::EncodePart(p));
  return b.Finish();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace basefs;
  if (argc != 6 || std::string(argv[1]) != "forge-member") {
    std::fprintf(stderr, "usage: hostile_peer forge-member TARGET NAME ADDR INCARNATION\n");
    return 2;
  }
  CryptoInit();
  socklen_t len = 0;
  auto target = ParseSockaddr(argv[2], &len);
  if (!target.ok()) {
    std::fprintf(stderr, "hostile_peer: %s\n", target.status().message().c_str());
    return 2;
  }
  const std::string name = argv[3], addr = argv[4];
  const uint64_t inc = std::strtoull(argv[5], nullptr, 10);
  const int fd = ::socket(target->ss_family, SOCK_DGRAM, 0);
  const KeyPair evil = GenerateKeyPair();

  MemberPart left;
  left.state = MemberState::kLeft;
  left.incarnation = inc + 1;
  left.name = name;
  left.addr = addr;
  MemberPart moved = left;
  moved.state = MemberState::kAlive;
  moved.incarnation = inc + 5;
  moved.addr = "127.0.0.1:9";
  SignedMemberPart bad_sig = SignMember(moved, evil);
  bad_sig.sig[0] ^= 1;
  MemberPart far_failed = left;
  far_failed.state = MemberState::kFailed;
  far_failed.incarnation = kMaxIncarnation - 1;
  MemberPart failed = far_failed;
  failed.incarnation = inc;
  std::string v1 = Datagram(AckPart{1, "old"});
  v1[1] = 1;
  const std::string datagrams[] = {Datagram(SignMember(left, evil)),
                                   Datagram(SignMember(moved, evil)),
                                   Datagram(bad_sig),
                                   Datagram(far_failed),
                                   Datagram(failed),
                                   std::string("\x42\x02") + EncodePart(left),
                                   v1};
  int sent = 0;
  for (const std::string& d : datagrams)
    if (::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&*target), len) ==
        static_cast<ssize_t>(d.size()))
      ++sent;
  ::close(fd);
  std::printf("sent %d\n", sent);
  return sent == static_cast<int>(std::size(datagrams)) ? 0 : 1;
}
