// The DNS server at the edge: UDP and TCP sockets on the daemon's libevent
// loop around the sans-I/O responder (responder.h).
//
// UDP reads and writes in batches (recvmmsg/sendmmsg). TCP connections are
// pipelined (every complete query in the buffer is answered in order of
// arrival; forwarded ones when their reply comes), closed after
// `tcp_idle_timeout_ms` without a query, and never block each other: a
// client whose replies pile up past `max_tcp_pending_bytes` is not read from
// until it drains them, and at `max_tcp_connections` the oldest connection
// makes room for a new one. AXFR/IXFR is served over TCP to addresses in
// `axfr_allow`, REFUSED to others. Names outside our zones are forwarded
// only for clients in `recursion_allow` (never an open resolver). UDP
// answers go through response rate limiting (rate_limit.h) unless the
// client showed a valid DNS Cookie (cookies.h).
//
// Thread-safety: loop thread only. The event_base (and the Forwarder, when
// given) must outlive the server.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/histogram.h"
#include "dns/answer_table.h"
#include "dns/cookies.h"
#include "dns/forwarder.h"
#include "dns/rate_limit.h"
#include "dns/responder.h"

struct event_base;
struct event;
struct evconnlistener;
struct bufferevent;

namespace basefs {

// An address block such as 127.0.0.0/8 or ::1/128 (a bare address is /32
// or /128).
struct Cidr {
  int family = 0;
  uint8_t addr[16] = {};
  int prefix = 0;
  static Result<Cidr> Parse(const std::string& text);
  bool Contains(const sockaddr* sa) const;
};

// An address list such as --recursion-allow or --axfr-allow takes: CIDRs,
// and the keywords `localhost` (127.0.0.0/8 and ::1) and `localnets` (the
// networks of this host's interfaces, read when the list is parsed), as
// BIND's address match lists do.
Result<std::vector<Cidr>> ParseAddressList(const std::vector<std::string>& items);
bool ListContains(const std::vector<Cidr>& list, const sockaddr* sa);

struct DnsServerOptions {
  std::string listen = "127.0.0.1:5354";  // UDP and TCP
  bool forward = true;                    // false: REFUSED outside our zones
  // Clients whose names outside our zones are forwarded (with RA set in
  // every reply); others get REFUSED and no upstream query is sent.
  std::vector<std::string> recursion_allow = {"localhost", "localnets"};
  std::vector<std::string> axfr_allow = {"localhost"};
  RateLimitOptions rate_limit;  // for UDP answers from our zones and errors
  bool cookies = true;          // answer DNS Cookies (RFC 7873)
  size_t max_tcp_connections = 256;
  uint32_t tcp_idle_timeout_ms = 10000;
  size_t max_tcp_pending_bytes = 1 << 20;
  size_t max_tcp_query_bytes = 16384;  // larger length prefixes close the connection
  size_t udp_batch = 32;
};

// The answers this server gives itself (not forwarded ones, which the
// forwarder counts), by query type and response code, and the time each
// took to prepare. Bounded label sets: 12 types, 7 codes.
struct DnsAnswerStats {
  static constexpr size_t kTypes = 12, kRcodes = 7;
  static const char* TypeName(size_t i);
  static const char* RcodeName(size_t i);
  void Count(uint16_t qtype, uint8_t rcode, double seconds);
  std::array<std::array<uint64_t, kRcodes>, kTypes> answers{};
  Histogram latency = Histogram::Fast();
};

struct DnsCounters {
  uint64_t udp_queries = 0, tcp_queries = 0, dropped = 0, forwarded = 0, transfers = 0, transfers_refused = 0,
           tcp_connections = 0, tcp_evicted = 0, tcp_bad_length = 0, recursion_refused = 0, rate_limited_slipped = 0,
           rate_limited_dropped = 0, valid_cookies = 0;
};

class DnsServer {
 public:
  // `forwarder` may be null (then names outside our zones are REFUSED).
  static Result<std::unique_ptr<DnsServer>> Start(event_base* base, const DnsServerOptions& options,
                                                  Forwarder* forwarder);
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  // Serves `table` from the next query on (null: nothing is ours). Returns
  // the table served before, for the caller to free where it likes.
  std::shared_ptr<const AnswerTable> SetTable(std::shared_ptr<const AnswerTable> table) {
    std::swap(table_, table);
    return table;
  }
  const AnswerTable* table() const { return table_.get(); }
  const std::string& local_address() const { return local_; }
  const DnsCounters& counters() const { return counters_; }
  const DnsAnswerStats& answer_stats() const { return answer_stats_; }
  // Replaces the clients allowed recursion (a reload).
  Status SetRecursionAllow(const std::vector<std::string>& list);

 private:
  struct Conn;
  DnsServer(event_base* base, const DnsServerOptions& options, Forwarder* fwd);
  Status Bind(const std::string& listen);
  static void OnUdp(int fd, short what, void* arg);
  static void OnAccept(evconnlistener* l, int fd, sockaddr* sa, int socklen, void* arg);
  static void OnTcpRead(bufferevent* bev, void* arg);
  static void OnTcpWrite(bufferevent* bev, void* arg);
  static void OnTcpEvent(bufferevent* bev, short what, void* arg);
  void ServeUdpBatch();
  void HandleTcpQuery(Conn* c, const uint8_t* msg, size_t len);
  void WriteTcp(Conn* c, const uint8_t* msg, size_t len);
  void CloseConn(uint64_t id);
  bool TransferAllowed(const sockaddr* peer) const;
  // The per-query options for a query from `peer`.
  ResponderOptions ForClient(const sockaddr* peer, uint32_t now) const;
  // Counts a reply's outcome that asked for recursion it did not get.
  // Response rate limiting of a UDP reply: false to drop it; may rewrite
  // it to a truncated "slip" reply.
  bool LimitRate(const sockaddr* peer, const Query& q, const uint8_t* msg, uint32_t now, uint8_t* reply, size_t* len);
  void CountRefusedRecursion(const Outcome& o, const ResponderOptions& ro, const uint8_t* reply);

  event_base* base_;
  DnsServerOptions opts_;
  ResponderOptions responder_;
  Forwarder* forwarder_;
  std::shared_ptr<const AnswerTable> table_;
  std::vector<Cidr> axfr_allow_, recursion_allow_;
  DnsCookies cookies_;
  ResponseRateLimiter rate_limiter_;
  int udp_fd_ = -1;
  event* udp_ev_ = nullptr;
  evconnlistener* listener_ = nullptr;
  std::string local_;
  std::map<uint64_t, std::unique_ptr<Conn>> conns_;  // by id: the first is the oldest
  uint64_t next_conn_ = 1;
  DnsCounters counters_;
  DnsAnswerStats answer_stats_;
  // UDP batch buffers (allocated once).
  std::vector<std::vector<uint8_t>> in_bufs_, out_bufs_;
  std::vector<uint8_t> tcp_out_;
  std::vector<mmsghdr> in_msgs_, out_msgs_;
  std::vector<iovec> in_iov_, out_iov_;
  std::vector<sockaddr_storage> peers_;
};

}  // namespace basefs
