// connrate: new-connection rate and first-packet latency through a service.
//
// Loops for --seconds: connect() (blocking), send one line "x\n", read the
// one-line answer (meridian-echo's line mode), close. Every connection is a
// new flow, so its SYN is the packet that walks the service translation
// (iptables chains, nft maps, or Meridian's Maglev + conntrack insert).
//
// Prints one line of key=value pairs:
//   conns=N errors=E rate=<conn/s> connect_p50_us connect_p99_us
//   txn_p50_us txn_p99_us
// connect_* is the time of connect() (SYN out -> SYN-ACK in: the first-packet
// latency); txn_* the whole connect + request + answer + close.
// The client closes with SO_LINGER 0 (RST) so that TIME_WAIT does not
// exhaust the ephemeral ports during a run; the server side is unaffected.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::size_t k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"connrate: connect + one request + close, in a loop; rate and first-packet latency"};
  std::string host;
  int port = 8080;
  double seconds = 5;
  double warmup = 0.2;
  app.add_option("--host", host, "server or service address (IPv4)")->required();
  app.add_option("--port", port, "TCP port (meridian-echo line mode)")->check(CLI::Range(1, 65535));
  app.add_option("--seconds", seconds, "duration of the measurement")->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "seconds run before measuring (not counted)");
  CLI11_PARSE(app, argc, argv);

  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) {
    std::fprintf(stderr, "connrate: bad address %s\n", host.c_str());
    return 2;
  }

  std::vector<double> connect_us, txn_us;
  connect_us.reserve(1 << 20);
  txn_us.reserve(1 << 20);
  long errors = 0;
  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup));
  const auto end = measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  char buf[256];
  for (;;) {
    const auto t0 = Clock::now();
    if (t0 >= end) break;
    const bool counted = t0 >= measure_from;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      std::perror("socket");
      return 1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    const auto t1 = Clock::now();
    if (ok) ok = write(fd, "x\n", 2) == 2;
    if (ok) {
      ssize_t got = 0, n;
      while ((n = read(fd, buf + got, sizeof buf - static_cast<std::size_t>(got))) > 0) {
        got += n;
        if (buf[got - 1] == '\n' || got == static_cast<ssize_t>(sizeof buf)) break;
      }
      ok = got > 0 && buf[got - 1] == '\n';
    }
    linger lg{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    const auto t2 = Clock::now();
    if (!counted) continue;
    if (!ok) {
      ++errors;
      continue;
    }
    connect_us.push_back(Micros(t1 - t0));
    txn_us.push_back(Micros(t2 - t0));
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - measure_from).count();
  const std::size_t n = connect_us.size();
  std::printf("conns=%zu errors=%ld rate=%.1f connect_p50_us=%.2f connect_p99_us=%.2f txn_p50_us=%.2f txn_p99_us=%.2f\n",
              n, errors, static_cast<double>(n) / elapsed, Percentile(connect_us, 50), Percentile(connect_us, 99),
              Percentile(txn_us, 50), Percentile(txn_us, 99));
  return n > 0 && errors * 100 <= static_cast<long>(n) ? 0 : 1;
}
