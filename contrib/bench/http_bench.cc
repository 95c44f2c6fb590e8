// The HTTP API under a Consul-like load, with the control socket beside it
// as the baseline (the same node, the same data, without HTTP and JSON).
//
//   http_bench BASEFS_BINARY [HELD] [REQUESTS]
//
// Starts one daemon on loopback (--http 127.0.0.1:0) with a service of 10
// instances, then:
//   1. holds HELD (default 10,000) blocking queries on
//      /v1/health/service/web, from source addresses 127.0.0.2.. (at most
//      1,000 per address, under the per-client bound), and prints the
//      daemon's memory per held query (VmRSS before and after);
//   2. publishes an instance through the control socket and prints the time
//      from the write's acknowledgement to the last held query answered
//      (each must carry the new instance);
//   3. sends REQUESTS (default 20,000) GETs of /v1/health/service/web over
//      16 keep-alive connections and prints requests/s; then the same
//      number of `ls --json /services/web` requests over the control socket
//      (one connection each, as the command line does), 16 at a time.
// Figures only; nothing is asserted. Every wait has a deadline.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/control_format.h"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "http_bench: %s\n", why.c_str());
  std::exit(1);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Run(const std::vector<std::string>& argv) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    execv(a[0], a.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

long RssKb(pid_t pid) {
  const std::string s = Slurp("/proc/" + std::to_string(pid) + "/status");
  const size_t at = s.find("VmRSS:");
  return at == std::string::npos ? -1 : std::stol(s.substr(at + 6));
}

int Connect(uint16_t port, const std::string& from) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Die(std::string("socket: ") + std::strerror(errno));
  sockaddr_in src{};
  src.sin_family = AF_INET;
  inet_pton(AF_INET, from.c_str(), &src.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) Die("bind " + from);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
    Die(std::string("connect: ") + std::strerror(errno));
  return fd;
}

void SendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) Die("send");
    off += static_cast<size_t>(n);
  }
}

// Reads one HTTP response (Content-Length bodies) from a blocking socket.
std::string ReadResponse(int fd, std::string* pending) {
  std::string& buf = *pending;
  for (;;) {
    const size_t end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      const size_t cl = buf.find("Content-Length: ");
      const size_t len = cl == std::string::npos || cl > end ? 0 : std::stoul(buf.substr(cl + 16));
      if (buf.size() >= end + 4 + len) {
        std::string resp = buf.substr(0, end + 4 + len);
        buf.erase(0, end + 4 + len);
        return resp;
      }
    }
    char tmp[65536];
    const ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) Die("the daemon closed a connection");
    buf.append(tmp, static_cast<size_t>(n));
  }
}

std::string Header(const std::string& resp, const std::string& name) {
  const size_t at = resp.find("\r\n" + name + ": ");
  if (at == std::string::npos) return "";
  const size_t start = at + name.size() + 4;
  return resp.substr(start, resp.find("\r\n", start) - start);
}

std::string Get(uint16_t port, const std::string& target) {
  const int fd = Connect(port, "127.0.0.1");
  SendAll(fd, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  std::string pending;
  std::string resp = ReadResponse(fd, &pending);
  close(fd);
  return resp;
}

// One control-socket request; returns the exit code.
int Control(const std::string& sock, const std::vector<std::string>& args, std::string* out) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock.c_str());
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) Die("control connect");
  basefs::ControlRequest r;
  r.args = args;
  r.key_error = "the benchmark sends no key";
  SendAll(fd, basefs::EncodeRequest(r));
  std::string buf;
  char tmp[65536];
  for (;;) {
    if (auto resp = basefs::DecodeResponse(buf)) {
      close(fd);
      if (out) *out = resp->out;
      return resp->exit_code;
    }
    const ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) Die("control socket closed early");
    buf.append(tmp, static_cast<size_t>(n));
  }
}

