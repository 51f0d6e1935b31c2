#include "app/service_metrics.hpp"

#include "core/duration.hpp"
#include "db/feed_repository.hpp"
#include "sources/common/upstream.hpp"
#include "sources/source_status.hpp"

namespace changefeed::app {

namespace {

constexpr sources::source_state k_states[] = {
    sources::source_state::idle, sources::source_state::polling, sources::source_state::backing_off,
    sources::source_state::failing, sources::source_state::disabled};

}  // namespace

service_metrics::service_metrics()
    : events_(registry_.counters("changefeed_events_total",
                                 "Events stored in the outbox by this replica's pollers.",
                                 {"source", "resource", "operation"})),
      upstream_requests_(registry_.counters("changefeed_upstream_requests_total",
                                            "Requests sent to the vendors, by HTTP status (or error).",
                                            {"source", "status"})),
      webhook_deliveries_(registry_.counters("changefeed_webhook_deliveries_total",
                                             "Webhook deliveries received, by outcome.",
                                             {"source", "result"})),
      http_duration_(registry_.histograms(
          "changefeed_http_request_duration_seconds", "Time to answer an HTTP request.",
          metrics::exponential_buckets(0.0005, 4, 9), {"route", "method", "status"})),
      lag_(registry_.gauges("changefeed_source_lag_seconds",
                            "Now minus the newest upstream occurred_at this replica stored.",
                            {"source"})),
      budget_(registry_.gauges("changefeed_rate_budget_remaining",
                               "Requests left in each rate-limit window of a source.",
                               {"source", "window"})),
      state_(registry_.gauges("changefeed_source_state",
                              "1 for the state a source is in (idle, polling, backing_off, failing, "
                              "disabled), 0 for the others.",
                              {"source", "state"})),
      retention_at_risk_(registry_.gauges(
          "changefeed_source_retention_at_risk",
          "Resources whose checkpoint is close to falling out of the vendor's retention.",
          {"source"})),
      head_(registry_.gauges("changefeed_outbox_head_seq", "Highest seq known to this replica.")),
      consumer_seq_(registry_.gauges("changefeed_consumer_offset_seq",
                                     "Stored offset (seq) of each consumer.", {"consumer"})),
      consumer_expired_(registry_.gauges(
          "changefeed_consumer_expired",
          "1 when retention deleted events after the consumer's offset (reading answers 410).",
          {"consumer"})) {}

void service_metrics::http_request(const std::string& route, const std::string& method,
                                   unsigned status, double seconds) {
    http_duration_.with({route.empty() ? std::string_view("unmatched") : std::string_view(route),
                         method, std::to_string(status)})
        .observe(seconds);
}

void service_metrics::upstream_request(const std::string& source, const std::string& status) {
    upstream_requests_.with({source, status}).inc();
}

void service_metrics::webhook_delivery(const std::string& source, const std::string& result) {
    webhook_deliveries_.with({source, result}).inc();
}

void service_metrics::watch(sources::poller& p) {
    const auto name = p.config().name;
    p.on_stored([this, name](const std::vector<sources::poller::stored_tally>& tally) {
        for (const auto& t : tally) {
            events_.with({name, t.resource, t.operation}).inc(static_cast<double>(t.events));
        }
    });
    auto& up = p.http();
    up.on_request = [this, name](const std::string& status) { upstream_request(name, status); };
    const auto* poller = &p;
    lag_.with({name}).set_function([poller] {
        const auto& newest = poller->status().newest_occurred_at;
        if (!newest) {
            return 0.0;
        }
        return std::max(0.0, std::chrono::duration<double>(time::now() - *newest).count());
    });
    const auto* limiter = &up.limiter();
    for (std::size_t i = 0; i < limiter->windows().size(); ++i) {
        auto window = time::format_duration(limiter->windows()[i].window);
        budget_.with({name, window}).set_function([limiter, i] {
            return static_cast<double>(limiter->state(time::now())[i].remaining);
        });
    }
    for (auto s : k_states) {
        state_.with({name, std::string(sources::to_string(s))}).set_function([poller, s] {
            return poller->status().state == s ? 1.0 : 0.0;
        });
    }
    retention_at_risk_.with({name}).set_function([poller] {
        const auto* v = poller->status().extra.if_contains("retention_at_risk");
        return v != nullptr && v->is_array() ? static_cast<double>(v->get_array().size()) : 0.0;
    });
}

void service_metrics::watch_head(std::function<double()> head) {
    head_.with(std::vector<std::string>{}).set_function(std::move(head));
}

std::string service_metrics::render(const std::vector<db::consumer_offset>& consumers) {
    for (const auto& gone : consumers_shown_) {
        bool still = std::any_of(consumers.begin(), consumers.end(),
                                 [&gone](const db::consumer_offset& c) { return c.name == gone; });
        if (!still) {
            consumer_seq_.remove({gone});
            consumer_expired_.remove({gone});
        }
    }
    consumers_shown_.clear();
    for (const auto& c : consumers) {
        consumer_seq_.with({c.name}).set(static_cast<double>(c.seq));
        consumer_expired_.with({c.name}).set(c.expired ? 1.0 : 0.0);
        consumers_shown_.push_back(c.name);
    }
    return registry_.render();
}

}  // namespace changefeed::app
