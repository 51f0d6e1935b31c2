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
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace changefeed::sim {

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
};

/// A JSON response with the given status (body already serialized).
http::response json_reply(unsigned status, std::string body);

}  // namespace changefeed::sim
