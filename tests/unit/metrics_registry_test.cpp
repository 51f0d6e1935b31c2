// The Prometheus registry: exact rendered text of each metric type, escaping, ordering, number
// formatting, registration rules and concurrent updates.
#include "metrics/registry.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>

namespace changefeed::metrics {
namespace {

TEST(metrics_registry, an_empty_registry_renders_nothing) {
    registry r;
    EXPECT_EQ(r.render(), "");
}

TEST(metrics_registry, families_render_once_each_in_name_order) {
    registry r;
    auto& head = r.gauges("changefeed_outbox_head_seq", "Highest seq stored.").with({});
    auto& commits = r.counters("changefeed_outbox_commits_total", "Outbox transactions committed.")
                        .with({});
    r.gauges("a_first", "Registered last, rendered first.");
    head.set(1042);
    commits.inc();
    commits.inc(2);
    EXPECT_EQ(r.render(),
              "# HELP a_first Registered last, rendered first.\n"
              "# TYPE a_first gauge\n"
              "a_first 0\n"
              "# HELP changefeed_outbox_commits_total Outbox transactions committed.\n"
              "# TYPE changefeed_outbox_commits_total counter\n"
              "changefeed_outbox_commits_total 3\n"
              "# HELP changefeed_outbox_head_seq Highest seq stored.\n"
              "# TYPE changefeed_outbox_head_seq gauge\n"
              "changefeed_outbox_head_seq 1042\n");
}

TEST(metrics_registry, label_sets_render_in_value_order_under_one_header) {
    registry r;
    auto& events =
        r.counters("changefeed_events_total", "Events stored.", {"source", "operation"});
    events.with({"retailcrm", "update"}).inc();
    events.with({"pennylane", "update"}).inc(5);
    events.with({"pennylane", "insert"}).inc(2);
    events.with({"retailcrm", "update"}).inc();
    EXPECT_EQ(r.render(),
              "# HELP changefeed_events_total Events stored.\n"
              "# TYPE changefeed_events_total counter\n"
              "changefeed_events_total{source=\"pennylane\",operation=\"insert\"} 2\n"
              "changefeed_events_total{source=\"pennylane\",operation=\"update\"} 5\n"
              "changefeed_events_total{source=\"retailcrm\",operation=\"update\"} 2\n");
}

TEST(metrics_registry, escapes_label_values_and_help) {
    registry r;
    auto& f = r.gauges("odd", "Help with a \\ backslash,\na newline and \"quotes\".", {"v"});
    f.with({"back\\slash \"quoted\"\nnext line"}).set(1);
    EXPECT_EQ(r.render(),
              "# HELP odd Help with a \\\\ backslash,\\na newline and \"quotes\".\n"
              "# TYPE odd gauge\n"
              "odd{v=\"back\\\\slash \\\"quoted\\\"\\nnext line\"} 1\n");
}

TEST(metrics_registry, an_empty_help_leaves_out_the_help_line) {
    registry r;
    r.counters("bare_total", "");
    EXPECT_EQ(r.render(), "# TYPE bare_total counter\nbare_total 0\n");
}

TEST(metrics_registry, a_labelled_family_without_label_sets_renders_nothing_until_used) {
    registry r;
    auto& f = r.counters("changefeed_upstream_requests_total", "Upstream requests.",
                         {"source", "status"});
    EXPECT_EQ(r.render(), "");
    f.with({"struct", "429"}).inc();
    EXPECT_EQ(r.render(),
              "# HELP changefeed_upstream_requests_total Upstream requests.\n"
              "# TYPE changefeed_upstream_requests_total counter\n"
              "changefeed_upstream_requests_total{source=\"struct\",status=\"429\"} 1\n");
    f.remove({"struct", "429"});
    EXPECT_EQ(r.render(), "");
}

TEST(metrics_registry, formats_numbers_as_prometheus_reads_them) {
    registry r;
    auto& g = r.gauges("g", "", {"case"});
    g.with({"a_fraction"}).set(0.25);
    g.with({"b_negative"}).set(-3);
    g.with({"c_huge"}).set(1e21);
    g.with({"d_tiny"}).set(1.5e-7);
    g.with({"e_inf"}).set(std::numeric_limits<double>::infinity());
    g.with({"f_minus_inf"}).set(-std::numeric_limits<double>::infinity());
    g.with({"g_nan"}).set(std::nan(""));
    g.with({"h_big_integer"}).set(123456789012345.0);
    EXPECT_EQ(r.render(),
              "# TYPE g gauge\n"
              "g{case=\"a_fraction\"} 0.25\n"
              "g{case=\"b_negative\"} -3\n"
              "g{case=\"c_huge\"} 1e+21\n"
              "g{case=\"d_tiny\"} 1.5e-07\n"
              "g{case=\"e_inf\"} +Inf\n"
              "g{case=\"f_minus_inf\"} -Inf\n"
              "g{case=\"g_nan\"} NaN\n"
              "g{case=\"h_big_integer\"} 123456789012345\n");
}

TEST(metrics_registry, counters_never_go_down_and_gauges_go_both_ways) {
    registry r;
    auto& c = r.counters("c_total", "").with({});
    c.inc(2.5);
    c.inc(-1);
    c.inc(std::nan(""));
    EXPECT_EQ(c.value(), 2.5);
    auto& g = r.gauges("g", "").with({});
    g.set(10);
    g.inc();
    g.dec(4);
    EXPECT_EQ(g.value(), 7);
}

TEST(metrics_registry, function_backed_gauges_and_counters_are_read_at_render) {
    registry r;
    double lag = 1.5;
    auto& lags = r.gauges("changefeed_source_lag_seconds", "Seconds behind upstream.", {"source"});
    lags.with({"pennylane"}).set_function([&lag] { return lag; });
    lags.with({"precoro"}).set_function([]() -> double { throw std::runtime_error("gone"); });
    std::uint64_t total = 7;
    r.counters("commits_total", "Kept elsewhere.").with({}).set_function([&total] {
        return static_cast<double>(total);
    });
    lag = 2.75;
    total = 9;
    EXPECT_EQ(r.render(),
              "# HELP changefeed_source_lag_seconds Seconds behind upstream.\n"
              "# TYPE changefeed_source_lag_seconds gauge\n"
              "changefeed_source_lag_seconds{source=\"pennylane\"} 2.75\n"
              "changefeed_source_lag_seconds{source=\"precoro\"} NaN\n"
              "# HELP commits_total Kept elsewhere.\n"
              "# TYPE commits_total counter\n"
              "commits_total 9\n");
}

TEST(metrics_registry, histograms_render_cumulative_buckets_sum_and_count) {
    registry r;
    auto& h = r.histograms("changefeed_http_request_duration_seconds", "Request latency.",
                           {0.005, 0.1, 1}, {"route", "status"});
    auto& changes = h.with({"/changes", "200"});
    changes.observe(0.001);
    changes.observe(0.005);  // on a bound: counted in that bucket
    changes.observe(0.05);
    changes.observe(30);
    h.with({"/changes", "400"}).observe(0.5);
    EXPECT_EQ(r.render(),
              "# HELP changefeed_http_request_duration_seconds Request latency.\n"
              "# TYPE changefeed_http_request_duration_seconds histogram\n"
              "changefeed_http_request_duration_seconds_bucket{route=\"/changes\",status=\"200\",le=\"0.005\"} 2\n"
              "changefeed_http_request_duration_seconds_bucket{route=\"/changes\",status=\"200\",le=\"0.1\"} 3\n"
              "changefeed_http_request_duration_seconds_bucket{route=\"/changes\",status=\"200\",le=\"1\"} 3\n"
              "changefeed_http_request_duration_seconds_bucket{route=\"/changes\",status=\"200\",le=\"+Inf\"} 4\n"
              "changefeed_http_request_duration_seconds_sum{route=\"/changes\",status=\"200\"} 30.056\n"
              "changefeed_http_request_duration_seconds_count{route=\"/changes\",status=\"200\"} 4\n"
              "changefeed_http_request_duration_seconds_bucket{route=\"/changes\",status=\"400\",le=\"0.005\"} 0\n"
              "changefeed_http_request_duration_seconds_bucket{route=\"/changes\",status=\"400\",le=\"0.1\"} 0\n"
              "changefeed_http_request_duration_seconds_bucket{route=\"/changes\",status=\"400\",le=\"1\"} 1\n"
              "changefeed_http_request_duration_seconds_bucket{route=\"/changes\",status=\"400\",le=\"+Inf\"} 1\n"
              "changefeed_http_request_duration_seconds_sum{route=\"/changes\",status=\"400\"} 0.5\n"
              "changefeed_http_request_duration_seconds_count{route=\"/changes\",status=\"400\"} 1\n");
}

TEST(metrics_registry, an_unlabelled_histogram_has_only_le_and_nan_lands_in_inf) {
    registry r;
    auto& h = r.histograms("batch_events", "Events per commit.",
                           {1, 8, 64, std::numeric_limits<double>::infinity()})
                  .with({});
    h.observe(64);
    h.observe(std::nan(""));
    auto text = r.render();
    EXPECT_EQ(text.substr(0, text.find("batch_events_sum")),
              "# HELP batch_events Events per commit.\n"
              "# TYPE batch_events histogram\n"
              "batch_events_bucket{le=\"1\"} 0\n"
              "batch_events_bucket{le=\"8\"} 0\n"
              "batch_events_bucket{le=\"64\"} 1\n"
              "batch_events_bucket{le=\"+Inf\"} 2\n");
    EXPECT_NE(text.find("batch_events_sum NaN\nbatch_events_count 2\n"), std::string::npos);
}

TEST(metrics_registry, exponential_buckets_multiply) {
    EXPECT_EQ(exponential_buckets(0.001, 2, 4), (std::vector<double>{0.001, 0.002, 0.004, 0.008}));
    EXPECT_THROW(exponential_buckets(0, 2, 3), std::invalid_argument);
    EXPECT_THROW(exponential_buckets(1, 1, 3), std::invalid_argument);
}

TEST(metrics_registry, registering_again_returns_the_same_family_unless_it_differs) {
    registry r;
    auto& a = r.counters("x_total", "X.", {"source"});
    EXPECT_EQ(&r.counters("x_total", "X.", {"source"}), &a);
    EXPECT_THROW(r.counters("x_total", "Other help.", {"source"}), std::invalid_argument);
    EXPECT_THROW(r.counters("x_total", "X.", {"kind"}), std::invalid_argument);
    EXPECT_THROW(r.gauges("x_total", "X.", {"source"}), std::invalid_argument);
    auto& h = r.histograms("h", "", {1, 2});
    EXPECT_EQ(&r.histograms("h", "", {1, 2}), &h);
    EXPECT_THROW(r.histograms("h", "", {1, 3}), std::invalid_argument);
}

TEST(metrics_registry, rejects_bad_names_labels_and_buckets) {
    registry r;
    for (const char* bad : {"", "9lives", "with-dash", "sp ace", "é"}) {
        EXPECT_THROW(r.counters(bad, ""), std::invalid_argument) << bad;
    }
    EXPECT_NO_THROW(r.counters("ns:sub_total", ""));
    for (const char* bad : {"", "__reserved", "a:b", "1x", "dash-ed"}) {
        EXPECT_THROW(r.gauges("g", "", {bad}), std::invalid_argument) << bad;
    }
    EXPECT_THROW(r.gauges("g", "", {"a", "a"}), std::invalid_argument);
    EXPECT_THROW(r.histograms("h", "", {1}, {"le"}), std::invalid_argument);
    EXPECT_THROW(r.histograms("h", "", {2, 1}), std::invalid_argument);
    EXPECT_THROW(r.histograms("h", "", {1, 1}), std::invalid_argument);
    EXPECT_THROW(r.histograms("h", "", {std::nan("")}), std::invalid_argument);
    auto& g = r.gauges("g", "", {"a", "b"});
    EXPECT_THROW(g.with({"only one"}), std::invalid_argument);
    EXPECT_THROW(g.with({"1", "2", "3"}), std::invalid_argument);
}

TEST(metrics_registry, concurrent_updates_and_renders_lose_nothing) {
    registry r;
    auto& c = r.counters("hits_total", "", {"thread"});
    auto& h = r.histograms("sizes", "", {10, 100});
    constexpr int per_thread = 20000;
    auto work = [&](const char* name) {
        for (int i = 0; i < per_thread; ++i) {
            c.with({name}).inc();
            h.with({}).observe(i % 200);
        }
    };
    std::thread a(work, "a");
    std::thread b(work, "b");
    for (int i = 0; i < 50; ++i) {
        EXPECT_NE(r.render().find("# TYPE sizes histogram"), std::string::npos);
    }
    a.join();
    b.join();
    EXPECT_EQ(c.with({"a"}).value(), per_thread);
    EXPECT_EQ(c.with({"b"}).value(), per_thread);
    auto snap = h.with({}).read();
    EXPECT_EQ(snap.count, 2u * per_thread);
    EXPECT_EQ(snap.cumulative.back(), snap.count);
    EXPECT_EQ(snap.cumulative[0], 2u * (per_thread / 200) * 11);  // 0..10 of every 200
}

}  // namespace
}  // namespace changefeed::metrics
