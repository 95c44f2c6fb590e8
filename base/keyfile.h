// The node's key file: an Ed25519 key pair as one line of text,
//   basefs-ed25519-v1 <base64 of the 64-byte secret key>
// created with mode 0600 and refused if it is readable by others.
#pragma once

#include <string>
#include <string_view>

#include "base/crypto.h"
#include "base/result.h"

namespace basefs {

Result<KeyPair> LoadKey(const std::string& path);
// The key pair whose 64-byte secret key is `secret` (seed and public key),
// checked for agreement of both halves; `what` names it in errors.
Result<KeyPair> KeyPairFromSecret(std::string_view secret, const std::string& what);
// Creates a new key file; fails with kExists if one is there.
Result<KeyPair> CreateKey(const std::string& path);
// Loads the key at `path`, creating it first if missing.
Result<KeyPair> LoadOrCreateKey(const std::string& path);

}  // namespace basefs
