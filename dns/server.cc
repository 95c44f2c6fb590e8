#include "dns/server.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <iterator>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "base/host_port.h"

namespace basefs {

struct DnsServer::Conn {
  DnsServer* server = nullptr;
  uint64_t id = 0;
  bufferevent* bev = nullptr;
  sockaddr_storage peer{};
  bool reading = true;
  ~Conn() {
    if (bev) bufferevent_free(bev);
  }
};

Result<Cidr> Cidr::Parse(const std::string& text) {
  Cidr c;
  std::string addr = text;
  const size_t slash = text.find('/');
  int max = 0;
  if (slash != std::string::npos) addr = text.substr(0, slash);
  if (inet_pton(AF_INET, addr.c_str(), c.addr) == 1) {
    c.family = AF_INET;
    max = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), c.addr) == 1) {
    c.family = AF_INET6;
    max = 128;
  } else {
    return Invalid("bad address block '" + text + "' (expected e.g. 10.0.0.0/8 or ::1)");
  }
  c.prefix = max;
  if (slash != std::string::npos) {
    const std::string p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos || std::stoi(p) > max)
      return Invalid("bad prefix length in '" + text + "'");
    c.prefix = std::stoi(p);
  }
  return c;
}

bool Cidr::Contains(const sockaddr* sa) const {
  const uint8_t* a = nullptr;
  uint8_t mapped[4];
  if (sa->sa_family == AF_INET && family == AF_INET) {
    a = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
  } else if (sa->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (family == AF_INET6) {
      a = v6->sin6_addr.s6_addr;
    } else if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      std::memcpy(mapped, v6->sin6_addr.s6_addr + 12, 4);
      a = mapped;
    }
  }
  if (!a) return false;
  const int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a, addr, full) != 0) return false;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (addr[full] & mask);
}

namespace {

// A network of this host's interfaces: its address masked by its netmask.
void AddInterfaceNetwork(const ifaddrs* ifa, std::vector<Cidr>* out) {
  if (!ifa->ifa_addr || !ifa->ifa_netmask) return;
  Cidr c;
  const uint8_t* addr = nullptr;
  const uint8_t* mask = nullptr;
  size_t bytes = 0;
  if (ifa->ifa_addr->sa_family == AF_INET) {
    c.family = AF_INET;
    addr = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(ifa->ifa_addr)->sin_addr);
    mask = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(ifa->ifa_netmask)->sin_addr);
    bytes = 4;
  } else if (ifa->ifa_addr->sa_family == AF_INET6) {
    c.family = AF_INET6;
    addr = reinterpret_cast<const sockaddr_in6*>(ifa->ifa_addr)->sin6_addr.s6_addr;
    mask = reinterpret_cast<const sockaddr_in6*>(ifa->ifa_netmask)->sin6_addr.s6_addr;
    bytes = 16;
  } else {
    return;
  }
  for (size_t i = 0; i < bytes; ++i) {
    c.addr[i] = addr[i] & mask[i];
    for (uint8_t m = mask[i]; m & 0x80; m = static_cast<uint8_t>(m << 1)) ++c.prefix;
  }
  out->push_back(c);
}

}  // namespace

Result<std::vector<Cidr>> ParseAddressList(const std::vector<std::string>& items) {
  std::vector<Cidr> out;
  for (const std::string& item : items) {
    if (item == "localhost") {
      for (const char* l : {"127.0.0.0/8", "::1/128"}) out.push_back(*Cidr::Parse(l));
    } else if (item == "localnets") {
      ifaddrs* list = nullptr;
      if (::getifaddrs(&list) != 0) return IOError(std::string("localnets: getifaddrs: ") + std::strerror(errno));
      for (const ifaddrs* i = list; i; i = i->ifa_next) AddInterfaceNetwork(i, &out);
      ::freeifaddrs(list);
    } else {
      auto c = Cidr::Parse(item);
      if (!c.ok()) return Invalid(c.status().message() + " (or 'localhost', 'localnets')");
      out.push_back(*c);
    }
  }
  return out;
}

bool ListContains(const std::vector<Cidr>& list, const sockaddr* sa) {
  for (const Cidr& c : list)
    if (c.Contains(sa)) return true;
  return false;
}

DnsServer::DnsServer(event_base* base, const DnsServerOptions& options, Forwarder* fwd)
    : base_(base), opts_(options), forwarder_(fwd), rate_limiter_(options.rate_limit) {
  responder_.forward = options.forward && fwd != nullptr;
  responder_.cookies = options.cookies ? &cookies_ : nullptr;
}

