// The series of SPEC section 5 on GET /metrics: counters the service's parts feed as things
// happen, and gauges read from the pollers and the feed when Prometheus scrapes.
#pragma once

#include "metrics/registry.hpp"
#include "sources/poller.hpp"

#include <functional>
#include <string>
#include <vector>

namespace changefeed::db {
struct consumer_offset;
}

namespace changefeed::app {

class service_metrics {
public:
    service_metrics();

    /// One answered HTTP request; `route` is the route pattern (empty: none matched).
    void http_request(const std::string& route, const std::string& method, unsigned status,
                      double seconds);
    /// One upstream request of `source`: its HTTP status or "error".
    void upstream_request(const std::string& source, const std::string& status);
    /// One webhook delivery: accepted, duplicate, unauthorized, invalid, too_large, unavailable.
    void webhook_delivery(const std::string& source, const std::string& result);

    /// Counts what `p` stores and reads its lag, state and budget at every scrape. `p` must
    /// outlive this object's last render().
    void watch(sources::poller& p);
    /// The outbox head as this replica knows it.
    void watch_head(std::function<double()> head);

    /// The exposition text; `consumers` are the stored consumer offsets.
    [[nodiscard]] std::string render(const std::vector<db::consumer_offset>& consumers);

private:
    metrics::registry registry_;
    metrics::counter_family& events_;
    metrics::counter_family& upstream_requests_;
    metrics::counter_family& webhook_deliveries_;
    metrics::histogram_family& http_duration_;
    metrics::gauge_family& lag_;
    metrics::gauge_family& budget_;
    metrics::gauge_family& state_;
    metrics::gauge_family& retention_at_risk_;
    metrics::gauge_family& head_;
    metrics::gauge_family& consumer_seq_;
    metrics::gauge_family& consumer_expired_;
    std::vector<std::string> consumers_shown_;
};

}  // namespace changefeed::app
