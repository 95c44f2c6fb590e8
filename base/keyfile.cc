#include "base/keyfile.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace basefs {
namespace {

constexpr char kTag[] = "basefs-ed25519-v1 ";

}  // namespace

Result<KeyPair> LoadKey(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("no key file at " + path + "; create one with 'basefs genkey'");
    return IOError("cannot read key file " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  char buf[256];
  ssize_t n = -1;
  if (::fstat(fd, &st) == 0 && st.st_size < static_cast<off_t>(sizeof(buf))) n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  if (n < 0) return Invalid("key file " + path + " is not a basefs key file");
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    return PermissionDenied("key file " + path + " is readable by others; run 'chmod 600 " + path + "'");
  std::string text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.rfind(kTag, 0) != 0) return Invalid("key file " + path + " is not a basefs key file");
  KeyPair kp;
  size_t len = 0;
  const std::string b64 = text.substr(sizeof(kTag) - 1);
  if (sodium_base642bin(kp.secret_key.data(), kp.secret_key.size(), b64.data(), b64.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != kp.secret_key.size())
    return Invalid("key file " + path + " is damaged");
  auto pair = KeyPairFromSecret(
      std::string_view(reinterpret_cast<const char*>(kp.secret_key.data()), kp.secret_key.size()), "key file " + path);
  sodium_memzero(kp.secret_key.data(), kp.secret_key.size());
  return pair;
}

Result<KeyPair> KeyPairFromSecret(std::string_view secret, const std::string& what) {
  KeyPair kp;
  if (secret.size() != kp.secret_key.size()) return Invalid(what + " is damaged");
  std::memcpy(kp.secret_key.data(), secret.data(), secret.size());
  // Rebuild the pair from the seed and check both halves agree: a damaged
  // key must not sign entries that every peer would reject.
  unsigned char seed[crypto_sign_SEEDBYTES];
  crypto_sign_ed25519_sk_to_seed(seed, kp.secret_key.data());
  KeyPair rebuilt;
  crypto_sign_seed_keypair(rebuilt.public_key.data(), rebuilt.secret_key.data(), seed);
  sodium_memzero(seed, sizeof(seed));
  const bool agree = rebuilt.secret_key == kp.secret_key;
  sodium_memzero(kp.secret_key.data(), kp.secret_key.size());
  if (!agree) return Invalid(what + " is damaged (halves disagree)");
  return rebuilt;
}

Result<KeyPair> CreateKey(const std::string& path) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  KeyPair kp = GenerateKeyPair();
  const std::string text = kTag + ToBase64(kp.secret_key) + "\n";
  // Write to a temporary name and link it into place, so a crash never
  // leaves a half-written key and an existing key is never replaced.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return IOError("cannot create key file " + path + ": " + std::strerror(errno));
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return IOError("cannot write key file " + path);
  }
  const int rc = ::link(tmp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  // Make the new name durable before anything (a genesis) depends on it.
  const std::string dir = parent.empty() ? "." : parent.string();
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  if (rc != 0) {
    if (link_errno == EEXIST) return Status(Code::kExists, "a key file already exists at " + path);
    return IOError("cannot create key file " + path + ": " + std::strerror(link_errno));
  }
  return kp;
}

Result<KeyPair> LoadOrCreateKey(const std::string& path) {
  auto k = LoadKey(path);
  if (k.ok() || k.status().code() != Code::kNotFound) return k;
  auto created = CreateKey(path);
  if (!created.ok() && created.status().code() == Code::kExists) return LoadKey(path);
  return created;
}

}  // namespace basefs