Status DnsServer::SetRecursionAllow(const std::vector<std::string>& list) {
  BASEFS_ASSIGN_OR_RETURN(recursion_allow_, ParseAddressList(list));
  opts_.recursion_allow = list;
  return Status::Ok();
}

ResponderOptions DnsServer::ForClient(const sockaddr* peer, uint32_t now) const {
  ResponderOptions o = responder_;
  o.forward = responder_.forward && ListContains(recursion_allow_, peer);
  o.client = peer;
  o.now = now;
  return o;
}

void DnsServer::CountRefusedRecursion(const Outcome& o, const ResponderOptions& ro, const uint8_t* reply) {
  if (o.action == DnsAction::kReply && !ro.forward && responder_.forward && o.len >= 4 &&
      (reply[3] & 0x0f) == static_cast<uint8_t>(Rcode::kRefused))
    ++counters_.recursion_refused;
}

DnsServer::~DnsServer() {
  conns_.clear();
  if (listener_) evconnlistener_free(listener_);
  if (udp_ev_) event_free(udp_ev_);
  if (udp_fd_ >= 0) ::close(udp_fd_);
}

Result<std::unique_ptr<DnsServer>> DnsServer::Start(event_base* base, const DnsServerOptions& options,
                                                    Forwarder* forwarder) {
  std::unique_ptr<DnsServer> s(new DnsServer(base, options, forwarder));
  auto axfr = ParseAddressList(options.axfr_allow);
  if (!axfr.ok()) return Invalid("--axfr-allow: " + axfr.status().message());
  s->axfr_allow_ = std::move(*axfr);
  if (Status st = s->SetRecursionAllow(options.recursion_allow); !st.ok())
    return Invalid("--recursion-allow: " + st.message());
  BASEFS_RETURN_IF_ERROR(s->Bind(options.listen));
  const int fd = s->udp_fd_;
  s->in_bufs_.assign(options.udp_batch, std::vector<uint8_t>(kMaxDnsMessageBytes));
  s->out_bufs_.assign(options.udp_batch, std::vector<uint8_t>(kResponseBufferBytes));
  s->tcp_out_.resize(kResponseBufferBytes);
  s->in_msgs_.resize(options.udp_batch);
  s->out_msgs_.resize(options.udp_batch);
  s->in_iov_.resize(options.udp_batch);
  s->out_iov_.resize(options.udp_batch);
  s->peers_.resize(options.udp_batch);
  s->udp_ev_ = event_new(base, fd, EV_READ | EV_PERSIST, &DnsServer::OnUdp, s.get());
  event_add(s->udp_ev_, nullptr);
  return s;
}

// UDP and TCP on one port. With port 0 the kernel picks a free UDP port,
// whose TCP twin may be taken (by any connection's local port): then both
// are bound again on another, up to 8 times.
Status DnsServer::Bind(const std::string& listen) {
  socklen_t len = 0;
  auto ss = ParseSockaddr(listen, &len);
  if (!ss.ok()) return Invalid("bad --dns address: " + ss.status().message());
  const bool any_port = (ss->ss_family == AF_INET ? reinterpret_cast<const sockaddr_in&>(*ss).sin_port
                                                  : reinterpret_cast<const sockaddr_in6&>(*ss).sin6_port) == 0;
  for (int attempt = 1;; ++attempt) {
    const int fd = ::socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return IOError(std::string("socket: ") + std::strerror(errno));
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&*ss), len) != 0) {
      const int err = errno;
      ::close(fd);
      return IOError("cannot bind DNS UDP " + listen + ": " + std::strerror(err) + " (pick another --dns ADDR:PORT)");
    }
    const int rcvbuf = 8 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_storage bound{};
    socklen_t blen = sizeof(bound);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
    local_ = FormatSockaddr(reinterpret_cast<sockaddr*>(&bound));
    // TCP on the same port as UDP (when the UDP port was 0, the one it got).
    listener_ = evconnlistener_new_bind(base_, &DnsServer::OnAccept, this,
                                        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128,
                                        reinterpret_cast<sockaddr*>(&bound), static_cast<int>(blen));
    if (listener_) {
      udp_fd_ = fd;
      return Status::Ok();
    }
    const int err = errno;
    ::close(fd);
    if (!any_port || err != EADDRINUSE || attempt == 8)
      return IOError("cannot listen on DNS TCP " + local_ + ": " + std::strerror(err) +
                     " (pick another --dns ADDR:PORT)");
  }
}

