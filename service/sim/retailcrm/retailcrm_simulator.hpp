// A faithful retailCRM API v5 history (UPSTREAMS.md section 3, seed 002): the five history
// methods with `filter[sinceId]` (strictly greater), `filter[startDate]`/`[endDate]`, `limit` of
// 20/50/100/250 and the pagination envelope; X-API-KEY (or `apiKey`) auth with the vendor's error
// messages; 10 requests/s per key (429 beyond), occasional throttling 503s as HTML pages; one
// record per changed field, creation records with a snapshot, merges (combinedTo + deleted),
// records made through the asking key (apiKey.current) and values of every vendor type.
#pragma once

#include "core/time.hpp"
#include "sim/common/simulator.hpp"
#include "sources/retailcrm/account_zone.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace changefeed::sim {

class retailcrm_simulator final : public simulator {
  public:
    struct options {
        /// The key the service polls with; its own changes come back with apiKey.current.
        std::string api_key = "sim-retailcrm-key";
        /// Keys of other integrations: accepted too, and the makers of some API changes.
        std::vector<std::string> other_keys{"sim-retailcrm-other-key"};
        /// The account time zone createdAt is written in.
        std::string timezone = "+03:00";
        /// Requests per second per key before the account answers 429.
        std::uint32_t rate_limit = 10;
        /// Share of requests answered with a throttling 503 (an HTML page), at random.
        double unavailable_rate = 0.0;
        /// The first history id of every method, and the first entity id.
        std::int64_t first_history_id = 1;
        std::int64_t first_entity_id = 1;
        std::uint64_t seed = 1;
    };

    /// How the changes of a generate() call are made.
    enum class maker { mixed, own_key, user };

    /// A history request as the simulator understood it.
    struct request_seen {
        std::string resource;
        std::string key;
        std::optional<std::int64_t> since_id;
        std::optional<std::string> start_date;
        std::optional<std::int64_t> page;
        std::int64_t limit = 0;
        unsigned status = 0;
    };

    /// orders, customers, customers_corporate, orders_packs, tasks.
    static const std::vector<std::string>& resources();

    explicit retailcrm_simulator(options opts);
    retailcrm_simulator() : retailcrm_simulator(options{}) {}

    void install(http::router& routes) override;
    void tick(std::mt19937_64& rng) override;

    /// Appends about `count` history records to `resource` (creations, field edits of every
    /// value type, deletions and, for orders and customers, merges), their createdAt from
    /// `first` on, `spacing` apart (an edit of several fields shares one createdAt).
    void generate(const std::string& resource,
                  std::size_t count,
                  time::time_point first,
                  std::chrono::seconds spacing,
                  maker by = maker::mixed);

    /// The history of `resource` as served to the service's key (ids ascending).
    [[nodiscard]] std::vector<boost::json::object> history(const std::string& resource) const;
    [[nodiscard]] std::vector<request_seen> requests_seen() const;
    /// Answers 503 (throttling).
    [[nodiscard]] std::uint64_t unavailable() const;

    /// The next `count` history requests are answered `status` (429, or 503 as an HTML page).
    void fail_next(unsigned status, std::size_t count);
    void set_unavailable_rate(double rate);
    void set_rate_limit(std::uint32_t per_second);
    /// false: every request gets the HTML page of an unknown account.
    void set_account_exists(bool exists);

  private:
    struct stored_record {
        std::string made_by;  ///< the API key that made it; empty when not through the API
        boost::json::object body;
    };
    struct store {
        std::vector<stored_record> log;
        std::map<std::int64_t, boost::json::object> entities;
        std::int64_t next_history_id = 1;
        std::int64_t next_entity_id = 1;
    };

    http::response history_page(const http::request& req, const std::string& resource);
    /// Auth, account, throttling; an error response when the request may not proceed.
    std::optional<http::response> admit(const http::request& req, std::string& key);
    http::response validation_error(const std::string& field, const std::string& message);
    boost::json::object
    serve(const stored_record& r, const std::string& resource, const std::string& key) const;
    void append(store& s, stored_record r, time::time_point at);
    std::string pick_maker(maker by, std::mt19937_64& rng, boost::json::object& record) const;
    void add_creation(
        store& s, const std::string& resource, time::time_point at, maker by, std::mt19937_64& rng);
    std::size_t add_edit(
        store& s, const std::string& resource, time::time_point at, maker by, std::mt19937_64& rng);
    void add_removal(
        store& s, const std::string& resource, time::time_point at, maker by, std::mt19937_64& rng);

    options opts_;
    sources::retailcrm::account_zone zone_;
    std::map<std::string, store> stores_;
    std::mt19937_64 rng_;
    std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> arrivals_;  ///< all
    std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> admitted_;
    std::deque<unsigned> scripted_;
    std::vector<request_seen> seen_;
    std::uint64_t unavailable_ = 0;
    bool account_exists_ = true;
};

}  // namespace changefeed::sim
