// A faithful Puro.earth Sales Channel Services events log (UPSTREAMS.md section 2): a bare JSON
// array, `$limit`/`$orderBy`/`$filter` in bracket notation (or JSON values), HTTP Basic API keys
// and Bearer tokens, NestJS error bodies, a 5 requests/s limit, runs of equal createdAt longer
// than a page, rows whose createdAt is null, and event types beyond TRANSACTION_STATUS_CHANGE.
#pragma once

#include "core/time.hpp"
#include "sim/common/simulator.hpp"
#include "sources/kind_spec.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace changefeed::sim {

class saleschannel_simulator final : public simulator {
public:
    enum class accepted_encoding { both, brackets, json };

    struct options {
        std::string key_id = "sim-puro-key-id";
        std::string key_secret = "sim-puro-passphrase";
        std::string bearer = "sim-puro-bearer-token";
        sources::rate_window rate_limit{5, std::chrono::seconds(1)};
        /// The largest `$limit` served. The vendor documents none: 500 is this simulator's
        /// assumption, so that growing a page is tested against a limit.
        std::int64_t max_limit = 500;
        /// Rows per page without `$limit`.
        std::int64_t default_limit = 100;
        accepted_encoding encoding = accepted_encoding::both;
    };

    /// One row of the log as served.
    struct event {
        std::string id;
        std::string event_type;
        std::optional<time::time_point> created_at;
        std::optional<time::time_point> event_at;
        boost::json::value details;
    };

    explicit saleschannel_simulator(options opts);
    saleschannel_simulator() : saleschannel_simulator(options{}) {}

    void install(http::router& routes) override;
    void tick(std::mt19937_64& rng) override;

    /// Appends `count` transaction status changes with createdAt from `first` on, `spacing`
    /// apart, in runs of `tie_run` equal createdAt. About one in five details lacks
    /// previousStatus (the shape UPSTREAMS.md 2.2 shows).
    void add_status_changes(std::size_t count, time::time_point first,
                            std::chrono::milliseconds spacing, std::size_t tie_run,
                            std::uint64_t seed);
    /// Appends `count` rows whose createdAt is null (eventAt set on most of them).
    void add_null_created(std::size_t count, time::time_point event_at, std::uint64_t seed);
    /// Appends rows the service cannot interpret: other event types, and status changes whose
    /// details have another shape.
    void add_unknown(std::size_t count, time::time_point at, std::uint64_t seed);

    /// The whole log, in the order rows were appended.
    [[nodiscard]] std::vector<event> events() const;
    /// The largest `$limit` a request asked for.
    [[nodiscard]] std::int64_t largest_limit() const;
    /// Requests that walked a tie (ordered by id as a second key).
    [[nodiscard]] std::uint64_t id_ordered_requests() const;
    void set_rate_limit(sources::rate_window limit);

private:
    struct query;

    http::response list_events(const http::request& req);
    std::optional<http::response> admit(const http::request& req);
    std::optional<http::response> parse_query(const http::request& req, query& q);
    std::string next_id(std::mt19937_64& rng);
    void append(event e);

    options opts_;
    std::vector<event> log_;
    /// Transactions whose status will change again: id, current status.
    std::vector<std::pair<std::string, std::string>> open_transactions_;
    std::uint64_t counter_ = 0;
    std::uint64_t id_base_ms_;
    std::vector<time::time_point> recent_;  ///< admitted request times, for the rate limit
    std::optional<time::time_point> retry_not_before_;
    std::int64_t largest_limit_ = 0;
    std::uint64_t id_ordered_ = 0;
    std::uint64_t served_ = 0;  ///< pages served, to vary the order of ties between requests
};

}  // namespace changefeed::sim
