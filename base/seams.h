// The seams through which time, randomness and the network reach
// replicate/: a Clock with timers, a source of random numbers, and a
// datagram Transport. The daemon implements them on libevent and real
// sockets (daemon/event_seams.h); tests and the simulator implement them in
// memory (replicate/fake_network.h), so the same protocol code runs in both.
//
// Thread-safety: all callbacks run on the one thread that owns the loop.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>

namespace basefs {

class Clock {
 public:
  using TimerId = uint64_t;
  virtual ~Clock() = default;
  // Milliseconds on a monotonic clock (not wall time).
  virtual uint64_t NowMs() const = 0;
  // Runs `fn` once, `delay_ms` from now, on the loop. Returns an id for Cancel.
  virtual TimerId Schedule(uint64_t delay_ms, std::function<void()> fn) = 0;
  // Cancels a pending timer; a no-op for one that ran or was cancelled.
  virtual void Cancel(TimerId id) = 0;
};

class Random {
 public:
  virtual ~Random() = default;
  virtual uint64_t Next() = 0;
  // Uniform in [0, n); n > 0.
  uint64_t Below(uint64_t n) { return Next() % n; }
};

// A seeded generator: the same seed gives the same sequence.
class SeededRandom : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : rng_(seed) {}
  uint64_t Next() override { return rng_(); }

 private:
  std::mt19937_64 rng_;
};

// Datagrams by address ("ADDR:PORT", "[V6]:PORT", or any name a fake uses).
class Transport {
 public:
  using Receiver = std::function<void(const std::string& from, std::string_view datagram)>;
  virtual ~Transport() = default;
  // Best effort: a datagram may be lost, duplicated or reordered.
  virtual void Send(const std::string& to, std::string_view datagram) = 0;
  // Sets the function called for every datagram received.
  virtual void SetReceiver(Receiver r) = 0;
};

}  // namespace basefs
