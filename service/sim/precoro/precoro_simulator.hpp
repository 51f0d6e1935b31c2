// A faithful Precoro API (UPSTREAMS.md section 5): list endpoints with modifiedSince and page
// numbers (per_page 10/20/50/100/200; `has_next_page` or the older current_page/total_pages),
// detail endpoints by idn (documents) or id, X-AUTH-TOKEN + email auth, minute/hour/day windows
// answered with the JSON 429 body, and webhooks sent to a receiver URL: one per change, some
// twice, some never (as tenants see them).
#pragma once

#include "core/time.hpp"
#include "sim/common/simulator.hpp"
#include "sim/precoro/webhook_sender.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace changefeed::sim {

class precoro_simulator final : public simulator {
public:
    /// A fixed window: `limit` requests per UTC-aligned span of `length` (a minute, an hour, a day).
    struct window {
        std::string type;  ///< the 429's RateLimit-Type: "Minute limiter", "Hourly limiter", "Daily limiter"
        std::uint32_t limit = 0;
        std::chrono::seconds length{0};
    };

    struct options {
        std::string token = "sim-precoro-token";
        std::string email = "demo@example.com";
        std::vector<window> windows{{"Minute limiter", 300, std::chrono::minutes(1)},
                                    {"Hourly limiter", 1500, std::chrono::hours(1)},
                                    {"Daily limiter", 3000, std::chrono::hours(24)}};
        /// Answer lists with the older current_page/total_pages instead of has_next_page.
        bool legacy_pagination = false;
        /// What tick() changes (the demo's resources).
        std::vector<std::string> tick_resources{"suppliers", "purchaseorders", "invoices"};
    };

    /// Whether (and how often) a change is announced by a webhook.
    enum class notify { none, once, twice };

    /// A version of an entity, as produced.
    struct version {
        std::string resource;
        std::int64_t id = 0;
        std::string update_date;  ///< as served
    };

    /// Every resource served.
    static const std::vector<std::string>& resources();

    explicit precoro_simulator(options opts);
    precoro_simulator() : precoro_simulator(options{}) {}

    void install(http::router& routes) override;
    void tick(std::mt19937_64& rng) override;

    /// Where webhooks go: the full receiver URL with its ?token=. Empty: none are sent.
    void set_webhook_target(std::string url);

    /// Creates an entity (updateDate = createDate = now, in whole seconds) and returns its id.
    std::int64_t create(const std::string& resource, notify how = notify::once);
    /// Changes an entity; its updateDate moves at least one second past the previous one.
    void update(const std::string& resource, std::int64_t id, notify how = notify::once);
    /// Deletes an entity (its detail answers 404); `how`: an update webhook for it, as a
    /// deletion is announced, if at all (Precoro has no delete action).
    void remove(const std::string& resource, std::int64_t id, notify how = notify::none);
    /// Announces a change of an entity again without changing it (a repeated delivery).
    void renotify(const std::string& resource, std::int64_t id, int action = 1);

    /// Every version produced so far, oldest first.
    [[nodiscard]] std::vector<version> versions() const;
    /// The current entities of `resource`, by id.
    [[nodiscard]] std::map<std::int64_t, boost::json::object> entities(const std::string& resource) const;

    /// Waits until every webhook sent so far got its answer; false on timeout.
    bool wait_webhooks(std::chrono::milliseconds timeout);
    [[nodiscard]] std::vector<webhook_sender::result> webhook_results() const;

    /// Requests per kind: "list", "detail".
    [[nodiscard]] std::uint64_t requests_of(const std::string& kind) const;
    void set_windows(std::vector<window> windows);

private:
    struct entity {
        boost::json::object body;
        time::time_point updated;
        bool deleted = false;
    };
    struct store {
        std::map<std::int64_t, entity> entities;
        std::int64_t next_idn = 1;
    };
    struct window_count {
        std::int64_t start = -1;  ///< seconds since the epoch of the current window
        std::uint32_t used = 0;
    };

    http::response list(const http::request& req, const std::string& resource);
    http::response detail(const http::request& req, const std::string& resource);
    /// Auth and the windows; an error response when the request may not proceed.
    std::optional<http::response> admit(const http::request& req);
    boost::json::object make_body(const std::string& resource, std::int64_t id, std::int64_t idn,
                                  time::time_point at, std::mt19937_64& rng) const;
    void announce(const std::string& resource, const entity& e, int action, notify how);
    time::time_point next_version(const entity* previous) const;

    options opts_;
    std::map<std::string, store> stores_;
    std::int64_t next_id_;
    std::vector<window_count> counts_;
    std::optional<time::time_point> retry_not_before_;  ///< from the last 429
    std::map<std::string, std::uint64_t> requests_by_kind_;
    std::vector<version> versions_;
    std::mt19937_64 rng_{42};
    webhook_sender sender_;
};

}  // namespace changefeed::sim
