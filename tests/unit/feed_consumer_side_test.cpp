// Pure parts of the consumer side: the `consumer` parameter, Last-Event-ID, the offset body, SSE
// framing and the consumer metrics.
#include "feed/changes_params.hpp"
#include "feed/consumers_handler.hpp"
#include "feed/sse_stream.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace changefeed::feed {
namespace {

using query = std::vector<std::pair<std::string, std::string>>;

TEST(consumer_param, reads_the_offset_instead_of_since) {
    auto r = parse_changes_params({{"consumer", "billing-sync_2"}, {"limit", "5"}}, 1000);
    ASSERT_TRUE(std::holds_alternative<changes_params>(r));
    const auto& p = std::get<changes_params>(r);
    EXPECT_EQ(p.consumer, "billing-sync_2");
    EXPECT_FALSE(p.since.has_value());
    EXPECT_FALSE(p.since_now);
    EXPECT_EQ(p.limit, 5u);
}

TEST(consumer_param, with_since_or_a_bad_name_is_rejected) {
    for (const query& q : {query{{"consumer", "a"}, {"since", "3"}},
                           query{{"since", "now"}, {"consumer", "a"}},
                           query{{"consumer", "Upper"}},
                           query{{"consumer", ""}},
                           query{{"consumer", std::string(41, 'a')}},
                           query{{"consumer", "a.b"}}}) {
        auto r = parse_changes_params(q, 1000);
        ASSERT_TRUE(std::holds_alternative<param_error>(r)) << q.front().second;
        EXPECT_EQ(std::get<param_error>(r).parameter, "consumer");
    }
    EXPECT_TRUE(valid_consumer_name(std::string(40, 'z')));
}

TEST(last_event_id, is_a_non_negative_integer_or_absent) {
    auto absent = parse_last_event_id("");
    ASSERT_TRUE(std::holds_alternative<std::optional<std::int64_t>>(absent));
    EXPECT_FALSE(std::get<std::optional<std::int64_t>>(absent).has_value());
    auto ok = parse_last_event_id("1042");
    ASSERT_TRUE(std::holds_alternative<std::optional<std::int64_t>>(ok));
    EXPECT_EQ(std::get<std::optional<std::int64_t>>(ok), 1042);
    for (const char* bad : {"-1", "abc", "12x", "99999999999999999999"}) {
        auto r = parse_last_event_id(bad);
        ASSERT_TRUE(std::holds_alternative<param_error>(r)) << bad;
        EXPECT_NE(std::get<param_error>(r).message.find("Last-Event-ID"), std::string::npos);
    }
}

TEST(offset_body, accepts_a_non_negative_seq) {
    auto r = parse_offset_body(R"({"seq": 42, "note": "ignored"})");
    ASSERT_TRUE(std::holds_alternative<std::int64_t>(r));
    EXPECT_EQ(std::get<std::int64_t>(r), 42);
    EXPECT_EQ(std::get<std::int64_t>(parse_offset_body(R"({"seq":0})")), 0);
    for (const char* bad : {"", "[]", "{}", "{\"seq\":-1}", "{\"seq\":1.5}", "{\"seq\":\"7\"}",
                            "{\"seq\":null}", "{\"seq\":18446744073709551615}", "{\"seq\":1"}) {
        EXPECT_TRUE(std::holds_alternative<offset_body_error>(parse_offset_body(bad))) << bad;
    }
}

TEST(sse_framing, one_event_is_id_event_data_and_a_blank_line) {
    std::string out;
    append_sse_event(out, 1042, R"({"seq":1042,"source":"pennylane"})");
    EXPECT_EQ(out, "id: 1042\nevent: change\ndata: {\"seq\":1042,\"source\":\"pennylane\"}\n\n");
    EXPECT_EQ(k_sse_heartbeat.front(), ':');
    EXPECT_EQ(k_sse_heartbeat.substr(k_sse_heartbeat.size() - 2), "\n\n");
}

TEST(sse_framing, a_page_keeps_seq_order) {
    std::string a = R"({"seq":7})";
    std::string b = R"({"seq":9})";
    page_view page;
    page.events = {{7, &a}, {9, &b}};
    std::string out;
    append_sse_page(out, page);
    EXPECT_EQ(out, "id: 7\nevent: change\ndata: {\"seq\":7}\n\nid: 9\nevent: change\ndata: {\"seq\":9}\n\n");
}

TEST(consumer_json, has_name_seq_and_updated_at) {
    db::consumer_offset c{"billing", 12, "2026-11-20T09:15:02.123Z", false};
    auto v = boost::json::parse(consumer_json(c)).as_object();
    EXPECT_EQ(v.at("name").as_string(), "billing");
    EXPECT_EQ(v.at("seq").as_int64(), 12);
    EXPECT_EQ(v.at("updated_at").as_string(), "2026-11-20T09:15:02.123Z");
}

}  // namespace
}  // namespace changefeed::feed
