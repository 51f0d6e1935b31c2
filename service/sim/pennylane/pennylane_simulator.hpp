// A faithful Pennylane Company API v2 (UPSTREAMS.md section 1): changelog endpoints with cursor
// pagination and 4-week retention, list endpoints with the `id in` filter, Bearer auth, and
// 25 requests per 5 s per token with plain-text 429s.
#pragma once

#include "core/time.hpp"
#include "sim/common/simulator.hpp"
#include "sources/kind_spec.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace changefeed::sim {

class pennylane_simulator final : public simulator {
public:
    struct options {
        std::string token = "sim-pennylane-token";
        /// The vendor's limit, per token.
        sources::rate_window rate_limit{25, std::chrono::seconds(5)};
        std::chrono::hours retention{24 * 28};
    };

    /// One changelog entry as the vendor lists it.
    struct change {
        std::int64_t id = 0;
        std::string operation;
        time::time_point processed_at;
        time::time_point updated_at;
        time::time_point created_at;
    };

    static const std::vector<std::string>& resources();
    /// Resources with a changelog but no list endpoint (the service cannot list or hydrate them).
    static const std::vector<std::string>& changelog_only_resources();

    explicit pennylane_simulator(options opts);
    pennylane_simulator() : pennylane_simulator(options{}) {}

    void install(http::router& routes) override;
    void tick(std::mt19937_64& rng) override;

    /// Appends `count` changes to `resource`'s changelog with processed_at from `first` on,
    /// `spacing` apart, in runs of `tie_run` equal timestamps (batch imports). Inserts,
    /// updates and deletes are mixed (seeded by `seed`); deletes remove the record.
    void generate(const std::string& resource, std::size_t count, time::time_point first,
                  std::chrono::microseconds spacing, std::size_t tie_run, std::uint64_t seed);
    /// Appends changes sharing one processed_at (`count` updates of existing or new records).
    void generate_tie(const std::string& resource, std::size_t count, time::time_point at,
                      std::uint64_t seed);

    /// The changelog of `resource` as served (oldest first), including entries beyond retention.
    [[nodiscard]] std::vector<change> changelog(const std::string& resource) const;
    /// Current records of `resource`, by id.
    [[nodiscard]] std::map<std::int64_t, boost::json::object> records(const std::string& resource) const;

    /// Makes every cursor handed out so far invalid (the vendor's "request session" ended).
    void expire_cursors();
    /// Requests per endpoint kind: "changelog", "list".
    [[nodiscard]] std::uint64_t requests_of(const std::string& kind) const;
    /// Changelog requests refused for an expired or unknown cursor.
    [[nodiscard]] std::uint64_t cursors_refused() const;
    /// Sets the vendor's rate limit (tests provoke 429 storms with a tight one).
    void set_rate_limit(sources::rate_window limit);

private:
    struct store {
        std::vector<change> log;  ///< sorted by processed_at, stable
        std::map<std::int64_t, boost::json::object> records;
        std::vector<std::int64_t> live;  ///< the keys of `records`, for random picks
        std::int64_t next_id = 1000;
    };

    http::response changelog_page(const http::request& req, const std::string& resource);
    http::response list_page(const http::request& req, const std::string& resource);
    /// Auth and rate limit; an error response when the request may not proceed.
    std::optional<http::response> admit(const http::request& req);
    void add_headers(http::response& res) const;
    static std::int64_t pick_live(store& s, std::mt19937_64& rng);
    void apply(store& s, const std::string& resource, std::string operation, std::int64_t id,
               time::time_point at, std::mt19937_64& rng);
    static boost::json::object make_record(const std::string& resource, std::int64_t id,
                                           time::time_point at, std::mt19937_64& rng);

    options opts_;
    std::map<std::string, store> stores_;
    std::uint64_t cursor_generation_ = 1;
    std::map<std::string, std::uint64_t> requests_by_kind_;
    std::vector<time::time_point> recent_;  ///< admitted request times, for the rate limit
    std::optional<time::time_point> retry_not_before_;  ///< from the last 429
    std::uint64_t cursors_refused_ = 0;
};

}  // namespace changefeed::sim
