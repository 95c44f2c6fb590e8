// The daemon's configuration: what `basefs run` and `basefs mount` are
// given, one struct per subsystem, each field with its flag. The command
// line (cli/) fills it; RunDaemon (daemon.h) builds every subsystem from
// it and from nothing else. Defaults here are the documented defaults.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "base/data_dir.h"
#include "base/result.h"

namespace basefs {

// Gossip (UDP) and sync (TCP): who this node is and where it listens.
struct NodeOptions {
  std::string bind = "0.0.0.0:7400";  // --bind ADDR:PORT, UDP and TCP on the same port
  std::string advertise;              // --advertise ADDR[:PORT]; "": the bind address
                                      // (the primary interface's when bound to 0.0.0.0)
  std::string node_name;              // --node-name; "": the host name (1..64 bytes)
  std::vector<std::string> join;      // --join ADDR:PORT, repeatable; also clones a missing filesystem
  std::string cluster_key_file;       // --cluster-key FILE: seals gossip and sync ("" = none)
  bool members_need_grant = false;    // --members-need-grant: only node keys holding a grant are members
};

// The DNS server (dns/), its forwarder and zone transfers.
struct DnsOptions {
  std::string listen = "127.0.0.1:5354";  // --dns ADDR:PORT
  std::vector<std::string> recursors;     // --recursor ADDR[:PORT]; none: /etc/resolv.conf
  bool no_recursion = false;              // --no-recursion: REFUSED instead of forwarding
  // --recursion-allow CIDR|localhost|localnets: the clients that may recurse.
  std::vector<std::string> recursion_allow = {"localhost", "localnets"};
  std::vector<std::string> axfr_allow = {"localhost"};  // --axfr-allow CIDR|localhost|localnets
  uint64_t rate_limit = 200;  // --dns-rate-limit N: UDP responses/s per client network and answer; 0: off
};

// The FUSE mount (fuse/), off when `dir` is empty.
struct MountConfig {
  std::string dir;         // --mount DIR (`basefs mount NAME DIR`)
  bool read_only = false;  // --read-only: every change fails with EROFS
  // --latency-hold MS: while the mount gets 32 requests per MS ms, idle
  // CPUs wake at once (daemon/latency_hold.h); 0: never.
  uint64_t latency_hold_ms = 20;
  // --mount-owner USER[:GROUP]: shown as the owner of everything (default:
  // the daemon's user); --mount-umask MODE: taken from 0666/0777.
  std::string owner;
  std::string umask = "022";
};

// The HTTP API (daemon/http_api.h, docs/http.md), off when `listen` is empty.
struct HttpOptions {
  std::string listen;       // --http ADDR:PORT
  std::string token;        // --http-token: needed for writes (and reads off loopback)
  bool open_reads = false;  // --http-open-reads: reads need no token off loopback
};

struct DaemonOptions {
  std::string name;  // the filesystem served (NAME)
  DataDir data_dir;  // --data-dir, --key
  NodeOptions node;
  DnsOptions dns;
  MountConfig mount;
  std::vector<std::string> handlers;  // --handler 'GLOB=CMD', repeatable
  std::string metrics;                // --metrics ADDR:PORT: Prometheus text at /metrics ("" = off)
  HttpOptions http;
  std::string version;             // what --version prints (set by the command line; not an option)
  std::string log_level = "info";  // --log-level trace|debug|info|warn|error
};

// One option of `run`/`mount`: its flag (--NAME) and its key in a --config
// file (NAME = value), one table for both, so every flag has a key.
struct OptionSpec {
  using Field = std::variant<std::string* (*)(DaemonOptions&), std::vector<std::string>* (*)(DaemonOptions&),
                             bool* (*)(DaemonOptions&), uint64_t* (*)(DaemonOptions&)>;
  const char* name;  // without the dashes
  const char* help;
  Field field;
  // Strings (and each string of a list): checked when read from a file;
  // null: checked at start-up.
  Status (*check)(const std::string& value) = nullptr;
  uint64_t max = 0;       // numbers: 0..max
  bool run_only = false;  // a flag of `run` only (`mount` takes it as DIR)
};
const std::vector<OptionSpec>& RunOptionSpecs();

// Reads a --config file (TOML) into `options`, skipping the keys in
// `given` (their flags were on the command line and win). Unknown keys,
// wrong types and bad values fail with "FILE:LINE: key 'K': ...".
Status ApplyConfigFile(const std::string& path, const std::set<std::string>& given, DaemonOptions* options);
// The same for the text of a file (`path` names it in messages).
Status ApplyConfigText(const std::string& text, const std::string& path, const std::set<std::string>& given,
                       DaemonOptions* options);

}  // namespace basefs