void DnsServer::OnUdp(int, short, void* arg) {
  auto* self = static_cast<DnsServer*>(arg);
  // Bounded work per wakeup, so TCP, gossip and sync get their turn.
  for (int round = 0; round < 16; ++round) {
    const size_t before = self->counters_.udp_queries + self->counters_.dropped;
    self->ServeUdpBatch();
    if (self->counters_.udp_queries + self->counters_.dropped - before < self->opts_.udp_batch) break;
  }
}

namespace {

constexpr struct {
  uint16_t type;
  const char* name;
} kAnswerTypes[] = {{1, "A"},  {28, "AAAA"}, {33, "SRV"}, {16, "TXT"},  {12, "PTR"},   {6, "SOA"},
                    {2, "NS"}, {5, "CNAME"}, {15, "MX"},  {255, "ANY"}, {252, "AXFR"}, {0, "other"}};
constexpr const char* kRcodeNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "other"};
static_assert(std::size(kAnswerTypes) == DnsAnswerStats::kTypes);
static_assert(std::size(kRcodeNames) == DnsAnswerStats::kRcodes);

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

const char* DnsAnswerStats::TypeName(size_t i) { return kAnswerTypes[i].name; }
const char* DnsAnswerStats::RcodeName(size_t i) { return kRcodeNames[i]; }

void DnsAnswerStats::Count(uint16_t qtype, uint8_t rcode, double seconds) {
  size_t t = kTypes - 1;
  for (size_t i = 0; i + 1 < kTypes; ++i)
    if (kAnswerTypes[i].type == qtype) t = i;
  ++answers[t][rcode < kRcodes - 1 ? rcode : kRcodes - 1];
  latency.Observe(seconds);
}

namespace {
uint16_t SourcePort(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
  return 0;
}
}  // namespace

bool DnsServer::LimitRate(const sockaddr* peer, const Query& q, const uint8_t* msg, uint32_t now, uint8_t* reply,
                          size_t* len) {
  switch (rate_limiter_.Check(peer, q, reply[3] & 0x0f, now)) {
    case ResponseRateLimiter::Verdict::kSend: return true;
    case ResponseRateLimiter::Verdict::kDrop: ++counters_.rate_limited_dropped; return false;
    case ResponseRateLimiter::Verdict::kSlip: break;
  }
  // Slip: the question and TC, no records; a real client asks again over TCP.
  ++counters_.rate_limited_slipped;
  const uint8_t rcode = reply[3] & 0x0f, aa = reply[2] & 0x04;
  *len = WriteErrorResponse(msg, q, Decoded::kOk, static_cast<Rcode>(rcode), q.question_end > 0, reply);
  reply[2] |= static_cast<uint8_t>(0x02 | aa);
  return true;
}

