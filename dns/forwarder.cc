#include "dns/forwarder.h"

#include <event2/event.h>
#include <ldns/ldns.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "daemon/sockaddr.h"

namespace basefs {

struct Forwarder::Pending {
  Forwarder* owner = nullptr;
  uint64_t id = 0;
  std::string query;  // the client's query, our ID patched in
  Query q;
  size_t udp_limit = 0;
  ReplyFn reply;
  std::string key;
  size_t upstream = 0;  // index of the upstream being tried
  uint16_t wire_id = 0;
  int fd = -1;
  event* ev = nullptr;
  void Close() {
    if (ev) event_free(ev);
    if (fd >= 0) ::close(fd);
    ev = nullptr;
    fd = -1;
  }
  ~Pending() { Close(); }
};

namespace {

std::string CacheKey(const Query& q) {
  std::string k(q.name());
  k.push_back(static_cast<char>(q.qtype >> 8));
  k.push_back(static_cast<char>(q.qtype));
  k.push_back(static_cast<char>(q.qclass >> 8));
  k.push_back(static_cast<char>(q.qclass));
  return k;
}

// Seconds a reply may be cached: its lowest TTL, or for a negative answer
// the SOA's min(TTL, MINIMUM); 0 when it must not be cached.
uint32_t CacheTtl(const uint8_t* msg, size_t len, uint32_t cap) {
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, msg, len) != LDNS_STATUS_OK) return 0;
  uint32_t ttl = cap;
  const ldns_pkt_rcode rc = ldns_pkt_get_rcode(p);
  const size_t an = ldns_pkt_ancount(p);
  if ((rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN) || ldns_pkt_tc(p)) {
    ttl = 0;
  } else if (an > 0 && rc == LDNS_RCODE_NOERROR) {
    for (size_t i = 0; i < an; ++i) ttl = std::min(ttl, ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), i)));
  } else {
    ttl = 0;
    for (size_t i = 0; i < ldns_pkt_nscount(p); ++i) {
      ldns_rr* rr = ldns_rr_list_rr(ldns_pkt_authority(p), i);
      if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7)
        ttl = std::min({cap, ldns_rr_ttl(rr), ldns_rdf2native_int32(ldns_rr_rdf(rr, 6))});
    }
  }
  ldns_pkt_free(p);
  return ttl;
}

// The reply with every TTL lowered by `elapsed_s` (the cache's countdown).
std::string Aged(const std::string& wire, uint32_t elapsed_s) {
  if (elapsed_s == 0) return wire;
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, reinterpret_cast<const uint8_t*>(wire.data()), wire.size()) != LDNS_STATUS_OK) return wire;
  for (ldns_rr_list* l : {ldns_pkt_answer(p), ldns_pkt_authority(p), ldns_pkt_additional(p)})
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); ++i) {
      ldns_rr* rr = ldns_rr_list_rr(l, i);
      ldns_rr_set_ttl(rr, ldns_rr_ttl(rr) > elapsed_s ? ldns_rr_ttl(rr) - elapsed_s : 0);
    }
  uint8_t* out = nullptr;
  size_t size = 0;
  std::string result = wire;
  if (ldns_pkt2wire(&out, p, &size) == LDNS_STATUS_OK) result.assign(reinterpret_cast<char*>(out), size);
  free(out);
  ldns_pkt_free(p);
  return result;
}

// Does `reply` answer `q` (same question, QR set)?
bool Matches(const uint8_t* reply, size_t len, const Query& q) {
  if (len < kDnsHeaderBytes + q.qname_len + 4 || !(reply[2] & 0x80) || ReadU16(reply + 4) != 1) return false;
  const uint8_t* n = reply + kDnsHeaderBytes;
  for (size_t i = 0; i < q.qname_len; ++i) {
    uint8_t c = n[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<uint8_t>(c - 'A' + 'a');
    if (c != q.qname[i]) return false;
  }
  return ReadU16(n + q.qname_len) == q.qtype && ReadU16(n + q.qname_len + 2) == q.qclass;
}

}  // namespace

std::vector<std::string> ParseResolvConf(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, addr;
    if (!(words >> key >> addr) || key != "nameserver") continue;
    const size_t pct = addr.find('%');  // fe80::1%eth0: drop the zone
    if (pct != std::string::npos) addr.resize(pct);
    out.push_back(addr.find(':') != std::string::npos ? "[" + addr + "]:53" : addr + ":53");
  }
  return out;
}

Result<std::unique_ptr<Forwarder>> Forwarder::Create(event_base* base, Clock* clock, ForwarderOptions options) {
  std::unique_ptr<Forwarder> f(new Forwarder(base, clock, std::move(options)));
  for (const auto& u : f->opts_.upstreams) {
    socklen_t len = 0;
    auto ss = ParseSockaddr(u, &len);
    if (!ss.ok()) return Invalid("bad --recursor '" + u + "': " + ss.status().message());
    f->upstreams_.emplace_back(*ss, len);
  }
  return f;
}

Forwarder::Forwarder(event_base* base, Clock* clock, ForwarderOptions options)
    : base_(base), clock_(clock), opts_(std::move(options)) {}

Forwarder::~Forwarder() = default;

void Forwarder::Deliver(const uint8_t* reply, size_t len, const Query& q, size_t udp_limit, const ReplyFn& fn) {
  uint8_t buf[kMaxDnsMessageBytes + 64];
  if (len > kMaxDnsMessageBytes) return;
  std::memcpy(buf, reply, len);
  WriteU16(buf, q.id);
  // The client's RD; AA off (we are not the authority), RA on (we recurse).
  buf[2] = static_cast<uint8_t>((buf[2] & ~0x05) | (q.flags_hi & 0x01));
  buf[3] |= 0x80;
  if (udp_limit && len > udp_limit) {
    // Too big for the client's UDP: header and question, TC set.
    const size_t qend = kDnsHeaderBytes + q.qname_len + 4;
    buf[2] |= 0x02;
    WriteU16(buf + 6, 0);
    WriteU16(buf + 8, 0);
    WriteU16(buf + 10, 0);
    len = qend;
  }
  fn(buf, len);
}

