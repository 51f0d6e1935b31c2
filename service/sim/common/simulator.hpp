// What every vendor simulator shares: its routes on an http::router, a lock (tests drive a
// simulator from another thread than the one serving it), the protocol violations it saw, and
// a request hook for tests. Simulators are product code: they serve `changefeed demo` and the
// tests, and follow UPSTREAMS.md to the letter, traps included.
#pragma once

#include "http/message.hpp"
#include "http/router.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace changefeed::sim {

/// What a simulator's host can serve instead of the vendor's answer, as a broken network, proxy
/// or vendor would. Served by a sim_host started with `faults` on; each ends the connection.
enum class fault {
    server_error,        ///< 502 with an HTML page, as a gateway answers
    cut_length,          ///< 200, Content-Length larger than the bytes sent, then closed
    cut_chunked,         ///< 200 chunked, closed before the last chunk
    malformed_json,      ///< 200 application/json whose body is not JSON
    wrong_content_type,  ///< 200 text/html error page, as a captive proxy answers
    huge_body,           ///< 200 with a body larger than any client cap (80 MiB)
    slow_body,           ///< 200, the headers, then the body one byte every 50 ms
    no_answer,           ///< the request is read and never answered
};

/// "server_error", "cut_length"... for test names and messages.
std::string_view fault_name(fault f);

class simulator {
public:
    virtual ~simulator() = default;

    /// Adds the vendor's routes to `routes`.
    virtual void install(http::router& routes) = 0;
    /// Produces a few new upstream changes, as a live tenant would (the demo's trickle).
    virtual void tick(std::mt19937_64& rng) = 0;

    /// Every request that broke the vendor's documented rules (ignored Retry-After, parameters
    /// out of range, forbidden combinations...), described. Tests assert it stays empty.
    [[nodiscard]] std::vector<std::string> violations() const;
    [[nodiscard]] std::uint64_t requests() const;
    /// Requests answered 429.
    [[nodiscard]] std::uint64_t throttled() const;
    /// Requests per User-Agent (changefeed names its replica there).
    [[nodiscard]] std::map<std::string, std::uint64_t> requests_by_agent() const;

    /// Called with each request (on the serving thread, before the answer is built, without the
    /// simulator's lock held).
    void on_request(std::function<void(const http::request&)> hook);

    /// Serves `f` instead of the next `count` requests (replacing any fault set before).
    void inject(fault f, std::uint64_t count = UINT64_MAX);
    /// Serves `f` instead of a `fraction` of the requests, drawn from `seed` (deterministic).
    void inject_fraction(fault f, double fraction, std::uint64_t seed);
    /// Stops serving faults.
    void clear_faults();
    /// Times `f` was served.
    [[nodiscard]] std::uint64_t faults_served(fault f) const;
    /// For the host, once per request: the fault to serve instead of the answer, counted as served.
    [[nodiscard]] std::optional<fault> take_fault();

protected:
    /// Call at the start of every handler, before taking the lock: counts the request and runs
    /// the test hook (which may call back into the simulator).
    void count_request(const http::request& req);
    void violation(std::string what);
    void count_throttled() { ++throttled_; }

    mutable std::mutex mutex_;

private:
    std::vector<std::string> violations_;
    std::uint64_t requests_ = 0;
    std::map<std::string, std::uint64_t> agents_;
    std::uint64_t throttled_ = 0;
    std::function<void(const http::request&)> hook_;
    std::optional<fault> fault_;
    std::uint64_t fault_left_ = 0;
    double fault_fraction_ = 1.0;
    std::mt19937_64 fault_rng_;
    std::map<fault, std::uint64_t> faults_served_;
};

/// A JSON response with the given status (body already serialized).
http::response json_reply(unsigned status, std::string body);

}  // namespace changefeed::sim