void DnsServer::ServeUdpBatch() {
  const size_t batch = opts_.udp_batch;
  std::vector<mmsghdr>& in = in_msgs_;
  std::vector<mmsghdr>& out = out_msgs_;
  std::vector<iovec>& in_iov = in_iov_;
  std::vector<iovec>& out_iov = out_iov_;
  std::vector<sockaddr_storage>& peers = peers_;
  for (size_t i = 0; i < batch; ++i) {
    in_iov[i] = {in_bufs_[i].data(), in_bufs_[i].size()};
    in[i] = {};
    in[i].msg_hdr.msg_iov = &in_iov[i];
    in[i].msg_hdr.msg_iovlen = 1;
    in[i].msg_hdr.msg_name = &peers[i];
    in[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
  }
  const int n = ::recvmmsg(udp_fd_, in.data(), static_cast<unsigned>(batch), MSG_DONTWAIT, nullptr);
  if (n <= 0) return;
  size_t replies = 0;
  Query q;
  const auto now = static_cast<uint32_t>(::time(nullptr));
  for (int i = 0; i < n; ++i) {
    const uint8_t* msg = in_bufs_[i].data();
    const size_t len = in[i].msg_len;
    if (SourcePort(peers[i]) == 0) {  // no reply can reach port 0
      ++counters_.dropped;
      continue;
    }
    uint8_t* buf = out_bufs_[replies].data();
    const auto start = std::chrono::steady_clock::now();
    q.qtype = 0;  // a query that does not decode counts as "other"
    const auto* peer_sa = reinterpret_cast<const sockaddr*>(&peers[i]);
    const ResponderOptions ro = ForClient(peer_sa, now);
    Outcome o = Respond(msg, len, false, table_.get(), ro, &q, buf);
    if (o.action == DnsAction::kDrop || o.action == DnsAction::kTransfer) {
      ++counters_.dropped;
      continue;
    }
    ++counters_.udp_queries;
    if (o.cookie_valid) ++counters_.valid_cookies;
    CountRefusedRecursion(o, ro, buf);
    if (o.action == DnsAction::kReply && o.len >= 4) {
      if (!o.cookie_valid && !LimitRate(peer_sa, q, msg, now, buf, &o.len)) continue;
      if (ro.forward) buf[3] |= 0x80;  // RA: this client may recurse through us
      answer_stats_.Count(q.qtype, buf[3] & 0x0f, SecondsSince(start));
    }
    if (o.action == DnsAction::kForward) {
      ++counters_.forwarded;
      sockaddr_storage peer = peers[i];
      const socklen_t plen = in[i].msg_hdr.msg_namelen;
      const int fd = udp_fd_;
      forwarder_->Resolve(msg, len, q, UdpLimit(q), ClientKey(reinterpret_cast<const sockaddr*>(&peer)),
                          [fd, peer, plen](const uint8_t* reply, size_t rlen) {
                            ::sendto(fd, reply, rlen, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&peer), plen);
                          });
      continue;
    }
    out_iov[replies] = {buf, o.len};
    out[replies] = {};
    out[replies].msg_hdr.msg_iov = &out_iov[replies];
    out[replies].msg_hdr.msg_iovlen = 1;
    out[replies].msg_hdr.msg_name = &peers[i];
    out[replies].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
    ++replies;
  }
  size_t sent = 0;
  while (sent < replies) {
    const int m = ::sendmmsg(udp_fd_, out.data() + sent, static_cast<unsigned>(replies - sent), MSG_DONTWAIT);
    if (m > 0) {
      sent += static_cast<size_t>(m);
    } else if (m == 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      break;  // a full socket buffer: UDP replies may be lost, clients retry
    } else {
      ++sent;  // this reply cannot be sent (an unreachable address): the others still go
      ++counters_.dropped;
    }
  }
}

void DnsServer::OnAccept(evconnlistener*, int fd, sockaddr* sa, int socklen, void* arg) {
  auto* self = static_cast<DnsServer*>(arg);
  if (self->conns_.size() >= self->opts_.max_tcp_connections) {
    ++self->counters_.tcp_evicted;
    self->CloseConn(self->conns_.begin()->first);
  }
  auto c = std::make_unique<Conn>();
  c->server = self;
  c->id = self->next_conn_++;
  std::memcpy(&c->peer, sa, std::min(static_cast<size_t>(socklen), sizeof(c->peer)));
  c->bev = bufferevent_socket_new(self->base_, fd, BEV_OPT_CLOSE_ON_FREE);
  if (!c->bev) {
    ::close(fd);
    return;
  }
  ++self->counters_.tcp_connections;
  Conn* raw = c.get();
  self->conns_.emplace(c->id, std::move(c));
  bufferevent_setcb(raw->bev, &DnsServer::OnTcpRead, &DnsServer::OnTcpWrite, &DnsServer::OnTcpEvent, raw);
  const timeval idle{static_cast<time_t>(self->opts_.tcp_idle_timeout_ms / 1000),
                     static_cast<suseconds_t>((self->opts_.tcp_idle_timeout_ms % 1000) * 1000)};
  bufferevent_set_timeouts(raw->bev, &idle, &idle);
  bufferevent_setwatermark(raw->bev, EV_WRITE, self->opts_.max_tcp_pending_bytes / 2, 0);
  bufferevent_enable(raw->bev, EV_READ | EV_WRITE);
}

void DnsServer::OnTcpRead(bufferevent* bev, void* arg) {
  auto* c = static_cast<Conn*>(arg);
  DnsServer* self = c->server;
  const uint64_t id = c->id;
  evbuffer* in = bufferevent_get_input(bev);
  uint8_t msg[kMaxDnsMessageBytes];
  while (self->conns_.count(id)) {
    uint8_t lenbuf[2];
    if (evbuffer_copyout(in, lenbuf, 2) < 2) return;
    const size_t len = ReadU16(lenbuf);
    if (len < kDnsHeaderBytes || len > self->opts_.max_tcp_query_bytes) {
      ++self->counters_.tcp_bad_length;
      self->CloseConn(id);
      return;
    }
    if (evbuffer_get_length(in) < 2 + len) return;
    evbuffer_drain(in, 2);
    evbuffer_remove(in, msg, len);
    self->HandleTcpQuery(c, msg, len);
    if (!self->conns_.count(id)) return;
    if (evbuffer_get_length(bufferevent_get_output(bev)) > self->opts_.max_tcp_pending_bytes) {
      // The client is not reading its replies: stop reading its queries.
      bufferevent_disable(bev, EV_READ);
      c->reading = false;
      return;
    }
  }
}

