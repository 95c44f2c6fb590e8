#include "dns/forwarder.h"

#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "base/host_port.h"

namespace basefs {

struct Forwarder::Pending {
  Forwarder* owner = nullptr;
  uint64_t id = 0;
  std::string query;  // our query upstream
  Query q;            // the first client's question (for matching replies)
  std::vector<Waiter> waiters;
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

constexpr uint8_t kCdBit = 0x10;  // in header byte 3

bool WantsDnssec(const Query& q) { return q.edns && q.edns_do; }

// What an answer depends on: the question, and whether DNSSEC records
// (DO) and unvalidated data (CD) were asked for.
std::string CacheKey(const Query& q) {
  std::string k(q.name());
  k.push_back(static_cast<char>(q.qtype >> 8));
  k.push_back(static_cast<char>(q.qtype));
  k.push_back(static_cast<char>(q.qclass >> 8));
  k.push_back(static_cast<char>(q.qclass));
  k.push_back(static_cast<char>((WantsDnssec(q) ? 1 : 0) | ((q.flags_lo & kCdBit) ? 2 : 0)));
  return k;
}

// Our query for `q`: RD, the client's CD, the question in lowercase, and an
// OPT record with our payload size and the client's DO bit.
std::string UpstreamQuery(const Query& q) {
  std::string m(kDnsHeaderBytes, '\0');
  m[2] = 0x01;  // RD
  m[3] = static_cast<char>(q.flags_lo & kCdBit);
  m[5] = 1;  // QDCOUNT
  m.append(q.name());
  m.push_back(static_cast<char>(q.qtype >> 8));
  m.push_back(static_cast<char>(q.qtype));
  m.push_back(static_cast<char>(q.qclass >> 8));
  m.push_back(static_cast<char>(q.qclass));
  const size_t len = m.size();
  Query ours = q;  // our OPT: the client's DO only if it sent EDNS, no cookie of ours
  ours.reply_cookie_len = 0;
  ours.edns_do = WantsDnssec(q);
  m.resize(len + 11);
  m.resize(AppendOpt(reinterpret_cast<uint8_t*>(m.data()), len, ours));
  return m;
}

// The offset just past the (possibly compressed) name at `at`, 0 if it
// runs past the message or has a bad label.
size_t SkipName(const uint8_t* m, size_t len, size_t at) {
  while (at < len) {
    const uint8_t l = m[at];
    if (l == 0) return at + 1;
    if ((l & 0xc0) == 0xc0) return at + 2 <= len ? at + 2 : 0;
    if (l & 0xc0) return 0;
    at += 1 + l;
  }
  return 0;
}

// An upstream reply without its hop-by-hop records in the additional
// section — OPT (each client gets its own) and TSIG (it signs one hop; a
// client could not check it, and ldns leaks all but one TSIG record when it
// parses a message holding several: the fuzzer found it) — or "" if its
// records do not add up.
std::string WithoutHopRecords(const uint8_t* msg, size_t len) {
  if (len < kDnsHeaderBytes) return "";
  size_t at = kDnsHeaderBytes;
  for (uint16_t i = 0, n = ReadU16(msg + 4); i < n; ++i) {
    at = SkipName(msg, len, at);
    if (at == 0 || at + 4 > len) return "";
    at += 4;
  }
  std::string out(reinterpret_cast<const char*>(msg), at);
  const size_t answers = size_t{ReadU16(msg + 6)} + ReadU16(msg + 8);
  const size_t total = answers + ReadU16(msg + 10);
  uint16_t removed = 0;
  for (size_t i = 0; i < total; ++i) {
    const size_t start = at;
    at = SkipName(msg, len, at);
    if (at == 0 || at + 10 > len) return "";
    const uint16_t type = ReadU16(msg + at);
    const size_t end = at + 10 + ReadU16(msg + at + 8);
    if (end > len) return "";
    if (i >= answers && (type == 41 || type == 250)) {
      ++removed;
    } else {
      out.append(reinterpret_cast<const char*>(msg) + start, end - start);
    }
    at = end;
  }
  WriteU16(reinterpret_cast<uint8_t*>(out.data()) + 10, static_cast<uint16_t>(ReadU16(msg + 10) - removed));
  return out;
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

std::optional<std::string> CleanUpstreamReply(const uint8_t* reply, size_t len, const Query& q) {
  if (len < kDnsHeaderBytes || len > kMaxDnsMessageBytes || !Matches(reply, len, q)) return std::nullopt;
  std::string clean = WithoutHopRecords(reply, len);
  if (clean.size() < q.question_end) return std::nullopt;
  WriteU16(reinterpret_cast<uint8_t*>(clean.data()), 0);
  return clean;
}

uint32_t UpstreamCacheTtl(const std::string& clean, uint32_t cap) {
  return CacheTtl(reinterpret_cast<const uint8_t*>(clean.data()), clean.size(), cap);
}

std::string AgedReply(const std::string& wire, uint32_t elapsed_s) { return Aged(wire, elapsed_s); }

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
  std::vector<std::string> upstreams = options.upstreams;
  std::unique_ptr<Forwarder> f(new Forwarder(base, clock, std::move(options)));
  BASEFS_RETURN_IF_ERROR(f->SetUpstreams(upstreams));
  return f;
}

Status Forwarder::SetUpstreams(const std::vector<std::string>& upstreams) {
  std::vector<std::pair<sockaddr_storage, socklen_t>> parsed;
  for (const auto& u : upstreams) {
    socklen_t len = 0;
    auto ss = ParseSockaddr(u, &len);
    if (!ss.ok()) return Invalid("bad --recursor '" + u + "': " + ss.status().message());
    parsed.emplace_back(*ss, len);
  }
  // Queries in flight index the list: they go on with the new one.
  upstreams_ = std::move(parsed);
  opts_.upstreams = upstreams;
  return Status::Ok();
}

Forwarder::Forwarder(event_base* base, Clock* clock, ForwarderOptions options)
    : base_(base), clock_(clock), opts_(std::move(options)) {}

Forwarder::~Forwarder() = default;

void Forwarder::Deliver(const std::string& reply, const Waiter& w) {
  const Query& q = w.q;
  uint8_t buf[kMaxDnsMessageBytes + 64];
  if (reply.size() > kMaxDnsMessageBytes || reply.size() < q.question_end) return;
  size_t len = reply.size();
  std::memcpy(buf, reply.data(), len);
  WriteU16(buf, q.id);
  // The client's question bytes (its letter case; the same name otherwise).
  std::memcpy(buf + kDnsHeaderBytes, w.head.data() + kDnsHeaderBytes, q.question_end - kDnsHeaderBytes);
  // The client's RD; AA off (we are not the authority), RA on (we recurse),
  // the client's CD (part of the cache key).
  buf[2] = static_cast<uint8_t>((buf[2] & ~0x05) | (q.flags_hi & 0x01));
  buf[3] = static_cast<uint8_t>((buf[3] & ~kCdBit) | 0x80 | (q.flags_lo & kCdBit));
  const size_t opt = OptBytes(q);
  if ((w.udp_limit && len + opt > w.udp_limit) || len + opt > kMaxDnsMessageBytes) {
    // Too big for the client's UDP: header and question, TC set.
    buf[2] |= 0x02;
    WriteU16(buf + 6, 0);
    WriteU16(buf + 8, 0);
    WriteU16(buf + 10, 0);
    len = q.question_end;
  }
  if (q.edns) len = AppendOpt(buf, len, q);
  w.reply(buf, len);
}

bool Forwarder::ServeFromCache(const std::string& key, const Waiter& w) {
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
  Deliver(Aged(it->second.wire, static_cast<uint32_t>((now - it->second.stored_ms) / 1000)), w);
  return true;
}

void Forwarder::Store(const std::string& key, const std::string& reply) {
  const uint32_t ttl = CacheTtl(reinterpret_cast<const uint8_t*>(reply.data()), reply.size(), opts_.max_cache_ttl_s);
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
  it->second.wire = reply;
  it->second.stored_ms = clock_->NowMs();
  it->second.expires_ms = it->second.stored_ms + uint64_t{ttl} * 1000;
}

void Forwarder::Resolve(const uint8_t* msg, size_t len, const Query& q, size_t udp_limit, const std::string& client,
                        ReplyFn reply) {
  ++counters_.queries;
  Waiter w{q, std::string(reinterpret_cast<const char*>(msg), std::min(len, q.question_end)), udp_limit, client,
           std::move(reply)};
  const std::string key = CacheKey(q);
  if (ServeFromCache(key, w)) return;
  auto& mine = per_client_[client];
  if (mine >= opts_.max_per_client) {
    ++counters_.client_limited;
    FailOne(w);
    return;
  }
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    // Asked already: wait for that answer.
    if (it->second->waiters.size() >= opts_.max_waiters) {
      if (mine == 0) per_client_.erase(client);
      FailOne(w);
      return;
    }
    ++counters_.joined;
    ++mine;
    it->second->waiters.push_back(std::move(w));
    return;
  }
  if (upstreams_.empty() || pending_.size() >= opts_.max_inflight) {
    if (mine == 0) per_client_.erase(client);
    FailOne(w);
    return;
  }
  ++mine;
  auto p = std::make_unique<Pending>();
  p->owner = this;
  p->id = next_pending_++;
  p->query = UpstreamQuery(q);
  p->q = q;
  p->key = key;
  p->waiters.push_back(std::move(w));
  Pending* raw = p.get();
  pending_.emplace(raw->id, std::move(p));
  by_key_[key] = raw;
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
    if (static_cast<size_t>(n) < kDnsHeaderBytes || ReadU16(buf) != p->wire_id) {
      ++self->counters_.bad_replies;
      continue;
    }
    std::optional<std::string> clean = CleanUpstreamReply(buf, static_cast<size_t>(n), p->q);
    if (!clean) {
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
    self->Store(p->key, *clean);
    self->Finish(p, *clean);
    return;
  }
}

void Forwarder::Release(const std::vector<Waiter>& waiters) {
  for (const Waiter& w : waiters) {
    auto it = per_client_.find(w.client);
    if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
  }
}

void Forwarder::Finish(Pending* p, const std::string& reply) {
  std::vector<Waiter> waiters = std::move(p->waiters);
  by_key_.erase(p->key);
  pending_.erase(p->id);  // frees p
  Release(waiters);
  for (const Waiter& w : waiters) Deliver(reply, w);
}

void Forwarder::FailOne(const Waiter& w) {
  ++counters_.servfail;
  uint8_t out[kMaxWireNameBytes + 64];
  size_t n = WriteErrorResponse(reinterpret_cast<const uint8_t*>(w.head.data()), w.q, Decoded::kOk,
                                upstreams_.empty() ? Rcode::kRefused : Rcode::kServFail, true, out);
  out[3] |= 0x80;  // RA
  w.reply(out, n);
}

void Forwarder::Fail(Pending* p) {
  std::vector<Waiter> waiters = std::move(p->waiters);
  by_key_.erase(p->key);
  pending_.erase(p->id);  // frees p
  Release(waiters);
  for (const Waiter& w : waiters) FailOne(w);
}

std::string ClientKey(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return std::string(reinterpret_cast<const char*>(&in->sin_addr), 4);
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    // An IPv4 client of a dual-stack socket (::ffff:a.b.c.d) is that
    // IPv4 address, not the /64 every such client shares.
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
      return std::string(reinterpret_cast<const char*>(&in6->sin6_addr) + 12, 4);
    return std::string(reinterpret_cast<const char*>(&in6->sin6_addr), 8);
  }
  return "";
}

}  // namespace basefs
