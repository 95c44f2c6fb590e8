// /.cluster: the filesystem's cluster settings, a small TOML file in the log.
//   domain = "basefs."            # the cluster DNS domain, with trailing dot
//   seeds = ["192.0.2.1:7400"]    # where new nodes join
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace basefs {

struct ClusterConfig {
  std::string domain = "basefs.";
  std::vector<std::string> seeds;
};

// Normalises a domain ("Example.org" -> "example.org.") and checks its labels.
Result<std::string> NormalizeDomain(std::string_view domain);
// Checks a seed: "HOST:PORT" ("[v6]:PORT" for IPv6, names allowed); port 1..65535.
Status ValidateSeed(std::string_view hp);

std::string RenderClusterConfig(const ClusterConfig& c);
Result<ClusterConfig> ParseClusterConfig(std::string_view toml_text);

}  // namespace basefs