bool Forwarder::ServeFromCache(const std::string& key, const Query& q, size_t udp_limit, const ReplyFn& reply) {
  auto it = cache_.find(key);
  if (it == cache_.end()) return false;
  const uint64_t now = clock_->NowMs();
  if (now >= it->second.expires_ms) {
    lru_.erase(it->second.lru);
    cache_.erase(it);
    return false;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  ++counters_.cache_hits;
  const std::string aged = Aged(it->second.wire, static_cast<uint32_t>((now - it->second.stored_ms) / 1000));
  Deliver(reinterpret_cast<const uint8_t*>(aged.data()), aged.size(), q, udp_limit, reply);
  return true;
}

void Forwarder::Store(const std::string& key, const uint8_t* reply, size_t len) {
  const uint32_t ttl = CacheTtl(reply, len, opts_.max_cache_ttl_s);
  if (ttl == 0 || opts_.max_cache_entries == 0) return;
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    while (cache_.size() >= opts_.max_cache_entries) {
      cache_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(key);
    it = cache_.emplace(key, CacheEntry{}).first;
    it->second.lru = lru_.begin();
  }
  it->second.wire.assign(reinterpret_cast<const char*>(reply), len);
  it->second.stored_ms = clock_->NowMs();
  it->second.expires_ms = it->second.stored_ms + uint64_t{ttl} * 1000;
}

void Forwarder::Resolve(const uint8_t* msg, size_t len, const Query& q, size_t udp_limit, ReplyFn reply) {
  ++counters_.queries;
  const std::string key = CacheKey(q);
  if (ServeFromCache(key, q, udp_limit, reply)) return;
  auto p = std::make_unique<Pending>();
  p->owner = this;
  p->id = next_pending_++;
  p->query.assign(reinterpret_cast<const char*>(msg), len);
  p->q = q;
  p->udp_limit = udp_limit;
  p->reply = std::move(reply);
  p->key = key;
  if (upstreams_.empty() || pending_.size() >= opts_.max_inflight) {
    Fail(p.get());
    return;
  }
  Pending* raw = p.get();
  pending_.emplace(raw->id, std::move(p));
  Send(raw);
}

void Forwarder::Send(Pending* p) {
  for (; p->upstream < upstreams_.size(); ++p->upstream) {
    p->Close();
    const auto& [ss, slen] = upstreams_[p->upstream];
    const int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    p->fd = fd;
    // connect(): the kernel picks a random ephemeral port and drops
    // datagrams from any other address.
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&ss), slen) != 0) continue;
    p->wire_id = static_cast<uint16_t>(randombytes_uniform(65536));
    WriteU16(reinterpret_cast<uint8_t*>(p->query.data()), p->wire_id);
    if (::send(fd, p->query.data(), p->query.size(), 0) < 0) continue;
    ++counters_.upstream_sent;
    p->ev = event_new(base_, fd, EV_READ | EV_PERSIST | EV_TIMEOUT, &Forwarder::OnEvent, p);
    timeval tv{static_cast<time_t>(opts_.try_timeout_ms / 1000),
               static_cast<suseconds_t>((opts_.try_timeout_ms % 1000) * 1000)};
    event_add(p->ev, &tv);
    return;
  }
  Fail(p);
}

void Forwarder::OnEvent(int fd, short what, void* arg) {
  auto* p = static_cast<Pending*>(arg);
  Forwarder* self = p->owner;
  if (what & EV_TIMEOUT) {
    ++self->counters_.upstream_timeouts;
    ++p->upstream;
    self->Send(p);
    return;
  }
  uint8_t buf[kMaxDnsMessageBytes];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // ICMP unreachable and the like: go to the next upstream.
      ++p->upstream;
      self->Send(p);
      return;
    }
    if (static_cast<size_t>(n) < kDnsHeaderBytes || ReadU16(buf) != p->wire_id ||
        !Matches(buf, static_cast<size_t>(n), p->q)) {
      ++self->counters_.bad_replies;
      continue;
    }
    const uint8_t rcode = buf[3] & 0x0f;
    if (rcode == static_cast<uint8_t>(Rcode::kServFail) || rcode == static_cast<uint8_t>(Rcode::kRefused)) {
      if (p->upstream + 1 < self->upstreams_.size()) {
        ++p->upstream;
        self->Send(p);
        return;
      }
    }
    WriteU16(buf, 0);
    self->Store(p->key, buf, static_cast<size_t>(n));
    self->Finish(p, buf, static_cast<size_t>(n));
    return;
  }
}

void Forwarder::Finish(Pending* p, const uint8_t* reply, size_t len) {
  ReplyFn fn = std::move(p->reply);
  const Query q = p->q;
  const size_t limit = p->udp_limit;
  pending_.erase(p->id);  // frees p
  Deliver(reply, len, q, limit, fn);
}

void Forwarder::Fail(Pending* p) {
  ++counters_.servfail;
  uint8_t out[kMaxWireNameBytes + 64];
  const size_t n = WriteErrorResponse(reinterpret_cast<const uint8_t*>(p->query.data()), p->q, Decoded::kOk,
                                      upstreams_.empty() ? Rcode::kRefused : Rcode::kServFail, true, out);
  WriteU16(out, p->q.id);
  ReplyFn fn = std::move(p->reply);
  pending_.erase(p->id);  // frees p if it was pending
  fn(out, n);
}

}  // namespace basefs