void DnsServer::OnTcpWrite(bufferevent* bev, void* arg) {
  auto* c = static_cast<Conn*>(arg);
  if (!c->reading) {
    c->reading = true;
    bufferevent_enable(bev, EV_READ);
    OnTcpRead(bev, arg);  // queries that arrived meanwhile
  }
}

void DnsServer::OnTcpEvent(bufferevent*, short what, void* arg) {
  auto* c = static_cast<Conn*>(arg);
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) c->server->CloseConn(c->id);
}

void DnsServer::CloseConn(uint64_t id) { conns_.erase(id); }

void DnsServer::WriteTcp(Conn* c, const uint8_t* msg, size_t len) {
  uint8_t prefix[2];
  WriteU16(prefix, static_cast<uint16_t>(len));
  evbuffer* out = bufferevent_get_output(c->bev);
  evbuffer_add(out, prefix, 2);
  evbuffer_add(out, msg, len);
}

bool DnsServer::TransferAllowed(const sockaddr* peer) const { return ListContains(axfr_allow_, peer); }

void DnsServer::HandleTcpQuery(Conn* c, const uint8_t* msg, size_t len) {
  ++counters_.tcp_queries;
  Query q;
  std::vector<uint8_t>& out = tcp_out_;
  const auto start = std::chrono::steady_clock::now();
  const auto* peer_sa = reinterpret_cast<const sockaddr*>(&c->peer);
  const ResponderOptions ro = ForClient(peer_sa, static_cast<uint32_t>(::time(nullptr)));
  const Outcome o = Respond(msg, len, true, table_.get(), ro, &q, out.data());
  if (o.cookie_valid) ++counters_.valid_cookies;
  CountRefusedRecursion(o, ro, out.data());
  switch (o.action) {
    case DnsAction::kDrop: ++counters_.dropped; return;
    case DnsAction::kReply:
      if (o.len >= 4) {
        if (ro.forward) out[3] |= 0x80;  // RA
        answer_stats_.Count(q.qtype, out[3] & 0x0f, SecondsSince(start));
      }
      WriteTcp(c, out.data(), o.len);
      return;
    case DnsAction::kForward: {
      ++counters_.forwarded;
      const uint64_t id = c->id;
      forwarder_->Resolve(msg, len, q, 0, ClientKey(reinterpret_cast<const sockaddr*>(&c->peer)),
                          [this, id](const uint8_t* reply, size_t rlen) {
                            auto it = conns_.find(id);
                            if (it != conns_.end()) WriteTcp(it->second.get(), reply, rlen);
                          });
      return;
    }
    case DnsAction::kTransfer: {
      if (!TransferAllowed(reinterpret_cast<const sockaddr*>(&c->peer))) {
        ++counters_.transfers_refused;
        const size_t n = WriteErrorResponse(msg, q, Decoded::kOk, Rcode::kRefused, true, out.data());
        WriteTcp(c, out.data(), n);
        return;
      }
      const std::vector<std::string> msgs = table_->Transfer(q);
      if (msgs.empty()) {
        // A name below an apex: not a zone we could transfer.
        const size_t n = WriteErrorResponse(msg, q, Decoded::kOk, Rcode::kNotAuth, true, out.data());
        WriteTcp(c, out.data(), n);
        return;
      }
      ++counters_.transfers;
      for (size_t i = 0; i < msgs.size(); ++i) {
        const std::string& m = msgs[i];
        std::memcpy(out.data(), m.data(), m.size());
        WriteU16(out.data(), q.id);
        // The first message echoes the client's question: its case, and
        // IXFR for an IXFR (answered with the whole zone, RFC 1995 §4).
        if (i == 0 && m.size() >= q.question_end)
          std::memcpy(out.data() + kDnsHeaderBytes, msg + kDnsHeaderBytes, q.question_end - kDnsHeaderBytes);
        WriteTcp(c, out.data(), m.size());
      }
      return;
    }
  }
}

}  // namespace basefs
