// basefs: the command line. Parses, then runs the command here against the
// store, or hands it to the daemon serving that filesystem over its control
// socket (the daemon holds the store's lock while it runs).
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
#include "daemon/clone.h"
#include "daemon/control_format.h"
#include "daemon/daemon.h"

namespace basefs {
namespace {

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Sends the command to the daemon if its control socket answers.
std::optional<int> Forward(const std::string& socket_path, const ControlRequest& request) {
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof(addr.sun_path)) return std::nullopt;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return std::nullopt;  // no daemon (or a stale socket): work on the store directly
  }
  if (!WriteAll(fd, EncodeRequest(request))) {
    ::close(fd);
    std::cerr << "basefs: the daemon closed the control connection\n";
    return 1;
  }
  // Our side stays open: a streaming command (watch) ends when it closes.
  std::string reply;
  bool response = false;  // the final response has begun
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
    // Output frames of a streaming command go out as they come.
    while (!response) {
      ControlReplyPart part = NextReplyPart(reply);
      if (part.kind == ControlReplyPart::kFrame) {
        std::cout << part.frame << std::flush;
        if (!std::cout) {
          ::close(fd);  // our reader went away: so does the stream
          return 1;
        }
        reply.erase(0, part.consumed);
      } else {
        response = part.kind != ControlReplyPart::kIncomplete;
        break;
      }
    }
  }
  ::close(fd);
  auto r = DecodeResponse(reply);
  if (!r) {
    std::cerr << "basefs: no valid answer from the daemon at " << socket_path << "\n";
    return 1;
  }
  std::cout << r->out;
  std::cerr << r->err;
  return r->exit_code;
}

}  // namespace
}  // namespace basefs

int main(int argc, char** argv) {
  basefs::CryptoInit();
  ::signal(SIGPIPE, SIG_IGN);  // a daemon that closes early gives an error, not a silent death
  std::vector<std::string> args(argv + 1, argv + argc);
  basefs::Io io{"", std::cout, std::cerr};
  io.read_stdin = [] {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  };
  io.forward = [](const basefs::DataDir& data_dir, const std::string& name, const basefs::ControlRequest& request) {
    return basefs::Forward(data_dir.ControlSocket(name), request);
  };
  io.run_daemon = [](const basefs::DaemonOptions& options, basefs::OptionsSource reload) {
    return basefs::RunDaemon(options, basefs::RunClientCommand, std::move(reload));
  };
  io.clone = [](const basefs::DataDir& data_dir, const std::string& name, const std::string& addr,
                const std::string& cluster_key_file) {
    auto ring = basefs::LoadKeyring(cluster_key_file);
    if (!ring.ok()) return ring.status();
    return basefs::CloneFilesystem(data_dir, name, addr, *ring, std::cerr);
  };
  const int code = basefs::Execute(args, io);
  std::cout.flush();
  return code;
}
