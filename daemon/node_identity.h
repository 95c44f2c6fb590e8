// Who this node says it is: its name and the address it advertises to the
// other members (and that DNS answers carry). Decided once at start-up.
#pragma once

#include <string>

#include "base/result.h"

namespace basefs {

// --node-name, or the host name when empty; 1..max_bytes bytes.
Result<std::string> ChooseNodeName(const std::string& flag, size_t max_bytes);

// The advertised "HOST:PORT" from --advertise and the bound gossip address:
//   no --advertise: the bound address, or — bound to 0.0.0.0 or [::] —
//     `primary_ipv4` (this host's first non-loopback IPv4) with the port;
//   --advertise HOST or [V6]: that host with the bound port;
//   --advertise HOST:PORT: as given.
Result<std::string> ChooseAdvertise(const std::string& flag, const std::string& bound, const std::string& primary_ipv4);

// This host's first non-loopback IPv4 address, else "127.0.0.1".
std::string PrimaryIpv4Address();

}  // namespace basefs
