// Shared by the kill -9 test and its writer: the key and the content of file i.
#pragma once

#include <sodium.h>

#include <cstring>
#include <string>

#include "base/crypto.h"

namespace basefs::testing {

inline KeyPair CrashTestKey() {
  unsigned char seed[crypto_sign_SEEDBYTES];
  std::memset(seed, 7, sizeof(seed));
  KeyPair kp;
  crypto_sign_seed_keypair(kp.public_key.data(), kp.secret_key.data(), seed);
  return kp;
}

inline std::string CrashContent(long i) {
  std::string s = "file " + std::to_string(i) + "\n";
  if (i % 5 == 0) {
    while (s.size() < 20000) s += "line " + std::to_string(s.size() * 31 + i) + " of a larger file\n";
  }
  return s;
}

}  // namespace basefs::testing
