#include "app/service_metrics.hpp"

#include "db/feed_repository.hpp"

#include <gtest/gtest.h>

namespace changefeed::app {
namespace {

bool has(const std::string& text, const std::string& line) {
    return text.find(line + "\n") != std::string::npos;
}

TEST(service_metrics, the_spec_series_are_there_with_their_labels) {
    service_metrics m;
    m.watch_head([] { return 42.0; });
    m.http_request("/changes", "GET", 200, 0.003);
    m.http_request("", "GET", 404, 0.0001);
    m.upstream_request("pennylane", "429");
    m.webhook_delivery("precoro", "accepted");
    m.webhook_delivery("precoro", "accepted");
    auto text = m.render({});
    EXPECT_TRUE(has(text, "changefeed_outbox_head_seq 42")) << text;
    EXPECT_TRUE(has(text, "# TYPE changefeed_http_request_duration_seconds histogram"));
    EXPECT_TRUE(has(text, R"(changefeed_http_request_duration_seconds_count{route="/changes",method="GET",status="200"} 1)"))
        << text;
    EXPECT_TRUE(has(text, R"(changefeed_http_request_duration_seconds_count{route="unmatched",method="GET",status="404"} 1)"));
    EXPECT_TRUE(has(text, R"(changefeed_upstream_requests_total{source="pennylane",status="429"} 1)"));
    EXPECT_TRUE(has(text, R"(changefeed_webhook_deliveries_total{source="precoro",result="accepted"} 2)"));
}

TEST(service_metrics, consumers_come_and_go_with_the_stored_offsets) {
    service_metrics m;
    std::vector<db::consumer_offset> list{{"a", 5, "t", false}, {"b", 1, "t", true}};
    auto text = m.render(list);
    EXPECT_TRUE(has(text, R"(changefeed_consumer_offset_seq{consumer="a"} 5)")) << text;
    EXPECT_TRUE(has(text, R"(changefeed_consumer_expired{consumer="a"} 0)"));
    EXPECT_TRUE(has(text, R"(changefeed_consumer_expired{consumer="b"} 1)"));
    list.pop_back();
    text = m.render(list);
    EXPECT_FALSE(has(text, R"(changefeed_consumer_expired{consumer="b"} 1)")) << text;
    EXPECT_TRUE(has(text, R"(changefeed_consumer_offset_seq{consumer="a"} 5)"));
}

}  // namespace
}  // namespace changefeed::app
