#include "daemon/node_identity.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include "base/host_port.h"

namespace basefs {

Result<std::string> ChooseNodeName(const std::string& flag, size_t max_bytes) {
  std::string name = flag;
  if (name.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    name = host;
  }
  if (name.empty() || name.size() > max_bytes)
    return Invalid("node name must be 1.." + std::to_string(max_bytes) + " bytes (--node-name)");
  return name;
}

Result<std::string> ChooseAdvertise(const std::string& flag, const std::string& bound,
                                    const std::string& primary_ipv4) {
  BASEFS_ASSIGN_OR_RETURN(HostPort b, ParseHostPort(bound, {.allow_port_zero = true}));
  if (flag.empty()) {
    if (b.host == "0.0.0.0" || b.host == "::") return HostPort{primary_ipv4, b.port}.ToString();
    return b.ToString();
  }
  auto given = ParseHostPort(flag, {.allow_names = true, .default_port = b.port});
  if (!given.ok()) return Invalid("--advertise: " + given.status().message());
  return given->ToString();
}

std::string PrimaryIpv4Address() {
  ifaddrs* ifs = nullptr;
  std::string out = "127.0.0.1";
  if (getifaddrs(&ifs) != 0) return out;
  for (ifaddrs* i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    const auto* a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if (ntohl(a->sin_addr.s_addr) >> 24 == 127) continue;
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
    out = buf;
    break;
  }
  freeifaddrs(ifs);
  return out;
}

}  // namespace basefs