template <typename F>
double Rate(size_t total, size_t workers, F one) {
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers; ++w)
    threads.emplace_back([&, w] {
      for (size_t i = w; i < total; i += workers) one(w);
    });
  for (auto& t : threads) t.join();
  return static_cast<double>(total) / std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: http_bench BASEFS_BINARY [HELD] [REQUESTS]");
  const std::string bin = argv[1];
  const size_t held = argc > 2 ? std::stoul(argv[2]) : 10000;
  const size_t requests = argc > 3 ? std::stoul(argv[3]) : 20000;
  signal(SIGPIPE, SIG_IGN);
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < held + 64) Die("the descriptor limit is below HELD");

  const std::string root = "/tmp/basefs-http-bench-" + std::to_string(getpid());
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  const std::string data = root + "/d";
  if (Run({bin, "--data-dir", data, "bootstrap", "demo"}) != 0) Die("bootstrap");
  for (int i = 0; i < 10; ++i)
    if (Run({bin, "--data-dir", data, "publish", "demo", "web", "w" + std::to_string(i), "--port",
             std::to_string(8000 + i), "--address", "192.0.2." + std::to_string(i + 1)}) != 0)
      Die("publish");
  const std::string log = root + "/daemon.log";
  const pid_t daemon = fork();
  if (daemon == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(bin.c_str(), bin.c_str(), "--data-dir", data.c_str(), "run", "demo", "--bind", "127.0.0.1:0", "--dns",
          "127.0.0.1:0", "--http", "127.0.0.1:0", "--node-name", "bench", static_cast<char*>(nullptr));
    _exit(127);
  }
  uint16_t port = 0;
  const std::regex re("HTTP API on http://127\\.0\\.0\\.1:([0-9]+)/v1/");
  for (auto end = Clock::now() + std::chrono::seconds(20); Clock::now() < end && !port;) {
    std::smatch m;
    const std::string text = Slurp(log);
    if (std::regex_search(text, m, re)) port = static_cast<uint16_t>(std::stoi(m[1]));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!port) Die("the daemon did not start: " + Slurp(log));
  const std::string sock = data + "/demo/control.sock";

  std::printf("basefs HTTP API benchmark (one daemon on loopback, a service of 10 instances)\n");
  const std::string first = Get(port, "/v1/health/service/web");
  const std::string index = Header(first, "X-Consul-Index");
  const long rss_before = RssKb(daemon);

  // 1. HELD blocking queries, 1,000 per source address.
  const int ep = epoll_create1(0);
  std::vector<int> fds;
  std::map<int, std::string> got;
  const std::string req = "GET /v1/health/service/web?index=" + index + "&wait=5m HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  for (size_t i = 0; i < held; ++i) {
    const int fd = Connect(port, "127.0.0." + std::to_string(2 + i / 1000));
    SendAll(fd, req);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    fds.push_back(fd);
  }
  // Held once the daemon's gauge says so.
  size_t now_held = 0;
  for (auto end = Clock::now() + std::chrono::seconds(60); Clock::now() < end && now_held < held;) {
    const std::string m = Get(port, "/v1/agent/metrics?format=prometheus");
    const size_t at = m.find("\nbasefs_http_blocking_held ");
    now_held = at == std::string::npos ? 0 : std::stoul(m.substr(at + 27));
    if (now_held < held) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (now_held < held) Die("only " + std::to_string(now_held) + " queries held");
  const long rss_held = RssKb(daemon);
  std::printf("held blocking queries:        %zu\n", held);
  std::printf("daemon memory per held query: %.2f KiB (VmRSS %ld -> %ld KiB)\n",
              static_cast<double>(rss_held - rss_before) / static_cast<double>(held), rss_before, rss_held);

  // 2. A change; every held query must answer with it.
  const auto t0 = Clock::now();
  if (Run({bin, "--data-dir", data, "publish", "demo", "web", "wnew", "--port", "9999", "--address", "192.0.2.99"}) !=
      0)
    Die("publish during the hold");
  const auto written = Clock::now();
  size_t answered = 0, with_change = 0;
  auto last = written;
  epoll_event events[256];
  for (auto end = written + std::chrono::seconds(60); answered < held && Clock::now() < end;) {
    const int n = epoll_wait(ep, events, 256, 1000);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      char tmp[65536];
      ssize_t r;
      while ((r = recv(fd, tmp, sizeof(tmp), 0)) > 0) got[fd].append(tmp, static_cast<size_t>(r));
      const std::string& b = got[fd];
      const size_t hend = b.find("\r\n\r\n");
      if (hend == std::string::npos) continue;
      const size_t len = std::stoul(Header(b, "Content-Length"));
      if (b.size() < hend + 4 + len) continue;
      epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
      ++answered;
      if (b.find("\"wnew\"") != std::string::npos) ++with_change;
      last = Clock::now();
    }
  }
  using ms = std::chrono::duration<double, std::milli>;
  std::printf(
      "change to last held answer:   %.1f ms (%zu of %zu answered, %zu with the change; publish took %.1f ms)\n",
      ms(last - written).count(), answered, held, with_change, ms(written - t0).count());
  for (int fd : fds) close(fd);

  // 3. Requests per second, HTTP against the control socket.
  const size_t workers = 16;
  std::vector<int> conns(workers);
  std::vector<std::string> pend(workers);
  for (auto& c : conns) c = Connect(port, "127.0.0.1");
  const std::string get = "GET /v1/health/service/web HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  const double http_rate = Rate(requests, workers, [&](size_t w) {
    SendAll(conns[w], get);
    const std::string r = ReadResponse(conns[w], &pend[w]);
    if (r.compare(0, 12, "HTTP/1.1 200") != 0) Die("a GET failed: " + r.substr(0, 80));
  });
  for (int c : conns) close(c);
  const double control_rate = Rate(requests, workers, [&](size_t) {
    std::string listing;
    if (Control(sock, {"ls", "demo", "/services/web", "--json"}, &listing) != 0) Die("control ls failed");
  });
  std::printf("GET /v1/health/service/web:   %.0f requests/s (16 keep-alive connections)\n", http_rate);
  std::printf("control socket ls --json:     %.0f requests/s (16 at a time, a connection each)\n", control_rate);

  kill(daemon, SIGTERM);
  waitpid(daemon, nullptr, 0);
  std::filesystem::remove_all(root);
  return 0;
}
