// Numeric socket addresses as the command line and gossip write them:
// "ADDR:PORT" and "[V6]:PORT". Pure functions.
#pragma once

#include <sys/socket.h>

#include <string>

#include "store/result.h"

namespace basefs {

// Parses "ADDR:PORT" / "[V6]:PORT" (numeric addresses only).
Result<sockaddr_storage> ParseSockaddr(const std::string& hp, socklen_t* len);
std::string FormatSockaddr(const sockaddr* sa);

}  // namespace basefs
