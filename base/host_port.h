// Host and port as the command line, files and gossip write them: the one
// parser of "HOST:PORT" in basefs.
//
//   192.0.2.1:7400      IPv4
//   [2001:db8::1]:7400  IPv6, always in brackets when a port follows
//   seed.example:7400   a host name, only where the caller allows names
//   192.0.2.1           no port, only where the caller gives a default
//
// An IPv6 address without brackets is accepted only when no port may
// follow (`default_port` set): "2001:db8::1" is the address, port default.
// Pure functions, no name resolution (that would block the loop).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace basefs {

struct HostPort {
  std::string host;  // without brackets
  uint16_t port = 0;
  bool is_ipv6() const { return host.find(':') != std::string::npos; }
  // "host:port", "[v6]:port".
  std::string ToString() const;
  // "host", "[v6]": the host as it stands before ":port".
  std::string BracketedHost() const;
};

struct HostPortRules {
  bool allow_names = false;      // a host name (letters, digits, '-', '.')
  bool allow_port_zero = false;  // port 0: "any free port" when binding
  uint16_t default_port = 0;     // nonzero: the port may be left out
};

// Parses `text` by `rules`; errors name the text and say what is expected.
Result<HostPort> ParseHostPort(std::string_view text, HostPortRules rules = {});

// A numeric HOST:PORT (port 0 allowed, for binding) as a socket address.
Result<sockaddr_storage> ParseSockaddr(std::string_view text, socklen_t* len);
// "a.b.c.d:port" or "[v6]:port"; "?" for another family.
std::string FormatSockaddr(const sockaddr* sa);

}  // namespace basefs
